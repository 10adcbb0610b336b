/**
 * The variables of 802.1D-2004 clause 17, named as 17.17-17.19 name them: one BridgeVars per bridge, one PortVars per
 * port, plus the state of each machine (what the standard's diagrams show as the current state). The machines in
 * machines/ read and write these and nothing else, so that each can be checked against its diagram.
 */
import type { Bpdu } from './bpdu';
import type { BridgeId, PriorityVector, Times } from './priority';

/** 17.7: port roles. */
export type Role = 'DisabledPort' | 'RootPort' | 'DesignatedPort' | 'AlternatePort' | 'BackupPort';
/** 17.19.10: where the port priority vector came from. */
export type InfoIs = 'Disabled' | 'Received' | 'Mine' | 'Aged';
/** 17.19.22 / 17.21.8: what rcvInfo() made of the last BPDU. */
export type RcvdInfo =
  | 'SuperiorDesignatedInfo'
  | 'RepeatedDesignatedInfo'
  | 'InferiorDesignatedInfo'
  | 'InferiorRootAlternateInfo'
  | 'OtherInfo';
/** The externally visible forwarding state (17.10), from the Port State Transition machine's learning/forwarding. */
export type PortState = 'discarding' | 'learning' | 'forwarding';
/** Why a port discards apart from its role, for `show()`. */
export type BlockedReason = 'bpdu-guard' | 'root-guard' | 'link-down';

/** 17.17: the per-port timers, in seconds, decremented once a second by the Port Timers machine. */
export interface PortTimers {
  edgeDelayWhile: number;
  fdWhile: number;
  helloWhen: number;
  mdelayWhile: number;
  rbWhile: number;
  rcvdInfoWhile: number;
  rrWhile: number;
  tcWhile: number;
}

/** The current state of each per-port machine (17.22-17.31), as named in its diagram. */
export interface PortMachineStates {
  pti: 'ONE_SECOND' | 'TICK';
  prx: 'DISCARD' | 'RECEIVE';
  ppm: 'CHECKING_RSTP' | 'SELECTING_STP' | 'SENSING';
  bdm: 'EDGE' | 'NOT_EDGE';
  ptx: 'TRANSMIT_INIT' | 'IDLE' | 'TRANSMIT_PERIODIC' | 'TRANSMIT_CONFIG' | 'TRANSMIT_TCN' | 'TRANSMIT_RSTP';
  pim:
    | 'DISABLED'
    | 'AGED'
    | 'UPDATE'
    | 'CURRENT'
    | 'SUPERIOR_DESIGNATED'
    | 'REPEATED_DESIGNATED'
    | 'INFERIOR_DESIGNATED'
    | 'NOT_DESIGNATED'
    | 'OTHER';
  prt: string;
  pst: 'DISCARDING' | 'LEARNING' | 'FORWARDING';
  tcm:
    'INACTIVE' | 'LEARNING' | 'DETECTED' | 'ACTIVE' | 'NOTIFIED_TCN' | 'NOTIFIED_TC' | 'PROPAGATING' | 'ACKNOWLEDGED';
}

/** The configuration of a port (17.13 port parameters and netmgr's guards). */
export interface PortParams {
  /** 17.13.11: Port Path Cost. */
  PortPathCost: number;
  /** 17.13.10: the Port Priority parameter (high 4 bits of the Port Identifier; not the 17.19.21 vector). */
  PortPriority: number;
  /** 17.13.1: AdminEdgePort. */
  AdminEdgePort: boolean;
  /** 17.13.3: AutoEdgePort. */
  AutoEdgePort: boolean;
  /** 6.4.3: operPointToPointMAC (netmgr assumes a full-duplex link is point-to-point). */
  operPointToPointMAC: boolean;
  /** A BPDU received disables the port (err-disabled) until recovered. */
  bpduGuard: boolean;
  /** 802.1Q restrictedRole: never the Root Port; superior information makes it an Alternate (discarding). */
  rootGuard: boolean;
  /** BPDUs are neither sent nor processed on this port. */
  bpduFilter: boolean;
}

