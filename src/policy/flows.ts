/**
 * The static-flows policy (`policy = "flows"`): the flows of the units are installed as they are (by apply, as
 * plan steps), and a packet that matches none is dropped, counted by the datapath as missed - what a kernel
 * datapath does with no ovs-vswitchd behind it. Packets a `userspace` action sends up are counted and dropped:
 * there is no controller to hand them to.
 */
import type { Datapath } from '../datapath/types';
import type { Policy, PolicyCounters } from './types';

export class StaticFlowsPolicy implements Policy {
  readonly kind = 'flows' as const;
  private dp: Datapath | undefined;
  private readonly count: PolicyCounters = { missesDropped: 0, actionUpcalls: 0 };

  attach(dp: Datapath): void {
    this.dp = dp;
    dp.setUpcallHandler((u) => {
      if (u.type === 'miss') this.count.missesDropped++;
      else this.count.actionUpcalls++;
      return undefined;
    });
  }

  detach(): void {
    this.dp?.setUpcallHandler(undefined);
    this.dp = undefined;
  }

  counters(): PolicyCounters {
    return { ...this.count };
  }
}
