/**
 * What the learning policy reports to `netmgr fdb` and `netmgr trace` (plain data: it crosses netmgrd's socket).
 */

/** One MAC table entry, as `ovs-appctl fdb/show` lists it. */
export interface FdbEntry {
  port: number;
  portName: string;
  /** 0 is the untagged VLAN of ports without VLAN settings. */
  vlan: number;
  /** Lower-case colon form. */
  mac: string;
  /** Seconds since the MAC was last seen (0 for static entries). */
  age: number;
  static: boolean;
  /** Times this MAC moved between ports (or remotes of a tunnel port) while in the table. */
  moves: number;
  /** Learned from a tunnel port: the underlay address of the remote it is behind. */
  remote?: string;
}

export interface FdbStats {
  /** Entries now: learned + static. */
  entries: number;
  static: number;
  /** mac-table-size: learned entries at most. */
  capacity: number;
  /** Counters since the bridge was created (a flush does not reset them). */
  learned: number;
  expired: number;
  evicted: number;
  moved: number;
  /** Megaflows the policy has installed in the datapath now. */
  flows: number;
}

export type TraceDecision = 'forward' | 'flood' | 'drop';

export interface TracePort {
  no: number;
  name: string;
  /** Whether the frame leaves this port with an 802.1Q tag. */
  tagged?: boolean;
}

/** `netmgr trace`: the decision for one packet, explained, without learning from it. */
export interface TraceResult {
  bridge: string;
  /** The flow traced, canonical ODP text with port numbers. */
  flow: string;
  inPort: TracePort;
  /** The VLAN the frame is switched in; undefined when it is dropped before one is known. */
  vlan?: number;
  decision: TraceDecision;
  /** One line, e.g. "no learned MAC for destination, flooding". */
  reason: string;
  /** Every step of the decision, in order, one line each. */
  steps: string[];
  outputs: TracePort[];
  /** Datapath actions for the packet, ODP text ("drop" for none). */
  actions: string;
  /** The megaflow that would be installed: match with masks, ODP text. */
  megaflow: string;
}
