/**
 * Encoders and decoders of the openvswitch genl messages (pure: bytes in, plain data out). A request body is
 * genlmsghdr + `struct ovs_header` + attributes; the socket adds the nlmsghdr. Flow keys, masks and actions use
 * the shared flow codec (src/flow/codec.ts). Golden-byte tests: test/unit/datapath/kernel-messages.test.ts.
 */
import {
  decodeActions,
  decodeKey,
  decodeMask,
  encodeActions,
  encodeKey,
  encodeMask,
  type FlowActions,
  type FlowKey,
  type FlowMask,
} from '../../flow';
import { OVS_FLOW_ATTR } from '../../flow/constants';
import {
  GENL_RULES,
  HOST_IS_LITTLE_ENDIAN,
  NlAttrWriter,
  getS32,
  getU32,
  readAttrs,
  readCString,
  type NlAttr,
} from '../../netlink/attr';
import { NetmgrError } from '../../util/errors';
import { genlPayload } from '../../netlink/genl';
import {
  OVS_DP_ATTR,
  OVS_DP_MEGAFLOW_STATS_LEN,
  OVS_DP_STATS_LEN,
  OVS_FLOW_STATS_LEN,
  OVS_HEADER_LEN,
  OVS_PACKET_ATTR,
  OVS_VPORT_ATTR,
  OVS_VPORT_STATS_FIELDS,
  OVS_VPORT_STATS_LEN,
  type OvsDpMegaflowStats,
  type OvsDpStats,
  type OvsVportStats,
} from './abi';

/** An ovs genl message that does not decode (a missing or mis-sized attribute): a kernel/ABI mismatch or a bug. */
export class KernelMessageError extends NetmgrError {
  constructor(message: string) {
    super('corrupt', message);
  }
}

/** `struct ovs_header`: the datapath's ifindex, host order; 0 = "look it up by name". */
export function ovsHeader(dpIfindex: number): Uint8Array {
  const b = new Uint8Array(OVS_HEADER_LEN);
  new DataView(b.buffer).setInt32(0, dpIfindex, HOST_IS_LITTLE_ENDIAN);
  return b;
}

/** A complete request body (after the nlmsghdr). */
export function ovsRequest(cmd: number, version: number, dpIfindex: number, attrs: Uint8Array): Buffer {
  return genlPayload(cmd, version, ovsHeader(dpIfindex), attrs);
}

/** Splits a reply body (after genlmsghdr) into the ovs_header's dp_ifindex and its attributes. */
function splitBody(body: Uint8Array, what: string): { dpIfindex: number; attrs: NlAttr[] } {
  if (body.length < OVS_HEADER_LEN) throw new KernelMessageError(`${what}: ${body.length} bytes, no ovs_header`);
  const dpIfindex = new DataView(body.buffer, body.byteOffset, 4).getInt32(0, HOST_IS_LITTLE_ENDIAN);
  return { dpIfindex, attrs: readAttrs(body.subarray(OVS_HEADER_LEN)) };
}

const dv = (a: Uint8Array) => new DataView(a.buffer, a.byteOffset, a.byteLength);
/** u64 attributes are only 4-byte aligned; counters fit a double exactly up to 2^53. */
const u64 = (a: Uint8Array, off: number): number => {
  const v = dv(a);
  const lo = v.getUint32(off + (HOST_IS_LITTLE_ENDIAN ? 0 : 4), HOST_IS_LITTLE_ENDIAN);
  const hi = v.getUint32(off + (HOST_IS_LITTLE_ENDIAN ? 4 : 0), HOST_IS_LITTLE_ENDIAN);
  return hi * 0x100000000 + lo;
};
function sized(a: NlAttr, n: number, what: string): Uint8Array {
  if (a.payload.length < n)
    throw new KernelMessageError(`${what}: attribute ${a.type} has ${a.payload.length} bytes, expected ${n}`);
  return a.payload;
}

/** An array of u32 in host order (upcall PID lists). */
function u32Array(values: readonly number[]): Uint8Array {
  const b = new Uint8Array(4 * values.length);
  values.forEach((v, i) => dv(b).setUint32(4 * i, v >>> 0, HOST_IS_LITTLE_ENDIAN));
  return b;
}

