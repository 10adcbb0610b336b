/**
 * netmgrd (`netmgr daemon`): runs the bridges, keeps the live system on the units, and answers the CLI on a unix
 * socket only root can open.
 * - Units: applied at start, then (unless netmgrd.conf says watch = false) each settled edit of the unit
 *   directory is planned, applied and verified; SIGHUP and `netmgr reload` do the same on demand; `netmgr apply`
 *   hands over a unit set. Invalid units are logged with FILE:LINE:COL and change nothing.
 * - One change at a time: every apply, reload and rollback runs in one queue, and under the apply lock that a
 *   CLI-side apply also takes.
 * - `apply --confirm N`: the steps are recorded (state dir confirm.json) before the apply's journal closes and
 *   undone unless `netmgr confirm` arrives in time, across restarts of netmgrd too.
 * - SIGTERM stops it cleanly: userspace bridges go down (their TAPs with them, back at the next start), kernel
 *   bridges stay for the next netmgrd; namespaces, veths and addresses stay.
 */
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { applyDesired, InvalidUnitsError, planAgainstLive, recoverInterrupted, undoApplied } from '../apply/apply';
import { BridgeManager } from '../bridge';
import { DesiredState, formatUnitError } from '../model/types';
import { formatChange, planToJson } from '../plan/format';
import { parseUnits, readUnitDir, type UnitSource } from '../units';
import { DEFAULT_DAEMON_CONFIG, loadDaemonConfig, type DaemonConfig } from './config';
import { runDpctl } from './dpctl';
import { errorBody } from './errors';
import { runFdb, runTrace } from './fdb';
import type { Logger } from './log';
import {
  clearPendingConfirm,
  hashSources,
  loadApplied,
  loadPendingConfirm,
  saveApplied,
  savePendingConfirm,
  type AppliedRecord,
  type ApplyOutcome,
  type ApplyTrigger,
  type PendingConfirm,
} from './records';
import { buildStatus } from './report';
import { RequestError } from './requests';
import { sdNotify } from './sd-notify';
import type { BridgeCounters, StatusReport } from './status';
import { UnitWatcher } from './watch';
import type { ApplyRequest, ErrorBody, Request, Response } from './protocol';

export interface DaemonOptions {
  socketPath: string;
  stateDir: string;
  unitDir: string;
  /** Apply the unit directory at start-up (default true). */
  applyOnStart: boolean;
  /** false: do not watch, whatever netmgrd.conf says (--no-watch). */
  watch?: boolean;
  log: Logger;
}

export interface ApplyReply {
  plan: object;
  steps: number;
  recovered: number;
  /** Verification: what still differs between the units and the live state re-read after the apply. */
  differences: string[];
  /** With --confirm: when the rollback happens unless confirmed (absent when nothing changed). */
  confirmDeadline?: string;
}

