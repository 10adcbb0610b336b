/**
 * Flow key extraction from a raw Ethernet frame, following the kernel's key_extract() (net/openvswitch/flow.c):
 * up to two VLAN tags (CFI forced on), LLC/SNAP, ARP, IPv4 (first/later fragments), IPv6 extension headers and
 * fragment header, TCP (+flags), UDP, SCTP, ICMP, ICMPv6 and ND. Hot path: it writes into a caller-owned
 * PacketKey, allocates nothing, uses no regexes or closures, and never throws; a truncated or malformed header
 * leaves that layer (and those above it) zero, as the kernel does.
 */
import { finishPacketKey, newPacketKey, unpackPacketKey, W, type PacketKey } from './packed';
import type { FlowKey } from './types';

export interface ExtractOptions {
  /** Frames start with a 10-byte virtio_net_hdr (PACKET_VNET_HDR / IFF_VNET_HDR). */
  vnetHdr?: boolean;
  skbPriority?: number;
  skbMark?: number;
  recircId?: number;
  dpHash?: number;
}

export const VNET_HDR_LEN = 10;

const u16 = (b: Uint8Array, i: number): number => (b[i] << 8) | b[i + 1];
const u32 = (b: Uint8Array, i: number): number => ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;

/**
 * Fills `out` with the key of the frame at frame[offset .. offset+length). Returns the number of bytes of the
 * Ethernet frame that were present (0 when shorter than an Ethernet header).
 */
export function extractPacked(
  frame: Uint8Array,
  offset: number,
  length: number,
  inPort: number,
  out: PacketKey,
  opts?: ExtractOptions,
): number {
  const w = out.words;
  w.fill(0);
  w[W.IN_PORT] = inPort >>> 0;
  if (opts !== undefined) {
    w[W.PRIORITY] = (opts.skbPriority ?? 0) >>> 0;
    w[W.SKB_MARK] = (opts.skbMark ?? 0) >>> 0;
    w[W.RECIRC_ID] = (opts.recircId ?? 0) >>> 0;
    w[W.DP_HASH] = (opts.dpHash ?? 0) >>> 0;
  }
  let p = offset | 0;
  let end = p + (length | 0);
  if (!(p >= 0) || !(end <= frame.length)) {
    if (!(p >= 0)) p = 0;
    if (!(end <= frame.length)) end = frame.length;
  }
  if (opts !== undefined && opts.vnetHdr === true) p += VNET_HDR_LEN;
  if (end - p < 14) {
    finishPacketKey(out);
    return 0;
  }
  const frameLen = end - p;
  w[W.ETH_DST_HI] = u16(frame, p);
  w[W.ETH_DST_LO] = u32(frame, p + 2);
  w[W.ETH_SRC_HI] = u16(frame, p + 6);
  w[W.ETH_SRC_LO] = u32(frame, p + 8);
  p += 12;
  // VLAN tags: the kernel keeps two (vlan, cvlan) and always sets CFI in the key's TCI.
  let type = u16(frame, p);
  if (type === 0x8100 || type === 0x88a8) {
    if (end - p < 6) {
      // Truncated tag: the kernel reports TCI 0 with the TPID as EtherType... keep it untagged and stop.
      w[W.ETH_TYPE] = type;
      finishPacketKey(out);
      return frameLen;
    }
    w[W.VLAN] = ((type << 16) | u16(frame, p + 2) | 0x1000) >>> 0;
    p += 4;
    type = u16(frame, p);
    if ((type === 0x8100 || type === 0x88a8) && end - p >= 6) {
      w[W.CVLAN] = ((type << 16) | u16(frame, p + 2) | 0x1000) >>> 0;
      p += 4;
      type = u16(frame, p);
    }
  }
  p += 2;
  if (type < 0x600) {
    // 802.3 length: LLC/SNAP with an EtherType, else ETH_P_802_2.
    if (
      end - p >= 8 &&
      frame[p] === 0xaa &&
      frame[p + 1] === 0xaa &&
      frame[p + 2] === 0x03 &&
      frame[p + 3] === 0 &&
      frame[p + 4] === 0 &&
      frame[p + 5] === 0 &&
      u16(frame, p + 6) >= 0x600
    ) {
      type = u16(frame, p + 6);
      p += 8;
    } else {
      w[W.ETH_TYPE] = 0x0004;
      finishPacketKey(out);
      return frameLen;
    }
  }
  w[W.ETH_TYPE] = type;
  if (type === 0x0800) extractIpv4(frame, p, end, w);
  else if (type === 0x86dd) extractIpv6(frame, p, end, w);
  else if (type === 0x0806 || type === 0x8035) extractArp(frame, p, end, w);
  finishPacketKey(out);
  return frameLen;
}

function extractArp(b: Uint8Array, p: number, end: number, w: Uint32Array): void {
  // Only Ethernet/IPv4 ARP (hrd 1, pro 0x0800, hln 6, pln 4) fills the key.
  if (end - p < 28 || u16(b, p) !== 1 || u16(b, p + 2) !== 0x0800 || b[p + 4] !== 6 || b[p + 5] !== 4) return;
  const op = u16(b, p + 6);
  w[W.ARP_OP] = op <= 0xff ? op : 0;
  w[W.SHA_HI] = u16(b, p + 8);
  w[W.SHA_LO] = u32(b, p + 10);
  w[W.NW_SRC] = u32(b, p + 14);
  w[W.THA_HI] = u16(b, p + 18);
  w[W.THA_LO] = u32(b, p + 20);
  w[W.NW_DST] = u32(b, p + 24);
}

