/**
 * netmgrd (`netmgr daemon`): runs the bridges, keeps the live system on the units, and answers the CLI on a unix
 * socket only root can open.
 * - Units: applied at start, then (unless netmgrd.conf says watch = false) each settled edit of the unit
 *   directory is planned, applied and verified; SIGHUP and `netmgr reload` do the same on demand; `netmgr apply`
 *   hands over a unit set. Invalid units are logged with FILE:LINE:COL and change nothing.
 * - Strict permissions (units/permissions): as root, a unit directory whose files root does not own or others may
 *   write is invalid like a unit error. A netmgrd.conf that fails the check is untrusted: netmgrd does not start
 *   on it (there are no settings in force to keep, and the defaults are not what the administrator wrote), and a
 *   reload that finds it applies nothing and keeps the settings in force.
 * - One change at a time: every apply, reload and rollback runs in one queue, and under the apply lock that a
 *   CLI-side apply also takes.
 * - `apply --confirm N`: the steps are recorded (state dir confirm.json) before the apply's journal closes and
 *   undone unless `netmgr confirm` arrives in time, across restarts of netmgrd too.
 * - SIGTERM stops it cleanly: userspace bridges go down (their TAPs with them, back at the next start), kernel
 *   bridges stay for the next netmgrd; namespaces, veths and addresses stay.
 */
import * as fs from 'fs';
import { recoverInterrupted } from '../apply/apply';
import { RemoteBridgeManager, type BridgeControl } from '../bridge';
import { formatUnitError, type UnitError } from '../model/types';
import { checksPermissions, parseUnits } from '../units';
import { messageOf, NetmgrError } from '../util/errors';
import { Applier, plural } from './applier';
import { DAEMON_CONFIG_FILE, DEFAULT_DAEMON_CONFIG, loadDaemonConfig, type DaemonConfig } from './config';
import { ConfirmController } from './confirm';
import { DhcpSupervisor } from './dhcp';
import { runDpctl } from './dpctl';
import { RequestError } from './errors';
import { runFdb, runTrace } from './fdb';
import { runStp } from './stp';
import type { Logger } from './log';
import {
  ApplyRequest,
  ConfirmRequest,
  DpctlRequest,
  FdbRequest,
  LiveRequest,
  PingRequest,
  ReloadRequest,
  RollbackRequest,
  StatusRequest,
  TraceRequest,
  StpRequest,
  type ApplyParams,
  type ApplyResult,
} from './protocol';
import type { ApplyOutcome, ApplyTrigger } from './records';
import { bridgeCounters, buildStatus } from './report';
import { sdNotify } from './sd-notify';
import { claimSocket, RequestServer } from './server';
import type { StatusReport } from './status';
import { describeTestHooks, type TestHooks } from './test-hooks';
import type { SnapshotSources } from './http/gather';
import type { StatusListener } from './http/listener';
import { reconcileListener } from './http/reconcile';
import { reconcileWatcher, type UnitWatcher } from './watch';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- the version in /metrics' netmgr_build_info
const pkg = require('../../package.json') as { version: string };

/** netmgrd's exit status when its forwarding worker died (EX_SOFTWARE: an internal error). */
const EXIT_FORWARDING_DIED = 70;

export interface DaemonOptions {
  socketPath: string;
  stateDir: string;
  unitDir: string;
  /** Apply the unit directory at start-up (default true). */
  applyOnStart: boolean;
  /** false: do not watch, whatever netmgrd.conf says (--no-watch). */
  watch?: boolean;
  /**
   * Fault injection into the applies `netmgr apply` hands over (read from NETMGR_TEST_FAIL_STEP and
   * NETMGR_TEST_KILL_STEP at start, ./test-hooks); absent in production. Start-up, watch and reload applies never
   * use them.
   */
  testHooks?: TestHooks;
  log: Logger;
}

export class Daemon {
  readonly manager: BridgeControl;
  private readonly server: RequestServer;
  private readonly applier: Applier;
  private readonly confirms: ConfirmController;
  private readonly dhcp: DhcpSupervisor;
  private watcher: UnitWatcher | undefined;
  private listener: StatusListener | undefined;
  /** When a reload last applied successfully (for /metrics). */
  private lastReloadAt: string | null = null;
  private config: DaemonConfig = { ...DEFAULT_DAEMON_CONFIG };
  private stopping = false;
  private readonly since = new Date().toISOString();
  private readonly log: Logger;

  constructor(private readonly opts: DaemonOptions) {
    this.log = opts.log;
    // The bridges run in the forwarding worker: nothing this thread does (parsing, planning, applying, answering)
    // delays a packet.
    this.manager = new RemoteBridgeManager({
      stateDir: opts.stateDir,
      log: opts.log,
      onDeath: (reason) => this.forwardingDied(reason),
    });
    const { stateDir, unitDir, log } = opts;
    this.dhcp = new DhcpSupervisor({ stateDir, log, onLeasesChanged: () => this.applyLeases() });
    this.applier = new Applier({
      stateDir,
      unitDir,
      log,
      manager: this.manager,
      deferIfPending: () => this.confirms.deferIfPending(),
      strictPermissions: () => this.config.strictPermissions && checksPermissions(),
      dhcp: this.dhcp,
    });
    this.confirms = new ConfirmController(this.applier, {
      stateDir,
      log,
      applyDeferred: () => this.reloadLogged('watch'),
    });
    this.server = new RequestServer(
      (l) => this.log.debug(l),
      (l) => this.log.warning(l),
    );
    this.registerHandlers();
  }

