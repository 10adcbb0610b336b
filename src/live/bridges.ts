/**
 * The bridges netmgrd runs, as plain data: what `plan` diffs the units against and what datapath steps carry.
 * Read from netmgrd (in-process inside the daemon, over its socket from the CLI).
 */
import type { NamespaceName, PolicyType, PortKind } from '../model/types';

export interface LinkConfig {
  mtu?: number;
  mac?: string;
  up: boolean;
}

export type EffectiveDatapath = 'userspace' | 'kernel';

export interface BridgeConfig {
  name: string;
  datapath: EffectiveDatapath;
  policy: PolicyType;
  link: LinkConfig;
}

export interface PortConfig {
  name: string;
  /** Datapath port number: fixed by the units (bridge 0, ports 1..n in unit-name order). */
  no: number;
  kind: PortKind;
  /** internal: where the TAP lives; veth and system ports are always in the root namespace (the bridge's). */
  namespace: NamespaceName;
  link: LinkConfig;
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
