/**
 * An in-memory Datapath for unit tests of policies: the real megaflow table (src/flow) with no I/O. A test hands
 * it frames as if they arrived on a port; it looks them up, hands a miss to the upcall handler (a batch of one),
 * runs the operations the handler gives back (operate) and reports which actions ran and through which path. Only for testing policy logic: the real datapaths have their own tests.
 */
import {
  extractPacked,
  MegaflowTable,
  newPacketKey,
  unpackPacketKey,
  generateUfid,
  type FlowActions,
  type FlowKey,
  type FlowMask,
} from '../../../src/flow';
import type {
  Datapath,
  DpFlow,
  DpFlowStats,
  DpOp,
  DpPortInfo,
  DpPortSpec,
  DpStats,
  FlowPut,
  FlowPutOptions,
  UpcallHandler,
} from '../../../src/datapath/types';
import { zeroPortStats } from '../../../src/datapath/types';

export interface Delivery {
  path: 'hit' | 'miss';
  actions: FlowActions;
}

export class FakeDatapath implements Datapath {
  readonly type = 'userspace';
  readonly persistent = false;
  /** Every batch operate() was given, in order. */
  readonly operated: DpOp[][] = [];
  /** Actions of the executes of the current receive(). */
  private executed: FlowActions = [];
  readonly table = new MegaflowTable({ emcSize: 0 });
  private readonly portList = new Map<number, DpPortSpec>();
  private handler: UpcallHandler | undefined;
  private hit = 0;
  private missed = 0;
  now = 0;

  constructor(readonly name = 'br0') {}

  addPort(spec: DpPortSpec): DpPortInfo {
    this.portList.set(spec.no, spec);
    return {
      ...spec,
      ifindex: 100 + spec.no,
      stats: zeroPortStats(),
    };
  }
  removePort(no: number): void {
    this.portList.delete(no);
  }
  ports(): DpPortInfo[] {
    return [...this.portList.values()].map((p) => this.addPort(p));
  }
  putFlow(flow: FlowPut, actions: FlowActions, opts: FlowPutOptions): DpFlow {
    const ufid = flow.ufid ?? generateUfid(flow.key, flow.mask);
    const e =
      opts.mode === 'create'
        ? this.table.insert({ ...flow, ufid }, actions)
        : this.table.put({ ...flow, ufid }, actions, { mayCreate: opts.mayCreate });
    return { key: e.key, mask: e.mask, actions: e.actions, ufid: e.ufid, stats: { ...e.stats } };
  }
  deleteFlow(flow: { key?: FlowKey; mask?: FlowMask; ufid?: Uint8Array }): boolean {
    return this.table.delete(flow);
  }
  getFlow(flow: { key?: FlowKey; mask?: FlowMask; ufid?: Uint8Array }): DpFlow | undefined {
    const e = this.table.find(flow);
    return e && { key: e.key, mask: e.mask, actions: e.actions, ufid: e.ufid, stats: { ...e.stats } };
  }
  flushFlows(): void {
    this.table.flush();
  }
  dumpFlows(): DpFlow[] {
    return this.table
      .dump()
      .map((e) => ({ key: e.key, mask: e.mask, actions: e.actions, ufid: e.ufid, stats: { ...e.stats } }));
  }
  dumpFlowStats(): DpFlowStats[] {
    return this.table.dump().map((e) => ({ ufid: e.ufid, stats: { ...e.stats } }));
  }
  /** Frames the policy sent with execute() (loop protection's BPDUs and probes), with their actions. */
  readonly sent: Array<{ frame: Uint8Array; actions: FlowActions }> = [];
  execute(packet: Uint8Array, actions: FlowActions): void {
    this.sent.push({ frame: Uint8Array.from(packet), actions });
  }
  operate(ops: readonly DpOp[]): Array<Error | undefined> {
    this.operated.push([...ops]);
    return ops.map((op) => {
      try {
        if (op.type === 'put') this.putFlow(op.flow, op.actions, op.opts);
        else this.executed = [...this.executed, ...op.actions];
        return undefined;
      } catch (e) {
        return e as Error;
      }
    });
  }
  setUpcallHandler(h: UpcallHandler | undefined): void {
    this.handler = h;
  }
  stats(): DpStats {
    return {
      hit: this.hit,
      missed: this.missed,
      lost: 0,
      flows: this.table.size,
      masksHit: this.table.maskProbes,
      masks: this.table.maskCount,
    };
  }
  destroy(): void {}
  release(): void {}

  /** A frame arrives on `inPort`: flow table first, the policy on a miss. */
  receive(inPort: number, frame: Uint8Array): Delivery {
    const pk = newPacketKey();
    extractPacked(frame, 0, frame.length, inPort, pk);
    const e = this.table.lookup(pk);
    if (e) {
      this.hit++;
      this.table.recordHit(e, frame.length, 0, this.now);
      return { path: 'hit', actions: e.actions };
    }
    this.missed++;
    const key: FlowKey = unpackPacketKey(pk.words);
    this.executed = [];
    this.handler?.([{ type: 'miss', inPort, key, packet: frame }]);
    return { path: 'miss', actions: this.executed };
  }
}