function extractIpv4(b: Uint8Array, p: number, end: number, w: Uint32Array): void {
  if (end - p < 20) return;
  const ihl = (b[p] & 0x0f) * 4;
  if (ihl < 20 || end - p < ihl) return;
  const tos = b[p + 1];
  const fragOff = u16(b, p + 6);
  const ttl = b[p + 8];
  const proto = b[p + 9];
  w[W.NW_SRC] = u32(b, p + 12);
  w[W.NW_DST] = u32(b, p + 16);
  let frag = 0;
  if (fragOff & 0x1fff) frag = 2;
  else if (fragOff & 0x2000) frag = 1;
  w[W.NW_META] = (proto | (tos << 8) | (ttl << 16) | (frag << 24)) >>> 0;
  if (frag === 2) return;
  extractL4(b, p + ihl, end, proto, w, false);
}

function extractL4(b: Uint8Array, p: number, end: number, proto: number, w: Uint32Array, v6: boolean): void {
  const avail = end - p;
  if (proto === 6) {
    if (avail < 20) return;
    const doff = (b[p + 12] >> 4) * 4;
    if (doff < 20 || avail < doff) return;
    w[W.TP] = u32(b, p);
    w[W.TCP_FLAGS] = u16(b, p + 12) & 0x0fff;
  } else if (proto === 17 || proto === 132) {
    if (avail < (proto === 17 ? 8 : 12)) return;
    w[W.TP] = u32(b, p);
  } else if (proto === 1 && !v6) {
    if (avail < 4) return;
    w[W.TP] = ((b[p] << 16) | b[p + 1]) >>> 0;
  } else if (proto === 58 && v6) {
    if (avail < 4) return;
    const type = b[p];
    const code = b[p + 1];
    w[W.TP] = ((type << 16) | code) >>> 0;
    if ((type === 135 || type === 136) && code === 0) extractNd(b, p, end, type, w);
  }
}

/** ND target and link-layer address options; malformed options zero all ND fields (kernel parse_icmpv6). */
function extractNd(b: Uint8Array, p: number, end: number, type: number, w: Uint32Array): void {
  if (end - p < 24) return;
  for (let i = 0; i < 4; i++) w[W.ND_TARGET + i] = u32(b, p + 8 + 4 * i);
  let o = p + 24;
  let ok = true;
  while (end - o >= 8) {
    const optType = b[o];
    const optLen = b[o + 1] * 8;
    if (optLen === 0 || end - o < optLen) {
      ok = false;
      break;
    }
    if (optLen === 8) {
      if (optType === 1 && type === 135) {
        if (w[W.SHA_HI] !== 0 || w[W.SHA_LO] !== 0) {
          ok = false;
          break;
        }
        w[W.SHA_HI] = u16(b, o + 2);
        w[W.SHA_LO] = u32(b, o + 4);
      } else if (optType === 2 && type === 136) {
        if (w[W.THA_HI] !== 0 || w[W.THA_LO] !== 0) {
          ok = false;
          break;
        }
        w[W.THA_HI] = u16(b, o + 2);
        w[W.THA_LO] = u32(b, o + 4);
      }
    }
    o += optLen;
  }
  if (!ok) {
    for (let i = 0; i < 4; i++) w[W.ND_TARGET + i] = 0;
    w[W.SHA_HI] = 0;
    w[W.SHA_LO] = 0;
    w[W.THA_HI] = 0;
    w[W.THA_LO] = 0;
  }
}

function extractIpv6(b: Uint8Array, p: number, end: number, w: Uint32Array): void {
  if (end - p < 40) return;
  const first = u32(b, p);
  const tclass = (first >>> 20) & 0xff;
  w[W.IPV6_LABEL] = first & 0xfffff;
  let next = b[p + 6];
  const hlimit = b[p + 7];
  for (let i = 0; i < 4; i++) {
    w[W.IPV6_SRC + i] = u32(b, p + 8 + 4 * i);
    w[W.IPV6_DST + i] = u32(b, p + 24 + 4 * i);
  }
  let q = p + 40;
  let frag = 0;
  // Skip extension headers (ipv6_skip_exthdr), noting the fragment header.
  for (let guard = 0; guard < 16; guard++) {
    if (next === 0 || next === 43 || next === 60) {
      if (end - q < 8) {
        next = 255;
        break;
      }
      const nh = b[q];
      q += (b[q + 1] + 1) * 8;
      next = nh;
    } else if (next === 51) {
      if (end - q < 8) {
        next = 255;
        break;
      }
      const nh = b[q];
      q += (b[q + 1] + 2) * 4;
      next = nh;
    } else if (next === 44) {
      if (end - q < 8) {
        next = 255;
        break;
      }
      const nh = b[q];
      const off = u16(b, q + 2);
      if (off & 0xfff8) frag = 2;
      else frag = 1;
      q += 8;
      next = nh;
      if (frag === 2) break;
    } else {
      break;
    }
  }
  if (q > end) {
    next = 255;
  }
  // An unparseable extension chain leaves proto as the kernel would not know it; report NONXT-less 0xff... use 0.
  const proto = next === 255 ? 0 : next;
  w[W.NW_META] = (proto | (tclass << 8) | (hlimit << 16) | (frag << 24)) >>> 0;
  if (frag === 2 || next === 255) return;
  extractL4(b, q, end, proto, w, true);
}

/** Convenience form returning the structured key (allocates; use extractPacked on the forwarding path). */
export function extractFlowKey(
  frame: Uint8Array,
  offset: number,
  length: number,
  inPort: number,
  opts?: ExtractOptions,
): FlowKey {
  const pk = newPacketKey();
  extractPacked(frame, offset, length, inPort, pk, opts);
  return unpackPacketKey(pk.words);
}
