/**
 * OVS_KEY_ATTR_TUNNEL: the one key attribute whose payload is nested attributes (OVS_TUNNEL_KEY_ATTR_*), not a
 * struct. The rules are the kernel's (net/openvswitch/flow_netlink.c, ip_tun_from_nlattr and __ip_tun_to_nlattr)
 * and OVS's text forms (lib/odp-util.c): a zero field is absent on the wire except TTL, which is always sent, and
 * tun_id, sent when the KEY flag is set; DF, CSUM and OAM are zero-length flag attributes; KEY is the presence of
 * the ID attribute. Geneve, VXLAN-GBP and ERSPAN options are not modelled (refused by name).
 */
import { OVS_TUNNEL_KEY_ATTR as TUN, OVS_TUNNEL_KEY_ATTR_MAX, TUN_FLAG, TUN_FLAG_NAMES } from './constants';
import { TUNNEL_ATTR, getField, isOnesField, isZeroField, type FieldValue, type KeyFieldDef } from './keyattrs';
import { NlAttrWriter, GENL_RULES, readAttrs, type NlAttr } from '../netlink/attr';
import { formatIpv4, formatIpv6, hexAlt } from './text';
import type { TunnelKey } from './types';

/** The fields carried by attributes of their own (all but `flags`), in wire and text order. */
export const TUNNEL_VALUE_FIELDS: readonly KeyFieldDef[] = TUNNEL_ATTR.fields.filter((f) => f.text !== 'tunflags');

/** The kernel's ovs_tunnel_key_lens: fixed payload length per attribute; -1 nested, -2 variable. */
const TUN_LENGTHS: ReadonlyMap<number, number> = new Map([
  [TUN.ID, 8],
  [TUN.IPV4_SRC, 4],
  [TUN.IPV4_DST, 4],
  [TUN.TOS, 1],
  [TUN.TTL, 1],
  [TUN.DONT_FRAGMENT, 0],
  [TUN.CSUM, 0],
  [TUN.OAM, 0],
  [TUN.GENEVE_OPTS, -2],
  [TUN.TP_SRC, 2],
  [TUN.TP_DST, 2],
  [TUN.VXLAN_OPTS, -1],
  [TUN.IPV6_SRC, 16],
  [TUN.IPV6_DST, 16],
  [TUN.PAD, -2],
  [TUN.ERSPAN_OPTS, -2],
  [TUN.IPV4_INFO_BRIDGE, 0],
]);
const FLAG_ATTRS: ReadonlyArray<readonly [number, number]> = [
  [TUN.DONT_FRAGMENT, TUN_FLAG.DF],
  [TUN.CSUM, TUN_FLAG.CSUM],
  [TUN.OAM, TUN_FLAG.OAM],
];
const UNMODELLED: ReadonlyMap<number, string> = new Map([
  [TUN.GENEVE_OPTS, 'geneve options'],
  [TUN.VXLAN_OPTS, 'vxlan(gbp(...)) options'],
  [TUN.ERSPAN_OPTS, 'erspan options'],
  [TUN.IPV4_INFO_BRIDGE, 'IPV4_INFO_BRIDGE'],
]);

/** The VNI a tun_id carries (its low 24 bits: VXLAN's and Geneve's VNI), or undefined when it does not fit 24 bits. */
export function vniOfTunId(id: Uint8Array): number | undefined {
  for (let i = 0; i < 5; i++) if (id[i] !== 0) return undefined;
  return (id[5] << 16) | (id[6] << 8) | id[7];
}

/** The be64 tun_id that carries a 24-bit VNI. */
export function tunIdOfVni(vni: number): Uint8Array {
  const id = new Uint8Array(8);
  id[5] = (vni >> 16) & 0xff;
  id[6] = (vni >> 8) & 0xff;
  id[7] = vni & 0xff;
  return id;
}

/** A tunnel endpoint (a key's src or dst, IPv4 or IPv6) as address text; undefined when neither is set. */
export function tunnelEndpointText(v4: number, v6: Uint8Array): string | undefined {
  if (v4 !== 0) return formatIpv4(v4);
  return v6.some((b) => b !== 0) ? formatIpv6(v6) : undefined;
}

export function zeroTunnel(): TunnelKey {
  return {
    tunId: new Uint8Array(8),
    src: 0,
    dst: 0,
    ipv6Src: new Uint8Array(16),
    ipv6Dst: new Uint8Array(16),
    tos: 0,
    ttl: 0,
    tpSrc: 0,
    tpDst: 0,
    flags: 0,
  };
}

