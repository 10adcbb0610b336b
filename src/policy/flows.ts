/**
 * The static-flows policy (`policy = "flows"`): the flows of the units are installed as they are (by apply, as
 * plan steps), and a packet that matches none is dropped, counted by the datapath as missed - what a kernel
 * datapath does with no ovs-vswitchd behind it. Packets a `userspace` action sends up are dropped too: there is
 * no controller to hand them to.
 */
import type { UpcallResult } from '../datapath/types';
import type { Policy } from './types';

export class StaticFlowsPolicy implements Policy {
  readonly kind = 'flows' as const;

  /** Nothing to revalidate: the flows belong to the units. */
  attach(): void {}

  /** Static flows change through plan steps (flow.add/flow.del), not here. */
  configure(): void {}

  upcall(): UpcallResult | undefined {
    return undefined;
  }

  detach(): void {}
}