  async start(): Promise<void> {
    // Claimed first: a second netmgrd must not touch the bridges of the one running.
    await claimSocket(this.opts.socketPath);
    // Before anything is touched: netmgrd does not start on an untrusted netmgrd.conf.
    this.refuseUntrustedConfig(this.readConfig());
    const hooks = describeTestHooks(this.opts.testHooks ?? {});
    if (hooks) this.log.warning(`test hooks in force for applies handed over by netmgr apply: ${hooks}`);
    this.manager.releaseStaleIsolation();
    this.manager.adoptKernelBridges();
    await this.server.listen(this.opts.socketPath);
    await this.applier.serialized(() => this.startupApply());
    await this.updateWatcher();
    await this.updateListener();
    const status = `${plural(this.manager.names().length, 'bridge')}, ${this.watcher ? `watching ${this.opts.unitDir}` : 'not watching'}`;
    this.log.notice(`ready: ${status}, socket ${this.opts.socketPath}`);
    this.notify(`READY=1\nSTATUS=${status}`);
  }

  private registerHandlers(): void {
    const s = this.server;
    const queued = <T>(fn: () => T) => this.applier.serialized(fn);
    s.handle(PingRequest, () => ({ pid: process.pid }));
    s.handle(LiveRequest, () => this.manager.live());
    s.handle(ApplyRequest, (params) => this.apply(params));
    s.handle(ReloadRequest, () => this.reloadRequested());
    s.handle(ConfirmRequest, () => queued(() => this.confirms.confirm()));
    s.handle(RollbackRequest, () => queued(() => this.confirms.rollback('rollback')));
    s.handle(StatusRequest, (params) => this.status(params.unitDir));
    s.handle(DpctlRequest, (params) => runDpctl(this.manager, params));
    s.handle(FdbRequest, (params) => runFdb(this.manager, params));
    s.handle(TraceRequest, (params) => runTrace(this.manager, params));
    s.handle(StpRequest, (params) => runStp(this.manager, params));
  }

  /** `netmgr apply`: the CLI's unit set, validated here too, applied in the queue unless a confirm is pending. */
  private apply(params: ApplyParams): Promise<ApplyResult> {
    const parsed = parseUnits(params.sources);
    if (!parsed.state)
      throw new RequestError({
        kind: 'invalid',
        message: `${plural(parsed.errors.length, 'problem')} in the units; nothing was applied`,
        errors: parsed.errors,
      });
    const desired = parsed.state;
    return this.applier.serialized(() => {
      this.confirms.refuseWhilePending();
      const confirm = params.confirmSeconds ? { seconds: params.confirmSeconds, recorder: this.confirms } : undefined;
      const hooks = this.opts.testHooks ?? {};
      return this.applier.applyUnits(params.sources, desired, 'apply', params.dir, hooks, confirm).reply;
    });
  }

  /** `netmgr reload`: an outcome that applied nothing for a reason is refused, so the CLI exits non-zero. */
  private async reloadRequested(): Promise<ApplyOutcome> {
    const o = await this.reload('reload');
    if (o.result === 'invalid') throw new RequestError({ kind: 'invalid', message: o.message, errors: o.errors });
    if (o.result === 'failed') throw new RequestError({ kind: 'failed', message: o.message });
    return o;
  }

  private notify(state: string): void {
    try {
      sdNotify(state);
    } catch (e) {
      this.log.warning(`cannot notify systemd: ${messageOf(e)}`);
    }
  }

  /**
   * netmgrd.conf: a bad one is reported and the settings in force stay. As root it is always checked, whatever
   * strict-permissions is in force: the file that can turn the check off is believed only when it passes it.
   * Returns the permission errors of an untrusted one (not logged yet: the caller says what it does about it).
   */
  private readConfig(): UnitError[] {
    const r = loadDaemonConfig(this.opts.unitDir, checksPermissions());
    if (r.untrusted) return r.errors;
    if (!r.config) {
      for (const e of r.errors) this.log.error(formatUnitError(e));
      this.log.error(`${r.file}: not used; the settings in force stay (watch = ${this.config.watch})`);
      return [];
    }
    this.config = r.config;
    return [];
  }

  /** At start: an untrusted netmgrd.conf is logged and netmgrd does not start (exit 2, as for invalid input). */
  private refuseUntrustedConfig(errors: UnitError[]): void {
    if (!errors.length) return;
    for (const e of errors) this.log.error(formatUnitError(e));
    throw new NetmgrError(
      'invalid',
      `${DAEMON_CONFIG_FILE} fails the permission check; netmgrd does not start on settings someone other than root may have written`,
    );
  }

