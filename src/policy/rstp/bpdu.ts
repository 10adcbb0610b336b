/**
 * The BPDU codec (802.1D-2004 clause 9): Configuration BPDU (9.3.1), Topology Change Notification BPDU (9.3.2) and
 * RST BPDU (9.3.3), inside an IEEE 802.3 frame to the Bridge Group Address with the LLC header 42 42 03 (7.12.3).
 * The fields are a table (name, offset, encoding) read by one encoder and one decoder, so that the two cannot
 * disagree. Decoding validates as 9.3.4 says; the one check that needs the receiving port (a Configuration BPDU that
 * this very port sent, looped back) is `isLoopedBack`. Times are seconds (the wire carries 1/256 s, 9.2.8).
 */
import {
  BPDU_FLAG,
  BPDU_MIN_LEN,
  BPDU_ROLE,
  BPDU_TIME_UNIT,
  BPDU_TYPE,
  BRIDGE_GROUP_ADDRESS,
  ETH_HEADER_LEN,
  ETH_LENGTH_MAX,
  ETH_ZLEN,
  LLC_BPDU_HEADER,
  PROTOCOL_ID,
  PROTOCOL_VERSION,
} from './constants';
import { sameBridgeId, type BridgeId } from './priority';

/** 9.3.3: the Port Role field; Alternate and Backup share a code. */
export type BpduRole = 'Unknown' | 'AlternateOrBackup' | 'Root' | 'Designated';

/** The fields a Configuration BPDU and an RST BPDU share (9.3.1, octets 6-35). */
export interface BpduVector {
  rootId: BridgeId;
  rootPathCost: number;
  bridgeId: BridgeId;
  portId: number;
  messageAge: number;
  maxAge: number;
  helloTime: number;
  forwardDelay: number;
}

/** 9.3.1: Configuration BPDU; of the flags only Topology Change and its Acknowledgment are defined. */
export interface ConfigBpdu extends BpduVector {
  type: 'Config';
  version: number;
  tc: boolean;
  tca: boolean;
}

/** 9.3.2: Topology Change Notification BPDU: the header only. */
export interface TcnBpdu {
  type: 'TCN';
  version: number;
}

/** 9.3.3: RST BPDU: the Configuration BPDU's fields, all eight flags and the Version 1 Length. */
export interface RstBpdu extends BpduVector {
  type: 'RST';
  version: number;
  tc: boolean;
  proposal: boolean;
  role: BpduRole;
  learning: boolean;
  forwarding: boolean;
  agreement: boolean;
  tca: boolean;
}

export type Bpdu = ConfigBpdu | TcnBpdu | RstBpdu;

export type DecodeResult = { bpdu: Bpdu; error?: undefined } | { bpdu?: undefined; error: string };

type FieldKind = 'u16' | 'u32' | 'bridgeId' | 'time';
/** 9.3.1 Figure 9-1 / 9.3.3 Figure 9-3: offsets from the first octet of the BPDU (octet 1 of the standard is 0). */
const VECTOR_FIELDS: ReadonlyArray<readonly [keyof BpduVector, number, FieldKind]> = [
  ['rootId', 5, 'bridgeId'],
  ['rootPathCost', 13, 'u32'],
  ['bridgeId', 17, 'bridgeId'],
  ['portId', 25, 'u16'],
  ['messageAge', 27, 'time'],
  ['maxAge', 29, 'time'],
  ['helloTime', 31, 'time'],
  ['forwardDelay', 33, 'time'],
];
const OFFSET = { PROTOCOL_ID: 0, VERSION: 2, TYPE: 3, FLAGS: 4, VERSION1_LENGTH: 35 } as const;
/** 9.3.3: the flags of an RST BPDU other than the role, by mask. */
const RST_FLAGS: ReadonlyArray<readonly ['tc' | 'proposal' | 'learning' | 'forwarding' | 'agreement' | 'tca', number]> =
  [
    ['tc', BPDU_FLAG.TC],
    ['proposal', BPDU_FLAG.PROPOSAL],
    ['learning', BPDU_FLAG.LEARNING],
    ['forwarding', BPDU_FLAG.FORWARDING],
    ['agreement', BPDU_FLAG.AGREEMENT],
    ['tca', BPDU_FLAG.TCA],
  ];
const ROLE_CODE: Readonly<Record<BpduRole, number>> = {
  Unknown: BPDU_ROLE.UNKNOWN,
  AlternateOrBackup: BPDU_ROLE.ALTERNATE_BACKUP,
  Root: BPDU_ROLE.ROOT,
  Designated: BPDU_ROLE.DESIGNATED,
};
const ROLE_CODES = Object.keys(ROLE_CODE).sort(
  (a, b) => ROLE_CODE[a as BpduRole] - ROLE_CODE[b as BpduRole],
) as readonly BpduRole[];

