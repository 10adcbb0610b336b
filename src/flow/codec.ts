/**
 * Netlink codec for flow keys, masks and actions (OVS_KEY_ATTR_* / OVS_ACTION_ATTR_*), driven by the KEY_ATTRS
 * layout table: each field is written at its struct offset in its byte order; padding stays zero.
 */
import {
  HOST_IS_LITTLE_ENDIAN,
  OVS_ACTION_ATTR,
  OVS_FLOW_ATTR,
  OVS_KEY_ATTR,
  OVS_KEY_ATTR_MAX,
  OVS_KEY_ATTR_UNSUPPORTED,
  OVS_SAMPLE_ATTR,
  OVS_USERSPACE_ATTR,
} from './constants';
import {
  KEY_ATTRS,
  KEY_ATTR_BY_NUMBER,
  KEY_ATTR_LENGTHS,
  fieldOnes,
  getField,
  zeroAttr,
  type KeyAttrDef,
  type FieldValue,
} from './keyattrs';
import { GENL_RULES, NlAttrWriter, readAttrs, attrU32, type NlAttr } from '../netlink/attr';
import { NetmgrError } from '../util/errors';
import { singleAttr } from './format';
import { decodeTunnel, encodeTunnel, TunnelDecodeError } from './tunnel';
import type { FlowAction, FlowActions, FlowKey, FlowMask, TunnelKey } from './types';

