/**
 * Parser for the ovs-dpctl ODP flow syntax (lib/odp-util.c odp_flow_from_string / odp_actions_from_string):
 * `name(field=value[/mask],...)`, a field written without /mask is exact, a field left out is wildcarded, an
 * attribute left out is absent. Errors are FlowErrors carrying the 1-based column and the offending token.
 */
import {
  OFPP_NONE,
  SLOW_PATH_REASONS,
  TCP_FLAG_NAMES,
  USER_ACTION_COOKIE_LEN,
  USER_ACTION_COOKIE_SLOW_PATH,
  VLAN_CFI,
  IPV6_LABEL_MASK,
  FRAG_NAMES,
  HOST_IS_LITTLE_ENDIAN,
  TUN_FLAG,
  TUN_FLAG_NAMES,
  TUN_FLAGS_MASK,
} from './constants';
import { TUNNEL_VALUE_FIELDS, zeroTunnel } from './tunnel';
import {
  KEY_ATTR_BY_ODP,
  UNMODELLED_KEY_NAMES,
  fieldOnes,
  zeroAttr,
  type KeyAttrDef,
  type KeyFieldDef,
  type FieldValue,
} from './keyattrs';
import { parseUuid, scanInt, scanIpv4, scanIpv6, scanMac } from './text';
import {
  FlowError,
  type Flow,
  type FlowAction,
  type FlowKey,
  type ParsedActions,
  type PortTable,
  type SourceSpan,
  type TunnelKey,
} from './types';

export interface ParseOptions {
  /** Resolves port names in in_port() and output actions. */
  ports?: PortTable;
}

const DELIMS = ', \t\r\n';
/** lib/odp-util.h MAX_ODP_NESTED. */
const MAX_NESTED = 32;

