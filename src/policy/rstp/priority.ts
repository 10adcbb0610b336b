/**
 * Identifiers, priority vectors and times (802.1D-2004 9.2.5-9.2.7, 17.5-17.6). A Bridge Identifier is kept as its
 * two parts (the 16-bit priority and the 48-bit address, a MAC number as in src/flow) because together they do not fit
 * a double; comparisons go priority first, then address, exactly as the 8-octet big-endian value would compare.
 */
import { formatMac } from '../../flow/text';

/** 9.2.5: priority (4 bits of priority and 12 of system ID extension) and the bridge's MAC address. */
export interface BridgeId {
  readonly priority: number;
  readonly address: number;
}

/** 17.6: the five components of a spanning tree priority vector; lower is better, component by component. */
export interface PriorityVector {
  readonly rootBridgeId: BridgeId;
  readonly rootPathCost: number;
  readonly designatedBridgeId: BridgeId;
  readonly designatedPortId: number;
  readonly bridgePortId: number;
}

/** 17.13, 17.17: Message Age, Max Age, Forward Delay and Hello Time, in whole seconds. */
export interface Times {
  readonly messageAge: number;
  readonly maxAge: number;
  readonly forwardDelay: number;
  readonly helloTime: number;
}

export function compareBridgeId(a: BridgeId, b: BridgeId): number {
  return a.priority - b.priority || a.address - b.address;
}

export const sameBridgeId = (a: BridgeId, b: BridgeId): boolean => compareBridgeId(a, b) === 0;

/** 17.6: negative when `a` is better (numerically lower) than `b`, 0 when equal in every component. */
export function compareVectors(a: PriorityVector, b: PriorityVector): number {
  return (
    compareBridgeId(a.rootBridgeId, b.rootBridgeId) ||
    a.rootPathCost - b.rootPathCost ||
    compareBridgeId(a.designatedBridgeId, b.designatedBridgeId) ||
    a.designatedPortId - b.designatedPortId ||
    a.bridgePortId - b.bridgePortId
  );
}

/** The first four components only: what a BPDU carries (the fifth is the receiving port, added on receipt). */
export function compareMessageVectors(a: PriorityVector, b: PriorityVector): number {
  return compareVectors({ ...a, bridgePortId: 0 }, { ...b, bridgePortId: 0 });
}

/**
 * 17.6: a message priority vector is superior to the port priority vector when it is better, or when it comes from
 * the same Designated Bridge (address) and Designated Port (number): that port has changed its own information, and
 * what it says now replaces what it said before, better or worse.
 */
export function isSuperior(msg: PriorityVector, port: PriorityVector): boolean {
  if (compareMessageVectors(msg, port) < 0) return true;
  return (
    msg.designatedBridgeId.address === port.designatedBridgeId.address &&
    portNumberOf(msg.designatedPortId) === portNumberOf(port.designatedPortId)
  );
}

export const sameTimes = (a: Times, b: Times): boolean =>
  a.messageAge === b.messageAge &&
  a.maxAge === b.maxAge &&
  a.forwardDelay === b.forwardDelay &&
  a.helloTime === b.helloTime;

/** 9.2.7: the Port Identifier, port priority in the top 4 bits and port number in the low 12. */
export const makePortId = (priority: number, no: number): number => ((priority & 0xf0) << 8) | (no & 0x0fff);
export const portNumberOf = (portId: number): number => portId & 0x0fff;

/** 17.6: the bridge priority vector, {B : 0 : B : 0 : 0}; also the worst possible vector's opposite. */
export const bridgeVector = (id: BridgeId): PriorityVector => ({
  rootBridgeId: id,
  rootPathCost: 0,
  designatedBridgeId: id,
  designatedPortId: 0,
  bridgePortId: 0,
});

/** "8000.001122334455", as Linux and OVS print a Bridge Identifier. */
export function formatBridgeId(id: BridgeId): string {
  return `${id.priority.toString(16).padStart(4, '0')}.${formatMac(id.address).replace(/:/g, '')}`;
}

/** "8002": port priority and number in hex, as 802.1D prints a Port Identifier. */
export const formatPortId = (portId: number): string => portId.toString(16).padStart(4, '0');