function writeField(b: DataView, off: number, kind: FieldKind, v: number | BridgeId): void {
  if (kind === 'bridgeId') {
    const id = v as BridgeId;
    b.setUint16(off, id.priority);
    b.setUint16(off + 2, Math.floor(id.address / 2 ** 32));
    b.setUint32(off + 4, id.address % 2 ** 32);
  } else if (kind === 'u32') b.setUint32(off, v as number);
  else if (kind === 'u16') b.setUint16(off, v as number);
  else b.setUint16(off, Math.round((v as number) * BPDU_TIME_UNIT));
}

function readField(b: DataView, off: number, kind: FieldKind): number | BridgeId {
  if (kind === 'bridgeId') {
    return { priority: b.getUint16(off), address: b.getUint16(off + 2) * 2 ** 32 + b.getUint32(off + 4) };
  }
  if (kind === 'u32') return b.getUint32(off);
  if (kind === 'u16') return b.getUint16(off);
  return b.getUint16(off) / BPDU_TIME_UNIT;
}

/** The BPDU's octets (no LLC, no Ethernet header): 35 for a Configuration BPDU, 4 for a TCN, 36 for an RST BPDU. */
export function encodeBpdu(bpdu: Bpdu): Uint8Array {
  const len = bpdu.type === 'TCN' ? BPDU_MIN_LEN.TCN : bpdu.type === 'Config' ? BPDU_MIN_LEN.CONFIG : BPDU_MIN_LEN.RST;
  const out = new Uint8Array(len);
  const view = new DataView(out.buffer);
  view.setUint16(OFFSET.PROTOCOL_ID, PROTOCOL_ID);
  out[OFFSET.VERSION] = bpdu.version;
  out[OFFSET.TYPE] = bpdu.type === 'TCN' ? BPDU_TYPE.TCN : bpdu.type === 'Config' ? BPDU_TYPE.CONFIG : BPDU_TYPE.RST;
  if (bpdu.type === 'TCN') return out;
  let flags = (bpdu.tc ? BPDU_FLAG.TC : 0) | (bpdu.tca ? BPDU_FLAG.TCA : 0);
  if (bpdu.type === 'RST') {
    for (const [name, mask] of RST_FLAGS) if (bpdu[name]) flags |= mask;
    flags |= ROLE_CODE[bpdu.role] << BPDU_FLAG.PORT_ROLE_SHIFT;
    out[OFFSET.VERSION1_LENGTH] = 0; // 9.3.3: Version 1 Length is 0 (no Version 1 protocol information).
  }
  out[OFFSET.FLAGS] = flags;
  for (const [name, off, kind] of VECTOR_FIELDS) writeField(view, off, kind, bpdu[name]);
  return out;
}

function readVector(view: DataView): BpduVector {
  const v: Record<string, number | BridgeId> = {};
  for (const [name, off, kind] of VECTOR_FIELDS) v[name] = readField(view, off, kind);
  return v as unknown as BpduVector;
}

type Kind = 'Config' | 'TCN' | 'RST';

/** 9.3.4 a)-e): which kind the octets are, if any, and whether they are long enough for it. */
function classify(b: Uint8Array): { kind: Kind; error?: undefined } | { kind?: undefined; error: string } {
  if (b.length < BPDU_MIN_LEN.TCN) return { error: `too short (${b.length} octets)` };
  const protocol = (b[0] << 8) | b[1];
  if (protocol !== PROTOCOL_ID) return { error: `protocol identifier ${protocol} is not 0` };
  const version = b[OFFSET.VERSION];
  const type = b[OFFSET.TYPE];
  const need = (kind: Kind, min: number) =>
    b.length >= min ? { kind } : { error: `${kind} BPDU of ${b.length} octets (needs ${min})` };
  if (type === BPDU_TYPE.CONFIG) return need('Config', BPDU_MIN_LEN.CONFIG);
  if (type === BPDU_TYPE.TCN) return need('TCN', BPDU_MIN_LEN.TCN);
  if (type === BPDU_TYPE.RST && version === PROTOCOL_VERSION.RSTP) return need('RST', BPDU_MIN_LEN.RST);
  if (type === BPDU_TYPE.RST && version > PROTOCOL_VERSION.RSTP) return need('RST', BPDU_MIN_LEN.RST_V3);
  return { error: `BPDU type 0x${type.toString(16)} with protocol version ${version}` };
}

