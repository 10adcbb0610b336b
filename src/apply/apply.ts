/**
 * apply: lock -> recover an interrupted apply -> observe (read the world, preflight, plan) -> run steps under the
 * journal -> record ownership. Any failing step rolls back the steps already done, in reverse, so the system ends as it began.
 */
import type { LiveBridge } from '../model/bridges';
import type { Ownership } from '../model/ownership';
import type { DesiredState, UnitError } from '../model/types';
import { NamespaceSockets } from '../live/namespaces';
import { datapathChanges } from '../plan/diff';
import { invertStep, planSteps, stepBatches } from '../plan/steps';
import type { Change, Plan, Step } from '../plan/types';
import { hasErrno, isAlreadyUndone, messageOf, NetmgrError } from '../util/errors';
import { clearJournal, Journal, readInterrupted } from './journal';
import { ApplyLock } from './lock';
import { observe } from './observe';
import { saveOwnership } from './ownership';
import type { DatapathStepExecutor } from './runner';
import { describeStep, StepRunner } from './runner';

export class InvalidUnitsError extends NetmgrError {
  constructor(readonly errors: UnitError[]) {
    super('invalid', `${errors.length} problem(s) in the units; nothing was applied`);
  }
}

/** The plan has bridge, port or flow changes and this process has no datapaths: netmgrd must apply it. */
export class DaemonRequiredError extends NetmgrError {
  constructor(readonly changes: Change[]) {
    super('unavailable', `the units change bridges, ports or flows, which netmgrd runs; nothing was applied`);
  }
}

export class ApplyFailedError extends NetmgrError {
  constructor(
    readonly failedStep: string,
    readonly reason: Error,
    readonly undone: number,
    readonly undoFailures: string[],
  ) {
    super(
      'failed',
      undoFailures.length
        ? `${failedStep} failed: ${reason.message}; rolling back ${undone} step(s) left ${undoFailures.length} not undone:\n  ${undoFailures.join('\n  ')}`
        : `${failedStep} failed: ${reason.message}; rolled back the ${undone} step(s) already done: the system is as it was before this apply`,
    );
  }
}

/** The ownership record after a successful apply of plan (pure). */
export function nextOwnership(owned: Ownership, plan: Plan): Ownership {
  const namespaces = new Set(owned.namespaces);
  let veths = [...owned.veths];
  for (const c of plan.changes) {
    if (c.object === 'namespace') {
      if (c.action === 'create') namespaces.add(c.name);
      else namespaces.delete(c.name);
    }
    if (c.object === 'veth' && c.action === 'delete') {
      const [a] = c.ends;
      veths = veths.filter((v) => !(v.namespace === a.namespace && v.name === a.name));
    }
  }
  for (const c of plan.changes) {
    if (c.object === 'veth' && c.action === 'create') {
      const [a, b] = c.ends;
      veths.push({ unit: c.unit, namespace: a.namespace, name: a.name, peerNamespace: b.namespace, peer: b.name });
    }
  }
  let takeovers = [...(owned.takeovers ?? [])];
  for (const c of plan.changes) {
    if (c.object !== 'takeover') continue;
    takeovers = takeovers.filter((t) => t.unit !== c.unit);
    if (c.action === 'create') takeovers.push(c.record);
  }
  return { version: 1, namespaces: [...namespaces], veths, ...(takeovers.length ? { takeovers } : {}) };
}

export interface ApplyOptions {
  stateDir: string;
  /** Wait for a concurrent apply instead of failing. */
  wait: boolean;
  log: (line: string) => void;
  /** Testing aid (NETMGR_TEST_FAIL_STEP): make step k (1-based) fail, to exercise rollback. */
  failAtStep?: number;
  /** Testing aid (NETMGR_TEST_KILL_STEP): SIGKILL this process just after step k (1-based) ran, to exercise recovery. */
  killAfterStep?: number;
  /** netmgrd's bridges: runs datapath steps and reports what exists. Absent in the CLI. */
  datapaths?: DatapathStepExecutor & { live(): LiveBridge[] };
  /**
   * Called after the last step and the ownership record, before the journal is closed: netmgrd records a pending
   * confirm here, so that no crash can leave the change applied with neither journal nor rollback record.
   */
  beforeFinish?: (done: Step[], ownedBefore: Ownership) => void;
}

export interface ApplyResult {
  plan: Plan;
  steps: number;
  /** Steps of an interrupted earlier apply that were undone first. */
  recovered: number;
  /** The steps run, in order (what a rollback undoes). */
  done: Step[];
}

/** Undoes steps in reverse. "Already undone" (a begun step that never ran) counts as success. */
function undo(runner: StepRunner, steps: Step[]): string[] {
  const failures: string[] = [];
  for (let i = steps.length - 1; i >= 0; i--) {
    const inv = invertStep(steps[i]);
    try {
      runner.run(inv);
    } catch (e) {
      // EEXIST: the undo of a delete finds the object back already.
      if (!isAlreadyUndone(e) && !hasErrno(e, 'EEXIST')) failures.push(`${describeStep(inv)}: ${messageOf(e)}`);
    }
  }
  return failures;
}

