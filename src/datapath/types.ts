/**
 * The datapath interface, shaped like OVS's dpif: one bridge's forwarding plane with numbered ports, a megaflow
 * table (key, mask, actions, UFID, stats), packet execution and upcalls on a miss. Two implementations: the
 * userspace datapath (src/datapath/userspace, TAP + AF_PACKET) and the kernel openvswitch datapath. Nothing above
 * this interface (policies, the bridge manager, dpctl) knows which one it talks to.
 */
import type { FlowActions, FlowKey, FlowMask, FlowStats } from '../flow';

/** Like OVS vport types: `internal` is an interface the datapath creates; `netdev` attaches an existing one. */
export type DpPortType = 'internal' | 'netdev';

export interface DpPortSpec {
  /** Port number, fixed by the units (bridge = 0, ports 1..n). */
  no: number;
  /** Interface name: created with this name (internal) or attached by it (netdev). */
  name: string;
  type: DpPortType;
}

export interface DpPortStats {
  rxPackets: number;
  rxBytes: number;
  /** Frames received but not forwarded for lack of room (ring/socket overruns seen by the datapath). */
  rxDropped: number;
  /** Malformed frames: runts, bad virtio-net headers, truncated reads. */
  rxErrors: number;
  txPackets: number;
  txBytes: number;
  /** Frames not sent because the interface's queue was full. */
  txDropped: number;
  /** Frames the kernel refused (bad header, too big, link down). */
  txErrors: number;
}

export interface DpPortInfo extends DpPortSpec {
  /** The interface's index in the namespace it was created or attached in. */
  ifindex: number;
  stats: DpPortStats;
}

/** `ovs-dpctl show` counters. */
export interface DpStats {
  /** Packets that matched a flow. */
  hit: number;
  /** Packets that matched no flow (sent to the policy as a miss upcall). */
  missed: number;
  /** Misses that could not be delivered to the policy. */
  lost: number;
  flows: number;
  /** Subtables (masks) probed by all lookups, and the number of masks. */
  masksHit: number;
  masks: number;
}

export interface DpFlow {
  key: FlowKey;
  mask: FlowMask;
  actions: FlowActions;
  ufid: Uint8Array;
  stats: FlowStats;
}

export interface FlowPut {
  key: FlowKey;
  mask: FlowMask;
  ufid?: Uint8Array;
}

export interface FlowPutOptions {
  /** `add-flow`: fail if present. `modify`: fail if absent unless mayCreate. */
  mode: 'create' | 'modify';
  mayCreate?: boolean;
  clearStats?: boolean;
}

/** Why a packet went up to the policy, as OVS_PACKET_CMD_MISS / OVS_PACKET_CMD_ACTION. */
export type UpcallType = 'miss' | 'action';

export interface Upcall {
  type: UpcallType;
  inPort: number;
  key: FlowKey;
  /** The Ethernet frame (no virtio-net header); valid only during the call. */
  packet: Uint8Array;
  /** `userspace(userdata(...))` of the action that sent it up. */
  userdata?: Uint8Array;
}

/** What the policy answers to an upcall: nothing (drop), or actions for this packet and a flow to install. */
export interface UpcallResult {
  actions?: FlowActions;
  install?: { key: FlowKey; mask: FlowMask; actions: FlowActions };
}

export type UpcallHandler = (u: Upcall) => UpcallResult | undefined;

export interface Datapath {
  readonly name: string;
  readonly type: 'userspace' | 'kernel';
  addPort(spec: DpPortSpec): DpPortInfo;
  removePort(no: number): void;
  ports(): DpPortInfo[];
  putFlow(flow: FlowPut, actions: FlowActions, opts: FlowPutOptions): DpFlow;
  /** Deletes the flow with this UFID or exact key+mask; false when there is none. */
  deleteFlow(flow: { key?: FlowKey; mask?: FlowMask; ufid?: Uint8Array }): boolean;
  getFlow(flow: { key?: FlowKey; mask?: FlowMask; ufid?: Uint8Array }): DpFlow | undefined;
  flushFlows(): void;
  dumpFlows(): DpFlow[];
  /** Runs actions on a frame (no virtio-net header) as if it arrived on inPort. */
  execute(packet: Uint8Array, actions: FlowActions, inPort: number): void;
  setUpcallHandler(h: UpcallHandler | undefined): void;
  stats(): DpStats;
  /** Deletes the datapath: its ports are detached (internal ones go away) and its flows are gone. */
  destroy(): void;
  /**
   * Stops serving it from this process. A kernel datapath stays with its ports and flows (and keeps forwarding
   * what its flows cover) until a later netmgrd adopts it; a userspace datapath lives in this process, so this
   * is destroy().
   */
  release(): void;
}

/** Errors a datapath reports, coded like the kernel's errno so callers treat both datapaths alike. */
export class DatapathError extends Error {
  constructor(readonly code: 'EEXIST' | 'ENOENT' | 'EINVAL' | 'EBUSY' | 'EOPNOTSUPP', message: string) {
    super(message);
    this.name = 'DatapathError';
  }
}
