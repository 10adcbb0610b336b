/**
 * Frame surgery for the userspace datapath's actions, on frames that start with a 10-byte virtio_net_hdr
 * (PACKET_VNET_HDR / IFF_VNET_HDR). Carrying that header end to end is what lets hosts keep checksum offload and
 * TSO: a frame may hold a partial checksum (NEEDS_CSUM) or be a 64 KB GSO super-frame, so any action that moves
 * or rewrites headers must keep csum_start/hdr_len and the checksums consistent. Pure functions over caller
 * buffers; nothing allocates, nothing throws on bad input (callers check `vnetHeaderValid` first).
 */

export const VNET_HDR_LEN = 10;
export const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
export const VIRTIO_NET_HDR_F_DATA_VALID = 2;
export const VIRTIO_NET_HDR_GSO_NONE = 0;
export const VIRTIO_NET_HDR_GSO_TCPV4 = 1;
export const VIRTIO_NET_HDR_GSO_UDP = 3;
export const VIRTIO_NET_HDR_GSO_TCPV6 = 4;
export const VIRTIO_NET_HDR_GSO_UDP_L4 = 5;
export const VIRTIO_NET_HDR_GSO_ECN = 0x80;

const ETH_P_IP = 0x0800;
export const ETH_P_8021Q = 0x8100;
export const ETH_P_8021AD = 0x88a8;
const ETH_HLEN = 14;
const VLAN_HLEN = 4;
export const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;

/** Field offsets inside virtio_net_hdr (little-endian on the hosts netmgr runs on, as the kernel writes it). */
const HDR = { FLAGS: 0, GSO_TYPE: 1, HDR_LEN: 2, GSO_SIZE: 4, CSUM_START: 6, CSUM_OFFSET: 8 } as const;

const rd16le = (b: Uint8Array, i: number) => b[i] | (b[i + 1] << 8);
const wr16le = (b: Uint8Array, i: number, v: number) => {
  b[i] = v & 0xff;
  b[i + 1] = (v >>> 8) & 0xff;
};
const rd16 = (b: Uint8Array, i: number) => (b[i] << 8) | b[i + 1];
const wr16 = (b: Uint8Array, i: number, v: number) => {
  b[i] = (v >>> 8) & 0xff;
  b[i + 1] = v & 0xff;
};

/**
 * A frame is fit to forward when it holds a whole Ethernet header and its virtio_net_hdr is one the kernel could
 * have produced: known flags and GSO type, a GSO size with GSO, and a checksum location inside the frame.
 */
export function vnetHeaderValid(b: Uint8Array, off: number, len: number): boolean {
  if (len < VNET_HDR_LEN + ETH_HLEN || off < 0 || off + len > b.length) return false;
  const flags = b[off + HDR.FLAGS];
  if ((flags & ~(VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID)) !== 0) return false;
  const gso = b[off + HDR.GSO_TYPE] & ~VIRTIO_NET_HDR_GSO_ECN;
  const frameLen = len - VNET_HDR_LEN;
  if (gso !== VIRTIO_NET_HDR_GSO_NONE) {
    if (
      gso !== VIRTIO_NET_HDR_GSO_TCPV4 &&
      gso !== VIRTIO_NET_HDR_GSO_TCPV6 &&
      gso !== VIRTIO_NET_HDR_GSO_UDP &&
      gso !== VIRTIO_NET_HDR_GSO_UDP_L4
    )
      return false;
    if (rd16le(b, off + HDR.GSO_SIZE) === 0) return false;
  } else if ((b[off + HDR.GSO_TYPE] & VIRTIO_NET_HDR_GSO_ECN) !== 0) {
    return false;
  }
  if (rd16le(b, off + HDR.HDR_LEN) > frameLen) return false;
  if ((flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) !== 0) {
    const start = rd16le(b, off + HDR.CSUM_START);
    if (start < ETH_HLEN || start + rd16le(b, off + HDR.CSUM_OFFSET) + 2 > frameLen) return false;
  }
  return true;
}

