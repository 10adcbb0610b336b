/**
 * apply: lock -> recover an interrupted apply -> read live state -> plan -> run steps under the journal -> record
 * ownership. Any failing step rolls back the steps already done, in reverse, so the system ends as it began.
 */
import { DesiredState, UnitError } from '../model/types';
import { NamespaceSockets } from '../live/namespaces';
import { isIPv6LinkLocal, LiveState, readLiveState } from '../live/state';
import { datapathChanges, findConflicts, planChanges } from '../plan/diff';
import type { LiveBridge } from '../model/bridges';
import { checkSupported } from '../plan/support';
import type { DatapathStepExecutor } from './runner';
import { invertStep, planSteps } from '../plan/steps';
import { Change, Plan, Step } from '../plan/types';
import { checkAgainstSystem } from '../units';
import { clearJournal, Journal, readInterrupted } from './journal';
import { ApplyLock } from './lock';
import { loadOwnership, Ownership, saveOwnership } from './ownership';
import { describeStep, StepRunner } from './runner';

export class InvalidUnitsError extends Error {
  constructor(readonly errors: UnitError[]) {
    super(`${errors.length} problem(s) in the units; nothing was applied`);
  }
}

/** The plan has bridge, port or flow changes and this process has no datapaths: netmgrd must apply it. */
export class DaemonRequiredError extends Error {
  constructor(readonly changes: Change[]) {
    super(`the units change bridges, ports or flows, which netmgrd runs; nothing was applied`);
  }
}

export class ApplyFailedError extends Error {
  constructor(
    readonly failedStep: string,
    readonly reason: Error,
    readonly undone: number,
    readonly undoFailures: string[],
  ) {
    super(
      undoFailures.length
        ? `${failedStep} failed: ${reason.message}; rolling back ${undone} step(s) left ${undoFailures.length} not undone:\n  ${undoFailures.join('\n  ')}`
        : `${failedStep} failed: ${reason.message}; rolled back the ${undone} step(s) already done: the system is as it was before this apply`,
    );
  }
}

export interface World {
  live: LiveState;
  owned: Ownership;
  /** The bridges netmgrd runs (empty outside netmgrd when it is not running). */
  bridges: LiveBridge[];
}

/** Namespaces whose links matter: those the units name and those netmgr owns or put links or ports in. */
export function namespacesOfInterest(desired: DesiredState, owned: Ownership, bridges: LiveBridge[] = []): string[] {
  const s = new Set<string>([...desired.namespaces, ...owned.namespaces]);
  for (const v of owned.veths) for (const ns of [v.namespace, v.peerNamespace]) if (ns !== null) s.add(ns);
  for (const b of bridges) for (const p of b.ports) if (p.namespace !== null) s.add(p.namespace);
  return [...s].sort();
}

export function readWorld(desired: DesiredState, stateDir: string, sockets: NamespaceSockets, bridges: LiveBridge[] = []): World {
  const owned = loadOwnership(stateDir);
  const wantedLL = new Set<string>();
  for (const p of desired.ports.values()) for (const a of [...p.addresses, ...p.localAddresses]) if (isIPv6LinkLocal(a)) wantedLL.add(a);
  for (const b of desired.bridges.values()) for (const a of b.addresses) if (isIPv6LinkLocal(a)) wantedLL.add(a);
  return { live: readLiveState(sockets, namespacesOfInterest(desired, owned, bridges), wantedLL), owned, bridges };
}

/** Checks that need the live system: system ports exist, wanted names are free or already netmgr's. */
export function preflight(desired: DesiredState, world: World): UnitError[] {
  const { live } = world;
  const facts = {
    namespaceExists: (ns: string) => live.namespaces.includes(ns),
    interfaceExists: (ns: string | null, name: string) => !!live.links.get(ns ?? '')?.some((l) => l.name === name),
  };
  return [...checkSupported(desired, live), ...checkAgainstSystem(desired, facts), ...findConflicts(desired, live, world.owned)];
}

