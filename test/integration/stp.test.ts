/**
 * Loop protection end to end, as root, on the userspace datapath: two netmgr bridges in one netmgrd joined by two
 * veth links. With stp = "rstp" they converge within 3 s with exactly one port discarding, a broadcast stays a few
 * frames, and the active link going down costs at most a second of pings (measured, printed). With stp and loop
 * detection off (changed in place) the same wiring storms: a tc tbf rate on link 1 bounds its rate (thousands of
 * frames a second, counted by the links' own counters), and it is stopped after a second. A veth pair joining two ports of one bridge (stp off) is caught by loop detection within two
 * intervals while its hosts still ping.
 */
import * as fs from 'fs';
import * as path from 'path';
import { isRoot, netmgr, ping, runPrefix, sh, tempDir, writeUnits } from '../helpers/sys';
import { startDaemon, stopAndClean, TestDaemon } from '../helpers/daemon';
import {
  bridgeUnit,
  capture,
  pingOutage,
  portRoles,
  portStates,
  sleep,
  stpView,
  systemPortUnit,
  veth,
  vethHostUnit,
  waitFor,
} from './stp-helpers';

const P = `${runPrefix()}st`;
const units = tempDir('st-units');
const state = tempDir('st-state');
const NET = '198.18.150';
const A = `${P}a`;
const B = `${P}b`;
const C = `${P}c`;
const D = `${P}d`;
const L = {
  ...{ a1: `${P}l1a`, b1: `${P}l1b`, a2: `${P}l2a`, b2: `${P}l2b` },
  ...{ la: `${P}lpa`, lb: `${P}lpb`, da: `${P}lda`, db: `${P}ldb` },
};
let daemon: TestDaemon | undefined;
/** The negative control's rate on link 1, each direction: about 4000 frames of 60 bytes a second. */
const TBF_KBIT = 2000;
/** A link's transmitted and received frames, from its counters. */
const txRx = (dev: string) => {
  const read = (f: string) => Number(fs.readFileSync(`/sys/class/net/${dev}/statistics/${f}`, 'utf8'));
  return { tx: read('tx_packets'), rx: read('rx_packets') };
};
const it = isRoot() ? test : test.skip;
jest.setTimeout(120_000);

const bridge = bridgeUnit;
const system = systemPortUnit;
const host = (br: string, n: number) => vethHostUnit(br, `${P}-n${n}`, `${P}e${n}`, `${NET}.${n}/24`);

function apply(stpA: string, stpB: string): void {
  writeUnits(units, {
    [A]: bridge(stpA),
    [B]: bridge(stpB),
    [C]: bridge('stp = "off"\nloop-detect-interval = 1\nloop-recovery = 600\n'),
    // D: the same loop with the shortest recovery, to see the timer lift the block.
    [D]: bridge('stp = "off"\nloop-detect-interval = 1\nloop-recovery = 5\n'),
    [L.da]: system(D),
    [L.db]: system(D),
    [L.a1]: system(A),
    [L.a2]: system(A),
    [L.b1]: system(B),
    [L.b2]: system(B),
    [L.la]: system(C),
    [L.lb]: system(C),
    [`${P}h1`]: host(A, 1),
    [`${P}h2`]: host(B, 2),
    [`${P}h3`]: host(C, 3),
    [`${P}h4`]: host(C, 4),
  });
  const r = netmgr(['apply', '--dir', units], daemon!.env);
  if (r.code !== 0) throw new Error(r.stdout + r.stderr);
}

const stpShow = (bridge?: string) => stpView(daemon!.env, bridge);

/** The B-side link ports' states; with A the root, B's link ports decide which link carries traffic. */
const bStates = () => portStates(daemon!.log(), B);
const discardingLinkPorts = () => {
  const s = new Map([...portStates(daemon!.log(), A), ...bStates()]);
  return [L.a1, L.a2, L.b1, L.b2].filter((p) => s.get(p) !== 'forwarding');
};

