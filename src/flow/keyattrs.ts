/**
 * The one table of key attributes: ODP name, OVS_KEY_ATTR number, wire size and field layout (offset, wire type,
 * byte order, text form). Parse, format, codec, validate and the classifier all walk this table, so a field is
 * described once.
 */
import { OVS_KEY_ATTR, OVS_TUNNEL_KEY_ATTR as TUN } from './constants';
import type { FlowKey, KeyAttrName } from './types';

/** Wire types: `u32`/`u16` are host order (the kernel keeps metadata in host order); `be*` network order. */
export type WireKind = 'u8' | 'be16' | 'be32' | 'u32' | 'mac' | 'ipv6' | 'be64';
/** Text forms, after lib/odp-util.c's format_* helpers. */
export type TextKind =
  | 'dec' // format_u8u / format_be16: decimal, mask as %#x
  | 'hex' // format_u8x: %#x
  | 'ipv4'
  | 'mac'
  | 'ipv6'
  | 'label' // IPv6 flow label, %#x, 20 bits
  | 'frag' // no|first|later, always fully masked
  | 'hex32' // skb_priority, skb_mark, recirc_id, dp_hash: %#x
  | 'port' // in_port: number or port name
  | 'ethtype' // 0x%04x
  | 'tci' // vlan(vid=,pcp=,cfi=)
  | 'tcpflags' // flag names
  | 'hex64' // tun_id: 0x%llx, 8 bytes
  | 'tunflags'; // tunnel flags(df|csum|key|oam)

export interface KeyFieldDef {
  /** ODP field name ("src", "proto"); empty for single-valued attributes. */
  name: string;
  /** Property in the attribute object; empty for single-valued attributes (the value is the property itself). */
  prop: string;
  offset: number;
  wire: WireKind;
  text: TextKind;
  /** Value range for numbers (all ones = exact). */
  bits: number;
  /** Nested attributes only: the OVS_TUNNEL_KEY_ATTR_* that carries the field (flags: several, see tunnel.ts). */
  nl?: number;
}

export interface KeyAttrDef {
  attr: number;
  /** ODP syntax name. */
  odp: string;
  prop: KeyAttrName;
  /** Payload bytes on the wire (ovs_key_* struct size, with tail padding). */
  size: number;
  fields: KeyFieldDef[];
  /** Single value written as `name(value)` rather than `name(field=value,...)`. */
  single: boolean;
  /**
   * The payload is nested attributes, one per field (OVS_KEY_ATTR_TUNNEL), not a struct: `offset` and `size` then
   * describe no wire layout, and tunnel.ts encodes, decodes, parses and formats it.
   */
  nested?: true;
}

const f = (name: string, offset: number, wire: WireKind, text: TextKind, bits: number): KeyFieldDef => ({
  name,
  prop: name,
  offset,
  wire,
  text,
  bits,
});
const single = (
  attr: number,
  odp: string,
  prop: KeyAttrName,
  size: number,
  wire: WireKind,
  text: TextKind,
  bits: number,
): KeyAttrDef => ({
  attr,
  odp,
  prop,
  size,
  single: true,
  fields: [{ name: '', prop: '', offset: 0, wire, text, bits }],
});
const struct = (attr: number, odp: string, prop: KeyAttrName, size: number, fields: KeyFieldDef[]): KeyAttrDef => ({
  attr,
  odp,
  prop,
  size,
  single: false,
  fields,
});

const tf = (name: string, prop: string, nl: number, wire: WireKind, text: TextKind, bits: number): KeyFieldDef => ({
  name,
  prop,
  offset: 0,
  wire,
  text,
  bits,
  nl,
});

/** OVS_KEY_ATTR_TUNNEL: fields in the order OVS formats them (the order of the nested attributes). */
export const TUNNEL_ATTR: KeyAttrDef = {
  attr: OVS_KEY_ATTR.TUNNEL,
  odp: 'tunnel',
  prop: 'tunnel',
  size: -1,
  single: false,
  nested: true,
  fields: [
    tf('tun_id', 'tunId', TUN.ID, 'be64', 'hex64', 64),
    tf('src', 'src', TUN.IPV4_SRC, 'be32', 'ipv4', 32),
    tf('dst', 'dst', TUN.IPV4_DST, 'be32', 'ipv4', 32),
    tf('ipv6_src', 'ipv6Src', TUN.IPV6_SRC, 'ipv6', 'ipv6', 128),
    tf('ipv6_dst', 'ipv6Dst', TUN.IPV6_DST, 'ipv6', 'ipv6', 128),
    tf('tos', 'tos', TUN.TOS, 'u8', 'hex', 8),
    tf('ttl', 'ttl', TUN.TTL, 'u8', 'dec', 8),
    tf('tp_src', 'tpSrc', TUN.TP_SRC, 'be16', 'dec', 16),
    tf('tp_dst', 'tpDst', TUN.TP_DST, 'be16', 'dec', 16),
    tf('flags', 'flags', TUN.DONT_FRAGMENT, 'u8', 'tunflags', 4),
  ],
};