function readU32Array(p: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i + 4 <= p.length; i += 4) out.push(dv(p).getUint32(i, HOST_IS_LITTLE_ENDIAN));
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// ovs_datapath

export interface DatapathRequest {
  name?: string;
  upcallPid?: number;
  userFeatures?: number;
  /** OVS_DP_ATTR_PER_CPU_PIDS: the upcall PID of each CPU (per-CPU dispatch mode). */
  perCpuPids?: readonly number[];
}

export function encodeDatapathAttrs(r: DatapathRequest): Uint8Array {
  const w = new NlAttrWriter(GENL_RULES);
  if (r.name !== undefined) w.putString(OVS_DP_ATTR.NAME, r.name);
  if (r.upcallPid !== undefined) w.putU32(OVS_DP_ATTR.UPCALL_PID, r.upcallPid);
  if (r.userFeatures !== undefined) w.putU32(OVS_DP_ATTR.USER_FEATURES, r.userFeatures);
  if (r.perCpuPids !== undefined) w.put(OVS_DP_ATTR.PER_CPU_PIDS, u32Array(r.perCpuPids));
  return w.finish();
}

export interface DatapathInfo {
  dpIfindex: number;
  name: string;
  stats?: OvsDpStats;
  megaflowStats?: OvsDpMegaflowStats;
  userFeatures?: number;
  masksCacheSize?: number;
  /** OVS_DP_ATTR_PER_CPU_PIDS (per-CPU dispatch mode). */
  perCpuPids?: number[];
}