/** The ownership record after a successful apply of plan (pure). */
export function nextOwnership(owned: Ownership, plan: Plan): Ownership {
  const namespaces = new Set(owned.namespaces);
  let veths = [...owned.veths];
  for (const c of plan.changes) {
    if (c.object === 'namespace') c.action === 'create' ? namespaces.add(c.name) : namespaces.delete(c.name);
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
  return { version: 1, namespaces: [...namespaces], veths };
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
      const code = (e as { code?: string }).code;
      const harmless = ['ENODEV', 'EEXIST', 'EADDRNOTAVAIL', 'ENOENT'].includes(code ?? '');
      if (!harmless) failures.push(`${describeStep(inv)}: ${(e as Error).message}`);
    }
  }
  return failures;
}

/** Undoes what an interrupted apply's journal says it began (the caller holds the lock); returns the step count. */
function recover(runner: StepRunner, opts: Pick<ApplyOptions, 'stateDir' | 'log'>): number {
  const interrupted = readInterrupted(opts.stateDir);
  if (!interrupted) return 0;
  opts.log(`an earlier apply (pid ${interrupted.pid}) was interrupted; undoing its ${interrupted.steps.length} step(s) first`);
  const failures = undo(runner, interrupted.steps);
  if (failures.length) throw new Error(`could not undo the interrupted apply:\n  ${failures.join('\n  ')}`);
  clearJournal(opts.stateDir);
  return interrupted.steps.length;
}

type LockedOptions = Pick<ApplyOptions, 'stateDir' | 'wait' | 'log' | 'datapaths'>;

/** Runs fn holding the apply lock, with netlink sockets and a step runner that are closed afterwards. */
function underApplyLock<T>(opts: LockedOptions, fn: (runner: StepRunner, sockets: NamespaceSockets) => T): T {
  const lock = ApplyLock.acquire(opts.stateDir, opts.wait, (pid) => opts.log(`waiting for another netmgr apply (pid ${pid}) to finish`));
  const sockets = new NamespaceSockets();
  const runner = new StepRunner(sockets, opts.datapaths);
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
  const world = readWorld(desired, opts.stateDir, sockets, opts.datapaths?.live() ?? []);
  const problems = preflight(desired, world);
  if (problems.length) throw new InvalidUnitsError(problems);
  const plan = planChanges(desired, world.live, world.owned, world.bridges);
  if (!opts.datapaths) {
    const dp = datapathChanges(plan);
    if (dp.length) throw new DaemonRequiredError(dp);
  }
  const steps = planSteps(plan);
  if (!steps.length) return { plan, steps: 0, recovered, done: [] };

  const journal = Journal.start(opts.stateDir);
  const done: Step[] = [];
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i];
    journal.begin(i, step);
    try {
      if (opts.failAtStep === i + 1) throw new Error('injected failure (NETMGR_TEST_FAIL_STEP)');
      runner.run(step);
    } catch (e) {
      const failures = undo(runner, done);
      if (!failures.length) journal.finish();
      throw new ApplyFailedError(`step ${i + 1}/${steps.length} (${describeStep(step)})`, e as Error, done.length, failures);
    }
    journal.done(i);
    done.push(step);
    if (opts.killAfterStep === i + 1) process.kill(process.pid, 'SIGKILL');
  }
  saveOwnership(opts.stateDir, nextOwnership(world.owned, plan));
  opts.beforeFinish?.(done, world.owned);
  journal.finish();
  return { plan, steps: steps.length, recovered, done };
  });
}

/**
 * Undoes an earlier apply's steps, newest first, and puts back the ownership record it replaced (netmgrd's
 * rollback of an unconfirmed apply). Safe to repeat after a crash: a step already undone counts as undone.
 */
export function undoApplied(steps: Step[], ownedBefore: Ownership, opts: LockedOptions): { undone: number; failures: string[] } {
  return underApplyLock(opts, (runner) => {
    const failures = undo(runner, steps);
    saveOwnership(opts.stateDir, ownedBefore);
    return { undone: steps.length, failures };
  });
}

/**
 * What apply would change now: the plan from the re-read live state to desired (verification after an apply,
 * drift in `netmgr status`), or the problems that keep it from being planned.
 */
export function planAgainstLive(desired: DesiredState, stateDir: string, bridges: LiveBridge[]): { plan: Plan | null; problems: UnitError[] } {
  const sockets = new NamespaceSockets();
  try {
    const world = readWorld(desired, stateDir, sockets, bridges);
    const problems = preflight(desired, world);
    if (problems.length) return { plan: null, problems };
    return { plan: planChanges(desired, world.live, world.owned, world.bridges), problems };
  } finally {
    sockets.close();
  }
}
