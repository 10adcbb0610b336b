/**
 * Helpers of the loop-protection tests: port states as netmgrd logs them, frame counts with tcpdump, links the
 * test creates itself (veth pairs in the root namespace, always with the run's prefix), failover under ping.
 */
import { ChildProcess, spawn } from 'child_process';
import { sh } from '../helpers/sys';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Each port's state (discarding, learning, forwarding) from netmgrd's "<bridge>: port <name> (<no>) a -> b" lines. */
export function portStates(log: string, bridge: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = new RegExp(`${bridge}: port (\\S+) \\(\\d+\\) (?:discarding|learning|forwarding) -> (\\w+)$`, 'gm');
  for (const m of log.matchAll(re)) out.set(m[1], m[2]);
  return out;
}

/** Each port's role from "<bridge>: port <name> (<no>) role a -> b" lines. */
export function portRoles(log: string, bridge: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = new RegExp(`${bridge}: port (\\S+) \\(\\d+\\) role \\w+ -> (\\w+)$`, 'gm');
  for (const m of log.matchAll(re)) out.set(m[1], m[2]);
  return out;
}

/** Polls `ok` every 50 ms up to `ms`; the time it took, or undefined. */
export async function waitFor(ok: () => boolean, ms: number): Promise<number | undefined> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (ok()) return Date.now() - t0;
    await sleep(50);
  }
  return ok() ? Date.now() - t0 : undefined;
}

/** A veth pair in the root namespace (or with its second end in `ns`), up. */
export function veth(a: string, b: string, ns?: string): void {
  sh('ip', ['link', 'add', a, 'type', 'veth', 'peer', 'name', b, ...(ns ? ['netns', ns] : [])]);
  sh('ip', ['link', 'set', a, 'up']);
  if (ns) sh('ip', ['-n', ns, 'link', 'set', b, 'up']);
  else sh('ip', ['link', 'set', b, 'up']);
  sh('sysctl', ['-qw', `net.ipv6.conf.${a}.disable_ipv6=1`]);
  if (ns) sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `net.ipv6.conf.${b}.disable_ipv6=1`]);
  else sh('sysctl', ['-qw', `net.ipv6.conf.${b}.disable_ipv6=1`]);
}

/** tcpdump (-e) on an interface (in `ns` when given); stop() gives its lines. */
export async function capture(
  iface: string,
  filter: string[],
  ns?: string,
): Promise<{ stop(): Promise<string[]>; proc: ChildProcess }> {
  const cmd = [...(ns ? ['netns', 'exec', ns] : []), 'tcpdump', '-i', iface, '-n', '-e', '-l', '-p', ...filter];
  const p = ns
    ? spawn('ip', cmd, { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr.on('data', (d: Buffer) => (err += d.toString()));
  for (let i = 0; i < 100 && !err.includes('listening on'); i++) await sleep(50);
  if (!err.includes('listening on')) throw new Error(`tcpdump did not start: ${err}`);
  return {
    proc: p,
    async stop() {
      await sleep(200);
      const closed = new Promise((r) => p.once('close', r));
      p.kill('SIGINT');
      await closed;
      return out.split('\n').filter((l) => l.trim() !== '');
    },
  };
}

/**
 * A failover measured under `ping -i 0.01` (about 4 s) from namespace `ns`: `cut` runs 1 s in (a link goes down).
 * Returns the requests sent, the replies lost (10 ms of outage each at the nominal interval) and the longest gap
 * between two replies (ping -D stamps them), which still holds when a loaded machine stretches the interval.
 */
export async function pingOutage(
  ns: string,
  address: string,
  cut: () => void,
): Promise<{ sent: number; lost: number; gapMs: number; out: string }> {
  const args = ['netns', 'exec', ns, 'ping', '-D', '-i', '0.01', '-c', '400', '-W', '1', address];
  const p = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise((r) => p.once('close', r));
  await sleep(1000);
  cut();
  await done;
  const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
  if (!m) throw new Error(`ping gave no summary: ${out}`);
  const stamps = [...out.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from/gm)].map((x) => Number(x[1]) * 1000);
  const gapMs = Math.round(Math.max(0, ...stamps.slice(1).map((t, i) => t - stamps[i])));
  return { sent: Number(m[1]), lost: Number(m[1]) - Number(m[2]), gapMs, out };
}