export function decodeDatapath(body: Uint8Array): DatapathInfo {
  const { dpIfindex, attrs } = splitBody(body, 'ovs_datapath');
  const out: DatapathInfo = { dpIfindex, name: '' };
  for (const a of attrs) {
    switch (a.type) {
      case OVS_DP_ATTR.NAME:
        out.name = readCString(a.payload);
        break;
      case OVS_DP_ATTR.STATS: {
        const p = sized(a, OVS_DP_STATS_LEN, 'OVS_DP_ATTR_STATS');
        out.stats = { nHit: u64(p, 0), nMissed: u64(p, 8), nLost: u64(p, 16), nFlows: u64(p, 24) };
        break;
      }
      case OVS_DP_ATTR.MEGAFLOW_STATS: {
        const p = sized(a, OVS_DP_MEGAFLOW_STATS_LEN, 'OVS_DP_ATTR_MEGAFLOW_STATS');
        out.megaflowStats = {
          nMaskHit: u64(p, 0),
          nMasks: dv(p).getUint32(8, HOST_IS_LITTLE_ENDIAN),
          nCacheHit: u64(p, 16),
        };
        break;
      }
      case OVS_DP_ATTR.USER_FEATURES:
        out.userFeatures = getU32(sized(a, 4, 'OVS_DP_ATTR_USER_FEATURES'));
        break;
      case OVS_DP_ATTR.MASKS_CACHE_SIZE:
        out.masksCacheSize = getU32(sized(a, 4, 'OVS_DP_ATTR_MASKS_CACHE_SIZE'));
        break;
      case OVS_DP_ATTR.PER_CPU_PIDS:
        out.perCpuPids = readU32Array(a.payload);
        break;
      default:
        break; // PAD and attributes of newer kernels
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// ovs_vport

export interface VportRequest {
  portNo?: number;
  type?: number;
  name?: string;
  /** OVS_VPORT_ATTR_UPCALL_PID: an array of u32 (one per handler; one here). */
  upcallPids?: readonly number[];
}

export function encodeVportAttrs(r: VportRequest): Uint8Array {
  const w = new NlAttrWriter(GENL_RULES);
  if (r.portNo !== undefined) w.putU32(OVS_VPORT_ATTR.PORT_NO, r.portNo);
  if (r.type !== undefined) w.putU32(OVS_VPORT_ATTR.TYPE, r.type);
  if (r.name !== undefined) w.putString(OVS_VPORT_ATTR.NAME, r.name);
  if (r.upcallPids !== undefined) w.put(OVS_VPORT_ATTR.UPCALL_PID, u32Array(r.upcallPids));
  return w.finish();
}

export interface VportInfo {
  dpIfindex: number;
  portNo: number;
  type: number;
  name: string;
  upcallPids: number[];
  stats?: OvsVportStats;
  ifindex?: number;
  /** Present when the interface lives in another namespace than the datapath (an id of that namespace). */
  netnsid?: number;
}

export function decodeVport(body: Uint8Array): VportInfo {
  const { dpIfindex, attrs } = splitBody(body, 'ovs_vport');
  const out: VportInfo = { dpIfindex, portNo: -1, type: 0, name: '', upcallPids: [] };
  for (const a of attrs) {
    switch (a.type) {
      case OVS_VPORT_ATTR.PORT_NO:
        out.portNo = getU32(sized(a, 4, 'OVS_VPORT_ATTR_PORT_NO'));
        break;
      case OVS_VPORT_ATTR.TYPE:
        out.type = getU32(sized(a, 4, 'OVS_VPORT_ATTR_TYPE'));
        break;
      case OVS_VPORT_ATTR.NAME:
        out.name = readCString(a.payload);
        break;
      case OVS_VPORT_ATTR.UPCALL_PID:
        out.upcallPids = readU32Array(a.payload);
        break;
      case OVS_VPORT_ATTR.STATS: {
        const p = sized(a, OVS_VPORT_STATS_LEN, 'OVS_VPORT_ATTR_STATS');
        const s = {} as OvsVportStats;
        OVS_VPORT_STATS_FIELDS.forEach((f, i) => (s[f] = u64(p, 8 * i)));
        out.stats = s;
        break;
      }
      case OVS_VPORT_ATTR.IFINDEX:
        out.ifindex = getU32(sized(a, 4, 'OVS_VPORT_ATTR_IFINDEX'));
        break;
      case OVS_VPORT_ATTR.NETNSID:
        out.netnsid = getS32(sized(a, 4, 'OVS_VPORT_ATTR_NETNSID'));
        break;
      default:
        break;
    }
  }
  if (out.portNo < 0) throw new KernelMessageError('ovs_vport reply without OVS_VPORT_ATTR_PORT_NO');
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// ovs_flow

export interface FlowRequest {
  key?: FlowKey;
  mask?: FlowMask;
  actions?: FlowActions;
  ufid?: Uint8Array;
  /** OVS_FLOW_ATTR_CLEAR (SET): zero the statistics. */
  clear?: boolean;
  /** OVS_FLOW_ATTR_UFID_FLAGS: leave key/mask/actions out of replies and dumps. */
  ufidFlags?: number;
}

export function encodeFlowAttrs(r: FlowRequest): Uint8Array {
  const w = new NlAttrWriter(GENL_RULES);
  if (r.key) w.put(OVS_FLOW_ATTR.KEY, encodeKey(r.key));
  if (r.key && r.mask) w.put(OVS_FLOW_ATTR.MASK, encodeMask(r.key, r.mask));
  if (r.actions) w.put(OVS_FLOW_ATTR.ACTIONS, encodeActions(r.actions));
  if (r.clear) w.putFlag(OVS_FLOW_ATTR.CLEAR);
  if (r.ufid) w.put(OVS_FLOW_ATTR.UFID, r.ufid);
  if (r.ufidFlags !== undefined) w.putU32(OVS_FLOW_ATTR.UFID_FLAGS, r.ufidFlags);
  return w.finish();
}

export interface FlowInfo {
  dpIfindex: number;
  key?: FlowKey;
  mask?: FlowMask;
  actions?: FlowActions;
  ufid?: Uint8Array;
  packets: number;
  bytes: number;
  /** OVS_FLOW_ATTR_USED: CLOCK_MONOTONIC milliseconds of the last hit; absent = never. */
  usedMonotonicMs?: number;
  tcpFlags: number;
}

/** Metadata the kernel reports in every dumped key (wildcarded unless a flow matched on it). */
const METADATA_ATTRS: readonly (keyof FlowKey)[] = ['priority', 'skbMark', 'recircId', 'dpHash'];

/**
 * The flow as netmgr models it: the kernel reports recirc_id, dp_hash, skb_priority, skb_mark and conntrack
 * fields for every flow; fully wildcarded ones are dropped so a dumped flow reads like the one that was put.
 */
export function normalizeDumpedMatch(key: FlowKey, mask: FlowMask): { key: FlowKey; mask: FlowMask } {
  const k: FlowKey = { ...key };
  const m: FlowMask = { ...mask };
  for (const p of METADATA_ATTRS) {
    if (m[p] === 0 || (k[p] !== undefined && m[p] === undefined)) {
      delete k[p];
      delete m[p];
    }
  }
  return { key: k, mask: m };
}

export function decodeFlow(body: Uint8Array): FlowInfo {
  const { dpIfindex, attrs } = splitBody(body, 'ovs_flow');
  const out: FlowInfo = { dpIfindex, packets: 0, bytes: 0, tcpFlags: 0 };
  let keyBytes: Uint8Array | undefined;
  let maskBytes: Uint8Array | undefined;
  for (const a of attrs) {
    switch (a.type) {
      case OVS_FLOW_ATTR.KEY:
        keyBytes = a.payload;
        break;
      case OVS_FLOW_ATTR.MASK:
        maskBytes = a.payload;
        break;
      case OVS_FLOW_ATTR.ACTIONS:
        out.actions = decodeActions(a.payload);
        break;
      case OVS_FLOW_ATTR.UFID:
        out.ufid = a.payload.slice();
        break;
      case OVS_FLOW_ATTR.STATS: {
        const p = sized(a, OVS_FLOW_STATS_LEN, 'OVS_FLOW_ATTR_STATS');
        out.packets = u64(p, 0);
        out.bytes = u64(p, 8);
        break;
      }
      case OVS_FLOW_ATTR.USED:
        out.usedMonotonicMs = u64(sized(a, 8, 'OVS_FLOW_ATTR_USED'), 0);
        break;
      case OVS_FLOW_ATTR.TCP_FLAGS:
        out.tcpFlags = a.payload[0] ?? 0;
        break;
      default:
        break;
    }
  }
  if (keyBytes) {
    const key = decodeKey(keyBytes, { lenient: true });
    const mask = decodeMask(maskBytes, key, { lenient: true });
    const n = normalizeDumpedMatch(key, mask);
    out.key = n.key;
    out.mask = n.mask;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// ovs_packet

export interface ExecuteRequest {
  packet: Uint8Array;
  /** OVS_PACKET_ATTR_KEY as bytes: an upcall's own key, or encodeKey() of the packet's extracted key. */
  key: Uint8Array;
  actions: FlowActions;
}

export function encodeExecuteAttrs(r: ExecuteRequest): Uint8Array {
  const w = new NlAttrWriter(GENL_RULES);
  w.put(OVS_PACKET_ATTR.PACKET, r.packet);
  w.put(OVS_PACKET_ATTR.KEY, r.key);
  w.put(OVS_PACKET_ATTR.ACTIONS, encodeActions(r.actions));
  return w.finish();
}

export interface UpcallMessage {
  dpIfindex: number;
  /** The frame from its Ethernet header. */
  packet: Uint8Array;
  /** OVS_PACKET_ATTR_KEY as received (given back unchanged with EXECUTE). */
  keyBytes: Uint8Array;
  key: FlowKey;
  userdata?: Uint8Array;
  /** Packet length before truncation (OVS_PACKET_ATTR_LEN), when the kernel truncated it. */
  len?: number;
}

export function decodeUpcall(body: Uint8Array): UpcallMessage {
  const { dpIfindex, attrs } = splitBody(body, 'ovs_packet');
  let packet: Uint8Array | undefined;
  let keyBytes: Uint8Array | undefined;
  const out: Partial<UpcallMessage> = { dpIfindex };
  for (const a of attrs) {
    switch (a.type) {
      case OVS_PACKET_ATTR.PACKET:
        packet = a.payload;
        break;
      case OVS_PACKET_ATTR.KEY:
        keyBytes = a.payload;
        break;
      case OVS_PACKET_ATTR.USERDATA:
        out.userdata = a.payload;
        break;
      case OVS_PACKET_ATTR.LEN:
        out.len = getU32(sized(a, 4, 'OVS_PACKET_ATTR_LEN'));
        break;
      default:
        break;
    }
  }
  if (!packet || !keyBytes)
    throw new KernelMessageError('upcall without OVS_PACKET_ATTR_PACKET or OVS_PACKET_ATTR_KEY');
  return { ...out, dpIfindex, packet, keyBytes, key: decodeKey(keyBytes, { lenient: true }) } as UpcallMessage;
}