/** Whether a field's attribute is on the wire for this value (OVS's tun_key_to_attr, the kernel's likewise). */
export function tunnelFieldPresent(t: TunnelKey, fd: KeyFieldDef): boolean {
  if (fd.nl === TUN.TTL) return true;
  const v = getField(t, fd);
  if (fd.nl === TUN.ID) return !isZeroField(v) || (t.flags & TUN_FLAG.KEY) !== 0;
  return !isZeroField(v);
}

/** The nested attributes of one tunnel key or mask. */
export function encodeTunnel(t: TunnelKey): Uint8Array {
  const w = new NlAttrWriter(GENL_RULES);
  const dv = (n: number) => {
    const b = new Uint8Array(n);
    return { b, v: new DataView(b.buffer) };
  };
  for (const fd of TUNNEL_VALUE_FIELDS) {
    if (!tunnelFieldPresent(t, fd)) continue;
    const v = getField(t, fd);
    if (fd.wire === 'u8') w.putU8(fd.nl as number, v as number);
    else if (fd.wire === 'be16' || fd.wire === 'be32') {
      const n = fd.wire === 'be16' ? 2 : 4;
      const { b, v: view } = dv(n);
      if (n === 2) view.setUint16(0, v as number, false);
      else view.setUint32(0, (v as number) >>> 0, false);
      w.put(fd.nl as number, b);
    } else w.put(fd.nl as number, v as Uint8Array);
    // The flags follow TTL, and OAM follows the ports, as the kernel and OVS write them.
    if (fd.nl === TUN.TTL) {
      if (t.flags & TUN_FLAG.DF) w.putFlag(TUN.DONT_FRAGMENT);
      if (t.flags & TUN_FLAG.CSUM) w.putFlag(TUN.CSUM);
    }
  }
  if (t.flags & TUN_FLAG.OAM) w.putFlag(TUN.OAM);
  return w.finish();
}

/** Thrown as the codec's FlowDecodeError by the caller; the message is the kernel's where it has one. */
export class TunnelDecodeError extends Error {}

/** One tunnel key or mask from its nested attributes, with the kernel's length and range checks. */
export function decodeTunnel(payload: Uint8Array): TunnelKey {
  let attrs: NlAttr[];
  try {
    attrs = readAttrs(payload);
  } catch (e) {
    throw new TunnelDecodeError(`tunnel: ${(e as Error).message}`);
  }
  const t = zeroTunnel();
  let ipv4 = false;
  let ipv6 = false;
  for (const a of attrs) {
    if (a.type > OVS_TUNNEL_KEY_ATTR_MAX)
      throw new TunnelDecodeError(`Tunnel attr ${a.type} out of range max ${OVS_TUNNEL_KEY_ATTR_MAX}`);
    const len = TUN_LENGTHS.get(a.type);
    if (len !== undefined && len >= 0 && a.payload.length !== len)
      throw new TunnelDecodeError(`Tunnel attr ${a.type} has unexpected len ${a.payload.length} expected ${len}`);
    if (a.type === TUN.PAD) continue;
    const unmodelled = UNMODELLED.get(a.type);
    if (unmodelled) throw new TunnelDecodeError(`tunnel: ${unmodelled} are valid for the kernel but not modelled`);
    const flag = FLAG_ATTRS.find(([nl]) => nl === a.type);
    if (flag) {
      t.flags |= flag[1];
      continue;
    }
    const fd = TUNNEL_VALUE_FIELDS.find((f) => f.nl === a.type) as KeyFieldDef;
    const view = new DataView(a.payload.buffer, a.payload.byteOffset, a.payload.length);
    const value: FieldValue =
      fd.wire === 'u8'
        ? a.payload[0]
        : fd.wire === 'be16'
          ? view.getUint16(0, false)
          : fd.wire === 'be32'
            ? view.getUint32(0, false)
            : new Uint8Array(a.payload);
    (t as unknown as Record<string, FieldValue>)[fd.prop] = value;
    if (fd.nl === TUN.ID) t.flags |= TUN_FLAG.KEY;
    if (fd.nl === TUN.IPV4_SRC || fd.nl === TUN.IPV4_DST) ipv4 = true;
    if (fd.nl === TUN.IPV6_SRC || fd.nl === TUN.IPV6_DST) ipv6 = true;
  }
  if (ipv4 && ipv6) throw new TunnelDecodeError('Mixed IPv4 and IPv6 tunnel attributes');
  return t;
}