/** Undoes what an interrupted apply's journal says it began (the caller holds the lock); returns the step count. */
function recover(runner: StepRunner, opts: Pick<ApplyOptions, 'stateDir' | 'log'>): number {
  const interrupted = readInterrupted(opts.stateDir);
  if (!interrupted) return 0;
  opts.log(
    `an earlier apply (pid ${interrupted.pid}) was interrupted; undoing its ${interrupted.steps.length} step(s) first`,
  );
  const failures = undo(runner, interrupted.steps);
  if (failures.length)
    throw new NetmgrError('failed', `could not undo the interrupted apply:\n  ${failures.join('\n  ')}`);
  clearJournal(opts.stateDir);
  return interrupted.steps.length;
}

type LockedOptions = Pick<ApplyOptions, 'stateDir' | 'wait' | 'log' | 'datapaths'>;

/** Runs fn holding the apply lock, with netlink sockets and a step runner that are closed afterwards. */
function underApplyLock<T>(opts: LockedOptions, fn: (runner: StepRunner, sockets: NamespaceSockets) => T): T {
  const lock = ApplyLock.acquire(opts.stateDir, opts.wait, (pid) =>
    opts.log(`waiting for another netmgr apply (pid ${pid}) to finish`),
  );
  const sockets = new NamespaceSockets();
  const runner = new StepRunner(sockets, opts.datapaths, opts.stateDir);
  try {
    return fn(runner, sockets);
  } finally {
    runner.close();
    sockets.close();
    lock.release();
  }
}

/**
 * netmgrd's start: an apply interrupted by a crash is undone now, whether or not anything is applied next (the
 * units may be invalid, rolled back, or --no-apply given). Returns the number of steps undone.
 */
export function recoverInterrupted(opts: LockedOptions): number {
  if (!readInterrupted(opts.stateDir)) return 0;
  return underApplyLock(opts, (runner) => recover(runner, opts));
}

export function applyDesired(desired: DesiredState, opts: ApplyOptions): ApplyResult {
  return underApplyLock(opts, (runner, sockets) => {
    const recovered = recover(runner, opts);
    const { world, problems, plan } = observe(desired, {
      stateDir: opts.stateDir,
      bridges: opts.datapaths?.live(),
      sockets,
    });
    if (!plan) throw new InvalidUnitsError(problems);
    if (!opts.datapaths) {
      const dp = datapathChanges(plan);
      if (dp.length) throw new DaemonRequiredError(dp);
    }
    const steps = planSteps(plan);
    if (!steps.length) return { plan, steps: 0, recovered, done: [] };
    const done = runJournaled(runner, steps, opts, (ran) => {
      saveOwnership(opts.stateDir, nextOwnership(world.owned, plan));
      opts.beforeFinish?.(ran, world.owned);
    });
    return { plan, steps: steps.length, recovered, done };
  });
}

/**
 * Runs steps under the journal, each written before it runs (batched: stepBatches). A failing step rolls back those done (the journal
 * stays when the rollback is incomplete, for the next run to finish) and throws ApplyFailedError. `record` runs
 * after the last step, before the journal is closed.
 */
function runJournaled(runner: StepRunner, steps: Step[], opts: ApplyOptions, record: (done: Step[]) => void): Step[] {
  const journal = Journal.start(opts.stateDir);
  const done: Step[] = [];
  for (const batch of stepBatches(steps)) {
    journal.begin(done.length, batch);
    for (const step of batch) {
      const i = done.length;
      try {
        if (opts.failAtStep === i + 1) throw new Error('injected failure (NETMGR_TEST_FAIL_STEP)');
        runner.run(step);
      } catch (e) {
        const failures = undo(runner, done);
        if (!failures.length) journal.finish();
        throw new ApplyFailedError(
          `step ${i + 1}/${steps.length} (${describeStep(step)})`,
          e as Error,
          done.length,
          failures,
        );
      }
      journal.done(i);
      done.push(step);
      if (opts.killAfterStep === i + 1) process.kill(process.pid, 'SIGKILL');
    }
  }
  record(done);
  journal.finish();
  return done;
}

/**
 * Undoes an earlier apply's steps, newest first, and puts back the ownership record it replaced (netmgrd's
 * rollback of an unconfirmed apply). Safe to repeat after a crash: a step already undone counts as undone.
 */
export function undoApplied(
  steps: Step[],
  ownedBefore: Ownership,
  opts: LockedOptions,
): { undone: number; failures: string[] } {
  return underApplyLock(opts, (runner) => {
    const failures = undo(runner, steps);
    saveOwnership(opts.stateDir, ownedBefore);
    return { undone: steps.length, failures };
  });
}