class Cursor {
  pos = 0;
  constructor(
    readonly text: string,
    readonly source: 'flow' | 'actions',
  ) {}
  get rest(): string {
    return this.text.slice(this.pos);
  }
  peek(n = 0): string {
    return this.text[this.pos + n] ?? '';
  }
  startsWith(s: string): boolean {
    return this.text.startsWith(s, this.pos);
  }
  skipDelims(): void {
    while (this.pos < this.text.length && DELIMS.includes(this.text[this.pos])) this.pos++;
  }
  atEnd(): boolean {
    return this.pos >= this.text.length;
  }
  /** The token at `pos` (up to a delimiter or bracket) for error messages. */
  tokenAt(pos: number): string {
    let end = pos;
    while (end < this.text.length && !',()/ \t\r\n'.includes(this.text[end])) end++;
    return this.text.slice(pos, end === pos ? Math.min(pos + 1, this.text.length) : end);
  }
  span(pos: number, token?: string): SourceSpan {
    return { column: pos + 1, token: token ?? this.tokenAt(pos) };
  }
  fail(pos: number, message: string, token?: string): never {
    throw new FlowError(message, pos + 1, token ?? this.tokenAt(pos), this.source);
  }
  expect(ch: string, what: string): void {
    if (this.peek() !== ch) this.fail(this.pos, `expected '${ch}' ${what}${this.atEnd() ? ' but the text ended' : ''}`);
    this.pos++;
  }
  /** An identifier: letters, digits, '_'. */
  ident(): string {
    const start = this.pos;
    while (this.pos < this.text.length && /[A-Za-z0-9_]/.test(this.text[this.pos])) this.pos++;
    return this.text.slice(start, this.pos);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Flow keys

/** Parses an ODP flow string, e.g. `in_port(1),eth(),eth_type(0x0800),ipv4(src=10.0.0.0/255.0.0.0,frag=no)`. */
export function parseFlow(text: string, opts: ParseOptions = {}): Flow {
  const c = new Cursor(text, 'flow');
  const key: FlowKey = {};
  const mask: FlowKey = {};
  const spans = new Map<string, SourceSpan>();
  let ufid: Uint8Array | undefined;
  c.skipDelims();
  if (c.startsWith('ufid:')) {
    const at = c.pos;
    const u = parseUuid(text.slice(c.pos + 5, c.pos + 41));
    if (!u) c.fail(at, 'ufid: must be followed by a UUID such as ufid:1b2c3d4e-0000-4000-8000-000000000001');
    ufid = u;
    spans.set('ufid', c.span(at, text.slice(at, at + 41)));
    c.pos += 41;
  }
  parseKeyList(c, key, mask, spans, '', opts, 0, false);
  if (Object.keys(key).length === 0)
    c.fail(0, 'empty flow: write at least eth(),eth_type(...) or in_port(N)', text.trim() || '(empty)');
  return ufid ? { key, mask, ufid, spans } : { key, mask, spans };
}

function parseKeyList(
  c: Cursor,
  key: FlowKey,
  mask: FlowKey,
  spans: Map<string, SourceSpan>,
  prefix: string,
  opts: ParseOptions,
  depth: number,
  inEncap: boolean,
): void {
  if (depth >= MAX_NESTED) c.fail(c.pos, `encap() nested more than ${MAX_NESTED} deep`);
  for (;;) {
    c.skipDelims();
    if (c.atEnd()) {
      if (inEncap) c.fail(c.pos, "encap( is not closed: expected ')'", 'encap(');
      return;
    }
    if (inEncap && c.peek() === ')') return;
    const at = c.pos;
    const name = c.ident();
    if (name === '') c.fail(at, `syntax error: expected a key such as eth(...) but found '${c.tokenAt(at)}'`);
    if (c.peek() !== '(') c.fail(at, `expected '(' after '${name}'`, name);
    c.pos++;
    if (name === 'encap') {
      if (key.encap !== undefined)
        c.fail(
          at,
          `duplicate key encap(...): each key may appear once at one level (kernel: "Duplicate key (type 1)")`,
          'encap',
        );
      spans.set(prefix + 'encap', c.span(at, 'encap'));
      const ik: FlowKey = {};
      const im: FlowKey = {};
      parseKeyList(c, ik, im, spans, prefix + 'encap.', opts, depth + 1, true);
      c.pos++; // ')'
      key.encap = ik;
      mask.encap = im;
      continue;
    }
    const def = KEY_ATTR_BY_ODP.get(name);
    if (!def) {
      if (UNMODELLED_KEY_NAMES.has(name))
        c.fail(at, `key ${name}(...) is valid ODP syntax but netmgr does not model it yet`, name);
      c.fail(at, `unknown key '${name}'; known keys: ${[...KEY_ATTR_BY_ODP.keys(), 'encap'].join(', ')}`, name);
    }
    if (key[def.prop] !== undefined) {
      c.fail(
        at,
        `duplicate key ${name}(...): each key may appear once at one level (kernel: "Duplicate key (type ${def.attr})")`,
        name,
      );
    }
    spans.set(prefix + def.prop, c.span(at, name));
    const [v, m] = parseAttrBody(c, def, spans, prefix, opts, at);
    (key as Record<string, unknown>)[def.prop] = v;
    (mask as Record<string, unknown>)[def.prop] = m;
  }
}

/** Parses from after `name(` through `)`; returns [value, mask]. */
function parseAttrBody(
  c: Cursor,
  def: KeyAttrDef,
  spans: Map<string, SourceSpan>,
  prefix: string,
  opts: ParseOptions,
  attrPos: number,
): [unknown, unknown] {
  if (def.nested) return parseTunnelBody(c, spans, prefix);
  const fd = def.fields[0];
  if (def.single) {
    switch (fd.text) {
      case 'tci':
        return parseVlanBody(c, spans, prefix);
      case 'tcpflags': {
        const r = scanFlags(c, TCP_FLAG_NAMES, 0x0fff, 'tcp_flags');
        c.expect(')', 'to close tcp_flags(');
        return [r.value, r.mask & 0xffff];
      }
      case 'port': {
        const r = scanPort(c, opts.ports, 'in_port');
        c.expect(')', 'to close in_port(');
        return [r.value, r.mask];
      }
      default: {
        const start = c.pos;
        const [v, m] = scanFieldValue(c, fd, def.odp);
        if (def.prop === 'recircId' && m !== 0xffffffff) {
          c.fail(start, 'recirc_id is always an exact match; remove the /mask', c.text.slice(start, c.pos));
        }
        c.expect(')', `to close ${def.odp}(`);
        return [v, m];
      }
    }
  }
  // A struct attribute: fields left out are zero in both key and mask (SCAN_BEGIN).
  const v = zeroAttr(def) as Record<string, FieldValue>;
  const m = zeroAttr(def) as Record<string, FieldValue>;
  if (c.peek() === ')') {
    c.pos++;
    return [v, m];
  }
  for (;;) {
    const at = c.pos;
    const fname = c.ident();
    const field = def.fields.find((x) => x.name === fname);
    if (!field || c.peek() !== '=') {
      const known = def.fields.map((x) => x.name + '=').join(', ');
      c.fail(at, `unknown field '${c.tokenAt(at)}' in ${def.odp}(...); expected one of ${known}`);
    }
    c.pos++;
    spans.set(`${prefix}${def.prop}.${field.prop}`, c.span(at, c.text.slice(at, endOfValue(c.text, c.pos))));
    const [fv, fm] = scanFieldValue(c, field, `${def.odp}(${fname}=)`);
    v[field.prop] = fv;
    m[field.prop] = fm;
    if (c.peek() === ',') {
      c.pos++;
      continue;
    }
    if (c.peek() === ')') {
      c.pos++;
      break;
    }
    c.fail(
      c.pos,
      `expected ',' or ')' in ${def.odp}(...)${c.atEnd() ? ' but the text ended' : ''}`,
      c.atEnd() ? `${def.odp}(` : undefined,
    );
  }
  void attrPos;
  return [v, m];
}

const TUNNEL_OPTIONS = ['geneve', 'vxlan', 'erspan', 'gtpu'];

/**
 * tunnel(tun_id=,src=,dst=,ipv6_src=,ipv6_dst=,tos=,ttl=,tp_src=,tp_dst=,flags(...)) through `)`. As in OVS, the KEY
 * flag is tun_id's presence: `flags(key)` alone adds nothing, and a tun_id makes both key and mask carry it.
 */
function parseTunnelBody(c: Cursor, spans: Map<string, SourceSpan>, prefix: string): [TunnelKey, TunnelKey] {
  const v = zeroTunnel();
  const m = zeroTunnel();
  let tunId = false;
  while (c.peek() !== ')') {
    const at = c.pos;
    const fname = c.ident();
    if (fname === 'flags' && c.peek() === '(') {
      c.pos++;
      const r = scanFlags(c, TUN_FLAG_NAMES, TUN_FLAGS_MASK, 'tunnel flags');
      c.expect(')', 'to close flags(');
      v.flags = r.value & TUN_FLAGS_MASK;
      m.flags = r.mask & TUN_FLAGS_MASK;
    } else if (TUNNEL_OPTIONS.includes(fname) && c.peek() === '(') {
      c.fail(at, `tunnel options ${fname}(...) are valid ODP syntax but netmgr does not model them yet`, fname);
    } else {
      const field = TUNNEL_VALUE_FIELDS.find((x) => x.name === fname);
      if (!field || c.peek() !== '=') {
        const known = [...TUNNEL_VALUE_FIELDS.map((x) => x.name + '='), 'flags(...)'].join(', ');
        c.fail(at, `unknown field '${c.tokenAt(at)}' in tunnel(...); expected one of ${known}`);
      }
      c.pos++;
      spans.set(`${prefix}tunnel.${field.prop}`, c.span(at, c.text.slice(at, endOfValue(c.text, c.pos))));
      const [fv, fm] = scanFieldValue(c, field, `tunnel(${fname}=)`);
      (v as unknown as Record<string, FieldValue>)[field.prop] = fv;
      (m as unknown as Record<string, FieldValue>)[field.prop] = fm;
      if (field.prop === 'tunId') tunId = true;
    }
    if (c.peek() === ',') c.pos++;
    else if (c.peek() !== ')')
      c.fail(c.pos, `expected ',' or ')' in tunnel(...)${c.atEnd() ? ' but the text ended' : ''}`);
  }
  c.pos++;
  v.flags = (v.flags & ~TUN_FLAG.KEY) | (tunId ? TUN_FLAG.KEY : 0);
  m.flags = (m.flags & ~TUN_FLAG.KEY) | (tunId ? TUN_FLAG.KEY : 0);
  return [v, m];
}

/** A 64-bit number (decimal, or hex with 0x) as 8 bytes in network order. */
function scanU64(c: Cursor, what: string): Uint8Array {
  const p = c.pos;
  const r = /^(0[xX][0-9a-fA-F]+|\d+)/.exec(c.text.slice(p));
  if (!r) c.fail(p, `${what}: expected a number (decimal, or hex with 0x)`);
  const n = BigInt(r[1]);
  if (n > 0xffffffffffffffffn) c.fail(p, `${what}: ${r[1]} does not fit in 64 bits`, r[1]);
  c.pos += r[1].length;
  return Uint8Array.from(Buffer.from(n.toString(16).padStart(16, '0'), 'hex'));
}

function endOfValue(s: string, pos: number): number {
  let e = pos;
  while (e < s.length && !',)'.includes(s[e])) e++;
  return e;
}

/** Scans `value[/mask]` for one field; without /mask the field is exact. */
function scanFieldValue(c: Cursor, field: KeyFieldDef, what: string): [FieldValue, FieldValue] {
  const at = c.pos;
  const one = (): FieldValue => {
    const p = c.pos;
    switch (field.text) {
      case 'ipv4': {
        const r = scanIpv4(c.text, c.pos);
        if (!r) c.fail(p, `${what}: expected an IPv4 address such as 10.0.0.1`);
        c.pos = r.end;
        return r.value;
      }
      case 'mac': {
        const r = scanMac(c.text, c.pos);
        if (!r) c.fail(p, `${what}: expected a MAC address such as 00:11:22:33:44:55`);
        c.pos = r.end;
        return r.value;
      }
      case 'ipv6': {
        const r = scanIpv6(c.text, c.pos);
        if (!r) c.fail(p, `${what}: expected an IPv6 address such as fe80::1`);
        c.pos = r.end;
        return r.value;
      }
      case 'hex64':
        return scanU64(c, what);
      case 'frag': {
        const name = c.ident();
        const idx = FRAG_NAMES.indexOf(name);
        if (idx < 0) c.fail(p, `${what}: frag must be no, first or later`);
        return idx;
      }
      default: {
        const r = scanInt(c.text, c.pos);
        if (!r) c.fail(p, `${what}: expected a number (decimal, or hex with 0x)`);
        const max = field.text === 'label' ? IPV6_LABEL_MASK : field.bits >= 32 ? 0xffffffff : (1 << field.bits) - 1;
        if (r.value > max) {
          c.fail(
            p,
            `${what}: ${c.text.slice(p, r.end)} does not fit in ${field.text === 'label' ? 20 : field.bits} bits`,
            c.text.slice(p, r.end),
          );
        }
        c.pos = r.end;
        return r.value;
      }
    }
  };
  const v = one();
  if (c.peek() !== '/') {
    return [v, field.text === 'label' ? IPV6_LABEL_MASK : fieldOnes(field)];
  }
  if (field.text === 'frag')
    c.fail(
      c.pos,
      'frag is an enumeration: it cannot be masked, remove the /mask',
      c.text.slice(at, endOfValue(c.text, c.pos)),
    );
  c.pos++;
  return [v, one()];
}

/** A port written as a number that the table refuses (PortTable.refuseNumber) fails at its token. */
function refuseNumber(c: Cursor, ports: PortTable | undefined, at: number, n: { value: number; end: number }): void {
  const why = ports?.refuseNumber?.(n.value);
  if (why !== undefined) c.fail(at, why, c.text.slice(at, n.end));
}

function scanPort(c: Cursor, ports: PortTable | undefined, what: string): { value: number; mask: number } {
  const at = c.pos;
  const r = scanInt(c.text, c.pos);
  if (r && (c.text[r.end] === ')' || c.text[r.end] === '/')) {
    if (r.value > 0xffffffff)
      c.fail(at, `${what}: ${c.text.slice(at, r.end)} does not fit in 32 bits`, c.text.slice(at, r.end));
    refuseNumber(c, ports, at, r);
    c.pos = r.end;
    if (c.peek() === '/') {
      c.pos++;
      const mp = c.pos;
      const m = scanInt(c.text, c.pos);
      if (!m || m.value > 0xffffffff) c.fail(mp, `${what}: expected a 32-bit mask`);
      c.pos = m.end;
      return { value: r.value, mask: m.value };
    }
    return { value: r.value, mask: 0xffffffff };
  }
  let end = c.pos;
  while (end < c.text.length && c.text[end] !== ')') end++;
  const name = c.text.slice(c.pos, end);
  const no = ports?.byName(name);
  if (no === undefined) {
    c.fail(
      at,
      name === ''
        ? `${what}() needs a port number or name`
        : `unknown port '${name}'${ports ? '' : ' (no port table: use a number, or --port NAME=NUMBER)'}`,
      name || `${what}(`,
    );
  }
  c.pos = end;
  return { value: no, mask: 0xffffffff };
}

/** vlan(vid=,pcp=,cfi=): key and mask both start with CFI set (SCAN_BEGIN_INIT). */
function parseVlanBody(c: Cursor, spans: Map<string, SourceSpan>, prefix: string): [number, number] {
  let tci = VLAN_CFI;
  let mask = VLAN_CFI;
  const bitfields: Record<string, [number, number]> = { vid: [12, 0], pcp: [3, 13], cfi: [1, 12] };
  if (c.peek() === ')') {
    c.pos++;
    return [tci, mask];
  }
  for (;;) {
    const at = c.pos;
    const fname = c.ident();
    const bf = bitfields[fname];
    if (!bf || c.peek() !== '=')
      c.fail(at, `unknown field '${c.tokenAt(at)}' in vlan(...); expected one of vid=, pcp=, cfi=`);
    c.pos++;
    spans.set(`${prefix}vlan.${fname}`, c.span(at, c.text.slice(at, endOfValue(c.text, c.pos))));
    const [bits, shift] = bf;
    const max = (1 << bits) - 1;
    const num = (): number => {
      const p = c.pos;
      const r = scanInt(c.text, c.pos);
      if (!r) c.fail(p, `vlan(${fname}=): expected a number`);
      if (r.value > max)
        c.fail(p, `vlan(${fname}=): ${c.text.slice(p, r.end)} does not fit in ${bits} bits`, c.text.slice(p, r.end));
      c.pos = r.end;
      return r.value;
    };
    const v = num();
    tci = (tci & ~(max << shift)) | (v << shift);
    if (c.peek() === '/') {
      c.pos++;
      const m = num();
      mask = (mask & ~(max << shift)) | (m << shift);
    } else {
      mask |= max << shift;
    }
    if (c.peek() === ',') {
      c.pos++;
      continue;
    }
    if (c.peek() === ')') {
      c.pos++;
      break;
    }
    c.fail(c.pos, "expected ',' or ')' in vlan(...)");
  }
  return [tci, mask];
}

/**
 * parse_flags(): `N/M` numerically, `+a-b` masked (mask = named bits), or `a|b|N` unmasked (mask = all ones).
 * Stops at ')' without consuming it.
 */
function scanFlags(
  c: Cursor,
  names: ReadonlyArray<readonly [number, string]>,
  allowed: number,
  what: string,
): { value: number; mask: number } {
  const at = c.pos;
  const num = scanInt(c.text, c.pos);
  if (num && c.text[num.end] === '/') {
    const m = scanInt(c.text, num.end + 1);
    if (m) {
      if (num.value & ~allowed || m.value & ~allowed)
        c.fail(at, `${what}: unknown flag bits (allowed 0x${allowed.toString(16)})`, c.text.slice(at, m.end));
      c.pos = m.end;
      return { value: num.value, mask: m.value };
    }
  }
  const lookup = (p: number): [number, number] | undefined => {
    for (const [bit, name] of names) {
      const after = c.text[p + name.length];
      if (c.text.startsWith(name, p) && (after === '+' || after === '-' || after === '|' || after === ')'))
        return [bit, name.length];
    }
    return undefined;
  };
  if (c.peek() === '+' || c.peek() === '-') {
    let value = 0;
    let mask = 0;
    while (c.peek() !== ')') {
      const sign = c.peek();
      if (sign !== '+' && sign !== '-')
        c.fail(c.pos, `${what}: each flag must be preceded by '+' (set) or '-' (not set)`);
      c.pos++;
      const hit = lookup(c.pos);
      if (!hit)
        c.fail(
          c.pos,
          `${what}: unknown flag '${c.tokenAt(c.pos)}'; flags are ${names
            .slice(0, 9)
            .map((n) => n[1])
            .join(' ')}`,
        );
      if (mask & hit[0]) c.fail(c.pos, `${what}: each flag can be given only once`);
      if (sign === '+') value |= hit[0];
      mask |= hit[0];
      c.pos += hit[1];
    }
    return { value, mask };
  }
  let value = 0;
  while (c.peek() !== ')') {
    if (c.atEnd()) c.fail(c.pos, `${what}( is not closed`);
    const n = scanInt(c.text, c.pos);
    if (n) {
      if (n.value & ~allowed)
        c.fail(c.pos, `${what}: unknown flag bits 0x${n.value.toString(16)}`, c.text.slice(c.pos, n.end));
      value |= n.value;
      c.pos = n.end + (c.text[n.end] === '|' ? 1 : 0);
      continue;
    }
    const hit = lookup(c.pos);
    if (!hit)
      c.fail(
        c.pos,
        `${what}: unknown flag '${c.tokenAt(c.pos)}'; flags are ${names
          .slice(0, 9)
          .map((x) => x[1])
          .join(' ')}`,
      );
    value |= hit[0];
    c.pos += hit[1] + (c.text[c.pos + hit[1]] === '|' ? 1 : 0);
  }
  return { value, mask: 0xffffffff };
}

// ---------------------------------------------------------------------------------------------------------------
// Actions

/** Parses an ODP action list, e.g. `push_vlan(vid=10,pcp=0),2` or `drop`. An empty string is an empty list. */
export function parseActions(text: string, opts: ParseOptions = {}): ParsedActions {
  const spans = new Map<string, SourceSpan>();
  if (text.trim().toLowerCase() === 'drop') {
    const at = text.search(/\S/);
    spans.set('0', { column: at + 1, token: text.trim() });
    return { actions: [{ type: 'drop', reason: 0 }], spans };
  }
  const c = new Cursor(text, 'actions');
  const actions = parseActionList(c, opts, spans, '', 0, false);
  return { actions, spans };
}

function parseActionList(
  c: Cursor,
  opts: ParseOptions,
  spans: Map<string, SourceSpan>,
  prefix: string,
  depth: number,
  nested: boolean,
): FlowAction[] {
  if (depth >= MAX_NESTED) c.fail(c.pos, `actions nested more than ${MAX_NESTED} deep`);
  const out: FlowAction[] = [];
  for (;;) {
    c.skipDelims();
    if (c.atEnd()) {
      if (nested) c.fail(c.pos, "nested action list is not closed: expected ')'", c.text.slice(Math.max(0, c.pos - 1)));
      return out;
    }
    if (nested && c.peek() === ')') return out;
    const at = c.pos;
    spans.set(prefix + out.length, c.span(at));
    out.push(parseAction(c, opts, spans, `${prefix}${out.length}.`, depth));
  }
}

function parseAction(
  c: Cursor,
  opts: ParseOptions,
  spans: Map<string, SourceSpan>,
  prefix: string,
  depth: number,
): FlowAction {
  const at = c.pos;
  const num = scanInt(c.text, c.pos);
  if (
    num &&
    (c.pos + (num.end - c.pos) >= c.text.length || DELIMS.includes(c.text[num.end]) || c.text[num.end] === ')')
  ) {
    if (num.value > 0xffffffff)
      c.fail(at, `output port ${c.text.slice(at, num.end)} does not fit in 32 bits`, c.text.slice(at, num.end));
    refuseNumber(c, opts.ports, at, num);
    c.pos = num.end;
    return { type: 'output', port: num.value };
  }
  const word = c.ident();
  const callArg = (): number => {
    c.expect('(', `after ${word}`);
    const p = c.pos;
    const r = scanInt(c.text, c.pos);
    if (!r || r.value > 0xffffffff) c.fail(p, `${word}(...) needs a 32-bit number`);
    c.pos = r.end;
    c.expect(')', `to close ${word}(`);
    return r.value;
  };
  switch (word) {
    case 'drop':
      c.fail(at, "'drop' must be the whole action list; to drop after other actions, just end the list", 'drop');
    // falls through (fail throws)
    case 'trunc':
      return { type: 'trunc', maxLen: callArg() };
    case 'recirc':
      return { type: 'recirc', id: callArg() };
    case 'pop_vlan':
      return { type: 'popVlan' };
    case 'push_vlan':
      return parsePushVlan(c, at);
    case 'userspace':
      return parseUserspace(c, at);
    case 'set':
      return parseSet(c, opts, at);
    case 'sample': {
      if (!c.startsWith('(sample=')) c.fail(at, 'sample needs the form sample(sample=P%,actions(...))', 'sample');
      c.pos += 8;
      const p = c.pos;
      const m = /^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)%/.exec(c.rest);
      if (!m) c.fail(p, 'sample=: expected a percentage such as 9.7%');
      const pct = parseFloat(m[1]);
      if (pct > 100) c.fail(p, 'sample=: a percentage must be between 0 and 100', m[0]);
      c.pos += m[0].length;
      if (!c.startsWith(',actions(')) c.fail(c.pos, "sample: expected ',actions(' after the percentage");
      c.pos += 9;
      const inner = parseActionList(c, opts, spans, prefix + 'actions.', depth + 1, true);
      c.expect(')', 'to close actions(');
      c.expect(')', 'to close sample(');
      const prob = Math.floor(0xffffffff * (pct / 100) + 0.5);
      return { type: 'sample', probability: Math.min(Math.max(prob, 0), 0xffffffff), actions: inner };
    }
    case 'clone': {
      c.expect('(', 'after clone');
      const inner = parseActionList(c, opts, spans, prefix + 'actions.', depth + 1, true);
      c.expect(')', 'to close clone(');
      return { type: 'clone', actions: inner };
    }
    default: {
      // A port name (the whole token up to a delimiter).
      c.pos = at;
      let end = at;
      while (end < c.text.length && !DELIMS.includes(c.text[end]) && c.text[end] !== ')') end++;
      const name = c.text.slice(at, end);
      const no = opts.ports?.byName(name);
      if (no !== undefined) {
        c.pos = end;
        return { type: 'output', port: no };
      }
      c.fail(
        at,
        `unknown action '${c.tokenAt(at)}'; expected a port, drop, output via number, userspace(), set(), push_vlan(), pop_vlan, sample(), clone(), recirc() or trunc()`,
      );
    }
  }
}

function parsePushVlan(c: Cursor, at: number): FlowAction {
  // OVS accepts exactly: (vid,pcp), (vid,pcp,cfi), (tpid,vid,pcp), (tpid,vid,pcp,cfi), in that order.
  const m = /^\((?:tpid=([0-9a-fA-Fx]+),)?vid=([0-9a-fA-Fx]+),pcp=([0-9a-fA-Fx]+)(?:,cfi=([0-9a-fA-Fx]+))?\)/.exec(
    c.rest,
  );
  if (!m)
    c.fail(
      at,
      'push_vlan needs the form push_vlan([tpid=T,]vid=V,pcp=P[,cfi=C])',
      c.text.slice(at, endParen(c.text, at)),
    );
  const num = (s: string | undefined, dflt: number): number => {
    if (s === undefined) return dflt;
    const r = scanInt(s, 0);
    if (!r || r.end !== s.length) c.fail(at, `push_vlan: '${s}' is not a number`, s);
    return r.value;
  };
  const tpid = num(m[1], 0x8100);
  const vid = num(m[2], 0);
  const pcp = num(m[3], 0);
  const cfi = num(m[4], 1);
  if (vid > 0xfff) c.fail(at, `push_vlan: vid=${m[2]} does not fit in 12 bits`, `vid=${m[2]}`);
  if (pcp > 7) c.fail(at, `push_vlan: pcp=${m[3]} does not fit in 3 bits`, `pcp=${m[3]}`);
  if (tpid > 0xffff) c.fail(at, `push_vlan: tpid=${m[1]} does not fit in 16 bits`, `tpid=${m[1]}`);
  c.pos += m[0].length;
  void at;
  return { type: 'pushVlan', tpid, tci: (vid | (pcp << 13) | (cfi ? VLAN_CFI : 0)) & 0xffff };
}

function wireOnes(fd: KeyFieldDef): number {
  switch (fd.wire) {
    case 'u8':
      return 0xff;
    case 'be16':
      return 0xffff;
    case 'mac':
      return 0xffffffffffff;
    default:
      return 0xffffffff;
  }
}

function endParen(s: string, from: number): number {
  let depth = 0;
  for (let i = from; i < s.length; i++) {
    if (s[i] === '(') depth++;
    else if (s[i] === ')' && --depth <= 0) return i + 1;
  }
  return s.length;
}

function parseUserspace(c: Cursor, at: number): FlowAction {
  if (!c.startsWith('(pid='))
    c.fail(
      at,
      'userspace needs the form userspace(pid=N[,userdata(HEX)|,slow_path(...)][,actions][,tunnel_out_port=N])',
      'userspace',
    );
  c.pos += 5;
  const pp = c.pos;
  const pid = scanInt(c.text, c.pos);
  if (!pid || pid.value > 0xffffffff) c.fail(pp, 'userspace(pid=): expected a 32-bit netlink port id');
  c.pos = pid.end;
  // Like OVS, a plain userspace(pid=N) carries an all-zero 48-byte user_action_cookie.
  let userdata: Uint8Array = new Uint8Array(USER_ACTION_COOKIE_LEN);
  if (c.startsWith(',userdata(')) {
    c.pos += 10;
    const hp = c.pos;
    const m = /^((?:[0-9a-fA-F]{2})*)\)/.exec(c.rest);
    if (!m) c.fail(hp, 'userdata(...) must be an even number of hex digits');
    userdata = new Uint8Array(m[1].length / 2);
    for (let i = 0; i < userdata.length; i++) userdata[i] = parseInt(m[1].slice(2 * i, 2 * i + 2), 16);
    c.pos += m[0].length;
  } else if (c.startsWith(',slow_path(')) {
    c.pos += 11;
    const names: Array<[number, string]> = SLOW_PATH_REASONS.map((n, i) => [1 << i, n]);
    const r = scanFlags(c, names, (1 << SLOW_PATH_REASONS.length) - 1, 'slow_path');
    if (r.mask !== 0xffffffff) c.fail(c.pos, 'slow_path(...) takes reason names separated by |, not a mask');
    c.expect(')', 'to close slow_path(');
    userdata = slowPathCookie(r.value);
  }
  const act: FlowAction = { type: 'userspace', pid: pid.value, userdata };
  if (c.startsWith(',actions')) {
    c.pos += 8;
    act.actions = true;
  }
  if (c.startsWith(',tunnel_out_port=')) {
    c.pos += 17;
    const tp = c.pos;
    const r = scanInt(c.text, c.pos);
    if (!r || r.value > 0xffffffff) c.fail(tp, 'tunnel_out_port=: expected a port number');
    c.pos = r.end;
    act.tunnelOutPort = r.value;
  }
  c.expect(')', 'to close userspace(');
  return act;
}

