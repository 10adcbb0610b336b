/**
 * The flat key used on the hot path: a fixed Uint32Array with the kernel's sw_flow_key semantics (VLAN TCIs next to
 * the innermost EtherType, L3/L4 of the innermost level). extract() fills one per packet; a megaflow stores its
 * masked value and mask in the same layout, so matching is `(packet ^ value) & mask == 0` word by word.
 */
import { ETH_P, TUN_FLAG, VLAN_CFI } from './constants';
import type { FlowKey, FlowMask, TunnelKey } from './types';

export const W = {
  // Words most packets use come first, so a key's significant prefix (PacketKey.len) is short for plain
  // IPv4/ARP traffic and the EMC compares ~11 words instead of 35.
  IN_PORT: 0,
  ETH_SRC_HI: 1,
  ETH_SRC_LO: 2,
  ETH_DST_HI: 3,
  ETH_DST_LO: 4,
  /** Innermost EtherType. */
  ETH_TYPE: 5,
  /** IPv4 src/dst, or ARP sip/tip. */
  NW_SRC: 6,
  NW_DST: 7,
  /** proto | tos(tclass) << 8 | ttl(hlimit) << 16 | frag << 24. */
  NW_META: 8,
  /** src << 16 | dst for TCP/UDP/SCTP; type << 16 | code for ICMP/ICMPv6. */
  TP: 9,
  TCP_FLAGS: 10,
  /** (TPID << 16 | TCI) of the outer tag; 0 when untagged. */
  VLAN: 11,
  /** Inner (C-VLAN) tag, same form. */
  CVLAN: 12,
  IPV6_LABEL: 13,
  IPV6_SRC: 14,
  IPV6_DST: 18,
  ARP_OP: 22,
  /** ARP sha / ND sll. */
  SHA_HI: 23,
  SHA_LO: 24,
  /** ARP tha / ND tll. */
  THA_HI: 25,
  THA_LO: 26,
  ND_TARGET: 27,
  PRIORITY: 31,
  SKB_MARK: 32,
  RECIRC_ID: 33,
  DP_HASH: 34,
  /**
   * The tunnel metadata a tunnel port of the userspace datapath sets on a decapsulated frame: tun_id (be64, high
   * and low halves), outer IPv4 source and destination. Last, so that keys of frames from other ports stay short.
   * Outer TOS, TTL, UDP ports and flags are not carried: a flow cannot match them on this datapath.
   */
  TUN_ID_HI: 35,
  TUN_ID_LO: 36,
  TUN_SRC: 37,
  TUN_DST: 38,
} as const;
export const KEY_WORDS = 39;

/** A packet's flow key in flat form, plus its hash (computed once per packet, reused by the caches). */
export interface PacketKey {
  words: Uint32Array;
  /** Significant words: words[len..] are all zero. */
  len: number;
  hash: number;
}

export function newPacketKey(): PacketKey {
  return { words: new Uint32Array(KEY_WORDS), len: KEY_WORDS, hash: 0 };
}

/** Sets `len` and `hash` after the words were written (extract does this; call it for hand-built keys). */
export function finishPacketKey(pk: PacketKey): PacketKey {
  const w = pk.words;
  let n = KEY_WORDS;
  while (n > 0 && w[n - 1] === 0) n--;
  pk.len = n;
  pk.hash = hashWords(w, n);
  return pk;
}