/** Adjusts the header fields that hold absolute frame offsets after `delta` bytes were inserted before L3. */
function shiftOffsets(b: Uint8Array, off: number, delta: number): void {
  if ((b[off + HDR.FLAGS] & VIRTIO_NET_HDR_F_NEEDS_CSUM) !== 0)
    wr16le(b, off + HDR.CSUM_START, rd16le(b, off + HDR.CSUM_START) + delta);
  const hdrLen = rd16le(b, off + HDR.HDR_LEN);
  if (hdrLen !== 0) wr16le(b, off + HDR.HDR_LEN, Math.max(0, hdrLen + delta));
}

/**
 * push_vlan: inserts a tag after the MAC addresses. The frame must have VLAN_HLEN bytes of headroom before `off`;
 * returns the frame's new start (its length grows by VLAN_HLEN).
 */
export function pushVlan(b: Uint8Array, off: number, tpid: number, tci: number): number {
  const n = off - VLAN_HLEN;
  b.copyWithin(n, off, off + VNET_HDR_LEN + 12);
  const t = n + VNET_HDR_LEN + 12;
  wr16(b, t, tpid);
  wr16(b, t + 2, tci & ~0x1000); // the CFI bit only marks "tag present" in flow keys; it is not sent
  shiftOffsets(b, n, VLAN_HLEN);
  return n;
}

/** pop_vlan: removes the outer tag if there is one; returns the frame's new start (length shrinks by VLAN_HLEN). */
export function popVlan(b: Uint8Array, off: number, len: number): number {
  const t = off + VNET_HDR_LEN + 12;
  if (len < VNET_HDR_LEN + ETH_HLEN + VLAN_HLEN) return off;
  const type = rd16(b, t);
  if (type !== ETH_P_8021Q && type !== ETH_P_8021AD) return off;
  b.copyWithin(off + VLAN_HLEN, off, t);
  const n = off + VLAN_HLEN;
  shiftOffsets(b, n, -VLAN_HLEN);
  return n;
}

const writeMac = (b: Uint8Array, i: number, mac: number) => {
  const hi = Math.floor(mac / 0x100000000);
  wr16(b, i, hi);
  const lo = mac >>> 0;
  b[i + 2] = lo >>> 24;
  b[i + 3] = (lo >>> 16) & 0xff;
  b[i + 4] = (lo >>> 8) & 0xff;
  b[i + 5] = lo & 0xff;
};
const readMac = (b: Uint8Array, i: number) =>
  rd16(b, i) * 0x100000000 + (((b[i + 2] << 24) | (b[i + 3] << 16) | (b[i + 4] << 8) | b[i + 5]) >>> 0);

/** Masked MAC write: bits set in `mask` come from `value`. */
function setMacMasked(b: Uint8Array, i: number, value: number, mask: number): void {
  if (mask === 0) return;
  const cur = readMac(b, i);
  const hi =
    (Math.floor(cur / 0x100000000) & ~Math.floor(mask / 0x100000000)) |
    (Math.floor(value / 0x100000000) & Math.floor(mask / 0x100000000));
  const lo = (((cur >>> 0) & ~(mask >>> 0)) | ((value >>> 0) & (mask >>> 0))) >>> 0;
  writeMac(b, i, (hi & 0xffff) * 0x100000000 + lo);
}

/** set(eth(src=..,dst=..)) / set_masked: rewrites the MAC addresses. */
export function setEthernet(
  b: Uint8Array,
  off: number,
  src: number,
  srcMask: number,
  dst: number,
  dstMask: number,
): void {
  const e = off + VNET_HDR_LEN;
  setMacMasked(b, e, dst, dstMask);
  setMacMasked(b, e + 6, src, srcMask);
}

/** Ones-complement 16-bit sum helpers (RFC 1071/1624). */
const fold = (s: number) => {
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
};

/** Offset of the innermost EtherType field (after up to two VLAN tags), or -1 when a tag is cut off. */
function etherTypeOffset(b: Uint8Array, off: number, len: number): number {
  const end = off + len;
  let p = off + VNET_HDR_LEN + 12;
  for (let tags = 0; tags < 2 && (rd16(b, p) === ETH_P_8021Q || rd16(b, p) === ETH_P_8021AD); tags++) {
    if (p + 6 > end) return -1;
    p += VLAN_HLEN;
  }
  return p;
}