/** The answer to a dpctl, fdb or trace request: its result, or the refusal it threw. */
function answer(run: () => unknown): Response {
  try {
    return { ok: true, result: run() };
  } catch (e) {
    return { ok: false, error: e instanceof RequestError ? e.body : errorBody(e) };
  }
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

export class Daemon {
  readonly manager: BridgeManager;
  private server: net.Server | undefined;
  private stopping = false;
  private queue: Promise<unknown> = Promise.resolve();
  private config: DaemonConfig = { ...DEFAULT_DAEMON_CONFIG };
  private watcher: UnitWatcher | undefined;
  private record: AppliedRecord;
  private pending: PendingConfirm | undefined;
  private confirmTimer: NodeJS.Timeout | undefined;
  /** A reload arrived while a confirm was outstanding: run it once that is settled. */
  private deferred = false;
  private readonly since = new Date().toISOString();
  private readonly log: Logger;

  constructor(private readonly opts: DaemonOptions) {
    this.log = opts.log;
    this.manager = new BridgeManager(opts.stateDir, (l) => opts.log.info(l));
    this.record = loadApplied(opts.stateDir);
  }

  async start(): Promise<void> {
    await this.claimSocket();
    this.manager.releaseStaleIsolation();
    this.manager.adoptKernelBridges();
    const server = net.createServer((c) => this.serve(c));
    this.server = server;
    const dir = path.dirname(this.opts.socketPath);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    // The socket is created under a restrictive umask so it is never reachable by others, not even briefly.
    const oldMask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.opts.socketPath, () => resolve());
      });
    } finally {
      process.umask(oldMask);
    }
    fs.chmodSync(this.opts.socketPath, 0o600);
    this.readConfig();
    await this.serialized(() => this.startupApply());
    await this.updateWatcher();
    const status = `${plural(this.manager.names().length, 'bridge')}, ${this.watcher ? `watching ${this.opts.unitDir}` : 'not watching'}`;
    this.log.notice(`ready: ${status}, socket ${this.opts.socketPath}`);
    this.notify(`READY=1\nSTATUS=${status}`);
  }

  /** Refuses to start next to a live daemon; removes the socket a dead one left. */
  private async claimSocket(): Promise<void> {
    const p = this.opts.socketPath;
    if (!fs.existsSync(p)) return;
    const alive = await new Promise<boolean>((resolve) => {
      const s = net.createConnection(p);
      s.on('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (alive) throw new Error(`another netmgrd is already running (socket ${p} answers)`);
    fs.unlinkSync(p);
  }

  /** Runs fn after every change queued before it: applies, reloads, confirms and rollbacks never interleave. */
  private serialized<T>(fn: () => T | Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private notify(state: string): void {
    try {
      sdNotify(state);
    } catch (e) {
      this.log.warning(`cannot notify systemd: ${(e as Error).message}`);
    }
  }

  /** netmgrd.conf: a bad one is reported and the settings in force stay. */
  private readConfig(): void {
    const r = loadDaemonConfig(this.opts.unitDir);
    if (!r.config) {
      for (const e of r.errors) this.log.error(formatUnitError(e));
      this.log.error(`${r.file}: not used; the settings in force stay (watch = ${this.config.watch})`);
      return;
    }
    this.config = r.config;
  }

  private async updateWatcher(): Promise<void> {
    const want = this.config.watch && this.opts.watch !== false && fs.existsSync(this.opts.unitDir);
    if (this.watcher && want && this.watcher.delayMs !== this.config.watchDelayMs) {
      // A new watch-delay: a new watcher (pending events are re-read by the reload that got here anyway).
      await this.watcher.close();
      this.watcher = undefined;
    }
    if (want && !this.watcher) {
      const w = new UnitWatcher(this.opts.unitDir, this.config.watchDelayMs, (files) => void this.onUnitsChanged(files), (m) => this.log.warning(m));
      await w.start();
      this.watcher = w;
      this.log.info(`watching ${this.opts.unitDir} (changes applied ${this.config.watchDelayMs} ms after the last edit)`);
    } else if (!want && this.watcher) {
      await this.watcher.close();
      this.watcher = undefined;
      this.log.info(`stopped watching ${this.opts.unitDir}`);
    }
  }

  private async onUnitsChanged(files: string[]): Promise<void> {
    if (this.stopping) return;
    this.log.info(`${this.opts.unitDir} changed (${files.join(', ')})`);
    this.log.debug(`watch: ${files.length} file(s) settled after ${this.config.watchDelayMs} ms`);
    await this.reload('watch').catch((e) => this.log.error(`reload: ${(e as Error).message}`));
  }

  /** SIGHUP, `netmgr reload` and the watcher: netmgrd.conf and the unit directory read again, applied, verified. */
  async reload(trigger: ApplyTrigger = 'reload'): Promise<ApplyOutcome> {
    const outcome = await this.serialized(() => {
      this.notify('RELOADING=1');
      this.readConfig();
      return this.applyUnitDir(trigger);
    });
    await this.updateWatcher();
    this.notify(`READY=1\nSTATUS=last apply: ${outcome.result} (${outcome.trigger})`);
    return outcome;
  }

  /** At start: an apply awaiting confirmation comes back (to be confirmed or rolled back); else the unit directory. */
  private startupApply(): void {
    try {
      recoverInterrupted(this.applyOptions({}));
    } catch (e) {
      this.log.error((e as Error).message);
    }
    const pending = loadPendingConfirm(this.opts.stateDir);
    if (pending) {
      this.log.notice(`the apply of ${pending.appliedAt} awaits \`netmgr confirm\` until ${new Date(pending.deadline).toISOString()}: bringing it back first`);
      const parsed = parseUnits(pending.sources);
      if (parsed.state) {
        try {
          const r = applyDesired(parsed.state, this.applyOptions({}));
          if (r.steps) this.log.info(`brought back the unconfirmed apply: ${plural(r.steps, 'step')}`);
        } catch (e) {
          this.log.error(`could not bring back the unconfirmed apply: ${(e as Error).message}`);
        }
      }
      this.pending = pending;
      // The unit directory is applied once the confirm is settled (it may have been edited meanwhile).
      this.deferred = this.opts.applyOnStart;
      if (Date.now() >= pending.deadline) this.rollback('confirm-timeout');
      else this.armConfirm();
      return;
    }
    if (this.opts.applyOnStart) this.applyUnitDir('start');
  }

  private applyOptions(req: Partial<ApplyRequest>) {
    return {
      stateDir: this.opts.stateDir,
      wait: true,
      log: (l: string) => this.log.info(l),
      datapaths: this.manager,
      failAtStep: req.failAtStep,
      killAfterStep: req.killAfterStep,
    };
  }

  /** Records an outcome as the last apply, counts it, logs it at its priority. */
  private settle(o: ApplyOutcome): ApplyOutcome {
    this.record.last = o;
    const c = this.record.counters;
    if (o.result === 'applied') c.applies++;
    if (o.result === 'unchanged') c.unchanged++;
    if (o.result === 'failed') c.failed++;
    if (o.result === 'invalid') c.invalid++;
    if (o.result === 'rolled-back') c.rollbacks++;
    saveApplied(this.opts.stateDir, this.record);
    const line = `${o.trigger}: ${o.message}`;
    if (o.result === 'failed' || o.result === 'invalid') this.log.error(line);
    else if (o.result === 'rolled-back' || o.differences?.length) this.log.warning(line);
    else if (o.result === 'applied' || o.result === 'confirmed') this.log.notice(line);
    else this.log.info(line);
    for (const e of o.errors ?? []) this.log.error(formatUnitError(e));
    for (const d of o.differences ?? []) this.log.warning(`verify: still differs after the apply: ${d}`);
    return o;
  }

  private outcome(trigger: ApplyTrigger, result: ApplyOutcome['result'], message: string, extra: Partial<ApplyOutcome> = {}): ApplyOutcome {
    return { time: new Date().toISOString(), trigger, result, message, steps: 0, unitDir: this.opts.unitDir, ...extra };
  }

  private applyUnitDir(trigger: ApplyTrigger): ApplyOutcome {
    let sources: UnitSource[];
    try {
      sources = readUnitDir(this.opts.unitDir);
    } catch (e) {
      return this.settle(this.outcome(trigger, 'failed', `${(e as Error).message}; nothing applied`));
    }
    const parsed = parseUnits(sources);
    if (!parsed.state) {
      return this.settle(this.outcome(trigger, 'invalid', `${plural(parsed.errors.length, 'problem')} in the units; nothing applied, the running configuration stays`, { errors: parsed.errors }));
    }
    const hash = hashSources(sources);
    if (this.pending) {
      this.deferred = true;
      return this.settle(this.outcome(trigger, 'deferred', 'an apply awaits `netmgr confirm`; this change is applied once it is confirmed or rolled back'));
    }
    if ((trigger === 'start' || trigger === 'watch') && this.record.rolledBack?.hash === hash) {
      return this.settle(this.outcome(trigger, 'skipped', 'these units were rolled back for want of a confirm; edit them, or run netmgr apply to apply them again'));
    }
    try {
      return this.applyUnits(sources, parsed.state, trigger, this.opts.unitDir, {}).outcome;
    } catch {
      return this.record.last!;
    }
  }

  /** What still differs from desired in the re-read live state. */
  private verify(desired: DesiredState): string[] {
    const { plan, problems } = planAgainstLive(desired, this.opts.stateDir, this.manager.live());
    return plan ? plan.changes.map(formatChange) : problems.map(formatUnitError);
  }

  /**
   * Applies a validated unit set, verifies it, records it as the set in force; with confirmSeconds, records the
   * rollback before the apply is final. Throws what apply throws (after recording the failure).
   */
  private applyUnits(sources: UnitSource[], desired: DesiredState, trigger: ApplyTrigger, unitDir: string, req: Partial<ApplyRequest>): { reply: ApplyReply; outcome: ApplyOutcome } {
    const hash = hashSources(sources);
    const confirm = req.confirmSeconds;
    const previous = { sources: this.record.sources, hash: this.record.hash, unitDir: this.record.unitDir, appliedAt: this.record.appliedAt };
    let pending: PendingConfirm | undefined;
    let r;
    try {
      r = applyDesired(desired, {
        ...this.applyOptions(req),
        beforeFinish: confirm
          ? (done, ownedBefore) => {
              const now = Date.now();
              pending = { version: 1, appliedAt: new Date(now).toISOString(), deadline: now + confirm * 1000, timeoutSeconds: confirm, steps: done, sources, hash, unitDir, ownedBefore, previous };
              savePendingConfirm(this.opts.stateDir, pending);
            }
          : undefined,
      });
    } catch (e) {
      const invalid = e instanceof InvalidUnitsError;
      this.settle(this.outcome(trigger, invalid ? 'invalid' : 'failed', invalid ? `${e.message} (checked against the live system)` : (e as Error).message, { unitDir, errors: invalid ? e.errors : undefined }));
      throw e;
    }
    const appliedAt = new Date().toISOString();
    this.record = { ...this.record, sources, hash, unitDir, appliedAt, rolledBack: this.record.rolledBack?.hash === hash ? null : this.record.rolledBack };
    const differences = this.verify(desired);
    let message = r.steps ? `applied ${unitDir}: ${plural(r.steps, 'step')}` : `${unitDir}: no changes`;
    if (r.recovered) message += ` (first undid ${plural(r.recovered, 'step')} of an interrupted apply)`;
    if (differences.length) message += `; verify: ${plural(differences.length, 'difference')} remain`;
    else if (r.steps) message += '; verified';
    if (pending) {
      this.pending = pending;
      this.armConfirm();
      message += `; rolled back in ${confirm} s unless \`netmgr confirm\` runs`;
    }
    const outcome = this.settle(this.outcome(trigger, r.steps ? 'applied' : 'unchanged', message, { steps: r.steps, unitDir, differences, confirmSeconds: pending ? confirm : undefined }));
    const reply: ApplyReply = { plan: planToJson(r.plan), steps: r.steps, recovered: r.recovered, differences };
    if (pending) reply.confirmDeadline = new Date(pending.deadline).toISOString();
    return { reply, outcome };
  }

  private armConfirm(): void {
    if (this.confirmTimer) clearTimeout(this.confirmTimer);
    const p = this.pending!;
    this.confirmTimer = setTimeout(() => {
      this.confirmTimer = undefined;
      void this.serialized(() => {
        if (this.pending === p) this.rollback('confirm-timeout');
      });
    }, Math.max(0, p.deadline - Date.now()));
  }

  /** Undoes the unconfirmed apply and puts the unit set it replaced back in force. */
  private rollback(trigger: 'confirm-timeout' | 'rollback'): ApplyOutcome {
    const p = this.pending!;
    if (this.confirmTimer) clearTimeout(this.confirmTimer);
    this.confirmTimer = undefined;
    const { failures } = undoApplied(p.steps, p.ownedBefore, this.applyOptions({}));
    clearPendingConfirm(this.opts.stateDir);
    this.pending = undefined;
    const { sources, hash, unitDir, appliedAt } = p.previous;
    this.record = { ...this.record, sources, hash, unitDir, appliedAt, rolledBack: { hash: p.hash, time: new Date().toISOString() } };
    const previous = sources ? parseUnits(sources).state : null;
    const differences = previous ? this.verify(previous) : [];
    const why = trigger === 'rollback' ? 'on request (netmgr rollback)' : `not confirmed within ${p.timeoutSeconds} s`;
    let message = `rolled back the apply of ${p.appliedAt} (${plural(p.steps.length, 'step')} undone), ${why}`;
    if (failures.length) message += `; ${plural(failures.length, 'step')} could not be undone: ${failures.join('; ')}`;
    const o = this.settle(this.outcome(trigger, 'rolled-back', message, { steps: p.steps.length, unitDir: p.unitDir, differences }));
    this.afterConfirmSettled();
    return o;
  }

  private confirm(): ApplyOutcome {
    const p = this.pending;
    if (!p) throw new RequestError({ kind: 'invalid', message: 'no apply awaits confirmation' });
    if (this.confirmTimer) clearTimeout(this.confirmTimer);
    this.confirmTimer = undefined;
    clearPendingConfirm(this.opts.stateDir);
    this.pending = undefined;
    const o = this.settle(this.outcome('confirm', 'confirmed', `confirmed the apply of ${p.appliedAt}: it stays`, { steps: p.steps.length, unitDir: p.unitDir }));
    this.afterConfirmSettled();
    return o;
  }

  /** Edits that arrived while a confirm was outstanding are applied now. */
  private afterConfirmSettled(): void {
    if (!this.deferred) return;
    this.deferred = false;
    setImmediate(() => void this.reload('watch').catch((e) => this.log.error(`reload: ${(e as Error).message}`)));
  }

  private status(unitDir: string): StatusReport {
    const bridges = this.manager.live();
    const counters: BridgeCounters[] = bridges.map((b) => {
      const dp = this.manager.datapath(b.name);
      return { name: b.name, datapath: b.datapath, policy: b.policy, stats: dp.stats(), ports: dp.ports().map((p) => ({ no: p.no, name: p.name, stats: p.stats })) };
    });
    return buildStatus({
      unitDir,
      stateDir: this.opts.stateDir,
      bridges,
      record: this.record,
      pending: this.pending,
      daemon: { pid: process.pid, since: this.since, watching: !!this.watcher, unitDir: this.opts.unitDir },
      counters,
    });
  }

  private async handle(req: Request): Promise<Response> {
    this.log.debug(`request: ${req.op}`);
    const refused = (e: unknown): Response => ({ ok: false, error: e instanceof RequestError ? e.body : errorBody(e) });
    switch (req.op) {
      case 'ping':
        return { ok: true, result: { pid: process.pid } };
      case 'live':
        return { ok: true, result: this.manager.live() };
      case 'apply': {
        const parsed = parseUnits(req.sources);
        if (!parsed.state) return { ok: false, error: { kind: 'invalid', message: `${plural(parsed.errors.length, 'problem')} in the units; nothing was applied`, errors: parsed.errors } };
        const desired = parsed.state;
        return this.serialized(() => {
          if (this.pending) return { ok: false, error: this.awaitingConfirm() } as Response;
          return { ok: true, result: this.applyUnits(req.sources, desired, 'apply', req.dir, req).reply } as Response;
        }).catch(refused);
      }
      case 'reload': {
        const o = await this.reload('reload');
        if (o.result === 'invalid') return { ok: false, error: { kind: 'invalid', message: o.message, errors: o.errors } };
        if (o.result === 'failed') return { ok: false, error: { kind: 'failed', message: o.message } };
        return { ok: true, result: o };
      }
      case 'confirm':
        return this.serialized(() => ({ ok: true, result: this.confirm() }) as Response).catch(refused);
      case 'rollback':
        return this.serialized(() => {
          if (!this.pending) throw new RequestError({ kind: 'invalid', message: 'no apply awaits confirmation: nothing to roll back' });
          return { ok: true, result: this.rollback('rollback') } as Response;
        }).catch(refused);
      case 'status':
        return answer(() => this.status(req.unitDir));
      case 'dpctl':
        return answer(() => runDpctl(this.manager, req));
      case 'fdb':
        return answer(() => runFdb(this.manager, req));
      case 'trace':
        return answer(() => runTrace(this.manager, req));
      default:
        return { ok: false, error: { kind: 'invalid', message: `unknown request ${JSON.stringify((req as { op?: unknown }).op)}` } };
    }
  }

  private awaitingConfirm(): ErrorBody {
    const left = Math.max(0, Math.ceil((this.pending!.deadline - Date.now()) / 1000));
    return { kind: 'busy', message: `the apply of ${this.pending!.appliedAt} awaits confirmation (rolled back in ${left} s): run netmgr confirm to keep it or netmgr rollback to undo it, then apply again` };
  }

  private serve(c: net.Socket): void {
    let buf = '';
    c.setEncoding('utf8');
    c.on('error', () => c.destroy());
    c.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) {
        if (buf.length > 64 * 1024 * 1024) c.destroy();
        return;
      }
      let req: Request;
      try {
        req = JSON.parse(buf.slice(0, nl)) as Request;
      } catch (e) {
        c.end(JSON.stringify({ ok: false, error: { kind: 'error', message: `bad request: ${(e as Error).message}` } }) + '\n');
        return;
      }
      buf = '';
      this.handle(req)
        .catch((e): Response => ({ ok: false, error: errorBody(e) }))
        .then((res) => c.end(JSON.stringify(res) + '\n'));
    });
  }

  /**
   * Stops serving and takes the bridges down (ports detached, host isolation removed, TAPs closed). A pending
   * confirm stays recorded: the next netmgrd brings that apply back and keeps the deadline.
   */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.notify('STOPPING=1');
    if (this.confirmTimer) clearTimeout(this.confirmTimer);
    void this.watcher?.close();
    this.server?.close();
    this.manager.shutdown();
    try {
      fs.unlinkSync(this.opts.socketPath);
    } catch {
      // already gone
    }
  }
}
