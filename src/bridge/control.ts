/**
 * What netmgrd's control side (the applier, dpctl, fdb, trace, status) asks of the bridges it runs. Two
 * implementations: BridgeManager itself (manager.ts), and RemoteBridgeManager (remote.ts), the main thread's proxy
 * of the BridgeManager that lives in the forwarding worker (worker.ts), so that forwarding never waits for
 * control work. Every member is synchronous; the proxy waits for the worker's answer.
 */
import type { DatapathStepExecutor } from '../apply/runner';
import type { Datapath } from '../datapath/types';
import type { LiveBridge } from '../model/bridges';
import type { DatapathStep } from '../plan/types';
import type { Policy } from '../policy';

export interface BridgeControl extends DatapathStepExecutor {
  /** At start-up, before any bridge exists: removes host isolation a netmgrd that died left behind. */
  releaseStaleIsolation(): void;
  /** At start-up: takes over the persistent (kernel) bridges an earlier netmgrd recorded. */
  adoptKernelBridges(): void;
  /** The bridges running, by name. */
  names(): string[];
  /** The bridges as the planner diffs against them. */
  live(): LiveBridge[];
  /**
   * The datapath of a bridge (dpctl, status counters). Throws DatapathError ENOENT for an unknown bridge. Its
   * upcall handler belongs to the bridge layer: callers never set it.
   */
  datapath(name: string): Datapath;
  /** The policy of a bridge, for its kind and (learning) its reports: fdb and trace. Throws for an unknown bridge. */
  policy(name: string): Policy;
  /** Runs one datapath step of a plan; throws NetmgrError (DatapathError) when it fails, changing nothing. */
  run(step: DatapathStep): void;
  /** Stops every bridge (userspace ones go down; persistent ones stay for the next netmgrd). */
  shutdown(): void;
}