/** Offset of the IPv4 header (after up to two VLAN tags), or -1 when the frame is not IPv4 or too short. */
export function ipv4Offset(b: Uint8Array, off: number, len: number): number {
  const end = off + len;
  const t = etherTypeOffset(b, off, len);
  if (t < 0 || rd16(b, t) !== ETH_P_IP) return -1;
  const p = t + 2;
  if (p + 20 > end) return -1;
  if (b[p] >> 4 !== 4 || (b[p] & 0x0f) < 5 || p + (b[p] & 0x0f) * 4 > end) return -1;
  return p;
}

export interface Ipv4Set {
  src: number;
  srcMask: number;
  dst: number;
  dstMask: number;
  tos: number;
  tosMask: number;
  ttl: number;
  ttlMask: number;
}

/**
 * set(ipv4(...)) / set_masked on src, dst, tos and ttl. The IPv4 header checksum is updated incrementally; when
 * an address changes, so is the TCP/UDP checksum (which covers the pseudo-header): for a partial checksum
 * (NEEDS_CSUM, the field holds the un-complemented pseudo-header sum) the sum itself is adjusted, for a complete
 * one the RFC 1624 update is applied, and a UDP checksum of 0 ("none") stays 0.
 */
export function setIpv4(b: Uint8Array, off: number, len: number, s: Ipv4Set): boolean {
  const ip = ipv4Offset(b, off, len);
  if (ip < 0) return false;
  const rd32 = (i: number) => ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
  const wr32 = (i: number, v: number) => {
    b[i] = v >>> 24;
    b[i + 1] = (v >>> 16) & 0xff;
    b[i + 2] = (v >>> 8) & 0xff;
    b[i + 3] = v & 0xff;
  };
  const oldSrc = rd32(ip + 12),
    oldDst = rd32(ip + 16);
  const newSrc = ((oldSrc & ~s.srcMask) | (s.src & s.srcMask)) >>> 0;
  const newDst = ((oldDst & ~s.dstMask) | (s.dst & s.dstMask)) >>> 0;
  const oldTosWord = rd16(b, ip),
    oldTtlWord = rd16(b, ip + 8);
  const tos = (b[ip + 1] & ~s.tosMask) | (s.tos & s.tosMask);
  const ttl = (b[ip + 8] & ~s.ttlMask) | (s.ttl & s.ttlMask);
  b[ip + 1] = tos & 0xff;
  b[ip + 8] = ttl & 0xff;
  wr32(ip + 12, newSrc);
  wr32(ip + 16, newDst);
  const newTosWord = rd16(b, ip),
    newTtlWord = rd16(b, ip + 8);
  // The sum of (~old + new) over every changed 16-bit word: added to a sum, subtracted from a checksum.
  const addrDelta =
    (~(oldSrc >>> 16) & 0xffff) +
    (newSrc >>> 16) +
    (~oldSrc & 0xffff) +
    (newSrc & 0xffff) +
    (~(oldDst >>> 16) & 0xffff) +
    (newDst >>> 16) +
    (~oldDst & 0xffff) +
    (newDst & 0xffff);
  const hdrDelta = addrDelta + (~oldTosWord & 0xffff) + newTosWord + (~oldTtlWord & 0xffff) + newTtlWord;
  const ipCsum = rd16(b, ip + 10);
  wr16(b, ip + 10, ~fold((~ipCsum & 0xffff) + hdrDelta) & 0xffff);

  if (oldSrc === newSrc && oldDst === newDst) return true;
  const fragOff = rd16(b, ip + 6) & 0x1fff;
  if (fragOff !== 0) return true; // later fragments carry no L4 header
  const proto = b[ip + 9];
  const l4 = ip + (b[ip] & 0x0f) * 4;
  const field = proto === IPPROTO_TCP ? l4 + 16 : proto === IPPROTO_UDP ? l4 + 6 : -1;
  if (field < 0 || field + 2 > off + len) return true;
  const cur = rd16(b, field);
  const partial =
    (b[off + HDR.FLAGS] & VIRTIO_NET_HDR_F_NEEDS_CSUM) !== 0 &&
    off + VNET_HDR_LEN + rd16le(b, off + HDR.CSUM_START) === l4;
  if (partial) {
    wr16(b, field, fold(cur + addrDelta));
  } else if (proto === IPPROTO_UDP && cur === 0) {
    // No checksum: nothing to keep consistent.
  } else {
    let c = ~fold((~cur & 0xffff) + addrDelta) & 0xffff;
    if (proto === IPPROTO_UDP && c === 0) c = 0xffff;
    wr16(b, field, c);
  }
  return true;
}