/**
 * The kernel's rules for a tunnel key (not a mask), as ip_tun_from_nlattr words them: endpoints of one family, a
 * destination, and a TTL. `ttlGiven`: whether the TTL was given (in a flow key, a non-zero value or mask).
 */
export function tunnelKeyProblem(t: TunnelKey, ttlGiven: boolean): string | undefined {
  const v4 = t.src !== 0 || t.dst !== 0;
  const v6 = !isZeroField(t.ipv6Src) || !isZeroField(t.ipv6Dst);
  if (v4 && v6)
    return 'mixes IPv4 (src=, dst=) and IPv6 (ipv6_src=, ipv6_dst=) endpoints (kernel: "Mixed IPv4 and IPv6 tunnel attributes")';
  if (!v4 && !v6) return 'needs its destination, dst= or ipv6_dst= (kernel: "IP tunnel dst address not specified")';
  if (v4 && t.dst === 0) return 'needs dst= (kernel: "IPv4 tunnel dst address is zero")';
  if (v6 && isZeroField(t.ipv6Dst)) return 'needs ipv6_dst= (kernel: "IPv6 tunnel dst address is zero")';
  if (!ttlGiven) return 'needs ttl= (kernel: "IP tunnel TTL not specified.")';
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Text (format_odp_tun_attr)

const hexBytes = (b: Uint8Array): string => {
  const n = BigInt('0x' + Buffer.from(b).toString('hex'));
  return '0x' + n.toString(16);
};

function fieldText(fd: KeyFieldDef, v: FieldValue, isMask: boolean): string {
  switch (fd.text) {
    case 'hex64':
      return hexBytes(v as Uint8Array);
    case 'ipv4':
      return formatIpv4(v as number);
    case 'ipv6':
      return formatIpv6(v as Uint8Array);
    case 'hex':
      return hexAlt(v as number);
    default:
      return isMask ? hexAlt(v as number) : String(v);
  }
}

function flagsText(flags: number, delim: string): string {
  if (!flags) return '0';
  return TUN_FLAG_NAMES.filter(([bit]) => flags & bit)
    .map(([, n]) => n)
    .join(delim);
}

/**
 * The body of `tunnel(...)`: each field whose attribute the key carries, `value[/mask]`, unless its mask is zero
 * (then omitted, unless verbose); then `flags(...)`. `m` undefined: no mask, every field exact.
 */
export function formatTunnelBody(t: TunnelKey, m: TunnelKey | undefined, verbose: boolean): string {
  const parts: string[] = [];
  for (const fd of TUNNEL_VALUE_FIELDS) {
    if (!tunnelFieldPresent(t, fd)) continue;
    const v = getField(t, fd);
    const mv = m === undefined ? undefined : getField(m, fd);
    if (mv !== undefined && isZeroField(mv) && !verbose) continue;
    const exact = mv === undefined || isOnesField(mv, fd);
    parts.push(`${fd.name}=${fieldText(fd, v, false)}${exact ? '' : '/' + fieldText(fd, mv, true)}`);
  }
  // The KEY flag is the ID attribute's presence: with a mask, it is matched whenever the key carries tun_id.
  const keyFlags = t.flags & ~TUN_FLAG.KEY;
  const hasId = tunnelFieldPresent(t, TUNNEL_VALUE_FIELDS[0]);
  const flags = keyFlags | (hasId ? TUN_FLAG.KEY : 0);
  if (m === undefined) parts.push(`flags(${flagsText(flags, '|')})`);
  else {
    const mask = (m.flags & ~TUN_FLAG.KEY) | (hasId ? TUN_FLAG.KEY : 0);
    if (verbose || mask) parts.push(`flags(${formatTunFlagsMasked(flags, mask)})`);
  }
  return parts.join(',');
}

/** lib/flow.c format_flags_masked over the tunnel flags. */
function formatTunFlagsMasked(flags: number, mask: number): string {
  if (mask === 0xf) return flagsText(flags, '|');
  if (!mask) return '0/0';
  return TUN_FLAG_NAMES.filter(([bit]) => mask & bit)
    .map(([bit, n]) => (flags & bit ? '+' : '-') + n)
    .join('');
}
