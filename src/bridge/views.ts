/**
 * The main thread's views of one bridge in the forwarding worker: its datapath and its policy, each method a
 * synchronous call into the worker (calls.ts). What only the bridge layer itself may do (set the upcall handler,
 * attach a policy, add ports outside a plan step, destroy) is refused: those run in the worker, never from here.
 */
import type { FlowActions, FlowKey, FlowMask } from '../flow';
import type {
  Datapath,
  DpFlow,
  DpFlowStats,
  DpOp,
  DpPortInfo,
  DpStats,
  FlowPut,
  FlowPutOptions,
  UpcallHandler,
} from '../datapath/types';
import type { Policy } from '../policy';
import type { FdbEntry, FdbStats, TraceResult } from '../policy/learning/api';
import type { LoopProtectionView, LoopUnblocked } from '../policy/learning/loop-view';
import { NetmgrError } from '../util/errors';
import type { BridgeCall, BridgeDescription, DatapathMethod, PolicyMethod, WireOpResult } from './calls';
import { decodeError } from './rpc';

/** One synchronous call into the worker (SyncRpcClient.call). */
export type CallWorker = (call: BridgeCall, what: string) => unknown;

const inWorker = (bridge: string, what: string) =>
  new NetmgrError('unsupported', `${bridge}: ${what} runs in the forwarding worker, not from netmgrd's main thread`);

type FlowRef = { key?: FlowKey; mask?: FlowMask; ufid?: Uint8Array };

export class RemoteDatapath implements Datapath {
  readonly type: Datapath['type'];
  readonly persistent: boolean;

  constructor(
    readonly name: string,
    d: BridgeDescription,
    private readonly worker: CallWorker,
  ) {
    this.type = d.type;
    this.persistent = d.persistent;
  }

  private call(method: DatapathMethod, ...args: unknown[]): unknown {
    return this.worker({ target: 'datapath', bridge: this.name, method, args }, `${this.name}: ${method}`);
  }

  addPort(): DpPortInfo {
    throw inWorker(this.name, 'adding a port outside a plan step');
  }
  removePort(): void {
    throw inWorker(this.name, 'removing a port outside a plan step');
  }
  ports(): DpPortInfo[] {
    return this.call('ports') as DpPortInfo[];
  }
  putFlow(flow: FlowPut, actions: FlowActions, opts: FlowPutOptions): DpFlow {
    return this.call('putFlow', flow, actions, opts) as DpFlow;
  }
  deleteFlow(flow: FlowRef): boolean {
    return this.call('deleteFlow', flow) as boolean;
  }
  getFlow(flow: FlowRef): DpFlow | undefined {
    return this.call('getFlow', flow) as DpFlow | undefined;
  }
  flushFlows(): void {
    this.call('flushFlows');
  }
  dumpFlows(): DpFlow[] {
    return this.call('dumpFlows') as DpFlow[];
  }
  dumpFlowStats(): DpFlowStats[] {
    return this.call('dumpFlowStats') as DpFlowStats[];
  }
  execute(packet: Uint8Array, actions: FlowActions, inPort: number): void {
    this.call('execute', packet, actions, inPort);
  }
  operate(ops: readonly DpOp[]): Array<Error | undefined> {
    return (this.call('operate', ops) as WireOpResult[]).map((w) => (w === null ? undefined : decodeError(w)));
  }
  setUpcallHandler(_h: UpcallHandler | undefined): void {
    throw inWorker(this.name, 'the upcall handler');
  }
  stats(): DpStats {
    return this.call('stats') as DpStats;
  }
  destroy(): void {
    throw inWorker(this.name, 'destroying the datapath outside a plan step');
  }
  release(): void {
    throw inWorker(this.name, 'releasing the datapath');
  }
}

/**
 * A bridge's policy as the main thread sees it: its kind, and for a learning bridge the reports fdb and trace ask
 * for (the same members as LearningPolicy's, so the fdb handler's isLearning() check applies unchanged).
 */
export class RemotePolicy implements Policy {
  constructor(
    private readonly bridge: string,
    readonly kind: Policy['kind'],
    private readonly worker: CallWorker,
  ) {}

  private call(method: PolicyMethod, ...args: unknown[]): unknown {
    return this.worker({ target: 'policy', bridge: this.bridge, method, args }, `${this.bridge}: ${method}`);
  }

  fdbShow(): FdbEntry[] {
    return this.call('fdbShow') as FdbEntry[];
  }
  fdbFlush(): number {
    return this.call('fdbFlush') as number;
  }
  fdbStats(): FdbStats {
    return this.call('fdbStats') as FdbStats;
  }
  trace(key: FlowKey, mask?: FlowMask): TraceResult {
    return this.call('trace', key, mask) as TraceResult;
  }
  loopProtectionView(): LoopProtectionView {
    return this.call('loopProtectionView') as LoopProtectionView;
  }
  loopUnblock(port: number): LoopUnblocked {
    return this.call('loopUnblock', port) as LoopUnblocked;
  }
  attach(): void {
    throw inWorker(this.bridge, 'attaching a policy');
  }
  configure(): void {
    throw inWorker(this.bridge, 'configuring the policy');
  }
  upcall(): undefined {
    throw inWorker(this.bridge, 'deciding upcalls');
  }
  detach(): void {
    throw inWorker(this.bridge, 'detaching the policy');
  }
}