/** Full ones-complement checksum of b[start, end) (for tests and for building frames). */
export function inetChecksum(b: Uint8Array, start: number, end: number, initial = 0): number {
  let s = initial;
  for (let i = start; i + 1 < end; i += 2) s += (b[i] << 8) | b[i + 1];
  if ((end - start) & 1) s += b[end - 1] << 8;
  return ~fold(s) & 0xffff;
}

const ETH_P_IPV6 = 0x86dd;

/**
 * A frame whose headers contradict its length: a VLAN tag, IPv4/IPv6 header or TCP/UDP header that is cut off,
 * an IPv4 header length below 20 bytes, or an IP length beyond the frame. Such frames are counted and dropped
 * rather than forwarded (a host would drop them anyway; a switch should not spread them). `off` points at the
 * virtio_net_hdr, which must already be valid. A GSO super-frame may carry IPv4 total length 0 (BIG TCP).
 */
export function frameMalformed(b: Uint8Array, off: number, len: number): boolean {
  const end = off + len;
  const t = etherTypeOffset(b, off, len);
  if (t < 0) return true;
  const type = rd16(b, t);
  const p = t + 2;
  let proto: number;
  let l4: number;
  if (type === ETH_P_IP) {
    if (p + 20 > end) return true;
    const ihl = (b[p] & 0x0f) * 4;
    if (b[p] >> 4 !== 4 || ihl < 20 || p + ihl > end) return true;
    const total = rd16(b, p + 2);
    const gso = b[off + HDR.GSO_TYPE] !== VIRTIO_NET_HDR_GSO_NONE;
    if ((total !== 0 || !gso) && (total < ihl || p + total > end)) return true;
    if ((rd16(b, p + 6) & 0x1fff) !== 0) return false; // later fragment: no L4 header
    proto = b[p + 9];
    l4 = p + ihl;
  } else if (type === ETH_P_IPV6) {
    if (p + 40 > end) return true;
    if (b[p] >> 4 !== 6 || p + 40 + rd16(b, p + 4) > end) return true;
    proto = b[p + 6];
    l4 = p + 40;
  } else {
    return false;
  }
  if (proto === IPPROTO_TCP) return l4 + 20 > end || b[l4 + 12] >> 4 < 5 || l4 + (b[l4 + 12] >> 4) * 4 > end;
  if (proto === IPPROTO_UDP) return l4 + 8 > end;
  return false;
}

/**
 * Makes a frame (virtio-net header first) whole for a wire the virtio-net header does not travel on (a tunnel's
 * UDP payload): a checksum the host left to offload (NEEDS_CSUM: the field holds the pseudo-header sum) is
 * completed in place. False for a GSO super-frame, which would need segmenting first.
 */
export function completeForWire(b: Uint8Array, off: number, len: number): boolean {
  if ((b[off + HDR.GSO_TYPE] & ~VIRTIO_NET_HDR_GSO_ECN) !== VIRTIO_NET_HDR_GSO_NONE) return false;
  if ((b[off + HDR.FLAGS] & VIRTIO_NET_HDR_F_NEEDS_CSUM) === 0) return true;
  const frame = off + VNET_HDR_LEN;
  const start = frame + rd16le(b, off + HDR.CSUM_START);
  const field = start + rd16le(b, off + HDR.CSUM_OFFSET);
  const c = inetChecksum(b, start, off + len);
  // UDP sends a computed zero as 0xffff (zero means "no checksum", RFC 768); TCP's zero is a plain zero.
  wr16(b, field, c === 0 ? 0xffff : c);
  b[off + HDR.FLAGS] &= ~VIRTIO_NET_HDR_F_NEEDS_CSUM;
  return true;
}