/**
 * In canonical order: the order OVS's odp_flow_key_from_flow() emits and dpctl/dump-flows prints, which is also
 * the wire order we encode. For a VLAN frame, ethType (the TPID) and vlan precede encap.
 */
export const KEY_ATTRS: readonly KeyAttrDef[] = [
  single(OVS_KEY_ATTR.PRIORITY, 'skb_priority', 'priority', 4, 'u32', 'hex32', 32),
  single(OVS_KEY_ATTR.SKB_MARK, 'skb_mark', 'skbMark', 4, 'u32', 'hex32', 32),
  single(OVS_KEY_ATTR.RECIRC_ID, 'recirc_id', 'recircId', 4, 'u32', 'hex32', 32),
  single(OVS_KEY_ATTR.DP_HASH, 'dp_hash', 'dpHash', 4, 'u32', 'hex32', 32),
  // OVS emits tunnel() right before in_port() (odp_flow_key_from_flow).
  TUNNEL_ATTR,
  single(OVS_KEY_ATTR.IN_PORT, 'in_port', 'inPort', 4, 'u32', 'port', 32),
  // ovs_key_ethernet: eth_src first, then eth_dst.
  struct(OVS_KEY_ATTR.ETHERNET, 'eth', 'eth', 12, [f('src', 0, 'mac', 'mac', 48), f('dst', 6, 'mac', 'mac', 48)]),
  single(OVS_KEY_ATTR.ETHERTYPE, 'eth_type', 'ethType', 2, 'be16', 'ethtype', 16),
  single(OVS_KEY_ATTR.VLAN, 'vlan', 'vlan', 2, 'be16', 'tci', 16),
  struct(OVS_KEY_ATTR.IPV4, 'ipv4', 'ipv4', 12, [
    f('src', 0, 'be32', 'ipv4', 32),
    f('dst', 4, 'be32', 'ipv4', 32),
    f('proto', 8, 'u8', 'dec', 8),
    f('tos', 9, 'u8', 'hex', 8),
    f('ttl', 10, 'u8', 'dec', 8),
    f('frag', 11, 'u8', 'frag', 8),
  ]),
  struct(OVS_KEY_ATTR.IPV6, 'ipv6', 'ipv6', 40, [
    f('src', 0, 'ipv6', 'ipv6', 128),
    f('dst', 16, 'ipv6', 'ipv6', 128),
    f('label', 32, 'be32', 'label', 32),
    f('proto', 36, 'u8', 'dec', 8),
    f('tclass', 37, 'u8', 'hex', 8),
    f('hlimit', 38, 'u8', 'dec', 8),
    f('frag', 39, 'u8', 'frag', 8),
  ]),
  // ovs_key_arp is 24 bytes: 22 of fields and 2 of tail padding; the kernel checks len == sizeof.
  struct(OVS_KEY_ATTR.ARP, 'arp', 'arp', 24, [
    f('sip', 0, 'be32', 'ipv4', 32),
    f('tip', 4, 'be32', 'ipv4', 32),
    f('op', 8, 'be16', 'dec', 16),
    f('sha', 10, 'mac', 'mac', 48),
    f('tha', 16, 'mac', 'mac', 48),
  ]),
  struct(OVS_KEY_ATTR.TCP, 'tcp', 'tcp', 4, [f('src', 0, 'be16', 'dec', 16), f('dst', 2, 'be16', 'dec', 16)]),
  single(OVS_KEY_ATTR.TCP_FLAGS, 'tcp_flags', 'tcpFlags', 2, 'be16', 'tcpflags', 16),
  struct(OVS_KEY_ATTR.UDP, 'udp', 'udp', 4, [f('src', 0, 'be16', 'dec', 16), f('dst', 2, 'be16', 'dec', 16)]),
  struct(OVS_KEY_ATTR.SCTP, 'sctp', 'sctp', 4, [f('src', 0, 'be16', 'dec', 16), f('dst', 2, 'be16', 'dec', 16)]),
  struct(OVS_KEY_ATTR.ICMP, 'icmp', 'icmp', 2, [f('type', 0, 'u8', 'dec', 8), f('code', 1, 'u8', 'dec', 8)]),
  struct(OVS_KEY_ATTR.ICMPV6, 'icmpv6', 'icmpv6', 2, [f('type', 0, 'u8', 'dec', 8), f('code', 1, 'u8', 'dec', 8)]),
  struct(OVS_KEY_ATTR.ND, 'nd', 'nd', 28, [
    f('target', 0, 'ipv6', 'ipv6', 128),
    f('sll', 16, 'mac', 'mac', 48),
    f('tll', 22, 'mac', 'mac', 48),
  ]),
];

export const KEY_ATTR_BY_ODP: ReadonlyMap<string, KeyAttrDef> = new Map(KEY_ATTRS.map((d) => [d.odp, d]));
export const KEY_ATTR_BY_NUMBER: ReadonlyMap<number, KeyAttrDef> = new Map(KEY_ATTRS.map((d) => [d.attr, d]));
export const KEY_ATTR_BY_PROP: ReadonlyMap<string, KeyAttrDef> = new Map(KEY_ATTRS.map((d) => [d.prop, d]));