/** struct user_action_cookie for USER_ACTION_COOKIE_SLOW_PATH, host order. */
export function slowPathCookie(reason: number): Uint8Array {
  const b = new Uint8Array(USER_ACTION_COOKIE_LEN);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, USER_ACTION_COOKIE_SLOW_PATH, HOST_IS_LITTLE_ENDIAN);
  dv.setUint16(2, OFPP_NONE, HOST_IS_LITTLE_ENDIAN);
  dv.setUint32(24, reason >>> 0, HOST_IS_LITTLE_ENDIAN);
  return b;
}

/** set(key(...)): SET when every field of the key is exact, SET_MASKED otherwise (as odp-util does). */
function parseSet(c: Cursor, opts: ParseOptions, at: number): FlowAction {
  c.expect('(', 'after set');
  const kp = c.pos;
  const name = c.ident();
  if (name === 'encap') c.fail(kp, 'set(encap(...)) is not an action; set one key such as set(ipv4(...))', 'encap');
  const def = KEY_ATTR_BY_ODP.get(name);
  if (!def || c.peek() !== '(') {
    if (UNMODELLED_KEY_NAMES.has(name))
      c.fail(kp, `set(${name}(...)) is valid ODP syntax but netmgr does not model it yet`, name);
    c.fail(kp, `set(...) needs one key such as set(ipv4(src=10.0.0.1)); '${c.tokenAt(kp)}' is not a key`);
  }
  c.pos++;
  const [v, m] = parseAttrBody(c, def, new Map(), '', opts, kp);
  c.expect(')', 'to close set(');
  const key: FlowKey = { [def.prop]: v };
  // The kernel takes a tunnel key only unmasked (validate_set); the fields given are the tunnel to send with.
  if (def.nested) return { type: 'set', key };
  // Exact means every wire byte of the mask is 0xff (odp-util's is_all_ones), so a label mask of 0xfffff or a
  // vlan() mask without pcp makes it SET_MASKED, as in OVS.
  const exact =
    def.fields.every((fd) => {
      const mv = (def.single ? m : (m as Record<string, FieldValue>)[fd.prop]) as FieldValue;
      return typeof mv === 'number' ? mv === wireOnes(fd) : mv.every((x) => x === 0xff);
    }) && def.prop !== 'arp';
  void at;
  if (exact) return { type: 'set', key };
  return { type: 'setMasked', key, mask: { [def.prop]: m } };
}
