/**
 * Stable datapath port numbers, as root: netmgrd runs a userspace learning bridge between two namespaced hosts
 * (ports `-p1`, `-p2`); while one pings the other every 20 ms, `netmgr apply` adds port units whose names sort
 * before theirs (`-a0`...). Ports were once numbered in unit-name order, and a port whose number changed was
 * removed and added again: this apply then cost the two hosts their ports (75-80 % of the pings lost). Now a
 * running port keeps its number and a new one takes the lowest free: the hosts' numbers are unchanged, the plan
 * does not touch their ports, and their pings lose at most one. A pinned number (`number = N`) is then applied, and
 * a restarted netmgrd builds the bridge again with the numbers it had.
 */
import { spawn } from 'child_process';
import { isRoot, netmgr, NETMGR, ping, sh, tempDir, writeUnits } from '../helpers/sys';
import { startDaemon, stopAndClean, TestDaemon } from '../helpers/daemon';

const P = 'pn' + Math.random().toString(36).slice(2, 5);
const units = tempDir('pn-units');
const state = tempDir('pn-state');
const NET = '198.18.131';
const BR = `${P}-br`;
/** Ports added under the pings; their peers share one namespace without IPv6 (no flooded chatter). */
const ADDED = 20;
let daemon: TestDaemon | undefined;
const it = isRoot() ? test : test.skip;
jest.setTimeout(180_000);

const QUIET = `${P}-q`;
const host = (n: number) =>
  `[unit]\ntype = "port"\n[port]\nbridge = "${BR}"\nkind = "veth"\nnamespace = "${P}-h${n}"\npeer = "${P}-e${n}"\n` +
  `[ipv4]\naddresses = ["${NET}.${n}/24"]\n`;
const added = (i: number, extra = '') =>
  `[unit]\ntype = "port"\n[port]\nbridge = "${BR}"\nkind = "veth"\nnamespace = "${QUIET}"\npeer = "${P}-y${i}"\n${extra}`;

function baseUnits(): Record<string, string> {
  return {
    [BR]: '[unit]\ntype = "bridge"\n[bridge]\ndatapath = "userspace"\npolicy = "learning"\n',
    [`${P}-p1`]: host(1),
    [`${P}-p2`]: host(2),
  };
}

/** Port numbers by name, from `netmgr dpctl show`. */
function dpNumbers(): Map<string, number> {
  const r = netmgr(['dpctl', 'show', BR], daemon!.env);
  expect(r.code).toBe(0);
  return new Map([...r.stdout.matchAll(/^ {2}port (\d+): (\S+)/gm)].map((m) => [m[2], Number(m[1])]));
}

/** Replies and the highest sequence sent of a ping every 20 ms from host 1 to host 2 while `during` runs. */
async function pingWhile<T>(during: () => Promise<T>): Promise<{ replies: number; sent: number; r: T }> {
  const pinger = spawn('ip', ['netns', 'exec', `${P}-h1`, 'ping', '-n', '-i', '0.02', '-w', '120', `${NET}.2`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  pinger.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise((r) => pinger.on('close', r));
  await new Promise((r) => setTimeout(r, 1000));
  const r = await during();
  await new Promise((r) => setTimeout(r, 1000));
  pinger.kill('SIGINT');
  await done;
  const seqs = [...out.matchAll(/icmp_seq=(\d+)/g)].map((m) => Number(m[1]));
  return { replies: new Set(seqs).size, sent: Math.max(0, ...seqs), r };
}

/** `netmgr apply` without blocking this process (its event loop keeps reading ping's output meanwhile). */
function applyAsync(): Promise<{ code: number | null; out: string }> {
  const p = spawn(process.execPath, [NETMGR, 'apply', '--dir', units], {
    env: { ...process.env, ...daemon!.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((r) => p.on('close', (code) => r({ code, out })));
}

beforeAll(async () => {
  if (!isRoot()) return;
  sh('ip', ['netns', 'add', QUIET]);
  for (const k of ['default', 'all'])
    sh('ip', ['netns', 'exec', QUIET, 'sysctl', '-qw', `net.ipv6.conf.${k}.disable_ipv6=1`]);
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

it(`adding ${ADDED} ports that sort first keeps the running ports' numbers and their pings`, async () => {
  expect(ping(`${P}-h1`, `${NET}.2`, 3)).toBe(true);
  const before = dpNumbers();
  expect([before.get(`${P}-p1`), before.get(`${P}-p2`)]).toEqual([1, 2]);
  writeUnits(units, {
    ...baseUnits(),
    ...Object.fromEntries(Array.from({ length: ADDED }, (_, i) => [`${P}-a${i}`, added(i)])),
  });
  const plan = netmgr(['plan', '--dir', units], daemon!.env);
  expect(plan.stdout).not.toMatch(new RegExp(`port ${P}-p[12] `));
  const { replies, sent, r } = await pingWhile(applyAsync);
  console.log(`port numbers: apply of ${ADDED} ports sorting first: ${replies} replies of ${sent} pings`);
  expect(r.code).toBe(0);
  expect(r.out).toContain(`+ port ${P}-a0 on bridge ${BR} (port 3,`);
  expect(sent - replies).toBeLessThanOrEqual(1);
  const after = dpNumbers();
  expect([after.get(`${P}-p1`), after.get(`${P}-p2`)]).toEqual([1, 2]);
  // The new ports took the lowest free numbers, in name order.
  expect([...after.values()].sort((a, b) => a - b)).toEqual(Array.from({ length: ADDED + 3 }, (_, i) => i));
  expect(netmgr(['plan', '--dir', units], daemon!.env).stdout).toContain('No changes.');
});

it('removing a port frees its number; a pinned number is applied with the reason, others untouched', async () => {
  const ports = Object.fromEntries(Array.from({ length: ADDED }, (_, i) => [`${P}-a${i}`, added(i)]));
  const before = dpNumbers();
  const freed = Math.min(before.get(`${P}-a5`)!, before.get(`${P}-a7`)!);
  delete ports[`${P}-a5`];
  ports[`${P}-z0`] = added(ADDED);
  ports[`${P}-a7`] = added(7, 'number = 100\n');
  writeUnits(units, { ...baseUnits(), ...ports });
  const r = netmgr(['apply', '--dir', units], daemon!.env);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain(`its unit pins number = 100`);
  const after = dpNumbers();
  expect(after.get(`${P}-a7`)).toBe(100);
  // z0 takes the lowest number freed: a5's (removed) or a7's (moved to its pin in the same apply).
  expect(after.get(`${P}-z0`)).toBe(freed);
  expect([after.get(`${P}-p1`), after.get(`${P}-p2`)]).toEqual([1, 2]);
  expect(ping(`${P}-h1`, `${NET}.2`, 2)).toBe(true);
});

it('a restarted netmgrd builds the userspace bridge again with the numbers it had', async () => {
  const before = dpNumbers();
  await daemon!.stop();
  daemon = await startDaemon(units, state, ['--no-apply', '--no-watch']);
  const r = netmgr(['apply', '--dir', units], daemon.env);
  expect(r.code).toBe(0);
  // Numbered afresh, the hosts' ports would not be 1 and 2: their names sort after the a* ports'.
  expect(dpNumbers()).toEqual(before);
  expect(ping(`${P}-h1`, `${NET}.2`, 2)).toBe(true);
});