  /** On a reload: an untrusted netmgrd.conf is an invalid outcome; the settings and the running configuration stay. */
  private untrustedConfigOutcome(trigger: ApplyTrigger, errors: UnitError[]): ApplyOutcome {
    const message = `${DAEMON_CONFIG_FILE} fails the permission check; nothing applied, the settings in force and the running configuration stay`;
    return this.applier.settle(this.applier.outcome(trigger, 'invalid', message, { errors }));
  }

  private async updateWatcher(): Promise<void> {
    const want = this.config.watch && this.opts.watch !== false && fs.existsSync(this.opts.unitDir);
    this.watcher = await reconcileWatcher(this.watcher, want ? this.config.watchDelayMs : undefined, {
      dir: this.opts.unitDir,
      onSettled: (files) => this.onUnitsChanged(files),
      log: this.log,
    });
  }

  private async updateListener(): Promise<void> {
    if (this.stopping) return;
    this.listener = await reconcileListener(this.listener, this.config.httpListen, this.listenerSources(), this.log);
  }

  /** What the status listener reads: the same status as `netmgr status`, and the bridges. */
  private listenerSources(): SnapshotSources {
    const { stateDir, unitDir } = this.opts;
    return {
      status: () => this.status(unitDir),
      bridges: this.manager,
      lastReloadAt: () => this.lastReloadAt,
      stateDir,
      unitDir,
      build: { version: pkg.version, nodejs: process.versions.node },
    };
  }

  private onUnitsChanged(files: string[]): void {
    if (this.stopping) return;
    this.log.info(`${this.opts.unitDir} changed (${files.join(', ')})`);
    this.log.debug(`watch: ${files.length} file(s) settled after ${this.config.watchDelayMs} ms`);
    this.reloadLogged('watch');
  }

  /** A reload nobody waits for (the watcher, deferred edits): its failure is logged. */
  private reloadLogged(trigger: ApplyTrigger): void {
    this.reload(trigger).catch((e) => this.log.error(`reload: ${messageOf(e)}`));
  }

  /** SIGHUP, `netmgr reload` and the watcher: netmgrd.conf and the unit directory read again, applied, verified. */
  async reload(trigger: ApplyTrigger = 'reload'): Promise<ApplyOutcome> {
    const outcome = await this.applier.serialized(() => {
      this.notify('RELOADING=1');
      const untrusted = this.readConfig();
      return untrusted.length ? this.untrustedConfigOutcome(trigger, untrusted) : this.applier.applyUnitDir(trigger);
    });
    if (outcome.result === 'applied' || outcome.result === 'unchanged') this.lastReloadAt = outcome.time;
    await this.updateWatcher();
    await this.updateListener();
    this.notify(`READY=1\nSTATUS=last apply: ${outcome.result} (${outcome.trigger})`);
    return outcome;
  }

  /** At start: an apply awaiting confirmation comes back (to be confirmed or rolled back); else the unit directory. */
  private startupApply(): void {
    try {
      recoverInterrupted(this.applier.applyOptions());
    } catch (e) {
      this.log.error(messageOf(e));
    }
    if (this.confirms.restore(this.opts.applyOnStart)) return;
    if (this.opts.applyOnStart) this.applier.applyUnitDir('start');
  }

  /** A DHCP lease came, changed or went: applied in the queue like any other change. */
  private applyLeases(): void {
    if (this.stopping) return;
    this.applier.serialized(() => this.applier.applyLeases()).catch((e) => this.log.error(`dhcp: ${messageOf(e)}`));
  }

  private status(unitDir: string): StatusReport {
    const bridges = this.manager.live();
    const report = buildStatus({
      unitDir,
      stateDir: this.opts.stateDir,
      bridges,
      record: this.applier.record,
      pending: this.confirms.pending,
      daemon: {
        pid: process.pid,
        since: this.since,
        watching: !!this.watcher,
        unitDir: this.opts.unitDir,
        ...(this.listener ? { statusUrl: this.listener.url } : {}),
      },
      counters: bridgeCounters(this.manager, bridges),
    });
    report.dhcp = this.dhcp.status();
    return report;
  }

  /**
   * The forwarding worker is gone: netmgrd exits non-zero so that systemd restarts it (Restart=on-failure). It is
   * not restarted in place: the dead worker's TAP devices, packet and upcall sockets are file descriptors of this
   * process that only its exit closes (a new worker could not create the same TAPs), and a fresh start runs the
   * tested recovery: stale host isolation released, kernel bridges adopted, the units applied again.
   */
  private forwardingDied(reason: string): void {
    this.log.error(`${reason}; exiting so that netmgrd is restarted`);
    process.exit(EXIT_FORWARDING_DIED);
  }

  /**
   * Stops serving and takes the bridges down (ports detached, host isolation removed, TAPs closed). A pending
   * confirm stays recorded: the next netmgrd brings that apply back and keeps the deadline.
   */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.notify('STOPPING=1');
    this.confirms.stop();
    this.dhcp.shutdown();
    void this.watcher?.close();
    this.listener?.close();
    this.server.close();
    this.manager.shutdown();
  }
}