/** Hash over all words (murmur-style mixing); cheap enough to run once per packet. */
export function hashWords(w: Uint32Array, n = KEY_WORDS): number {
  let h = 0x9747b28c;
  for (let i = 0; i < n; i++) {
    let k = Math.imul(w[i], 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const be32 = (b: Uint8Array, i: number): number => ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;

/** The tunnel words of a key and mask (tun_id, IPv4 src and dst; see W.TUN_ID_HI). */
function packTunnel(key: FlowKey, mask: FlowMask, v: Uint32Array, m: Uint32Array): void {
  const t = key.tunnel;
  if (t === undefined) return;
  const tm = mask.tunnel;
  v[W.TUN_ID_HI] = be32(t.tunId, 0);
  v[W.TUN_ID_LO] = be32(t.tunId, 4);
  v[W.TUN_SRC] = t.src;
  v[W.TUN_DST] = t.dst;
  if (tm === undefined) return;
  m[W.TUN_ID_HI] = be32(tm.tunId, 0);
  m[W.TUN_ID_LO] = be32(tm.tunId, 4);
  m[W.TUN_SRC] = tm.src;
  m[W.TUN_DST] = tm.dst;
}

const hi16 = (mac: number): number => Math.floor(mac / 0x100000000) & 0xffff;
const lo32 = (mac: number): number => mac >>> 0;
const isVlanTpid = (t: number | undefined): boolean => t === ETH_P.VLAN_8021Q || t === ETH_P.VLAN_8021AD;

function putIpv6(out: Uint32Array, at: number, a: Uint8Array): void {
  for (let i = 0; i < 4; i++)
    out[at + i] = ((a[4 * i] << 24) | (a[4 * i + 1] << 16) | (a[4 * i + 2] << 8) | a[4 * i + 3]) >>> 0;
}

/**
 * Flattens a flow's key and mask with the kernel's implicit rules: in_port and EtherType masks are forced exact
 * when present; a flow without vlan() matches untagged frames only (TCI masks forced to 0xffff). The value is
 * returned already ANDed with the mask, as a datapath stores megaflows.
 */
export function packMatch(key: FlowKey, mask: FlowMask): { value: Uint32Array; mask: Uint32Array } {
  const v = new Uint32Array(KEY_WORDS);
  const m = new Uint32Array(KEY_WORDS);
  const meta: Array<[keyof FlowKey, number]> = [
    ['priority', W.PRIORITY],
    ['skbMark', W.SKB_MARK],
    ['recircId', W.RECIRC_ID],
    ['dpHash', W.DP_HASH],
    ['inPort', W.IN_PORT],
  ];
  for (const [prop, w] of meta) {
    if (key[prop] === undefined) continue;
    v[w] = key[prop] as number;
    m[w] = (mask[prop] as number | undefined) ?? 0;
  }
  if (key.inPort !== undefined && m[W.IN_PORT] !== 0) m[W.IN_PORT] = 0xffffffff;
  packTunnel(key, mask, v, m);
  if (key.eth) {
    const me = mask.eth ?? { src: 0, dst: 0 };
    v[W.ETH_SRC_HI] = hi16(key.eth.src);
    v[W.ETH_SRC_LO] = lo32(key.eth.src);
    v[W.ETH_DST_HI] = hi16(key.eth.dst);
    v[W.ETH_DST_LO] = lo32(key.eth.dst);
    m[W.ETH_SRC_HI] = hi16(me.src);
    m[W.ETH_SRC_LO] = lo32(me.src);
    m[W.ETH_DST_HI] = hi16(me.dst);
    m[W.ETH_DST_LO] = lo32(me.dst);
  }
  // VLAN levels.
  m[W.VLAN] = 0xffffffff;
  m[W.CVLAN] = 0xffffffff;
  let k: FlowKey = key;
  let mk: FlowMask = mask;
  for (const word of [W.VLAN, W.CVLAN]) {
    if (!(key.eth && isVlanTpid(k.ethType) && k.vlan !== undefined && k.encap)) break;
    v[word] = (((k.ethType as number) << 16) | k.vlan) >>> 0;
    m[word] = ((0xffff << 16) | ((mk.vlan ?? VLAN_CFI) & 0xffff)) >>> 0;
    mk = mk.encap ?? {};
    k = k.encap;
  }
  if (k.ethType !== undefined) {
    v[W.ETH_TYPE] = k.ethType;
    m[W.ETH_TYPE] = mk.ethType ? 0xffff : 0;
  }
  if (k.ipv4) {
    const a = k.ipv4;
    const b = mk.ipv4 ?? { src: 0, dst: 0, proto: 0, tos: 0, ttl: 0, frag: 0 };
    v[W.NW_SRC] = a.src;
    v[W.NW_DST] = a.dst;
    m[W.NW_SRC] = b.src;
    m[W.NW_DST] = b.dst;
    v[W.NW_META] = (a.proto | (a.tos << 8) | (a.ttl << 16) | (a.frag << 24)) >>> 0;
    m[W.NW_META] = (b.proto | (b.tos << 8) | (b.ttl << 16) | (b.frag << 24)) >>> 0;
  }
  if (k.ipv6) {
    const a = k.ipv6;
    const b = mk.ipv6;
    putIpv6(v, W.IPV6_SRC, a.src);
    putIpv6(v, W.IPV6_DST, a.dst);
    if (b) {
      putIpv6(m, W.IPV6_SRC, b.src);
      putIpv6(m, W.IPV6_DST, b.dst);
    }
    v[W.NW_META] = (a.proto | (a.tclass << 8) | (a.hlimit << 16) | (a.frag << 24)) >>> 0;
    m[W.NW_META] = b ? (b.proto | (b.tclass << 8) | (b.hlimit << 16) | (b.frag << 24)) >>> 0 : 0;
    v[W.IPV6_LABEL] = a.label;
    m[W.IPV6_LABEL] = b ? b.label & 0xfffff : 0;
  }
  if (k.arp) {
    const a = k.arp;
    const b = mk.arp ?? { sip: 0, tip: 0, op: 0, sha: 0, tha: 0 };
    v[W.NW_SRC] = a.sip;
    v[W.NW_DST] = a.tip;
    v[W.ARP_OP] = a.op;
    m[W.NW_SRC] = b.sip;
    m[W.NW_DST] = b.tip;
    m[W.ARP_OP] = b.op;
    v[W.SHA_HI] = hi16(a.sha);
    v[W.SHA_LO] = lo32(a.sha);
    v[W.THA_HI] = hi16(a.tha);
    v[W.THA_LO] = lo32(a.tha);
    m[W.SHA_HI] = hi16(b.sha);
    m[W.SHA_LO] = lo32(b.sha);
    m[W.THA_HI] = hi16(b.tha);
    m[W.THA_LO] = lo32(b.tha);
  }
  for (const p of ['tcp', 'udp', 'sctp'] as const) {
    const a = k[p];
    if (!a) continue;
    const b = mk[p] ?? { src: 0, dst: 0 };
    v[W.TP] = ((a.src << 16) | a.dst) >>> 0;
    m[W.TP] = ((b.src << 16) | b.dst) >>> 0;
  }
  for (const p of ['icmp', 'icmpv6'] as const) {
    const a = k[p];
    if (!a) continue;
    const b = mk[p] ?? { type: 0, code: 0 };
    v[W.TP] = ((a.type << 16) | a.code) >>> 0;
    m[W.TP] = ((b.type << 16) | b.code) >>> 0;
  }
  if (k.tcpFlags !== undefined) {
    v[W.TCP_FLAGS] = k.tcpFlags;
    m[W.TCP_FLAGS] = (mk.tcpFlags ?? 0) & 0x0fff;
  }
  if (k.nd) {
    const a = k.nd;
    const b = mk.nd;
    putIpv6(v, W.ND_TARGET, a.target);
    if (b) putIpv6(m, W.ND_TARGET, b.target);
    v[W.SHA_HI] = hi16(a.sll);
    v[W.SHA_LO] = lo32(a.sll);
    v[W.THA_HI] = hi16(a.tll);
    v[W.THA_LO] = lo32(a.tll);
    if (b) {
      m[W.SHA_HI] = hi16(b.sll);
      m[W.SHA_LO] = lo32(b.sll);
      m[W.THA_HI] = hi16(b.tll);
      m[W.THA_LO] = lo32(b.tll);
    }
  }
  for (let i = 0; i < KEY_WORDS; i++) v[i] = (v[i] & m[i]) >>> 0;
  return { value: v, mask: m };
}

function ipv6From(w: Uint32Array, at: number): Uint8Array {
  const out = new Uint8Array(16);
  for (let i = 0; i < 4; i++) {
    const x = w[at + i];
    out[4 * i] = x >>> 24;
    out[4 * i + 1] = (x >>> 16) & 0xff;
    out[4 * i + 2] = (x >>> 8) & 0xff;
    out[4 * i + 3] = x & 0xff;
  }
  return out;
}
const mac = (hi: number, lo: number): number => hi * 0x100000000 + lo;

/** A decapsulated frame's tunnel metadata: tun_id (with the KEY flag), src, dst; the rest zero (not carried). */
function unpackTunnel(w: Uint32Array): TunnelKey {
  const tunId = new Uint8Array(8);
  const view = new DataView(tunId.buffer);
  view.setUint32(0, w[W.TUN_ID_HI], false);
  view.setUint32(4, w[W.TUN_ID_LO], false);
  return {
    tunId,
    src: w[W.TUN_SRC],
    dst: w[W.TUN_DST],
    ipv6Src: new Uint8Array(16),
    ipv6Dst: new Uint8Array(16),
    tos: 0,
    ttl: 0,
    tpSrc: 0,
    tpDst: 0,
    flags: TUN_FLAG.KEY,
  };
}

/**
 * Turns a packet's flat key back into the structured FlowKey the upcall/policy layer and ODP formatter use, with
 * the attributes the kernel would report for that packet (VLAN tags as ethType/vlan/encap).
 */
export function unpackPacketKey(w: Uint32Array): FlowKey {
  const key: FlowKey = {
    priority: w[W.PRIORITY],
    skbMark: w[W.SKB_MARK],
    recircId: w[W.RECIRC_ID],
    dpHash: w[W.DP_HASH],
    inPort: w[W.IN_PORT],
    eth: { src: mac(w[W.ETH_SRC_HI], w[W.ETH_SRC_LO]), dst: mac(w[W.ETH_DST_HI], w[W.ETH_DST_LO]) },
  };
  if (w[W.TUN_ID_HI] !== 0 || w[W.TUN_ID_LO] !== 0 || w[W.TUN_SRC] !== 0 || w[W.TUN_DST] !== 0)
    key.tunnel = unpackTunnel(w);
  let level = key;
  for (const word of [W.VLAN, W.CVLAN]) {
    if (w[word] === 0) break;
    level.ethType = w[word] >>> 16;
    level.vlan = w[word] & 0xffff;
    level.encap = {};
    level = level.encap;
  }
  const et = w[W.ETH_TYPE];
  level.ethType = et;
  const meta = w[W.NW_META];
  const proto = meta & 0xff;
  const frag = meta >>> 24;
  const tpSrc = w[W.TP] >>> 16;
  const tpDst = w[W.TP] & 0xffff;
  if (et === ETH_P.IP) {
    level.ipv4 = {
      src: w[W.NW_SRC],
      dst: w[W.NW_DST],
      proto,
      tos: (meta >>> 8) & 0xff,
      ttl: (meta >>> 16) & 0xff,
      frag,
    };
  } else if (et === ETH_P.IPV6) {
    level.ipv6 = {
      src: ipv6From(w, W.IPV6_SRC),
      dst: ipv6From(w, W.IPV6_DST),
      label: w[W.IPV6_LABEL],
      proto,
      tclass: (meta >>> 8) & 0xff,
      hlimit: (meta >>> 16) & 0xff,
      frag,
    };
  } else if (et === ETH_P.ARP || et === ETH_P.RARP) {
    level.arp = {
      sip: w[W.NW_SRC],
      tip: w[W.NW_DST],
      op: w[W.ARP_OP],
      sha: mac(w[W.SHA_HI], w[W.SHA_LO]),
      tha: mac(w[W.THA_HI], w[W.THA_LO]),
    };
  }
  if ((et === ETH_P.IP || et === ETH_P.IPV6) && frag !== 2) {
    if (proto === 6) {
      level.tcp = { src: tpSrc, dst: tpDst };
      level.tcpFlags = w[W.TCP_FLAGS];
    } else if (proto === 17) level.udp = { src: tpSrc, dst: tpDst };
    else if (proto === 132) level.sctp = { src: tpSrc, dst: tpDst };
    else if (proto === 1 && et === ETH_P.IP) level.icmp = { type: tpSrc, code: tpDst };
    else if (proto === 58 && et === ETH_P.IPV6) {
      level.icmpv6 = { type: tpSrc, code: tpDst };
      if (tpSrc === 135 || tpSrc === 136)
        level.nd = {
          target: ipv6From(w, W.ND_TARGET),
          sll: mac(w[W.SHA_HI], w[W.SHA_LO]),
          tll: mac(w[W.THA_HI], w[W.THA_LO]),
        };
    }
  }
  return key;
}