/** 17.19: the per-port variables, with the port's configuration, timers and machine states. */
export interface PortVars extends PortParams {
  readonly no: number;
  name: string;
  /** The source address of the port's BPDUs. */
  mac: number;
  /** 17.19.21: Port Identifier (priority and number). */
  portId: number;

  // 17.19: the variables, in the standard's alphabetical order.
  agree: boolean;
  agreed: boolean;
  designatedPriority: PriorityVector;
  designatedTimes: Times;
  disputed: boolean;
  fdbFlush: boolean;
  forward: boolean;
  forwarding: boolean;
  infoIs: InfoIs;
  learn: boolean;
  learning: boolean;
  mcheck: boolean;
  msgPriority: PriorityVector;
  msgTimes: Times;
  newInfo: boolean;
  operEdge: boolean;
  portEnabled: boolean;
  portPriority: PriorityVector;
  portTimes: Times;
  proposed: boolean;
  proposing: boolean;
  rcvdBpdu: boolean;
  rcvdInfo: RcvdInfo;
  rcvdMsg: boolean;
  rcvdRSTP: boolean;
  rcvdSTP: boolean;
  rcvdTc: boolean;
  rcvdTcAck: boolean;
  rcvdTcn: boolean;
  reRoot: boolean;
  reselect: boolean;
  role: Role;
  selected: boolean;
  selectedRole: Role;
  sendRSTP: boolean;
  sync: boolean;
  synced: boolean;
  tcAck: boolean;
  tcProp: boolean;
  tick: boolean;
  txCount: number;
  updtInfo: boolean;

  timers: PortTimers;
  sm: PortMachineStates;
  /** The BPDU being received (rcvdBpdu's content), decoded. */
  rxBpdu?: Bpdu;

  // netmgr's additions around the standard's variables.
  /** The port is up as the caller sees it (MAC_Operational and AdminState, 6.4.2). */
  macOperational: boolean;
  /** BPDU guard has fired: the port stays disabled until recovered. */
  errDisabled: boolean;
  /** Root guard holds the port discarding (superior information arrived on it). */
  rootGuardBlocked: boolean;
  /** The port has learned since its last flush (a flush of an empty port is not reported). */
  mayHoldMacs: boolean;
  counters: PortCounters;
}

export interface PortCounters {
  bpduIn: number;
  bpduOut: number;
  /** Frames that failed 9.3.4 validation (or were this port's own, looped back). */
  invalidIn: number;
  /** BPDUs dropped by BPDU filter. */
  filteredIn: number;
  lastInvalid?: string;
}

/** What the machines ask of the world: the caller of RstpBridge turns these into transmits and events. */
export interface Effects {
  transmit(p: PortVars, bpdu: Bpdu): void;
  /** The port's filtering database entries go (immediately, or by ageing them out within `ageingS`). */
  flush(p: PortVars, mode: 'immediate' | 'age', ageingS: number): void;
  /** OVS's shortcut: the same root through another port; the MACs move instead of being flushed. */
  moveMacs(from: PortVars, to: PortVars): void;
  /** A topology change began at this port (detected: it started forwarding; received: a TC flag or TCN). */
  topologyChange(p: PortVars, cause: 'detected' | 'received'): void;
}

/** 17.18: the per-bridge variables, with the bridge parameters of 17.13. */
export interface BridgeVars {
  BEGIN: boolean;
  BridgeIdentifier: BridgeId;
  BridgePriority: PriorityVector;
  BridgeTimes: Times;
  rootPortId: number;
  rootPriority: PriorityVector;
  rootTimes: Times;
  /** 17.13.4: 0 (STP) or 2 (RSTP). */
  ForceProtocolVersion: number;
  /** 17.13.12: BPDUs per second per port at most. */
  TxHoldCount: number;
  /** 17.13.9: Migrate Time. */
  MigrateTime: number;
  /** 17.13.2: Ageing Time (seconds). */
  AgeingTime: number;
  /** The Port Role Selection machine's state (17.28). */
  prs: 'INIT_BRIDGE' | 'ROLE_SELECTION';
  /** Ports in port-number order (iteration order is part of determinism). */
  ports: PortVars[];
  effects: Effects;
}
