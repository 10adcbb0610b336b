/**
 * The bridges netmgrd runs, as plain data shared by every layer: what the plan diffs the units against, what
 * datapath steps carry, what the datapaths and policies are configured with, and what netmgrd reports.
 */
import type { NamespaceName, PolicyType, PortKind, TunnelSpec } from './types';
import type { StpConfig } from './stp';

export * from './stp';

export interface LinkConfig {
  mtu?: number;
  mac?: string;
  up: boolean;
}

export type EffectiveDatapath = 'userspace' | 'kernel';

/** A static MAC table entry of a learning bridge: never aged, never evicted, never moved by learning. */
export interface StaticMacConfig {
  /** Lower-case colon form. */
  mac: string;
  /** Port unit name. */
  port: string;
  /** VLAN the entry is in; 0 is the untagged VLAN of a port without VLAN settings. */
  vlan: number;
}

/** Settings of the learning policy (policy = "learning"). */
export interface LearningConfig {
  /** Seconds a learned MAC is kept without traffic. */
  macAging: number;
  /** Learned entries at most (static entries not counted). */
  macTableSize: number;
  staticMacs: StaticMacConfig[];
  /**
   * Loop protection. The units always fill it; a policy given none (a record of an older netmgr, unit tests) runs
   * neither spanning tree nor loop detection.
   */
  stp?: StpConfig;
}

export interface BridgeConfig {
  name: string;
  datapath: EffectiveDatapath;
  policy: PolicyType;
  link: LinkConfig;
  /** Present exactly when policy = "learning". */
  learning?: LearningConfig;
}

/**
 * VLAN mode of a port of a learning bridge, as OVS's vlan_mode: `access` (untagged on the wire, switched in that
 * VLAN), `trunks` (tagged for those VLANs; `native` carried untagged), or none of them: every VLAN tagged, and
 * untagged frames in VLAN 0.
 */
export interface PortVlanConfig {
  access?: number;
  trunks?: number[];
  native?: number;
}

/** Same VLAN settings; trunks compared as a set. */
export function sameVlans(a: PortVlanConfig | undefined, b: PortVlanConfig | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  const set = (t: number[] | undefined) =>
    t === undefined ? undefined : [...new Set(t)].sort((x, y) => x - y).join(',');
  return a.access === b.access && a.native === b.native && set(a.trunks) === set(b.trunks);
}

export interface PortConfig {
  name: string;
  /** Datapath port number (bridge 0): pinned by the unit, else kept while the port runs (model/ports.ts). */
  no: number;
  kind: PortKind;
  /** internal: where the TAP lives; veth and system ports are always in the root namespace (the bridge's). */
  namespace: NamespaceName;
  link: LinkConfig;
  /** Learning bridges only; absent = all VLANs (untagged in VLAN 0). */
  vlans?: PortVlanConfig;
  /** Tunnel ports (kind vxlan, geneve) only: VNI, remotes, UDP port, outer TTL and DF. */
  tunnel?: TunnelSpec;
}

/** Same tunnel settings (remotes compared as a set); both absent is the same. */
export function sameTunnel(a: TunnelSpec | undefined, b: TunnelSpec | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  const remotes = (t: TunnelSpec) => [...new Set(t.remotes)].sort().join(',');
  return (
    a.vni === b.vni &&
    a.local === b.local &&
    a.dstPort === b.dstPort &&
    a.ttl === b.ttl &&
    a.df === b.df &&
    remotes(a) === remotes(b)
  );
}

/** Flows travel as canonical ODP text with numeric ports, so plans and journals stay plain JSON. */
export interface FlowText {
  match: string;
  actions: string;
}

export interface LiveBridge extends BridgeConfig {
  ports: PortConfig[];
  flows: FlowText[];
}
