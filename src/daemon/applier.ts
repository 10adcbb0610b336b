/**
 * netmgrd's applier: one change at a time (a queue every apply, reload, confirm and rollback runs in), the apply
 * of a unit set (verified against the re-read live state, recorded as the set in force), and the outcome of each
 * attempt (logged at its priority, counted, kept as the last apply in applied.json).
 */
import { applyDesired, InvalidUnitsError } from '../apply/apply';
import { savePortNumbers } from '../apply/port-numbers';
import { observe } from '../apply/observe';
import type { BridgeControl } from '../bridge';
import { DesiredState, formatUnitError } from '../model/types';
import { formatChange, planToJson } from '../plan/format';
import type { Step } from '../plan/types';
import type { Ownership } from '../model/ownership';
import { dhcpInterfaces } from '../model/leases';
import type { DhcpSupervisor } from './dhcp';
import { loadUnitDir, parseUnits, type LoadedUnits, type UnitSource } from '../units';
import { messageOf } from '../util/errors';
import type { Logger } from './log';
import type { ApplyResult } from './protocol';
import {
  hashSources,
  loadApplied,
  saveApplied,
  type AppliedRecord,
  type ApplyOutcome,
  type ApplyTrigger,
  type PendingConfirm,
} from './records';
import type { TestHooks } from './test-hooks';

export const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

/** Where an apply with --confirm leaves its rollback (the confirm controller). */
export interface ConfirmRecorder {
  /** Records p durably; called inside the apply, before its journal closes. */
  save(p: PendingConfirm): void;
  /** The apply is done: p now awaits confirmation, and its deadline runs. */
  arm(p: PendingConfirm): void;
}

export interface ApplierOptions {
  stateDir: string;
  /** netmgrd's unit directory. */
  unitDir: string;
  manager: BridgeControl;
  log: Logger;
  /** True (and remembered) when an apply awaits confirmation: the unit directory is applied after it is settled. */
  deferIfPending(): boolean;
  /** Whether the unit directory must pass the permission check now (netmgrd.conf's strict-permissions in force). */
  strictPermissions(): boolean;
  /** netmgrd's DHCP clients: stopped before an apply that drops their unit's `dhcp`, started after it. */
  dhcp?: DhcpSupervisor;
}

