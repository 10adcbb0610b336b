/**
 * A private Open vSwitch for tests: its own ovsdb-server and ovs-vswitchd with OVS_RUNDIR, LOGDIR, DBDIR and
 * SYSCONFDIR in a temp dir, so nothing touches the system's OVS (/var/run/openvswitch, its service). Both run in
 * the foreground (not --detach): the test owns these children and stop() ends exactly their PIDs.
 */
import { spawn, execFileSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const OVS_BINARIES = ['ovsdb-tool', 'ovsdb-server', 'ovs-vswitchd', 'ovs-vsctl', 'ovs-appctl'];
const SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

export function which(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/bin', '/sbin'])) {
    const p = path.join(dir, bin);
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

/** The OVS programs that are not installed (empty when Debian's openvswitch-switch is). */
export const missingOvsBinaries = (): string[] => OVS_BINARIES.filter((b) => !which(b));

export interface PrivateOvs {
  dir: string;
  /** The ovsdb-server's socket and ovs-vswitchd's unixctl socket. */
  db: string;
  ctl: string;
  procs: ChildProcess[];
  /** ovs-vsctl against the private database (waits for ovs-vswitchd to apply unless given --no-wait). */
  vsctl(args: string[]): string;
  /** ovs-appctl to the private ovs-vswitchd; a failure is returned, not thrown. */
  appctl(args: string[]): { ok: boolean; out: string };
  /** SIGTERM to both PIDs, then SIGKILL to one still there after 5 s; removes the temp dir. */
  stop(): Promise<void>;
}

export interface PrivateOvsOptions {
  /** ovs-vswitchd's arguments besides the database, --unixctl and --log-file (e.g. --disable-system). */
  vswitchdArgs: string[];
  /** ovs-vsctl commands run with --no-wait before ovs-vswitchd starts (Open_vSwitch settings it reads at start). */
  init?: string[][];
  /** Run ovs-vswitchd inside this network namespace (`ip netns exec`, which execs: the PID stays the daemon's). */
  netns?: string;
}

function run(bin: string, args: string[], env: NodeJS.ProcessEnv): string {
  return execFileSync(which(bin) as string, args, {
    env,
    encoding: 'utf8',
    timeout: 20000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

async function waitForFile(file: string, ms: number, proc: ChildProcess): Promise<void> {
  const until = Date.now() + ms;
  while (!fs.existsSync(file)) {
    if (proc.exitCode !== null) throw new Error(`${String(proc.spawnargs.join(' '))} exited (${proc.exitCode})`);
    if (Date.now() > until) throw new Error(`timed out waiting for ${file}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function end(p: ChildProcess): Promise<void> {
  if (p.pid === undefined || p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  const timer = setTimeout(() => p.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** Starts ovsdb-server on a fresh database, then ovs-vswitchd; on a failure, stops what it started. */
export async function startPrivateOvs(opts: PrivateOvsOptions): Promise<PrivateOvs> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netmgr-ovs-'));
  const env = {
    ...process.env,
    OVS_RUNDIR: dir,
    OVS_LOGDIR: dir,
    OVS_DBDIR: dir,
    OVS_SYSCONFDIR: dir,
    OVS_PKGDATADIR: '/usr/share/openvswitch',
  };
  const conf = path.join(dir, 'conf.db');
  const db = path.join(dir, 'db.sock');
  const ctl = path.join(dir, 'vswitchd.ctl');
  const procs: ChildProcess[] = [];
  const ovs: PrivateOvs = {
    dir,
    db,
    ctl,
    procs,
    vsctl: (args) => run('ovs-vsctl', [`--db=unix:${db}`, '--timeout=20', ...args], env),
    appctl(args) {
      try {
        return { ok: true, out: run('ovs-appctl', ['-t', ctl, ...args], env) };
      } catch (e) {
        const err = e as { stderr?: string; stdout?: string };
        return { ok: false, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
      }
    },
    async stop() {
      await Promise.all(procs.map(end));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    run('ovsdb-tool', ['create', conf, SCHEMA], env);
    const server = spawn(
      which('ovsdb-server') as string,
      [conf, `--remote=punix:${db}`, `--unixctl=${path.join(dir, 'ovsdb.ctl')}`, `--log-file=${dir}/ovsdb.log`],
      { env, stdio: 'ignore' },
    );
    procs.push(server);
    await waitForFile(db, 10000, server);
    ovs.vsctl(['--no-wait', 'init']);
    for (const cmd of opts.init ?? []) ovs.vsctl(['--no-wait', ...cmd]);
    const args = [`unix:${db}`, ...opts.vswitchdArgs, `--unixctl=${ctl}`, `--log-file=${dir}/vswitchd.log`];
    const vswitchd = opts.netns
      ? spawn('ip', ['netns', 'exec', opts.netns, which('ovs-vswitchd') as string, ...args], { env, stdio: 'ignore' })
      : spawn(which('ovs-vswitchd') as string, args, { env, stdio: 'ignore' });
    procs.push(vswitchd);
    await waitForFile(ctl, 10000, vswitchd);
    return ovs;
  } catch (e) {
    await ovs.stop();
    throw e;
  }
}
