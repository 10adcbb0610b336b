/**
 * Formatter for ODP flows and actions in `ovs-dpctl dump-flows` style (lib/odp-util.c odp_flow_format and
 * format_odp_action): fully wildcarded attributes are elided but eth() is always printed, exact fields print
 * their value, partial ones `value/mask`. `verbose` (dump-flows -m) prints every field.
 */
import {
  FRAG_NAMES,
  IPV6_LABEL_MASK,
  SLOW_PATH_REASONS,
  TCP_FLAG_NAMES,
  USER_ACTION_COOKIE_LEN,
  USER_ACTION_COOKIE_SLOW_PATH,
  VLAN_CFI,
  HOST_IS_LITTLE_ENDIAN,
} from './constants';
import {
  KEY_ATTRS,
  attrMaskIsExact,
  attrMaskIsZero,
  fieldOnes,
  getField,
  isOnesField,
  isZeroField,
  type KeyAttrDef,
  type KeyFieldDef,
  type FieldValue,
  zeroAttr,
} from './keyattrs';
import { formatTunnelBody } from './tunnel';
import { formatHexBytes, formatIpv4, formatIpv6, formatMac, formatUuid, hexAlt } from './text';
import { applyMask } from './match';
import type { FlowAction, FlowActions, FlowKey, FlowMask, FlowStats, PortTable, TunnelKey } from './types';

export interface FormatOptions {
  /** Print every field as value/mask (dump-flows -m). */
  verbose?: boolean;
  /** Print port names instead of numbers where known. */
  ports?: PortTable;
  /**
   * Keep attributes that are present but fully wildcarded (as `arp()`), so the text parses back to the very same
   * key and mask: the kernel requires some of them (e.g. arp() with eth_type(0x0806)). Plans and journals use it.
   */
  complete?: boolean;
}

/** Formats a key with its mask; without a mask every field is exact. */
export function formatFlowKey(key: FlowKey, mask?: FlowMask, opts: FormatOptions = {}): string {
  const parts: string[] = [];
  for (const item of orderedAttrs(key)) {
    if (item === 'encap') {
      // Nested attributes are always printed (odp_flow_format).
      parts.push(`encap(${formatFlowKey(key.encap as FlowKey, mask?.encap, { ...opts, ports: undefined })})`);
      continue;
    }
    const def = item;
    const v = key[def.prop];
    const m = mask ? mask[def.prop] : undefined;
    const wildcard = mask !== undefined && (m === undefined || attrMaskIsZero(def, m));
    if (opts.verbose || !wildcard) {
      const mm = mask !== undefined && m === undefined ? zeroMaskOf(def) : m;
      parts.push(formatKeyAttr(def, v, mm, opts.verbose ?? false, opts.ports));
    } else if (def.prop === 'eth') {
      // An all-wildcarded eth() still says "this is an Ethernet packet" and is always printed.
      parts.push('eth()');
    } else if (opts.complete) {
      parts.push(def.single ? formatKeyAttr(def, v, m ?? zeroMaskOf(def), true, opts.ports) : `${def.odp}()`);
    }
  }
  return parts.join(',');
}

function zeroMaskOf(def: KeyAttrDef): unknown {
  return zeroAttr(def);
}

/** Canonical order, with encap right after vlan. */
function orderedAttrs(key: FlowKey): Array<KeyAttrDef | 'encap'> {
  const out: Array<KeyAttrDef | 'encap'> = [];
  let encapDone = key.encap === undefined;
  for (const d of KEY_ATTRS) {
    if (!encapDone && (d.prop === 'ipv4' || d.prop === 'ipv6' || d.prop === 'arp' || d.prop === 'tcp')) {
      out.push('encap');
      encapDone = true;
    }
    if (key[d.prop] !== undefined) out.push(d);
    if (d.prop === 'vlan' && !encapDone) {
      out.push('encap');
      encapDone = true;
    }
  }
  if (!encapDone) out.push('encap');
  return out;
}

/** One attribute `name(...)`; `m` undefined means exact (no mask). */
export function formatKeyAttr(def: KeyAttrDef, v: unknown, m: unknown, verbose: boolean, ports?: PortTable): string {
  if (def.nested) return `${def.odp}(${formatTunnelBody(v as TunnelKey, m as TunnelKey | undefined, verbose)})`;
  const exact = m === undefined || attrMaskIsExact(def, m);
  const body = (): string => {
    if (def.single) {
      const value = v as number;
      const mask = m as number | undefined;
      switch (def.fields[0].text) {
        case 'hex32':
          return hexAlt(value) + (exact ? '' : '/' + hexAlt(mask as number));
        case 'port':
          if (exact) return ports?.nameOf(value) ?? String(value);
          return `${value}/${hexAlt(mask as number)}`;
        case 'ethtype':
          return '0x' + hex4(value) + (exact ? '' : '/0x' + hex4(mask as number));
        case 'tci':
          return formatVlanTci(value, mask ?? 0xffff, verbose);
        case 'tcpflags':
          if (!exact) return formatFlagsMasked(value, (mask as number) & 0x0fff, 0x0fff);
          return formatFlags(value, '|');
      }
    }
    const parts: string[] = [];
    for (const fd of def.fields) {
      const fm = m === undefined ? undefined : getField(m, fd);
      const s = formatField(fd, getField(v, fd), fm, verbose);
      if (s !== undefined) parts.push(s);
    }
    return parts.join(',');
  };
  return `${def.odp}(${body()})`;
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}

