/**
 * The datapath interface, shaped like OVS's dpif: one bridge's forwarding plane with numbered ports, a megaflow
 * table (key, mask, actions, UFID, stats), packet execution and upcalls on a miss. Two implementations: the
 * userspace datapath (src/datapath/userspace, TAP + AF_PACKET) and the kernel openvswitch datapath. Nothing above
 * this interface (policies, the bridge layer, dpctl) knows which one it talks to; where they differ, a capability
 * (`persistent`) says so. Every member runs on the event loop and must not block beyond its own netlink round trips.
 */
import type { FlowActions, FlowKey, FlowMask, FlowStats } from '../flow';
import type { TunnelKind, TunnelSpec } from '../model/types';
import { NetmgrError, type ErrorKind } from '../util/errors';

/**
 * Like OVS vport types: `internal` is an interface the datapath creates; `netdev` attaches an existing one;
 * `tunnel` carries frames in UDP to the remotes of its `tunnel` settings (VXLAN or Geneve).
 */
export type DpPortType = 'internal' | 'netdev' | 'tunnel';

/** A tunnel port's settings: the unit's TunnelSpec and its kind. */
export interface DpTunnelConfig extends TunnelSpec {
  kind: TunnelKind;
}

export interface DpPortSpec {
  /** Port number, chosen by the plan (bridge = 0; see model/ports.ts). */
  no: number;
  /** Interface name: created with this name (internal) or attached by it (netdev); a tunnel port's unit name. */
  name: string;
  type: DpPortType;
  /** Present exactly when type is `tunnel`. */
  tunnel?: DpTunnelConfig;
}

/** One remote of a tunnel port and what went to and came from it (bytes of inner frames). */
export interface DpTunnelRemoteStats {
  address: string;
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
}

