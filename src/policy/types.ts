/** A policy decides what the datapath cannot: it answers upcalls (misses, userspace actions) for one bridge. */
import type { Datapath } from '../datapath/types';
import type { PolicyType } from '../model/types';

export interface Policy {
  readonly kind: PolicyType;
  attach(dp: Datapath): void;
  detach(): void;
}
