/** A policy decides what the datapath cannot: it answers upcalls (misses, userspace actions) for one bridge. */
import type { Datapath } from '../datapath/types';
import type { PolicyType } from '../model/types';

export interface PolicyCounters {
  /** Misses the policy answered with no actions (dropped). */
  missesDropped: number;
  /** Packets sent up by a `userspace` action. */
  actionUpcalls: number;
}

export interface Policy {
  readonly kind: PolicyType;
  attach(dp: Datapath): void;
  detach(): void;
  counters(): PolicyCounters;
}
