/**
 * The calls the main thread makes into the forwarding worker, and how the worker carries them out on its
 * BridgeManager. Only the methods listed here cross: a call naming anything else is refused, so the message
 * format is the whole contract between the two threads (remote.ts builds these calls, worker.ts serves them).
 */
import type { Datapath, DpOp } from '../datapath/types';
import { LearningPolicy } from '../policy/learning';
import { NetmgrError } from '../util/errors';
import type { BridgeManager } from './manager';
import { encodeError, type WireError } from './rpc';

/** BridgeManager methods the main thread calls (each takes the arguments of the method of that name). */
export type ManagerMethod = 'releaseStaleIsolation' | 'adoptKernelBridges' | 'names' | 'live' | 'run' | 'shutdown';

/** Datapath methods dpctl and `netmgr status` call on a bridge's datapath. */
export type DatapathMethod =
  | 'ports'
  | 'stats'
  | 'putFlow'
  | 'deleteFlow'
  | 'getFlow'
  | 'flushFlows'
  | 'dumpFlows'
  | 'dumpFlowStats'
  | 'execute'
  | 'operate';

/** What the learning policy reports to `netmgr fdb` and `netmgr trace`. */
export type PolicyMethod = 'fdbShow' | 'fdbFlush' | 'fdbStats' | 'trace' | 'loopProtectionView' | 'loopUnblock';

export type BridgeCall =
  | { target: 'manager'; method: ManagerMethod; args: unknown[] }
  /** A bridge's datapath type, capability and policy kind (what the main thread's views are built with). */
  | { target: 'describe'; bridge: string }
  | { target: 'datapath'; bridge: string; method: DatapathMethod; args: unknown[] }
  | { target: 'policy'; bridge: string; method: PolicyMethod; args: unknown[] };

/** The answer to a 'describe' call. */
export interface BridgeDescription {
  /** Datapath.type of the bridge's datapath. */
  type: Datapath['type'];
  /** Datapath.persistent of the bridge's datapath. */
  persistent: boolean;
  /** Policy.kind of the bridge's policy. */
  policy: 'learning' | 'flows';
}

/** operate()'s per-op outcome as it crosses: null for success, else the error as data. */
export type WireOpResult = WireError | null;

const MANAGER = new Set<string>(['releaseStaleIsolation', 'adoptKernelBridges', 'names', 'live', 'run', 'shutdown']);
const DATAPATH = new Set<string>([
  'ports',
  'stats',
  'putFlow',
  'deleteFlow',
  'getFlow',
  'flushFlows',
  'dumpFlows',
  'execute',
  'operate',
]);
const POLICY = new Set<string>(['fdbShow', 'fdbFlush', 'fdbStats', 'trace', 'loopProtectionView', 'loopUnblock']);

const refuse = (what: string) => new NetmgrError('corrupt', `the forwarding worker has no call ${what}`);

type Callable = (...args: unknown[]) => unknown;

/** Carries out one call on the worker's manager; throws what the method throws. */
export function dispatchCall(m: BridgeManager, c: BridgeCall): unknown {
  switch (c.target) {
    case 'manager': {
      if (!MANAGER.has(c.method)) throw refuse(`manager.${String(c.method)}`);
      return (m[c.method] as Callable).apply(m, c.args);
    }
    case 'describe': {
      const dp = m.datapath(c.bridge);
      return { type: dp.type, persistent: dp.persistent, policy: m.policy(c.bridge).kind } satisfies BridgeDescription;
    }
    case 'datapath': {
      if (!DATAPATH.has(c.method)) throw refuse(`datapath.${String(c.method)}`);
      const dp = m.datapath(c.bridge);
      if (c.method === 'operate')
        return dp.operate(c.args[0] as DpOp[]).map((e): WireOpResult => (e === undefined ? null : encodeError(e)));
      return (dp[c.method] as Callable).apply(dp, c.args);
    }
    case 'policy': {
      if (!POLICY.has(c.method)) throw refuse(`policy.${String(c.method)}`);
      const p = m.policy(c.bridge);
      if (!(p instanceof LearningPolicy))
        throw new NetmgrError('invalid', `bridge ${c.bridge} runs policy = "${p.kind}": it has no ${c.method}`);
      return (p[c.method] as Callable).apply(p, c.args);
    }
  }
  throw refuse(String((c as { target?: unknown }).target));
}
