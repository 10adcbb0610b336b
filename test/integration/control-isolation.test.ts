/**
 * Forwarding never waits for control work (issue 20), as root: netmgrd runs a userspace learning bridge between two
 * namespaced hosts; one host pings the other every 10 ms while netmgrd's main thread is kept busy by large unit
 * sets handed over for apply (each parsed and validated in full before it is refused) and a `status` loop. The
 * longest gap between two ping replies must stay small: the bridge's packets are switched by the forwarding
 * worker, not by the thread that parses units. Then the same while netmgrd adds (and removes) 200 veth ports on
 * another userspace bridge: each port is a short call into the worker, between two forwarding callbacks. The
 * figures are printed so a run can be compared with the code before the worker (where the gap was the length of
 * one parse: seconds).
 */
import { spawn } from 'child_process';
import { send } from '../../src/daemon/client';
import { ApplyRequest, StatusRequest } from '../../src/daemon/protocol';
import type { UnitSource } from '../../src/units';
import { isRoot, netmgr, NETMGR, ping, runPrefix, sh, tempDir, writeUnits } from '../helpers/sys';
import { startDaemon, stopAndClean, TestDaemon } from '../helpers/daemon';

const P = `${runPrefix()}ci`;
const units = tempDir('ci-units');
const state = tempDir('ci-state');
const NET = '198.18.130';
const BR = `${P}-br`;
/** The unrelated bridge the second test fills with veth ports while the first one forwards the pings. */
const BR2 = `${P}-b2`;
const MANY_PORTS = 200;
let daemon: TestDaemon | undefined;
const it = isRoot() ? test : test.skip;
jest.setTimeout(240_000);

/** How long the pinging lasts, and how long the main thread is kept busy inside it. */
const PING_SECONDS = 8;
const LOAD_MS = 6000;
/**
 * The bound asserted. The goal is <= 20 ms, about this machine's noise floor (the longest gap with netmgrd idle is
 * 20-25 ms on the shared 2-core CI machine, whose load average runs at 3-4); under load the worker measured 32-56
 * ms, once 101 ms. The single-threaded netmgrd showed 1121 ms here (the length of one parse), so the bound still
 * tells the two apart by a factor of seven.
 */
const MAX_GAP_MS = 150;

/**
 * About 2 MB of port units that are each valid, and one whose bridge does not exist: netmgrd parses and checks
 * them all (seconds of its main thread) and then refuses the set, so nothing on the system changes.
 */
function heavyUnitSet(): UnitSource[] {
  const out: UnitSource[] = [{ file: 'br.toml', text: '[unit]\ntype = "bridge"\n[bridge]\ndatapath = "userspace"\n' }];
  for (let i = 0; i < 12_000; i++) {
    out.push({
      file: `p${i}.toml`,
      text:
        `# load unit ${i}\n[unit]\ntype = "port"\n[port]\nbridge = "br"\nkind = "veth"\nnamespace = "${P}n${i}"\n` +
        `peer = "${P}p${i}"\n[ipv4]\naddresses = ["10.${(i >> 8) & 255}.${i & 255}.1/24"]\n`,
    });
  }
  out.push({ file: 'zz.toml', text: '[unit]\ntype = "port"\n[port]\nbridge = "nosuch"\nkind = "veth"\n' });
  return out;
}

/** Reply arrival times (ms) from `ping -D` output, and the highest sequence number sent. */
function replies(out: string): { times: number[]; lastSeq: number } {
  const times: number[] = [];
  let lastSeq = 0;
  for (const m of out.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+)/gm)) {
    times.push(Number(m[1]) * 1000);
    lastSeq = Math.max(lastSeq, Number(m[2]));
  }
  return { times, lastSeq };
}

/** The largest difference between consecutive times. */
const maxGap = (times: number[]): number => longestGap(times).gap;

/** The largest difference between consecutive times, and the time it ended at. */
function longestGap(times: number[]): { gap: number; end: number } {
  let best = { gap: 0, end: times[0] ?? 0 };
  for (let i = 1; i < times.length; i++)
    if (times[i] - times[i - 1] > best.gap) best = { gap: times[i] - times[i - 1], end: times[i] };
  return best;
}

/** The learning bridge and its two hosts. */
function baseUnits(): Record<string, string> {
  const host = (n: number) =>
    `[unit]\ntype = "port"\n[port]\nbridge = "${BR}"\nkind = "veth"\nnamespace = "${P}-h${n}"\npeer = "${P}-e${n}"\n` +
    `[ipv4]\naddresses = ["${NET}.${n}/24"]\n`;
  return {
    [BR]: '[unit]\ntype = "bridge"\n[bridge]\ndatapath = "userspace"\npolicy = "learning"\n',
    [`${P}-p1`]: host(1),
    [`${P}-p2`]: host(2),
  };
}

