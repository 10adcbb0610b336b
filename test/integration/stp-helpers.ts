/**
 * Helpers of the loop-protection tests: units, port states as netmgrd logs them and as `netmgr stp show` reports
 * them, frame counts and raw frames with tcpdump, links and namespaces the test creates itself (always with the
 * run's prefix), and a Linux bridge running the kernel's 802.1D STP as the legacy neighbour; failover
 * under ping.
 */
import { ChildProcess, spawn } from 'child_process';
import { netmgr, sh } from '../helpers/sys';
import type { LoopProtectionView } from '../../src/policy/learning/loop-view';

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

/** `ip` in namespace `ns` (the root namespace when undefined). */
export const ipIn = (ns: string | undefined, args: string[]): string => sh('ip', [...(ns ? ['-n', ns] : []), ...args]);

const sysctlIn = (ns: string | undefined, setting: string): string =>
  ns ? sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', setting]) : sh('sysctl', ['-qw', setting]);

/** A namespace with IPv6 off for every link in it, present and future (no stray router solicitations or DAD). */
export function netns(name: string): void {
  sh('ip', ['netns', 'add', name]);
  for (const c of ['all', 'default']) sysctlIn(name, `net.ipv6.conf.${c}.disable_ipv6=1`);
}

/** A veth pair, up, IPv6 off: `a` in the root namespace (or `aNs`), `b` in `ns` (default: where `a` is). */
export function veth(a: string, b: string, ns?: string, aNs?: string): void {
  ipIn(aNs, ['link', 'add', a, 'type', 'veth', 'peer', 'name', b, ...(ns ? ['netns', ns] : [])]);
  const bNs = ns ?? aNs;
  ipIn(aNs, ['link', 'set', a, 'up']);
  ipIn(bNs, ['link', 'set', b, 'up']);
  sysctlIn(aNs, `net.ipv6.conf.${a}.disable_ipv6=1`);
  sysctlIn(bNs, `net.ipv6.conf.${b}.disable_ipv6=1`);
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

/** A netmgr bridge unit on the userspace datapath; `stp` is more [bridge] keys. */
export const bridgeUnit = (stp: string): string => `[unit]\ntype = "bridge"\n[bridge]\ndatapath = "userspace"\n${stp}`;
/** A port unit for an existing interface (a veth end the test created). */
export const systemPortUnit = (br: string): string =>
  `[unit]\ntype = "port"\n[port]\nbridge = "${br}"\nkind = "system"\n`;
/** A port unit for a veth that netmgr creates, its peer in namespace `ns` with an IPv4 address (a test host). */
export const vethHostUnit = (br: string, ns: string, peer: string, address: string): string =>
  `[unit]\ntype = "port"\n[port]\nbridge = "${br}"\nkind = "veth"\nnamespace = "${ns}"\npeer = "${peer}"\n` +
  `[ipv4]\naddresses = ["${address}"]\n`;

/** `netmgr stp show --json` (of one bridge, or of all). */
export function stpView(env: Record<string, string>, bridge?: string): LoopProtectionView[] {
  const r = netmgr(['stp', 'show', ...(bridge ? [bridge] : []), '--json'], env);
  if (r.code !== 0) throw new Error(r.stdout + r.stderr);
  return JSON.parse(r.stdout) as LoopProtectionView[];
}

/** Timers of a Linux bridge, in seconds (iproute2 takes centiseconds). */
export interface LinuxStpTimers {
  helloTime: number;
  forwardDelay: number;
  maxAge: number;
}

/**
 * A Linux bridge running the kernel's STP (802.1D-1998: inside a namespace other than the initial one the kernel
 * runs it itself, mstpd is never asked) in namespace `ns`, up, with `ports` (links already in `ns`) enslaved.
 */
export function linuxStpBridge(ns: string, name: string, priority: number, t: LinuxStpTimers, ports: string[]): void {
  const cs = (s: number) => String(Math.round(s * 100));
  ipIn(ns, [
    ...['link', 'add', 'name', name, 'type', 'bridge', 'stp_state', '1', 'priority', String(priority)],
    ...['hello_time', cs(t.helloTime), 'max_age', cs(t.maxAge), 'forward_delay', cs(t.forwardDelay)],
  ]);
  for (const p of ports) ipIn(ns, ['link', 'set', p, 'master', name]);
  ipIn(ns, ['link', 'set', name, 'up']);
}

/** Each port's STP state of the Linux bridges in `ns`: disabled, listening, learning, forwarding or blocking. */
export function linuxPortStates(ns: string): Map<string, string> {
  const ports = JSON.parse(ipIn(ns, ['-j', 'link', 'show', 'type', 'bridge_slave'])) as { ifname: string }[];
  const rows = JSON.parse(sh('bridge', ['-n', ns, '-j', 'link', 'show'])) as { ifname: string; state: string }[];
  return new Map(rows.filter((r) => ports.some((p) => p.ifname === r.ifname)).map((r) => [r.ifname, r.state]));
}

/** A Linux bridge's STP summary, from sysfs (iproute2 6.1 prints root_id wrong): identifiers as "8000.0200..". */
export interface LinuxBridgeInfo {
  bridge_id: string;
  root_id: string;
  root_port: number;
  root_path_cost: number;
  topology_change: number;
  topology_change_detected: number;
}

export function linuxBridgeInfo(ns: string, name: string): LinuxBridgeInfo {
  const keys = ['bridge_id', 'root_id', 'root_port', 'root_path_cost', 'topology_change', 'topology_change_detected'];
  const text = sh('ip', [
    'netns',
    'exec',
    ns,
    'grep',
    '-H',
    '.',
    ...keys.map((k) => `/sys/class/net/${name}/bridge/${k}`),
  ]);
  const out: Record<string, string | number> = {};
  for (const m of text.matchAll(/\/([a-z_]+):(.*)$/gm)) out[m[1]] = m[1].endsWith('_id') ? m[2] : Number(m[2]);
  return out as unknown as LinuxBridgeInfo;
}

/** A frame from `tcpdump -e -xx`: addresses, and the whole frame's octets (the Ethernet header included). */
export interface HexFrame {
  src: string;
  dst: string;
  data: Buffer;
}

/** The frames of `capture(iface, ['-xx', ...])` lines: a header line each, then its hex dump lines. */
export function hexFrames(lines: string[]): HexFrame[] {
  const out: HexFrame[] = [];
  for (const line of lines) {
    const dump = /^\s+0x[0-9a-f]+:\s+((?:[0-9a-f]{2,4}\s?)+)/.exec(line);
    if (dump && out.length) {
      const last = out[out.length - 1];
      last.data = Buffer.concat([last.data, Buffer.from(dump[1].replace(/\s/g, ''), 'hex')]);
      continue;
    }
    const head = /([0-9a-f:]{17}) > ([0-9a-f:]{17})/.exec(line);
    if (head) out.push({ src: head[1], dst: head[2], data: Buffer.alloc(0) });
  }
  return out;
}

/** A BPDU as it went on the wire (802.1D-2004 9.3); the Configuration fields are present for a Config or RST BPDU. */
export interface WireBpdu {
  version: number;
  type: number;
  flags: number;
  /** "1000.0200.." as netmgr and sysfs print a Bridge Identifier. */
  rootId?: string;
  rootPathCost?: number;
  bridgeId?: string;
  portId?: number;
  /** Seconds (the wire carries 1/256 s). */
  times?: { messageAge: number; maxAge: number; helloTime: number; forwardDelay: number };
}

/** The BPDU in a frame (after the LLC header 42 42 03, protocol identifier 0), or undefined if it is none. */
export function bpduOf(f: HexFrame): WireBpdu | undefined {
  const d = f.data.subarray(14);
  if (d.length < 7 || d[0] !== 0x42 || d[1] !== 0x42 || d[2] !== 0x03 || d.readUInt16BE(3) !== 0) return undefined;
  const b = d.subarray(3);
  const out: WireBpdu = { version: b[2], type: b[3], flags: b[4] ?? 0 };
  if (b.length < 35) return out;
  const id = (at: number) => `${b.subarray(at, at + 2).toString('hex')}.${b.subarray(at + 2, at + 8).toString('hex')}`;
  const time = (at: number) => b.readUInt16BE(at) / 256;
  return {
    ...out,
    rootId: id(5),
    rootPathCost: b.readUInt32BE(13),
    bridgeId: id(17),
    portId: b.readUInt16BE(25),
    times: { messageAge: time(27), maxAge: time(29), helloTime: time(31), forwardDelay: time(33) },
  };
}

/** A `ping -D` series from namespace `ns`: replies received, and the longest time without one. */
export function pingSeries(ns: string, address: string, intervalS: number, count: number) {
  const p = spawn(
    'ip',
    ['netns', 'exec', ns, 'ping', '-D', '-n', '-i', String(intervalS), '-c', String(count), '-W', '1', address],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const closed = new Promise((r) => p.once('close', r));
  return {
    proc: p,
    /** Waits for the end. Times are ms since the epoch (ping -D); `gap` is the longest between two replies. */
    async done(): Promise<{ sent: number; received: number; gap: { ms: number; from: number; to: number } }> {
      await closed;
      const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
      if (!m) throw new Error(`ping printed no summary: ${out}`);
      const times = [...out.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from/gm)].map((r) => Number(r[1]) * 1000);
      const gap = { ms: 0, from: 0, to: 0 };
      for (let i = 1; i < times.length; i++)
        if (times[i] - times[i - 1] > gap.ms)
          Object.assign(gap, { ms: times[i] - times[i - 1], from: times[i - 1], to: times[i] });
      return { sent: Number(m[1]), received: Number(m[2]), gap };
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