/** Decodes and validates (9.3.4) a BPDU's octets; anything after the BPDU proper is ignored, as 9.3.4 d) allows. */
export function decodeBpdu(b: Uint8Array): DecodeResult {
  const { kind, error } = classify(b);
  if (kind === undefined) return { error };
  const version = b[OFFSET.VERSION];
  if (kind === 'TCN') return { bpdu: { type: 'TCN', version } };
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const vector = readVector(view);
  const flags = b[OFFSET.FLAGS];
  if (kind === 'Config') {
    // 9.3.4 a): a Configuration BPDU whose Message Age has reached Max Age is stale and discarded.
    if (vector.messageAge >= vector.maxAge)
      return { error: `message age ${vector.messageAge} >= max age ${vector.maxAge}` };
    const tc = (flags & BPDU_FLAG.TC) !== 0;
    return { bpdu: { type: 'Config', version, tc, tca: (flags & BPDU_FLAG.TCA) !== 0, ...vector } };
  }
  const role = ROLE_CODES[(flags & BPDU_FLAG.PORT_ROLE_MASK) >> BPDU_FLAG.PORT_ROLE_SHIFT];
  const rst: RstBpdu = { type: 'RST', version, role, ...vector } as RstBpdu;
  for (const [name, mask] of RST_FLAGS) rst[name] = (flags & mask) !== 0;
  return { bpdu: rst };
}

/**
 * 9.3.4 a): a Configuration BPDU carrying this port's own Bridge Identifier and Port Identifier is this port's
 * transmission come back (a looped cable or a hub) and is not processed.
 */
export function isLoopedBack(bpdu: Bpdu, bridgeId: BridgeId, portId: number): boolean {
  return bpdu.type === 'Config' && sameBridgeId(bpdu.bridgeId, bridgeId) && bpdu.portId === portId;
}

/** The 802.3 frame of a BPDU from `src` (a MAC number): header, LLC, BPDU, zero padding to 60 octets. */
export function encodeBpduFrame(bpdu: Bpdu, src: number): Uint8Array {
  const body = encodeBpdu(bpdu);
  const llcLen = LLC_BPDU_HEADER.length + body.length;
  const frame = new Uint8Array(Math.max(ETH_ZLEN, ETH_HEADER_LEN + llcLen));
  const view = new DataView(frame.buffer);
  writeMac(view, 0, BRIDGE_GROUP_ADDRESS);
  writeMac(view, 6, src);
  view.setUint16(12, llcLen);
  frame.set(LLC_BPDU_HEADER, ETH_HEADER_LEN);
  frame.set(body, ETH_HEADER_LEN + LLC_BPDU_HEADER.length);
  return frame;
}

/** Decodes a whole frame: destination, 802.3 length, LLC header, then the BPDU within the length. */
export function decodeBpduFrame(frame: Uint8Array): DecodeResult {
  if (frame.length < ETH_HEADER_LEN + LLC_BPDU_HEADER.length) return { error: `frame of ${frame.length} octets` };
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (readMac(view, 0) !== BRIDGE_GROUP_ADDRESS) return { error: 'destination is not the Bridge Group Address' };
  const len = view.getUint16(12);
  if (len > ETH_LENGTH_MAX) return { error: `EtherType 0x${len.toString(16)} where an 802.3 length belongs` };
  if (ETH_HEADER_LEN + len > frame.length) return { error: `802.3 length ${len} beyond the frame's end` };
  for (let i = 0; i < LLC_BPDU_HEADER.length; i++) {
    if (frame[ETH_HEADER_LEN + i] !== LLC_BPDU_HEADER[i]) return { error: 'LLC header is not 42 42 03' };
  }
  if (len < LLC_BPDU_HEADER.length) return { error: `802.3 length ${len} shorter than the LLC header` };
  return decodeBpdu(frame.subarray(ETH_HEADER_LEN + LLC_BPDU_HEADER.length, ETH_HEADER_LEN + len));
}

/** The source address of a frame (for counters and logs). */
export const frameSource = (frame: Uint8Array): number =>
  readMac(new DataView(frame.buffer, frame.byteOffset, frame.byteLength), 6);

function writeMac(view: DataView, off: number, mac: number): void {
  view.setUint16(off, Math.floor(mac / 2 ** 32));
  view.setUint32(off + 2, mac % 2 ** 32);
}

function readMac(view: DataView, off: number): number {
  return view.getUint16(off) * 2 ** 32 + view.getUint32(off + 2);
}