/** One `name=value[/mask]`, or undefined when the field is wildcarded (and not verbose). */
function formatField(fd: KeyFieldDef, v: FieldValue, m: FieldValue | undefined, verbose: boolean): string | undefined {
  const empty = m !== undefined && isZeroField(m);
  if (fd.text === 'frag') {
    // An enumeration: partial masks are meaningless, and an empty mask is not printed even verbosely.
    const full = m === undefined || (m as number) === 0xff;
    if (!empty && !full) return `error: partial mask not supported for frag (${hexAlt(m as number)})`;
    if (empty) return undefined;
    return `frag=${FRAG_NAMES[v as number] ?? '<error>'}`;
  }
  if (!verbose && empty) return undefined;
  const full =
    m === undefined ||
    (fd.text === 'label' ? ((m as number) & IPV6_LABEL_MASK) === IPV6_LABEL_MASK : isOnesField(m, fd));
  const text = (x: FieldValue, isMask: boolean): string => {
    switch (fd.text) {
      case 'ipv4':
        return formatIpv4(x as number);
      case 'mac':
        return formatMac(x as number);
      case 'ipv6':
        return formatIpv6(x as Uint8Array);
      case 'hex':
      case 'label':
        return hexAlt(x as number);
      default:
        return isMask ? hexAlt(x as number) : String(x);
    }
  };
  return `${fd.name}=${text(v, false)}${full ? '' : '/' + text(m, true)}`;
}

/** format_vlan_tci: fields print when set in the value or the mask; cfi=0 only when the tag lacks CFI. */
export function formatVlanTci(tci: number, mask: number, verbose: boolean): string {
  const parts: string[] = [];
  const vid = tci & 0xfff;
  const vidMask = mask & 0xfff;
  if (verbose || vid || vidMask) parts.push(`vid=${vid}` + (vidMask !== 0xfff ? `/0x${vidMask.toString(16)}` : ''));
  const pcp = (tci >> 13) & 7;
  const pcpMask = (mask >> 13) & 7;
  if (verbose || pcp || pcpMask) parts.push(`pcp=${pcp}` + (pcpMask !== 7 ? `/0x${pcpMask.toString(16)}` : ''));
  if (!(tci & VLAN_CFI)) parts.push('cfi=0');
  return parts.join(',');
}

function flagName(bit: number, names: ReadonlyArray<readonly [number, string]>): string | undefined {
  for (const [b, n] of names) if (b === bit) return n;
  return undefined;
}

/** lib/flow.c format_flags. */
export function formatFlags(
  flags: number,
  delim: string,
  names: ReadonlyArray<readonly [number, string]> = TCP_FLAG_NAMES,
): string {
  if (!flags) return '0';
  const out: string[] = [];
  let bad = 0;
  for (let bit = 1; bit <= 0x80000000 && flags; bit *= 2) {
    if (!(flags & bit)) continue;
    const n = flagName(bit, names);
    if (n) out.push(n);
    else bad |= bit;
    flags &= ~bit;
  }
  if (bad) out.push('0x' + (bad >>> 0).toString(16));
  return out.join(delim);
}