beforeAll(async () => {
  if (!isRoot()) return;
  veth(L.a1, L.b1);
  veth(L.a2, L.b2);
  veth(L.la, L.lb);
  veth(L.da, L.db);
  daemon = await startDaemon(units, state, ['--no-apply', '--no-watch']);
  apply('stp = "rstp"\nstp-priority = 4096\n', 'stp = "rstp"\n');
  for (const n of [1, 2, 3, 4])
    sh('ip', ['netns', 'exec', `${P}-n${n}`, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1']);
});

afterAll(async () => {
  if (isRoot()) await stopAndClean(daemon, state, P, [units]);
});

it('rstp: converged within 3 s with exactly one link port discarding (an alternate on B)', async () => {
  const took = await waitFor(
    () => discardingLinkPorts().length === 1 && [...portRoles(daemon!.log(), B).values()].includes('alternate'),
    3000,
  );
  console.log(`rstp convergence: ${took} ms after apply`);
  if (took === undefined) console.log(daemon!.log());
  expect(took).toBeDefined();
  expect(discardingLinkPorts()).toHaveLength(1);
  expect(discardingLinkPorts()[0].startsWith(`${P}l`) && discardingLinkPorts()[0].endsWith('b')).toBe(true);
  // netmgr stp show agrees: A is the root, B has one root and one alternate link port.
  const views = stpShow();
  const a = views.find((v) => v.bridge === A)!.rstp!;
  const b = views.find((v) => v.bridge === B)!.rstp!;
  expect(a.isRoot).toBe(true);
  expect(b.rootId).toBe(a.bridgeId);
  const linkRoles = (v: typeof b) =>
    v.ports
      .filter((p) => p.name.startsWith(`${P}l`))
      .map((p) => `${p.role}/${p.state}`)
      .sort();
  expect(linkRoles(a)).toEqual(['designated/forwarding', 'designated/forwarding']);
  expect(linkRoles(b)).toEqual(['alternate/discarding', 'root/forwarding']);
  expect(netmgr(['stp', 'show', B], daemon!.env).stdout).toMatch(/alternate\s+discarding/);
  // Hosts forward once their ports are edge ports (a few seconds without BPDUs).
  await waitFor(() => ping(`${P}-n1`, `${NET}.2`, 1), 8000);
  expect(ping(`${P}-n1`, `${NET}.2`, 2)).toBe(true);
});

it('rstp: one broadcast from a host is a few frames on the links over 3 s, not a storm', async () => {
  const caps = await Promise.all([
    capture(L.a1, ['ether', 'src', '02:00:00:96:00:01']),
    capture(L.a2, ['ether', 'src', '02:00:00:96:00:01']),
  ]);
  const frame = 'ffffffffffff' + '020000960001' + '88b5' + '00'.repeat(46);
  const helper = path.join(__dirname, '..', 'helpers', 'send-frames.js');
  sh('ip', ['netns', 'exec', `${P}-n1`, process.execPath, helper, `${P}e1`, 'frames', frame]);
  await sleep(3000);
  const lines = (await Promise.all(caps.map((c) => c.stop()))).flat();
  console.log(`rstp: one broadcast -> ${lines.length} frame(s) on the two links in 3 s`);
  expect(lines.length).toBeGreaterThanOrEqual(1);
  expect(lines.length).toBeLessThanOrEqual(24);
});

it('rstp: the active link goes down under ping -i 0.01: outage at most 1 s', async () => {
  const active = bStates().get(L.b1) === 'forwarding' ? L.b1 : L.b2;
  const { sent, lost } = await pingOutage(`${P}-n1`, `${NET}.2`, () => sh('ip', ['link', 'set', active, 'down']));
  console.log(`rstp failover: ${lost} of ${sent} replies lost at 10 ms intervals: outage about ${lost * 10} ms`);
  if (lost * 10 > 1000)
    console.log(
      daemon!
        .log()
        .split('\n')
        .filter((l) => !l.includes(' MAC '))
        .slice(-40)
        .join('\n'),
    );
  expect(lost * 10).toBeLessThanOrEqual(1000);
  sh('ip', ['link', 'set', active, 'up']);
});

it('loop detection (stp off): a veth joining two ports of one bridge is blocked within 2 intervals; hosts ping', async () => {
  const blocked = () =>
    /warning: .*loop detected: a probe sent out of port \S+ \(\d+\) came back on port/.test(daemon!.log());
  const took = await waitFor(blocked, 2000);
  const line = daemon!
    .log()
    .split('\n')
    .find((l) => l.includes(`${C}: loop detected`));
  console.log(`loop detection: ${line}`);
  expect(took).toBeDefined();
  expect(line).toContain(L.la);
  expect(line).toContain(L.lb);
  expect(ping(`${P}-n3`, `${NET}.4`, 3)).toBe(true);
});

it('loop detection: the block lifts after loop-recovery (5 s), and the loop still there blocks a port again', async () => {
  // D's loop is blocked, lifted by the timer and blocked again every ~5 s: time one whole turn from a new block.
  const count = (re: RegExp) => daemon!.log().split(re).length - 1;
  const blockedRe = new RegExp(`warning: ${D}: loop detected: .* is blocked for 5 s`);
  const liftedRe = new RegExp(`${D}: port \\S+ \\(\\d+\\) unblocked \\(recovery-timer\\); probing it again`);
  const blocks = count(blockedRe);
  expect(await waitFor(() => count(blockedRe) > blocks, 8000)).toBeDefined();
  const lifts = count(liftedRe);
  const lifted = await waitFor(() => count(liftedRe) > lifts, 8000);
  console.log(`loop detection: a block lifted by the timer after ${lifted} ms (loop-recovery = 5 s)`);
  expect(lifted).toBeGreaterThanOrEqual(4000);
  expect(lifted).toBeLessThanOrEqual(7000);
  expect(await waitFor(() => count(blockedRe) > blocks + 1, 3000)).toBeDefined();
});

it('stp show and unblock: the blocked port is listed, unblocked at once, and blocked again while the loop stays', async () => {
  const blocked = () => stpShow(C)[0].loopDetect!.blocked.map((p) => p.name);
  expect(blocked()).toHaveLength(1);
  const port = blocked()[0];
  expect(netmgr(['stp', 'show', C], daemon!.env).stdout).toContain(
    `loop detection: a probe every 1 s, blocks last 600 s; blocked: ${port}(`,
  );
  // netmgr status lists it too, with why.
  const status = JSON.parse(netmgr(['status', '--json', '--dir', units], daemon!.env).stdout) as {
    bridges: { name: string; held?: { name: string; why: string }[] }[];
  };
  expect(status.bridges.find((b) => b.name === C)!.held).toEqual([
    expect.objectContaining({ name: port, why: expect.stringContaining('loop detection') }),
  ]);
  // B holds its alternate link port (after the failover test's link came back, once B has converged again).
  const bHeld = () =>
    (JSON.parse(netmgr(['status', '--json', '--dir', units], daemon!.env).stdout) as typeof status).bridges.find(
      (b) => b.name === B,
    )!.held!;
  await waitFor(() => bHeld().length === 1 && bHeld()[0].why.includes('alternate'), 5000);
  expect(bHeld()).toEqual([expect.objectContaining({ why: expect.stringContaining('alternate') })]);
  expect(netmgr(['status', '--dir', units], daemon!.env).stdout).toContain(`held by loop protection: ${port}(`);
  // show --dot draws it red and dotted, with why.
  const dot = netmgr(['show', '--dot', '--dir', units], daemon!.env).stdout;
  expect(dot).toMatch(
    new RegExp(
      `"bridge:${C}" -- "if:/${port}" \\[label="port \\d+\\\\nheld: blocked by loop detection[^"]*", style="dotted", color="red"\\]`,
    ),
  );
  const r = netmgr(['stp', 'unblock', C, port, '--json'], daemon!.env);
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout)).toMatchObject({ bridge: C, port, lifted: ['loop-detect'] });
  expect(daemon!.log()).toContain(`port ${port} (`);
  // The loop is still wired: the next probes that come back block a port again (the interval is 1 s).
  const again = await waitFor(() => blocked().length === 1, 3000);
  expect(again).toBeDefined();
  expect(netmgr(['stp', 'unblock', C, `${P}-nosuch`], daemon!.env).code).toBe(2);
});

