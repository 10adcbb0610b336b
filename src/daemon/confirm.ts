/**
 * netmgrd's confirm controller: an `apply --confirm N` stays pending until `netmgr confirm` keeps it, or
 * `netmgr rollback` or its deadline undoes it (the steps in reverse, the unit set it replaced back in force).
 * The pending apply is recorded in confirm.json before its journal closes, so it survives a restart of netmgrd:
 * the next one brings it back and keeps the deadline. Unit edits that arrive meanwhile wait for it to be settled.
 */
import { applyDesired, undoApplied } from '../apply/apply';
import { parseUnits } from '../units';
import { messageOf } from '../util/errors';
import { plural, type Applier, type ConfirmRecorder } from './applier';
import { RequestError } from './errors';
import type { Logger } from './log';
import {
  clearPendingConfirm,
  loadPendingConfirm,
  savePendingConfirm,
  type ApplyOutcome,
  type PendingConfirm,
} from './records';

export interface ConfirmOptions {
  stateDir: string;
  log: Logger;
  /** Applies the unit directory again: edits deferred while an apply was pending. */
  applyDeferred(): void;
}

export class ConfirmController implements ConfirmRecorder {
  /** The apply awaiting confirmation, if any. */
  pending: PendingConfirm | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** A change of the unit directory arrived while a confirm was pending: apply it once that is settled. */
  private deferred = false;

  constructor(
    private readonly applier: Applier,
    private readonly opts: ConfirmOptions,
  ) {}

  save(p: PendingConfirm): void {
    savePendingConfirm(this.opts.stateDir, p);
  }

  arm(p: PendingConfirm): void {
    this.pending = p;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        void this.applier.serialized(() => {
          if (this.pending === p) this.rollback('confirm-timeout');
        });
      },
      Math.max(0, p.deadline - Date.now()),
    );
  }

  /** True when an apply is pending; the unit directory is then applied once it is settled. */
  deferIfPending(): boolean {
    if (this.pending) this.deferred = true;
    return !!this.pending;
  }

  /**
   * At start (in the queue): an apply left pending by the last netmgrd is brought back and armed, or rolled back
   * when its deadline passed. False when none was pending. With applyOnStart, the unit directory follows its
   * settling (it may have been edited while netmgrd was down).
   */
  restore(applyOnStart: boolean): boolean {
    const pending = loadPendingConfirm(this.opts.stateDir);
    if (!pending) return false;
    const log = this.opts.log;
    log.notice(
      `the apply of ${pending.appliedAt} awaits \`netmgr confirm\` until ${new Date(pending.deadline).toISOString()}: bringing it back first`,
    );
    const parsed = parseUnits(pending.sources);
    if (parsed.state) {
      try {
        const r = applyDesired(parsed.state, this.applier.applyOptions());
        if (r.steps) log.info(`brought back the unconfirmed apply: ${plural(r.steps, 'step')}`);
      } catch (e) {
        log.error(`could not bring back the unconfirmed apply: ${messageOf(e)}`);
      }
    }
    this.pending = pending;
    this.deferred = applyOnStart;
    if (Date.now() >= pending.deadline) this.rollback('confirm-timeout');
    else this.arm(pending);
    return true;
  }

  /** `netmgr confirm`: the pending apply stays. Refused (kind 'invalid') when none is pending. */
  confirm(): ApplyOutcome {
    const p = this.pending;
    if (!p) throw new RequestError({ kind: 'invalid', message: 'no apply awaits confirmation' });
    this.clear();
    const a = this.applier;
    const o = a.settle(
      a.outcome('confirm', 'confirmed', `confirmed the apply of ${p.appliedAt}: it stays`, {
        steps: p.steps.length,
        unitDir: p.unitDir,
      }),
    );
    this.afterSettled();
    return o;
  }

  /** `netmgr rollback` or the deadline: undoes the pending apply and puts the unit set it replaced back in force. */
  rollback(trigger: 'confirm-timeout' | 'rollback'): ApplyOutcome {
    const p = this.pending;
    if (!p) throw new RequestError({ kind: 'invalid', message: 'no apply awaits confirmation: nothing to roll back' });
    const a = this.applier;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const { failures } = undoApplied(p.steps, p.ownedBefore, a.applyOptions());
    this.clear();
    a.restorePrevious(p);
    const previous = p.previous.sources ? parseUnits(p.previous.sources).state : null;
    a.syncDhcp(previous);
    const differences = previous ? a.verify(previous) : [];
    const why = trigger === 'rollback' ? 'on request (netmgr rollback)' : `not confirmed within ${p.timeoutSeconds} s`;
    let message = `rolled back the apply of ${p.appliedAt} (${plural(p.steps.length, 'step')} undone), ${why}`;
    if (failures.length) message += `; ${plural(failures.length, 'step')} could not be undone: ${failures.join('; ')}`;
    const o = a.settle(
      a.outcome(trigger, 'rolled-back', message, { steps: p.steps.length, unitDir: p.unitDir, differences }),
    );
    this.afterSettled();
    return o;
  }

  /** Refuses a new apply while one awaits confirmation (kind 'busy'), saying how long it has left. */
  refuseWhilePending(): void {
    const p = this.pending;
    if (!p) return;
    const left = Math.max(0, Math.ceil((p.deadline - Date.now()) / 1000));
    throw new RequestError({
      kind: 'busy',
      message: `the apply of ${p.appliedAt} awaits confirmation (rolled back in ${left} s): run netmgr confirm to keep it or netmgr rollback to undo it, then apply again`,
    });
  }

  /** netmgrd stops: the deadline timer goes; the record stays for the next netmgrd. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** No apply pending any more: timer, record and state cleared. */
  private clear(): void {
    this.stop();
    clearPendingConfirm(this.opts.stateDir);
    this.pending = undefined;
  }

  /** Edits that arrived while a confirm was outstanding are applied now. */
  private afterSettled(): void {
    if (!this.deferred) return;
    this.deferred = false;
    setImmediate(() => this.opts.applyDeferred());
  }
}
