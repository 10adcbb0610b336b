/**
 * Helpers of the loop-protection tests: port states as netmgrd logs them, frame counts with tcpdump, links the
 * test creates itself (veth pairs in the root namespace, always with the run's prefix).
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