it('negative control: stp and loop detection off (in place), one link rate-limited: a bounded storm, stopped', async () => {
  apply('stp = "off"\nloop-detect = false\n', 'stp = "off"\nloop-detect = false\n');
  expect(daemon!.log()).not.toMatch(new RegExp(`deleted? bridge ${A}|delete bridge ${A}`));
  // Both directions of link 1 get a tbf rate: every circling copy crosses it, so it bounds the storm's rate.
  for (const dev of [L.a1, L.b1])
    sh('tc', [
      'qdisc',
      'replace',
      'dev',
      dev,
      'root',
      'tbf',
      'rate',
      `${TBF_KBIT}kbit`,
      'burst',
      '4kb',
      'latency',
      '50ms',
    ]);
  // Counted by the links' own counters: tcpdump on a link this busy printed several times as many lines.
  const before = [L.a1, L.b1, L.a2].map(txRx);
  const t0 = Date.now();
  const frame = 'ffffffffffff' + '020000960002' + '88b5' + '00'.repeat(46);
  const helper = path.join(__dirname, '..', 'helpers', 'send-frames.js');
  sh('ip', ['netns', 'exec', `${P}-n1`, process.execPath, helper, `${P}e1`, 'frames', frame]);
  await sleep(1000);
  const after = [L.a1, L.b1, L.a2].map(txRx);
  const secs = (Date.now() - t0) / 1000;
  sh('ip', ['link', 'set', L.a1, 'down']);
  const [a1, b1, a2] = after.map((c, i) => ({ tx: c.tx - before[i].tx, rx: c.rx - before[i].rx }));
  const link2 = a2.tx + a2.rx;
  const link1Rate = Math.max(a1.tx, b1.tx) / secs;
  // The tbf's rate in 60-byte frames (plus its burst): what one direction of link 1 can carry.
  const tbfFps = (TBF_KBIT * 1000) / (60 * 8);
  console.log(
    `negative control: ${link2} frames on link 2 in ${secs.toFixed(2)} s; link 1 carried ${Math.round(link1Rate)} ` +
      `frames/s per direction (tbf: ${Math.round(tbfFps)})`,
  );
  expect(link2 / secs).toBeGreaterThan(1000);
  expect(link1Rate).toBeLessThanOrEqual(tbfFps * 1.2 + 100);
  for (const dev of [L.a1, L.b1]) sh('tc', ['qdisc', 'del', 'dev', dev, 'root'], { allowFail: true });
  expect(fs.existsSync(state)).toBe(true);
});