export class Applier {
  /** applied.json as in force: the unit set, the last outcome, the counters. */
  record: AppliedRecord;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: ApplierOptions) {
    this.record = loadApplied(opts.stateDir);
  }

  /** Runs fn after every change queued before it: applies, reloads, confirms and rollbacks never interleave. */
  serialized<T>(fn: () => T | Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The options of apply, recovery and undo: netmgrd's state, bridges and log. */
  applyOptions(hooks: TestHooks = {}) {
    return {
      stateDir: this.opts.stateDir,
      wait: true,
      log: (l: string) => this.opts.log.info(l),
      datapaths: this.opts.manager,
      failAtStep: hooks.failAtStep,
      killAfterStep: hooks.killAfterStep,
    };
  }

  /** Records an outcome as the last apply, counts it, logs it at its priority. */
  settle(o: ApplyOutcome): ApplyOutcome {
    this.record.last = o;
    const c = this.record.counters;
    if (o.result === 'applied') c.applies++;
    if (o.result === 'unchanged') c.unchanged++;
    if (o.result === 'failed') c.failed++;
    if (o.result === 'invalid') c.invalid++;
    if (o.result === 'rolled-back') c.rollbacks++;
    saveApplied(this.opts.stateDir, this.record);
    // The numbers the bridges have now, for when they are built again (port-numbers.ts).
    savePortNumbers(this.opts.stateDir, this.opts.manager.live());
    const log = this.opts.log;
    const line = `${o.trigger}: ${o.message}`;
    if (o.result === 'failed' || o.result === 'invalid') log.error(line);
    else if (o.result === 'rolled-back' || o.differences?.length) log.warning(line);
    else if (o.result === 'applied' || o.result === 'confirmed') log.notice(line);
    else log.info(line);
    for (const e of o.errors ?? []) log.error(formatUnitError(e));
    for (const d of o.differences ?? []) log.warning(`verify: still differs after the apply: ${d}`);
    return o;
  }

  outcome(
    trigger: ApplyTrigger,
    result: ApplyOutcome['result'],
    message: string,
    extra: Partial<ApplyOutcome> = {},
  ): ApplyOutcome {
    return { time: new Date().toISOString(), trigger, result, message, steps: 0, unitDir: this.opts.unitDir, ...extra };
  }

  /** What still differs from desired in the re-read live state. */
  verify(desired: DesiredState): string[] {
    const { plan, problems } = observe(desired, { stateDir: this.opts.stateDir, bridges: this.opts.manager.live() });
    return plan ? plan.changes.map(formatChange) : problems.map(formatUnitError);
  }

  /** Start, watch and reload: the unit directory read, validated and applied (deferred while a confirm is pending). */
  applyUnitDir(trigger: ApplyTrigger): ApplyOutcome {
    let parsed: LoadedUnits;
    try {
      parsed = loadUnitDir(this.opts.unitDir, { strictPermissions: this.opts.strictPermissions() });
    } catch (e) {
      return this.settle(this.outcome(trigger, 'failed', `${messageOf(e)}; nothing applied`));
    }
    const sources = parsed.sources;
    if (!parsed.state) {
      return this.settle(
        this.outcome(
          trigger,
          'invalid',
          `${plural(parsed.errors.length, 'problem')} in the units; nothing applied, the running configuration stays`,
          { errors: parsed.errors },
        ),
      );
    }
    if (this.opts.deferIfPending()) {
      return this.settle(
        this.outcome(
          trigger,
          'deferred',
          'an apply awaits `netmgr confirm`; this change is applied once it is confirmed or rolled back',
        ),
      );
    }
    if ((trigger === 'start' || trigger === 'watch') && this.record.rolledBack?.hash === hashSources(sources)) {
      return this.settle(
        this.outcome(
          trigger,
          'skipped',
          'these units were rolled back for want of a confirm; edit them, or run netmgr apply to apply them again',
        ),
      );
    }
    try {
      return this.applyUnits(sources, parsed.state, trigger, this.opts.unitDir, {}).outcome;
    } catch {
      return this.record.last!;
    }
  }

  /**
   * Applies a validated unit set, verifies it, records it as the set in force; with confirm, records the rollback
   * before the apply is final. Throws what apply throws (after recording the failure).
   */
  applyUnits(
    sources: UnitSource[],
    desired: DesiredState,
    trigger: ApplyTrigger,
    unitDir: string,
    hooks: TestHooks,
    confirm?: { seconds: number; recorder: ConfirmRecorder },
  ): { reply: ApplyResult; outcome: ApplyOutcome } {
    const hash = hashSources(sources);
    const previous = {
      sources: this.record.sources,
      hash: this.record.hash,
      unitDir: this.record.unitDir,
      appliedAt: this.record.appliedAt,
    };
    let pending: PendingConfirm | undefined;
    const beforeFinish = confirm
      ? (steps: Step[], ownedBefore: Ownership) => {
          const now = Date.now();
          pending = {
            version: 1,
            appliedAt: new Date(now).toISOString(),
            deadline: now + confirm.seconds * 1000,
            timeoutSeconds: confirm.seconds,
            steps,
            sources,
            hash,
            unitDir,
            ownedBefore,
            previous,
          };
          confirm.recorder.save(pending);
        }
      : undefined;
    let r;
    try {
      this.opts.dhcp?.stopUnwanted(dhcpInterfaces(desired));
      r = applyDesired(desired, { ...this.applyOptions(hooks), beforeFinish });
      this.opts.dhcp?.startWanted(dhcpInterfaces(desired));
    } catch (e) {
      const invalid = e instanceof InvalidUnitsError;
      this.settle(
        this.outcome(
          trigger,
          invalid ? 'invalid' : 'failed',
          invalid ? `${e.message} (checked against the live system)` : messageOf(e),
          { unitDir, errors: invalid ? e.errors : undefined },
        ),
      );
      throw e;
    }
    this.record = {
      ...this.record,
      sources,
      hash,
      unitDir,
      appliedAt: new Date().toISOString(),
      rolledBack: this.record.rolledBack?.hash === hash ? null : this.record.rolledBack,
    };
    const differences = this.verify(desired);
    let message = r.steps ? `applied ${unitDir}: ${plural(r.steps, 'step')}` : `${unitDir}: no changes`;
    if (r.recovered) message += ` (first undid ${plural(r.recovered, 'step')} of an interrupted apply)`;
    if (differences.length) message += `; verify: ${plural(differences.length, 'difference')} remain`;
    else if (r.steps) message += '; verified';
    if (pending && confirm) {
      confirm.recorder.arm(pending);
      message += `; rolled back in ${confirm.seconds} s unless \`netmgr confirm\` runs`;
    }
    const outcome = this.settle(
      this.outcome(trigger, r.steps ? 'applied' : 'unchanged', message, {
        steps: r.steps,
        unitDir,
        differences,
        confirmSeconds: pending ? confirm?.seconds : undefined,
      }),
    );
    const reply: ApplyResult = { plan: planToJson(r.plan), steps: r.steps, recovered: r.recovered, differences };
    if (pending) reply.confirmDeadline = new Date(pending.deadline).toISOString();
    return { reply, outcome };
  }

  /**
   * A DHCP lease came, changed or went: the unit set in force is applied again (with the leases as they are now).
   * Nothing when no set is in force or it no longer validates (the next change of the units reports that).
   */
  applyLeases(): ApplyOutcome | undefined {
    const sources = this.record.sources;
    const parsed = sources ? parseUnits(sources) : undefined;
    if (!sources || !parsed?.state) return undefined;
    try {
      return this.applyUnits(sources, parsed.state, 'dhcp', this.record.unitDir ?? this.opts.unitDir, {}).outcome;
    } catch {
      return this.record.last ?? undefined;
    }
  }

  /**
   * DHCP clients for exactly the interfaces of `desired` (the set in force after a rollback): those of the undone
   * apply's units stop, those its undo brought back start again.
   */
  syncDhcp(desired: DesiredState | null): void {
    const wanted = desired ? dhcpInterfaces(desired) : [];
    this.opts.dhcp?.stopUnwanted(wanted);
    this.opts.dhcp?.startWanted(wanted);
  }

  /** The unit set p replaced is in force again; p's own set is remembered as rolled back. */
  restorePrevious(p: PendingConfirm): void {
    const { sources, hash, unitDir, appliedAt } = p.previous;
    this.record = {
      ...this.record,
      sources,
      hash,
      unitDir,
      appliedAt,
      rolledBack: { hash: p.hash, time: new Date().toISOString() },
    };
  }
}
