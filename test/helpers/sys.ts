/**
 * Helpers for root integration tests: a per-run name prefix so parallel runs never collide, an independent view
 * of the system through iproute2's JSON output (not netmgr's own reader), and cleanup that runs even on failure.
 */
import { execFileSync, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { RTPROT_KERNEL } from '../../src/netlink/route';

export const REPO = path.resolve(__dirname, '..', '..');
export const NETMGR = path.join(REPO, 'bin', 'netmgr');

export const isRoot = (): boolean => process.getuid?.() === 0;

/**
 * Whether `command args` runs here. When it does not, a test is registered saying which Debian package provides it:
 * as root it fails (the README's test command installs test/packages.txt, so a missing tool is a broken setup, not
 * a reason to test less); as another user it is skipped and counted by test/helpers/not-run-reporter.js. Callers
 * skip the tests that need the tool when this is false.
 */
export function haveTool(command: string, args: string[], debianPackage: string): boolean {
  if (spawnSync(command, args, { stdio: 'ignore' }).status === 0) return true;
  const title = `${command} is missing: apt-get install ${debianPackage}`;
  if (isRoot())
    test(title, () => {
      throw new Error(`${title} (it is in test/packages.txt)`);
    });
  else test.skip(title, () => {});
  return false;
}

/** Four characters: short enough that "<prefix>-name" stays within the 15-byte interface-name limit. */
export function runPrefix(): string {
  return 't' + Math.random().toString(36).slice(2, 5);
}

export function sh(cmd: string, args: string[], opts: { allowFail?: boolean } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0 && !opts.allowFail) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

export interface NetmgrRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the netmgr CLI (inside network namespace `netns` when given, as a box of its own). */
export function netmgr(args: string[], env: Record<string, string> = {}, netns?: string): NetmgrRun {
  const argv = [process.execPath, NETMGR, ...args];
  const r = spawnSync(netns ? 'ip' : argv[0], netns ? ['netns', 'exec', netns, ...argv] : argv.slice(1), {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 64 << 20,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export const namespacesWithPrefix = (prefix: string): string[] =>
  (fs.existsSync('/run/netns') ? fs.readdirSync('/run/netns') : []).filter((n) => n.startsWith(prefix)).sort();

/** Removes every namespace and root-namespace link whose name starts with prefix. */
export function cleanupPrefix(prefix: string): void {
  for (const ns of namespacesWithPrefix(prefix)) sh('ip', ['netns', 'del', ns], { allowFail: true });
  const links = JSON.parse(sh('ip', ['-j', 'link', 'show'])) as { ifname: string }[];
  for (const l of links) if (l.ifname.startsWith(prefix)) sh('ip', ['link', 'del', l.ifname], { allowFail: true });
}

/** A scratch directory for units and state, removed by the caller's cleanup. */
export function tempDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `netmgr-${label}-`));
}

/**
 * A CLI-only test's own world: its run prefix (label appended), unit and state directories, and the environment of
 * its netmgr calls, whose socket path is its own so that a netmgrd running on the machine never takes its applies.
 */
export function cliWorld(label: string) {
  const units = tempDir(`${label}-units`);
  const state = tempDir(`${label}-state`);
  return {
    P: `${runPrefix()}${label}`,
    units,
    state,
    env: { NETMGR_STATE_DIR: state, NETMGR_SOCKET: path.join(state, 'no-netmgrd.sock') },
    dirArgs: ['--dir', units],
  };
}

export function writeUnits(dir: string, units: Record<string, string>): void {
  for (const f of fs.readdirSync(dir)) if (f.endsWith('.toml')) fs.unlinkSync(path.join(dir, f));
  for (const [name, text] of Object.entries(units)) fs.writeFileSync(path.join(dir, `${name}.toml`), text);
}

type Json = Record<string, unknown>;

/** Fields that move on their own (counters, timers) and say nothing about configuration. */
const VOLATILE = new Set([
  'stats',
  'stats64',
  'valid_life_time',
  'preferred_life_time',
  'expires',
  'txqlen',
  'operstate',
  'linkmode',
  'qdisc',
  'link_netnsid',
  'tentative',
]);

function strip(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(strip);
  if (v && typeof v === 'object') {
    const o: Json = {};
    for (const [k, x] of Object.entries(v as Json)) if (!VOLATILE.has(k)) o[k] = strip(x);
    return o;
  }
  return v;
}

function nsArgs(ns: string | null): string[] {
  return ns ? ['-n', ns] : [];
}

/**
 * The full configuration netmgr could have touched, read with iproute2: the list of this run's namespaces, every
 * link (with details), address and route (every table, IPv4 and IPv6, but the kernel's own) inside them, and this
 * run's links and the routes through them in the root namespace.
 */
export function systemDump(prefix: string, extraNamespaces: string[] = []): Json {
  const out: Json = {};
  const namespaces = [...new Set([...namespacesWithPrefix(prefix), ...extraNamespaces])].sort();
  out.namespaces = namespaces;
  for (const ns of [null, ...namespaces]) {
    let links = JSON.parse(sh('ip', [...nsArgs(ns), '-j', '-d', 'addr', 'show'])) as Json[];
    if (ns === null) links = links.filter((l) => String(l.ifname).startsWith(prefix));
    out[ns ?? '(root)'] = strip(links);
    // Every route of every table, both families (in the root namespace: those through this run's links), but the
    // kernel's own: those follow from the addresses and links compared above (an IPv6 link-local address gets its
    // route only once duplicate address detection is over, which would make the dump depend on timing).
    for (const family of ['-4', '-6']) {
      // -N: protocols as numbers whatever /etc/iproute2/rt_protos.d names them (the package test adds a name for 44).
      let routes = JSON.parse(sh('ip', ['-N', ...nsArgs(ns), family, '-j', 'route', 'show', 'table', 'all'])) as Json[];
      routes = routes.filter((r) => r.protocol !== String(RTPROT_KERNEL));
      if (ns === null) routes = routes.filter((r) => String(r.dev).startsWith(prefix));
      // Sorted: the kernel lists routes of one prefix in the order they were added, which a rollback may change.
      out[`${ns ?? '(root)'} routes ${family}`] = routes.map((r) => JSON.stringify(strip(r))).sort();
    }
  }
  return out;
}

/**
 * Records link/address events in the given namespaces until stop() is called. In the root namespace, which other
 * tests share, only event lines naming an interface with `rootPrefix` are kept.
 */
export function monitor(namespaces: (string | null)[], rootPrefix?: string) {
  const procs = namespaces.map((ns) => {
    const p = spawn('ip', [...nsArgs(ns), 'monitor', 'link', 'address'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let text = '';
    p.stdout.on('data', (d: Buffer) => (text += d.toString()));
    const keep = (t: string) =>
      ns === null && rootPrefix
        ? t
            .split('\n')
            .filter((l) => l.includes(rootPrefix))
            .join('\n')
        : t;
    return {
      p,
      get text() {
        return keep(text);
      },
    };
  });
  return {
    async stop(): Promise<string> {
      await new Promise((r) => setTimeout(r, 300));
      for (const x of procs) x.p.kill('SIGTERM');
      return procs.map((x) => x.text).join('');
    },
  };
}

export function ping(ns: string, address: string, count = 2): boolean {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'ping', '-c', String(count), '-i', '0.2', '-W', '1', address], {
    encoding: 'utf8',
  });
  return r.status === 0;
}

export function linkIndex(ns: string | null, name: string): number {
  const [l] = JSON.parse(sh('ip', [...nsArgs(ns), '-j', 'link', 'show', 'dev', name])) as { ifindex: number }[];
  return l.ifindex;
}

export { execFileSync };

/** Waits until no address in these namespaces is still tentative (IPv6 DAD), so the kernel's own events are over. */
export async function settleDad(namespaces: (string | null)[], timeoutMs = 5000, rootPrefix?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // In the root namespace, which other tests share, only this run's links (named with rootPrefix) when given.
  const tentative = (ns: string | null) =>
    sh('ip', [...nsArgs(ns), '-o', '-6', 'addr', 'show', 'tentative'])
      .split('\n')
      .filter(
        (l) =>
          l.trim() !== '' && (ns !== null || rootPrefix === undefined || l.split(/\s+/)[1]?.startsWith(rootPrefix)),
      );
  while (Date.now() < deadline) {
    const busy = namespaces.some((ns) => tentative(ns).length > 0);
    if (!busy) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('IPv6 duplicate address detection did not finish in time');
}
