/**
 * The upcall pipeline, one for both datapaths, as OVS's handle_upcalls (ofproto-dpif-upcall.c): the datapath
 * hands over a batch of upcalls; the policy decides each (actions for the packet, maybe a flow to install); then
 * the whole batch of flow puts and packet executes goes to the datapath at once (Datapath.operate), which the
 * kernel datapath pipelines instead of waiting for each answer; last, the policy learns how each install went.
 */
import type { Datapath, DpOp, FlowInstall, FlowPutOptions, Upcall, UpcallResult } from '../datapath/types';
import type { Policy } from '../policy';
import { messageOf } from '../util/errors';

/** The pipeline's puts: create the megaflow, or replace the actions of the one with its UFID. */
const INSTALL: FlowPutOptions = { mode: 'modify', mayCreate: true };

/** An install of the batch and where its put is in the ops. */
interface PendingInstall {
  op: number;
  install: FlowInstall;
}

export class UpcallPipeline {
  constructor(
    private readonly dp: Datapath,
    private readonly policy: Policy,
    private readonly log: (line: string) => void,
  ) {}

  /** Becomes the datapath's upcall handler (until disconnect()). */
  connect(): void {
    this.dp.setUpcallHandler((batch) => this.handle(batch));
  }

  disconnect(): void {
    this.dp.setUpcallHandler(undefined);
  }

  /** One batch: decide all, run all, report the installs. Never throws (a policy failure drops its packet). */
  handle(batch: readonly Upcall[]): void {
    const ops: DpOp[] = [];
    const installs: PendingInstall[] = [];
    for (let i = 0; i < batch.length; i++) {
      const u = batch[i];
      const r = this.decide(u);
      if (r === undefined) continue;
      if (r.install !== undefined) {
        const { key, mask, actions, ufid } = r.install;
        installs.push({ op: ops.length, install: r.install });
        ops.push({ type: 'put', flow: { key, mask, ufid }, actions, opts: INSTALL });
      }
      if (r.actions?.length)
        ops.push({ type: 'execute', packet: u.packet, actions: r.actions, inPort: u.inPort, rawKey: u.rawKey });
    }
    if (!ops.length) return;
    let results: Array<Error | undefined>;
    try {
      results = this.dp.operate(ops);
    } catch (e) {
      // operate() reports failures per op; a throw is the datapath itself failing (a closed socket): all failed.
      results = ops.map(() => (e instanceof Error ? e : new Error(messageOf(e))));
    }
    this.report(installs, results);
  }

  private decide(u: Upcall): UpcallResult | undefined {
    try {
      return this.policy.upcall(u);
    } catch (e) {
      this.log(`${this.dp.name}: the policy failed on an upcall: ${messageOf(e)}`);
      return undefined;
    }
  }

  private report(installs: readonly PendingInstall[], results: ReadonlyArray<Error | undefined>): void {
    for (const { op, install } of installs) {
      const error = results[op];
      try {
        if (this.policy.installed) this.policy.installed(install, error);
        else if (error !== undefined)
          this.log(`${this.dp.name}: could not install the policy's flow: ${error.message}`);
      } catch (e) {
        this.log(`${this.dp.name}: the policy failed on an install's outcome: ${messageOf(e)}`);
      }
    }
  }
}