/** Fixed payload length per OVS_KEY_ATTR_* (ovs_key_lens); -1 nested, -2 variable, undefined unknown. */
export const KEY_ATTR_LENGTHS: ReadonlyMap<number, number> = new Map<number, number>([
  [OVS_KEY_ATTR.ENCAP, -1],
  [OVS_KEY_ATTR.NSH, -1],
  [OVS_KEY_ATTR.MPLS, -2],
  [OVS_KEY_ATTR.CT_STATE, 4],
  [OVS_KEY_ATTR.CT_ZONE, 2],
  [OVS_KEY_ATTR.CT_MARK, 4],
  [OVS_KEY_ATTR.CT_LABELS, 16],
  [OVS_KEY_ATTR.CT_ORIG_TUPLE_IPV4, 16],
  [OVS_KEY_ATTR.CT_ORIG_TUPLE_IPV6, 40],
  [OVS_KEY_ATTR.IPV6_EXTHDRS, 2],
  ...KEY_ATTRS.map((d) => [d.attr, d.size] as [number, number]),
]);

/** Key attributes the kernel knows but netmgr does not model yet (accepted nowhere, named in errors). */
export const UNMODELLED_KEY_NAMES: ReadonlyMap<string, number> = new Map([
  ['mpls', OVS_KEY_ATTR.MPLS],
  ['ct_state', OVS_KEY_ATTR.CT_STATE],
  ['ct_zone', OVS_KEY_ATTR.CT_ZONE],
  ['ct_mark', OVS_KEY_ATTR.CT_MARK],
  ['ct_label', OVS_KEY_ATTR.CT_LABELS],
  ['ct_tuple4', OVS_KEY_ATTR.CT_ORIG_TUPLE_IPV4],
  ['ct_tuple6', OVS_KEY_ATTR.CT_ORIG_TUPLE_IPV6],
  ['nsh', OVS_KEY_ATTR.NSH],
  ['packet_type', OVS_KEY_ATTR.PACKET_TYPE],
  ['nd_ext', OVS_KEY_ATTR.ND_EXTENSIONS],
]);

export type FieldValue = number | Uint8Array;

/** Reads one field of an attribute value (the value itself for single-valued attributes). */
export function getField(attrValue: unknown, field: KeyFieldDef): FieldValue {
  return (field.prop === '' ? attrValue : (attrValue as Record<string, FieldValue>)[field.prop]) as FieldValue;
}

/** A fresh all-zero value for an attribute (zero key / wildcard mask). */
export function zeroAttr(def: KeyAttrDef): unknown {
  if (def.single) return 0;
  const o: Record<string, FieldValue> = {};
  for (const fd of def.fields) o[fd.prop] = fieldZero(fd);
  return o;
}

/** Bytes of a field held as a byte array (IPv6 addresses, tun_id), or 0 for one held as a number. */
export const fieldBytes = (field: KeyFieldDef): number => (field.wire === 'ipv6' ? 16 : field.wire === 'be64' ? 8 : 0);

export function fieldZero(field: KeyFieldDef): FieldValue {
  const n = fieldBytes(field);
  return n ? new Uint8Array(n) : 0;
}

/** All-ones value for a field (what "exact" means for it). */
export function fieldOnes(field: KeyFieldDef): FieldValue {
  const n = fieldBytes(field);
  if (n) return new Uint8Array(n).fill(0xff);
  return field.bits === 48 ? 0xffffffffffff : field.bits === 32 ? 0xffffffff : (1 << field.bits) - 1;
}

export function isZeroField(v: FieldValue): boolean {
  if (typeof v === 'number') return v === 0;
  for (let i = 0; i < v.length; i++) if (v[i] !== 0) return false;
  return true;
}

export function isOnesField(v: FieldValue, field: KeyFieldDef): boolean {
  if (typeof v === 'number') return v === fieldOnes(field);
  for (let i = 0; i < v.length; i++) if (v[i] !== 0xff) return false;
  return true;
}

/** Attribute-level checks with OVS's special cases (odp_mask_is_constant__): labels are 20 bits, TCP flags 12. */
export function attrMaskIsZero(def: KeyAttrDef, m: unknown): boolean {
  if (def.prop === 'tcpFlags') return ((m as number) & 0x0fff) === 0;
  for (const fd of def.fields) {
    const v = getField(m, fd);
    if (fd.text === 'label' ? ((v as number) & 0xfffff) !== 0 : !isZeroField(v)) return false;
  }
  return true;
}

export function attrMaskIsExact(def: KeyAttrDef, m: unknown): boolean {
  if (def.prop === 'tcpFlags') return ((m as number) & 0x0fff) === 0x0fff;
  for (const fd of def.fields) {
    const v = getField(m, fd);
    if (fd.text === 'label' ? ((v as number) & 0xfffff) !== 0xfffff : !isOnesField(v, fd)) return false;
  }
  return true;
}

/** The attributes present in a key, in canonical order, with `encap` after `vlan`. */
export function presentAttrs(key: FlowKey): KeyAttrDef[] {
  const out: KeyAttrDef[] = [];
  for (const d of KEY_ATTRS) if (key[d.prop] !== undefined) out.push(d);
  return out;
}