/** Flow key, mask or action attributes that do not decode: a malformed kernel message or dump. */
export class FlowDecodeError extends NetmgrError {
  constructor(message: string) {
    super('corrupt', message);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Struct payloads

/** Serialises one attribute value into its ovs_key_* struct. */
export function encodeAttrPayload(
  def: KeyAttrDef,
  value: unknown,
  out = new Uint8Array(Math.max(def.size, 0)),
  base = 0,
): Uint8Array {
  if (def.nested) return encodeTunnel(value as TunnelKey);
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (const fd of def.fields) {
    const v = getField(value, fd);
    const o = base + fd.offset;
    switch (fd.wire) {
      case 'u8':
        out[o] = (v as number) & 0xff;
        break;
      case 'be16':
        dv.setUint16(o, (v as number) & 0xffff, false);
        break;
      case 'be32':
        dv.setUint32(o, (v as number) >>> 0, false);
        break;
      case 'u32':
        dv.setUint32(o, (v as number) >>> 0, HOST_IS_LITTLE_ENDIAN);
        break;
      case 'mac': {
        const hi = Math.floor((v as number) / 0x100000000);
        dv.setUint16(o, hi & 0xffff, false);
        dv.setUint32(o + 2, (v as number) >>> 0, false);
        break;
      }
      case 'ipv6':
        out.set(v as Uint8Array, o);
        break;
    }
  }
  return out;
}

export function decodeAttrPayload(def: KeyAttrDef, p: Uint8Array, base = 0): unknown {
  if (def.nested) {
    try {
      return decodeTunnel(p);
    } catch (e) {
      if (e instanceof TunnelDecodeError) throw new FlowDecodeError(e.message);
      throw e;
    }
  }
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const read = (wire: string, o: number): FieldValue => {
    switch (wire) {
      case 'u8':
        return p[o];
      case 'be16':
        return dv.getUint16(o, false);
      case 'be32':
        return dv.getUint32(o, false);
      case 'u32':
        return dv.getUint32(o, HOST_IS_LITTLE_ENDIAN);
      case 'mac':
        return dv.getUint16(o, false) * 0x100000000 + dv.getUint32(o + 2, false);
      default:
        return p.slice(o, o + 16);
    }
  };
  if (def.single) return read(def.fields[0].wire, base);
  const obj: Record<string, FieldValue> = {};
  for (const fd of def.fields) obj[fd.prop] = read(fd.wire, base + fd.offset);
  return obj;
}

// ---------------------------------------------------------------------------------------------------------------
// Keys and masks

/** Canonical wire order: encap nested right after vlan (odp_flow_key_from_flow). */
function writeKey(w: NlAttrWriter, key: FlowKey, mask: FlowMask | undefined): void {
  let encapDone = key.encap === undefined;
  const writeEncap = (): void => {
    const t = w.beginNested(OVS_KEY_ATTR.ENCAP);
    writeKey(w, key.encap as FlowKey, mask ? (mask.encap ?? {}) : undefined);
    w.endNested(t);
    encapDone = true;
  };
  for (const def of KEY_ATTRS) {
    if (!encapDone && (def.prop === 'ipv4' || def.prop === 'ipv6' || def.prop === 'arp' || def.prop === 'tcp'))
      writeEncap();
    const v = key[def.prop];
    if (v !== undefined) {
      const src = mask ? (mask[def.prop] ?? zeroAttr(def)) : v;
      w.put(def.attr, encodeAttrPayload(def, src));
    }
    if (def.prop === 'vlan' && !encapDone) writeEncap();
  }
  if (!encapDone) writeEncap();
}

/** Payload of OVS_FLOW_ATTR_KEY. */
export function encodeKey(key: FlowKey): Uint8Array {
  const w = new NlAttrWriter(GENL_RULES);
  writeKey(w, key, undefined);
  return w.finish();
}

/** Payload of OVS_FLOW_ATTR_MASK: one mask attribute per key attribute, all-zero ones included (as dpctl sends). */
export function encodeMask(key: FlowKey, mask: FlowMask): Uint8Array {
  const w = new NlAttrWriter(GENL_RULES);
  writeKey(w, key, mask);
  return w.finish();
}

/**
 * Parses OVS_FLOW_ATTR_KEY with the kernel's attribute checks (__parse_flow_nlattrs): type range, unsupported
 * types, duplicates, fixed lengths. Attributes the kernel knows but netmgr does not model are rejected by name.
 */
export function decodeKey(bytes: Uint8Array, opts: DecodeOptions = {}): FlowKey {
  return decodeLevel(bytes, undefined, 'key', opts.lenient === true);
}

export interface DecodeOptions {
  /**
   * Skip attributes the kernel knows but netmgr does not model (conntrack, tunnel, MPLS, NSH...), as the kernel
   * reports them in upcall keys and flow dumps whether or not anyone asked. In a mask they must be all-zero
   * (wildcarded), else the flow is refused: netmgr cannot represent what it matches.
   */
  lenient?: boolean;
}

/** Parses OVS_FLOW_ATTR_MASK against its key; a missing mask attribute is all-zero (wildcard). */
export function decodeMask(bytes: Uint8Array | undefined, key: FlowKey, opts: DecodeOptions = {}): FlowMask {
  if (bytes === undefined) return exactMask(key);
  const parsed = decodeLevel(bytes, key, 'mask', opts.lenient === true);
  return fillMask(key, parsed);
}

/** Without OVS_FLOW_ATTR_MASK the kernel treats every supplied key bit as exact. */
export function exactMask(key: FlowKey): FlowMask {
  const m: FlowMask = {};
  for (const def of KEY_ATTRS) {
    if (key[def.prop] === undefined) continue;
    if (def.single) (m as Record<string, unknown>)[def.prop] = fieldOnes(def.fields[0]);
    else {
      const o: Record<string, FieldValue> = {};
      for (const fd of def.fields) o[fd.prop] = fieldOnes(fd);
      (m as Record<string, unknown>)[def.prop] = o;
    }
  }
  if (key.encap) m.encap = exactMask(key.encap);
  return m;
}

function fillMask(key: FlowKey, m: FlowMask): FlowMask {
  const out: FlowMask = {};
  for (const def of KEY_ATTRS) {
    if (key[def.prop] === undefined) continue;
    (out as Record<string, unknown>)[def.prop] = m[def.prop] ?? zeroAttr(def);
  }
  if (key.encap) out.encap = fillMask(key.encap, m.encap ?? {});
  return out;
}

function decodeLevel(bytes: Uint8Array, key: FlowKey | undefined, what: 'key' | 'mask', lenient = false): FlowKey {
  let attrs: NlAttr[];
  try {
    attrs = readAttrs(bytes);
  } catch (e) {
    throw new FlowDecodeError(`${what}: ${(e as Error).message}`);
  }
  const out: FlowKey = {};
  const seen = new Set<number>();
  for (const a of attrs) {
    if (a.type > OVS_KEY_ATTR_MAX)
      throw new FlowDecodeError(`Key type ${a.type} is out of range max ${OVS_KEY_ATTR_MAX}`);
    if (OVS_KEY_ATTR_UNSUPPORTED.includes(a.type)) throw new FlowDecodeError(`Key type ${a.type} is not supported`);
    if (seen.has(a.type)) throw new FlowDecodeError(`Duplicate key (type ${a.type}).`);
    seen.add(a.type);
    const expected = KEY_ATTR_LENGTHS.get(a.type);
    if (expected !== undefined && expected >= 0 && a.payload.length !== expected) {
      throw new FlowDecodeError(`Key ${a.type} has unexpected len ${a.payload.length} expected ${expected}`);
    }
    if (a.type === OVS_KEY_ATTR.ENCAP) {
      out.encap = decodeLevel(a.payload, key?.encap ?? {}, what, lenient);
      continue;
    }
    const def = KEY_ATTR_BY_NUMBER.get(a.type);
    if (!def) {
      if (lenient && (what === 'key' || isWildcardMaskAttr(a))) continue;
      throw new FlowDecodeError(`${what} attribute ${a.type} is valid for the kernel but netmgr does not model it`);
    }
    if (what === 'mask' && key && key[def.prop] === undefined) {
      // A mask for an attribute the key lacks: only meaningful if it is all zero (then it counts as absent); the
      // kernel puts tunnel(ttl=0) in the mask of every flow it dumps.
      // A matched tunnel field there (matching "no tunnel") is not representable: refused even when lenient.
      if (def.nested ? isWildcardMaskAttr(a) : a.payload.every((b) => b === 0) || lenient) continue;
      throw new FlowDecodeError(`mask attribute ${def.odp} (type ${a.type}) has no key attribute`);
    }
    try {
      (out as Record<string, unknown>)[def.prop] = decodeAttrPayload(def, a.payload);
    } catch (e) {
      // Tunnel options netmgr does not model (Geneve TLVs...) in a key the kernel reports: skipped like CT keys.
      if (!(def.nested && lenient && what === 'key')) throw e;
    }
  }
  return out;
}

/**
 * An unmodelled mask attribute that wildcards everything: all-zero bytes, or for a nested one (TUNNEL, which the
 * kernel puts in every dumped mask as `tunnel(ttl=0)`) children that are all non-empty and all-zero (a present
 * zero-length flag such as CSUM or DONT_FRAGMENT means an exact bit).
 */
function isWildcardMaskAttr(a: NlAttr): boolean {
  if (KEY_ATTR_LENGTHS.get(a.type) !== -1) return a.payload.every((b) => b === 0);
  try {
    return readAttrs(a.payload).every((c) => c.payload.length > 0 && c.payload.every((b) => b === 0));
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Actions

export function encodeActions(actions: FlowActions): Uint8Array {
  const w = new NlAttrWriter(GENL_RULES);
  writeActions(w, actions);
  return w.finish();
}

function writeActions(w: NlAttrWriter, actions: FlowActions): void {
  for (const a of actions) {
    switch (a.type) {
      case 'output':
        w.putU32(OVS_ACTION_ATTR.OUTPUT, a.port);
        break;
      case 'drop':
        w.putU32(OVS_ACTION_ATTR.DROP, a.reason);
        break;
      case 'recirc':
        w.putU32(OVS_ACTION_ATTR.RECIRC, a.id);
        break;
      case 'trunc':
        w.putU32(OVS_ACTION_ATTR.TRUNC, a.maxLen);
        break;
      case 'popVlan':
        w.putFlag(OVS_ACTION_ATTR.POP_VLAN);
        break;
      case 'pushVlan': {
        const b = new Uint8Array(4);
        const dv = new DataView(b.buffer);
        dv.setUint16(0, a.tpid, false);
        // The kernel requires CFI in the action but does not write it to the packet.
        dv.setUint16(2, a.tci, false);
        w.put(OVS_ACTION_ATTR.PUSH_VLAN, b);
        break;
      }
      case 'userspace': {
        const t = w.beginNested(OVS_ACTION_ATTR.USERSPACE);
        w.putU32(OVS_USERSPACE_ATTR.PID, a.pid);
        if (a.userdata) w.put(OVS_USERSPACE_ATTR.USERDATA, a.userdata);
        if (a.tunnelOutPort !== undefined) w.putU32(OVS_USERSPACE_ATTR.EGRESS_TUN_PORT, a.tunnelOutPort);
        if (a.actions) w.putFlag(OVS_USERSPACE_ATTR.ACTIONS);
        w.endNested(t);
        break;
      }
      case 'set': {
        const def = singleAttr(a.key);
        const t = w.beginNested(OVS_ACTION_ATTR.SET);
        w.put(def.attr, encodeAttrPayload(def, a.key[def.prop]));
        w.endNested(t);
        break;
      }
      case 'setMasked': {
        // One key attribute whose payload is the value struct followed by the mask struct.
        const def = singleAttr(a.key);
        if (def.nested) throw new NetmgrError('invalid', 'set(tunnel(...)) cannot be masked (kernel: validate_set)');
        const b = new Uint8Array(def.size * 2);
        encodeAttrPayload(def, a.key[def.prop], b, 0);
        encodeAttrPayload(def, a.mask[def.prop] ?? zeroAttr(def), b, def.size);
        const t = w.beginNested(OVS_ACTION_ATTR.SET_MASKED);
        w.put(def.attr, b);
        w.endNested(t);
        break;
      }
      case 'sample': {
        const t = w.beginNested(OVS_ACTION_ATTR.SAMPLE);
        w.putU32(OVS_SAMPLE_ATTR.PROBABILITY, a.probability);
        const ta = w.beginNested(OVS_SAMPLE_ATTR.ACTIONS);
        writeActions(w, a.actions);
        w.endNested(ta);
        w.endNested(t);
        break;
      }
      case 'clone': {
        const t = w.beginNested(OVS_ACTION_ATTR.CLONE);
        writeActions(w, a.actions);
        w.endNested(t);
        break;
      }
    }
  }
}

export function decodeActions(bytes: Uint8Array): FlowActions {
  let attrs: NlAttr[];
  try {
    attrs = readAttrs(bytes);
  } catch (e) {
    throw new FlowDecodeError(`actions: ${(e as Error).message}`);
  }
  return attrs.map(decodeAction);
}

function fixedLen(a: NlAttr, n: number, name: string): void {
  if (a.payload.length !== n)
    throw new FlowDecodeError(`action ${name} (type ${a.type}) has length ${a.payload.length}, expected ${n}`);
}

function decodeAction(a: NlAttr): FlowAction {
  switch (a.type) {
    case OVS_ACTION_ATTR.OUTPUT:
      fixedLen(a, 4, 'output');
      return { type: 'output', port: attrU32(a) };
    case OVS_ACTION_ATTR.DROP:
      fixedLen(a, 4, 'drop');
      return { type: 'drop', reason: attrU32(a) };
    case OVS_ACTION_ATTR.RECIRC:
      fixedLen(a, 4, 'recirc');
      return { type: 'recirc', id: attrU32(a) };
    case OVS_ACTION_ATTR.TRUNC:
      fixedLen(a, 4, 'trunc');
      return { type: 'trunc', maxLen: attrU32(a) };
    case OVS_ACTION_ATTR.POP_VLAN:
      fixedLen(a, 0, 'pop_vlan');
      return { type: 'popVlan' };
    case OVS_ACTION_ATTR.PUSH_VLAN: {
      fixedLen(a, 4, 'push_vlan');
      const dv = new DataView(a.payload.buffer, a.payload.byteOffset, 4);
      return { type: 'pushVlan', tpid: dv.getUint16(0, false), tci: dv.getUint16(2, false) };
    }
    case OVS_ACTION_ATTR.USERSPACE: {
      let pid: number | undefined;
      const out: { type: 'userspace'; pid: number; userdata?: Uint8Array; actions?: boolean; tunnelOutPort?: number } =
        { type: 'userspace', pid: 0 };
      for (const n of readAttrs(a.payload)) {
        if (n.type === OVS_USERSPACE_ATTR.PID) pid = attrU32(n);
        else if (n.type === OVS_USERSPACE_ATTR.USERDATA) out.userdata = n.payload.slice();
        else if (n.type === OVS_USERSPACE_ATTR.EGRESS_TUN_PORT) out.tunnelOutPort = attrU32(n);
        else if (n.type === OVS_USERSPACE_ATTR.ACTIONS) out.actions = true;
        else throw new FlowDecodeError(`userspace: unknown attribute ${n.type}`);
      }
      if (pid === undefined) throw new FlowDecodeError('userspace: OVS_USERSPACE_ATTR_PID is required');
      out.pid = pid;
      return out;
    }
    case OVS_ACTION_ATTR.SET:
    case OVS_ACTION_ATTR.SET_MASKED: {
      const inner = readAttrs(a.payload);
      if (inner.length !== 1)
        throw new FlowDecodeError(`set: exactly one key attribute expected, found ${inner.length}`);
      const k = inner[0];
      const def = KEY_ATTR_BY_NUMBER.get(k.type);
      if (!def) throw new FlowDecodeError(`set: key attribute ${k.type} is not modelled`);
      const masked = a.type === OVS_ACTION_ATTR.SET_MASKED;
      if (def.nested) {
        if (masked) throw new FlowDecodeError('set: a tunnel key cannot be masked');
        return { type: 'set', key: { [def.prop]: decodeAttrPayload(def, k.payload) } };
      }
      const need = masked ? def.size * 2 : def.size;
      if (k.payload.length !== need)
        throw new FlowDecodeError(`set: key ${def.odp} has length ${k.payload.length}, expected ${need}`);
      const key: FlowKey = { [def.prop]: decodeAttrPayload(def, k.payload, 0) };
      if (!masked) return { type: 'set', key };
      return { type: 'setMasked', key, mask: { [def.prop]: decodeAttrPayload(def, k.payload, def.size) } };
    }
    case OVS_ACTION_ATTR.SAMPLE: {
      let probability: number | undefined;
      let actions: FlowActions | undefined;
      for (const n of readAttrs(a.payload)) {
        if (n.type === OVS_SAMPLE_ATTR.PROBABILITY) probability = attrU32(n);
        else if (n.type === OVS_SAMPLE_ATTR.ACTIONS) actions = decodeActions(n.payload);
        else throw new FlowDecodeError(`sample: unknown attribute ${n.type}`);
      }
      if (probability === undefined || actions === undefined)
        throw new FlowDecodeError('sample: PROBABILITY and ACTIONS are required');
      return { type: 'sample', probability, actions };
    }
    case OVS_ACTION_ATTR.CLONE:
      return { type: 'clone', actions: decodeActions(a.payload) };
    default:
      throw new FlowDecodeError(
        `action type ${a.type} is ${a.type > 0 && a.type <= 25 ? 'valid for the kernel but not modelled by netmgr' : 'unknown'}`,
      );
  }
}

// ---------------------------------------------------------------------------------------------------------------

/** The OVS_FLOW_ATTR_KEY / MASK / ACTIONS (and UFID) attributes of an ovs_flow NEW/SET request. */
export function encodeFlowAttrs(
  flow: { key: FlowKey; mask?: FlowMask; ufid?: Uint8Array },
  actions?: FlowActions,
): Uint8Array {
  const w = new NlAttrWriter(GENL_RULES);
  w.put(OVS_FLOW_ATTR.KEY, encodeKey(flow.key));
  if (flow.mask) w.put(OVS_FLOW_ATTR.MASK, encodeMask(flow.key, flow.mask));
  if (actions) w.put(OVS_FLOW_ATTR.ACTIONS, encodeActions(actions));
  if (flow.ufid) w.put(OVS_FLOW_ATTR.UFID, flow.ufid);
  return w.finish();
}