beforeAll(async () => {
  if (!isRoot()) return;
  writeUnits(units, baseUnits());
  daemon = await startDaemon(units, state, ['--no-apply', '--no-watch']);
  const r = netmgr(['apply', '--dir', units], daemon.env);
  if (r.code !== 0) throw new Error(r.stdout + r.stderr);
  for (const n of [1, 2])
    sh('ip', ['netns', 'exec', `${P}-h${n}`, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1']);
});

afterAll(async () => {
  if (isRoot()) await stopAndClean(daemon, state, P, [units]);
});

/** Keeps netmgrd's main thread busy for about `ms`: heavy applies back to back, and status requests beside them. */
async function loadMainThread(ms: number): Promise<{ applies: number; busyMs: number; statuses: number }> {
  const socket = daemon!.env.NETMGR_SOCKET;
  const sources = heavyUnitSet();
  const end = Date.now() + ms;
  let applies = 0;
  let busyMs = 0;
  let statuses = 0;
  const statusLoop = (async () => {
    while (Date.now() < end) {
      await send(socket, StatusRequest, { unitDir: units });
      statuses++;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  while (Date.now() < end) {
    const t = Date.now();
    await expect(send(socket, ApplyRequest, { sources, dir: '/nonexistent' })).rejects.toMatchObject({
      body: expect.objectContaining({ kind: 'invalid' }),
    });
    busyMs += Date.now() - t;
    applies++;
  }
  await statusLoop;
  return { applies, busyMs, statuses };
}

/**
 * Pings every 10 ms from host 1 to host 2 while `during` runs: for `seconds`, or (stop) until `during` is done.
 * Returns the reply times and sequence and what `during` returned.
 */
async function pingWhile<T>(
  seconds: number,
  during: () => Promise<T>,
  stop = false,
): Promise<{ times: number[]; lastSeq: number; r: T }> {
  const pinger = spawn(
    'ip',
    ['netns', 'exec', `${P}-h1`, 'ping', '-n', '-D', '-i', '0.01', '-w', String(seconds), `${NET}.2`],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  pinger.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise((r) => pinger.on('close', r));
  const r = await during();
  if (stop) pinger.kill('SIGINT');
  await done;
  return { ...replies(out), r };
}

it('pings every 10 ms through a userspace learning bridge keep their pace while the main thread parses units', async () => {
  expect(ping(`${P}-h1`, `${NET}.2`, 3)).toBe(true);
  // The noise floor on this machine: the same pings with netmgrd idle.
  const idle = await pingWhile(2, async () => undefined);
  const idleGap = maxGap(idle.times);
  const {
    times,
    lastSeq,
    r: load,
  } = await pingWhile(PING_SECONDS, async () => {
    await new Promise((r) => setTimeout(r, 1000));
    return loadMainThread(LOAD_MS);
  });
  const gap = maxGap(times);
  const lost = lastSeq - times.length;
  console.log(
    `control isolation: idle: longest gap ${idleGap.toFixed(1)} ms over ${idle.times.length} replies; ` +
      `loaded: ${times.length} replies of ${lastSeq} pings (${lost} lost), longest gap ${gap.toFixed(1)} ms; ` +
      `main thread: ${load.applies} heavy applies refused (${load.busyMs} ms in them), ${load.statuses} status requests`,
  );
  // The load was real: the main thread spent most of the window on the unit sets.
  expect(load.applies).toBeGreaterThanOrEqual(2);
  expect(load.busyMs).toBeGreaterThan(LOAD_MS / 2);
  expect(times.length).toBeGreaterThan(lastSeq * 0.95);
  expect(gap).toBeLessThanOrEqual(MAX_GAP_MS);
});

/** `netmgr apply --dir` without blocking this process (its event loop keeps reading ping's output meanwhile). */
function applyAsync(dir: string): Promise<{ code: number | null; out: string; ms: number; start: number }> {
  const t = Date.now();
  const p = spawn(process.execPath, [NETMGR, 'apply', '--dir', dir], {
    env: { ...process.env, ...daemon!.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((r) => p.on('close', (code) => r({ code, out, ms: Date.now() - t, start: t })));
}

it(`pings keep their pace while netmgrd adds ${MANY_PORTS} veth ports to an unrelated userspace bridge`, async () => {
  // The peers live in one namespace without IPv6: 200 interfaces coming up would otherwise send router
  // solicitations and MLD reports that the learning bridge floods to its 199 other ports - forwarding work on the
  // same worker, which is not what this test measures (control work: the 200 port.add and port.remove calls).
  const quiet = `${P}-q`;
  sh('ip', ['netns', 'add', quiet]);
  for (const k of ['default', 'all'])
    sh('ip', ['netns', 'exec', quiet, 'sysctl', '-qw', `net.ipv6.conf.${k}.disable_ipv6=1`]);
  const port = (i: number) =>
    `[unit]\ntype = "port"\n[port]\nbridge = "${BR2}"\nkind = "veth"\nnamespace = "${quiet}"\npeer = "${P}-y${i}"\n`;
  writeUnits(units, {
    ...baseUnits(),
    [BR2]: '[unit]\ntype = "bridge"\n[bridge]\ndatapath = "userspace"\n',
    ...Object.fromEntries(Array.from({ length: MANY_PORTS }, (_, i) => [`${P}-x${i}`, port(i)])),
  });
  let applied = { code: null as number | null, out: '', ms: 0, start: 0 };
  const {
    times,
    lastSeq,
    r: removed,
  } = await pingWhile(
    170,
    async () => {
      await new Promise((r) => setTimeout(r, 500));
      applied = await applyAsync(units);
      // Back to the two hosts: the second bridge and its ports are removed again, still under the pings.
      if (applied.code === 0) writeUnits(units, baseUnits());
      return applied.code === 0 ? await applyAsync(units) : applied;
    },
    true,
  );
  expect(applied.out).toContain(`+ bridge ${BR2}`);
  expect(applied.code).toBe(0);
  expect(removed.code).toBe(0);
  const { gap, end } = longestGap(times);
  console.log(
    `control isolation: apply of ${MANY_PORTS} veth ports took ${applied.ms} ms, removing them ${removed.ms} ms; ` +
      `${times.length} replies of ${lastSeq} pings, longest gap ${gap.toFixed(1)} ms, ending ` +
      `${(end - applied.start).toFixed(0)} ms after the apply started (the removal started at ` +
      `${removed.start - applied.start} ms)`,
  );
  expect(times.length).toBeGreaterThan(lastSeq * 0.95);
  expect(gap).toBeLessThanOrEqual(MAX_GAP_MS);
});