/** lib/flow.c format_flags_masked. */
export function formatFlagsMasked(flags: number, mask: number, maxMask: number): string {
  if (mask === maxMask) return formatFlags(flags, '|');
  if (!mask) return '0/0';
  let out = '';
  for (let bit = 1; bit <= maxMask; bit *= 2) {
    if (!(mask & bit)) continue;
    out += (flags & bit ? '+' : '-') + (flagName(bit, TCP_FLAG_NAMES) ?? '[Unknown]');
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------

export function formatActions(actions: FlowActions, opts: FormatOptions = {}): string {
  if (actions.length === 0) return 'drop';
  return actions.map((a) => formatAction(a, opts)).join(',');
}

export function formatAction(a: FlowAction, opts: FormatOptions = {}): string {
  switch (a.type) {
    case 'output':
      return opts.ports?.nameOf(a.port) ?? String(a.port);
    case 'drop':
      return 'drop';
    case 'userspace': {
      let s = `userspace(pid=${a.pid}`;
      if (a.userdata) s += formatUserdata(a.userdata);
      if (a.actions) s += ',actions';
      if (a.tunnelOutPort !== undefined)
        s += `,tunnel_out_port=${opts.ports?.nameOf(a.tunnelOutPort) ?? a.tunnelOutPort}`;
      return s + ')';
    }
    case 'set': {
      const def = singleAttr(a.key);
      // A plain SET prints every field (verbose, no mask).
      return `set(${formatKeyAttr(def, a.key[def.prop], undefined, true)})`;
    }
    case 'setMasked': {
      const def = singleAttr(a.key);
      return `set(${formatKeyAttr(def, a.key[def.prop], a.mask[def.prop], false)})`;
    }
    case 'pushVlan':
      return `push_vlan(${a.tpid !== 0x8100 ? `tpid=0x${hex4(a.tpid)},` : ''}${formatVlanTci(a.tci, 0xffff, false)})`;
    case 'popVlan':
      return 'pop_vlan';
    case 'sample':
      return `sample(sample=${((100 * a.probability) / 0xffffffff).toFixed(1)}%,actions(${formatActions(a.actions, opts)}))`;
    case 'clone':
      return `clone(${formatActions(a.actions, opts)})`;
    case 'recirc':
      return `recirc(${hexAlt(a.id)})`;
    case 'trunc':
      return `trunc(${a.maxLen})`;
  }
}

/** The one attribute a set action carries. */
export function singleAttr(key: FlowKey): KeyAttrDef {
  const def = KEY_ATTRS.find((d) => key[d.prop] !== undefined);
  if (!def) throw new Error('set action without a key attribute');
  return def;
}

/** A 48-byte user_action_cookie of type slow_path prints as slow_path(...); anything else as userdata(hex). */
function formatUserdata(u: Uint8Array): string {
  if (u.length === USER_ACTION_COOKIE_LEN) {
    const dv = new DataView(u.buffer, u.byteOffset, u.byteLength);
    if (dv.getUint16(0, HOST_IS_LITTLE_ENDIAN) === USER_ACTION_COOKIE_SLOW_PATH) {
      const names = SLOW_PATH_REASONS.map((n, i) => [1 << i, n] as const);
      return `,slow_path(${formatFlags(dv.getUint32(24, HOST_IS_LITTLE_ENDIAN), ',', names)})`;
    }
  }
  return `,userdata(${formatHexBytes(u)})`;
}

/**
 * A flow as canonical text with numeric ports, complete enough to parse back to the same key and mask: how plans,
 * journals and netmgrd's live state name a flow, so the two sides of a diff compare as strings.
 */
export function formatFlowText(key: FlowKey, mask: FlowMask, actions: FlowActions): { match: string; actions: string } {
  // The masked key: what a datapath stores and reports back (the kernel keeps only key & mask).
  return { match: formatFlowKey(applyMask(key, mask), mask, { complete: true }), actions: formatActions(actions) };
}

/** `dump-flows` line: `<flow>, packets:N, bytes:N, used:Xs|never[, flags:..], actions:<actions>`. */
export function formatDumpLine(
  entry: { key: FlowKey; mask: FlowMask; actions: FlowActions; stats: FlowStats; ufid?: Uint8Array },
  now: number,
  opts: FormatOptions = {},
): string {
  let s = '';
  if (opts.verbose && entry.ufid) s += `ufid:${formatUuid(entry.ufid)}, `;
  s += formatFlowKey(entry.key, entry.mask, opts);
  s += `, ${formatStats(entry.stats, now)}, actions:${formatActions(entry.actions, opts)}`;
  return s;
}

export function formatStats(stats: FlowStats, now: number): string {
  let s = `packets:${stats.packets}, bytes:${stats.bytes}, used:`;
  s += stats.used !== undefined ? `${((now - stats.used) / 1000).toFixed(3)}s` : 'never';
  if (stats.tcpFlags) s += `, flags:${formatTcpFlagLetters(stats.tcpFlags)}`;
  return s;
}

/** tcpdump-style letters (packet_format_tcp_flags). */
export function formatTcpFlagLetters(f: number): string {
  if (!f) return 'none';
  const order: Array<[number, string]> = [
    [0x002, 'S'],
    [0x001, 'F'],
    [0x008, 'P'],
    [0x004, 'R'],
    [0x020, 'U'],
    [0x010, '.'],
    [0x040, 'E'],
    [0x080, 'C'],
    [0x100, 'N'],
    [0x200, '[200]'],
    [0x400, '[400]'],
    [0x800, '[800]'],
  ];
  return order
    .filter(([b]) => f & b)
    .map(([, l]) => l)
    .join('');
}

export { fieldOnes };