/** A tunnel port's own counters: per remote, and the datagrams it dropped on receipt, by reason. */
export interface DpTunnelStats {
  remotes: DpTunnelRemoteStats[];
  /** Datagrams from an address that is not one of `remotes` (static flood-and-learn: only listed peers count). */
  rxUnknownRemote: number;
  /** Datagrams of a VNI other than the port's. */
  rxOtherVni: number;
  /** Datagrams without a valid header (decapsulate()'s reasons). */
  rxMalformed: number;
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

/** A new port's counters: every one zero. */
export const zeroPortStats = (): DpPortStats => ({
  rxPackets: 0,
  rxBytes: 0,
  rxDropped: 0,
  rxErrors: 0,
  txPackets: 0,
  txBytes: 0,
  txDropped: 0,
  txErrors: 0,
});

export interface DpPortInfo extends DpPortSpec {
  /**
   * The interface's index in the namespace it was created or attached in; a kernel tunnel port's is its device's, a
   * userspace one has none (0).
   */
  ifindex: number;
  stats: DpPortStats;
  /** A tunnel port's per-remote counters and receive drops. */
  tunnelStats?: DpTunnelStats;
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

/** A flow's UFID and counters: one entry of a terse dump (dumpFlowStats). */
export interface DpFlowStats {
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
  /**
   * The Ethernet frame (no virtio-net header). It points into the datapath's receive buffer: valid until the
   * handler the batch was given to returns (operate() on the same datapath inside the handler may use it).
   */
  packet: Uint8Array;
  /** `userspace(userdata(...))` of the action that sent it up. */
  userdata?: Uint8Array;
  /**
   * The datapath's own encoding of the packet's metadata (the kernel's OVS_PACKET_ATTR_KEY), handed back with an
   * execute of this packet so the datapath sees the metadata it sent up. Absent on the userspace datapath.
   */
  rawKey?: Uint8Array;
}

/** A flow the policy wants installed for the packets like this one. */
export interface FlowInstall {
  key: FlowKey;
  mask: FlowMask;
  actions: FlowActions;
  /** The UFID to install it under (the policy indexes its flows by it); generateUfid of the masked key if absent. */
  ufid?: Uint8Array;
}

/** What the policy answers to an upcall: nothing (drop), or actions for this packet and a flow to install. */
export interface UpcallResult {
  actions?: FlowActions;
  install?: FlowInstall;
}

/**
 * Receives upcalls a batch at a time (set by the bridge layer, not by the policy). It runs synchronously inside
 * the datapath's receive callback: the packets of the batch are valid until it returns. It must not throw (a
 * throw counts the whole batch as lost).
 */
export type UpcallHandler = (batch: readonly Upcall[]) => void;

/** One operation of a batch given to Datapath.operate(), as OVS's dpif_op. */
export type DpOp =
  | { type: 'put'; flow: FlowPut; actions: FlowActions; opts: FlowPutOptions }
  | { type: 'execute'; packet: Uint8Array; actions: FlowActions; inPort: number; rawKey?: Uint8Array };

export interface Datapath {
  /** The bridge's name (the datapath's, and its port 0's interface name). */
  readonly name: string;
  /** Which implementation, only for what users are shown (dpctl). Callers decide on capabilities, not on this. */
  readonly type: 'userspace' | 'kernel';
  /**
   * True when the datapath outlives this process (its ports and flows stay and keep forwarding after release())
   * and can be adopted by the next netmgrd; false when it lives and dies with this process.
   */
  readonly persistent: boolean;
  /**
   * Adds a port (creates an internal interface, or attaches an existing one). Throws DatapathError: EEXIST (the
   * number or the name is taken), ENOENT (no such interface), EBUSY (attached elsewhere), EINVAL.
   */
  addPort(spec: DpPortSpec): DpPortInfo;
  /** Removes a port (an internal one's interface goes away). Throws DatapathError ENOENT when there is none. */
  removePort(no: number): void;
  /** Every port with its counters, by number. Fresh objects: the caller may keep them. */
  ports(): DpPortInfo[];
  /**
   * Installs or changes one flow and waits for the datapath's answer. Throws DatapathError: EEXIST (create and
   * present), ENOENT (modify and absent), EINVAL/EOPNOTSUPP (actions or match refused). The datapath keeps its
   * own copy of key, mask and actions: the caller may reuse them.
   */
  putFlow(flow: FlowPut, actions: FlowActions, opts: FlowPutOptions): DpFlow;
  /** Deletes the flow with this UFID or exact key+mask; false when there is none. */
  deleteFlow(flow: { key?: FlowKey; mask?: FlowMask; ufid?: Uint8Array }): boolean;
  /** The flow with this UFID or exact key+mask, with its counters; undefined when there is none. */
  getFlow(flow: { key?: FlowKey; mask?: FlowMask; ufid?: Uint8Array }): DpFlow | undefined;
  /** Deletes every flow. */
  flushFlows(): void;
  /** Every flow with its counters (a copy: later changes to the table do not show in it). */
  dumpFlows(): DpFlow[];
  /**
   * The UFID and counters of every flow, without keys, masks or actions (OVS's terse dump, what its revalidators
   * read): a fraction of dumpFlows()'s cost, for a sweep every second over many flows. A flow put without a UFID
   * (by ovs-dpctl) is reported under the UFID dumpFlows() gives it.
   */
  dumpFlowStats(): DpFlowStats[];
  /**
   * Runs actions on a frame (no virtio-net header) as if it arrived on inPort. The frame is copied or sent before
   * it returns: the caller keeps ownership. A failure the datapath learns later (the kernel refusing the packet)
   * is counted and logged, not thrown.
   */
  execute(packet: Uint8Array, actions: FlowActions, inPort: number): void;
  /**
   * Runs a batch of flow puts and packet executes (the upcall pipeline's output), as OVS's dpif_operate: the
   * kernel datapath sends every message without waiting and then collects the answers; the userspace datapath
   * applies them in order. Returns one entry per op, in order: undefined when it succeeded, else its error
   * (a DatapathError when the failure has one of its codes). It does not throw for a failed op. Packets are used before it returns (the caller's buffers).
   */
  operate(ops: readonly DpOp[]): Array<Error | undefined>;
  /** The one receiver of this datapath's upcalls (undefined: misses are dropped and counted as lost). */
  setUpcallHandler(h: UpcallHandler | undefined): void;
  /** `ovs-dpctl show` counters. */
  stats(): DpStats;
  /** Deletes the datapath: its ports are detached (internal ones go away) and its flows are gone. */
  destroy(): void;
  /**
   * Stops serving it from this process. A persistent datapath stays with its ports and flows (and keeps forwarding
   * what its flows cover) until a later netmgrd adopts it; any other lives in this process, so this is destroy().
   */
  release(): void;
}

type DatapathErrno = 'EEXIST' | 'ENOENT' | 'EINVAL' | 'EBUSY' | 'EOPNOTSUPP';

const KIND_OF_ERRNO: Record<DatapathErrno, ErrorKind> = {
  EEXIST: 'exists',
  ENOENT: 'not-found',
  EINVAL: 'invalid',
  EBUSY: 'busy',
  EOPNOTSUPP: 'unsupported',
};

/** Errors a datapath reports, coded like the kernel's errno so callers treat both datapaths alike. */
export class DatapathError extends NetmgrError {
  constructor(
    readonly code: DatapathErrno,
    message: string,
  ) {
    super(KIND_OF_ERRNO[code], message, code);
  }
}
