/** A policy decides what the datapath cannot: it answers upcalls (misses, userspace actions) for one bridge. */
import type { Datapath } from '../datapath/types';
import type { BridgeConfig, PortConfig } from '../live/bridges';
import type { PolicyType } from '../model/types';

export interface Policy {
  readonly kind: PolicyType;
  attach(dp: Datapath): void;
  /**
   * The bridge's settings and ports changed (ports added/removed, VLAN modes, learning settings): the policy
   * revalidates what it decided before. Called by the bridge manager after every such change.
   */
  configure(bridge: BridgeConfig, ports: readonly PortConfig[]): void;
  /**
   * The datapath already holds flows from an earlier netmgrd (a kernel datapath taken over at start-up): take
   * them over as if this policy had installed them. Called once, after the first configure().
   */
  adopt?(): void;
  detach(): void;
}
