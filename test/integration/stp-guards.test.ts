/**
 * BPDU guard and root guard end to end, as root, on the userspace datapath, with BPDUs built by python3-scapy (an
 * encoder independent of netmgr's, test/helpers/send-bpdu.py) and sent from hosts in namespaces. One bridge, root by
 * priority, with three host ports: h1 with bpdu-guard, h2 with root-guard, h3 with neither. Every BPDU sent claims
 * a root of priority 0, superior to the bridge's. BPDU guard err-disables h1 within a second and the root does not
 * change; the port comes back after loop-recovery. Root guard holds h2 discarding while superior BPDUs arrive and
 * releases it once they have aged out. The negative control: the same BPDU on h3 does move the root.
 */
import { spawn } from 'child_process';
import * as path from 'path';
import { haveTool, isRoot, netmgr, ping, runPrefix, sh, tempDir, writeUnits } from '../helpers/sys';
import { startDaemon, stopAndClean, TestDaemon } from '../helpers/daemon';
import { waitFor } from './stp-helpers';
import type { LoopProtectionView } from '../../src/policy/learning/loop-view';

const P = `${runPrefix()}sg`;
const units = tempDir('sg-units');
const state = tempDir('sg-state');
const NET = '198.18.151';
const G = `${P}g`;
const SCAPY_PYTHON = '/usr/bin/python3';
const SEND_BPDU = path.join(__dirname, '..', 'helpers', 'send-bpdu.py');
/** The root every scapy BPDU claims (send-bpdu.py's PEER), as netmgr prints a bridge ID. */
const PEER_ROOT = '0000.02aa00000001';
let daemon: TestDaemon | undefined;
jest.setTimeout(90_000);

const haveScapy = isRoot() && haveTool(SCAPY_PYTHON, ['-c', 'import scapy.all'], 'python3-scapy');
const it = haveScapy ? test : test.skip;

const host = (n: number, guards: string) =>
  `[unit]\ntype = "port"\n[port]\nbridge = "${G}"\nkind = "veth"\nnamespace = "${P}-n${n}"\npeer = "${P}e${n}"\n` +
  `${guards}\n[ipv4]\naddresses = ["${NET}.${n}/24"]\n`;

/**
 * Whether netmgrd has logged a line matching `re` within 2 s. Polled: its stderr is read only while this process
 * is not blocked in a synchronous netmgr call, so a line logged before a state shown by `stp show` comes later.
 */
const logged = async (re: RegExp) => (await waitFor(() => re.test(daemon!.log()), 2000)) !== undefined;

const view = (): LoopProtectionView => {
  const r = netmgr(['stp', 'show', G, '--json'], daemon!.env);
  if (r.code !== 0) throw new Error(r.stdout + r.stderr);
  return (JSON.parse(r.stdout) as LoopProtectionView[])[0];
};
const port = (n: number) => view().rstp!.ports.find((p) => p.name === `${P}h${n}`)!;

/** Sends `count` BPDUs of `kind` from host n, one every `interval` seconds; resolves once all are sent. */
function sendBpdus(n: number, kind: 'config' | 'rst', count: number, interval: number): Promise<void> {
  const args = ['netns', 'exec', `${P}-n${n}`, SCAPY_PYTHON, SEND_BPDU, `${P}e${n}`, kind, `${count}`, `${interval}`];
  const p = spawn('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) =>
    p.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`send-bpdu.py failed (${code}): ${err}`)))),
  );
}

beforeAll(async () => {
  if (!haveScapy) return;
  daemon = await startDaemon(units, state, ['--no-apply', '--no-watch']);
  writeUnits(units, {
    // Loop detection off: only the guards are under test. The shortest recovery the key allows.
    [G]: '[unit]\ntype = "bridge"\n[bridge]\ndatapath = "userspace"\nstp = "rstp"\nstp-priority = 4096\nloop-detect = false\nloop-recovery = 5\n',
    [`${P}h1`]: host(1, 'bpdu-guard = true'),
    [`${P}h2`]: host(2, 'root-guard = true'),
    [`${P}h3`]: host(3, ''),
  });
  const r = netmgr(['apply', '--dir', units], daemon.env);
  if (r.code !== 0) throw new Error(r.stdout + r.stderr);
  for (const n of [1, 2, 3])
    sh('ip', ['netns', 'exec', `${P}-n${n}`, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1']);
  // Host ports forward once auto-edge has made them edge ports (no BPDU for a few seconds).
  for (const n of [1, 2]) await waitFor(() => ping(`${P}-n3`, `${NET}.${n}`, 1), 10_000);
});

afterAll(async () => {
  if (haveScapy) await stopAndClean(daemon, state, P, [units]);
});

it('bpdu-guard: one BPDU err-disables the host port within 1 s, logged; the root does not change', async () => {
  expect(ping(`${P}-n3`, `${NET}.1`, 1)).toBe(true);
  const root = view().rstp!.bridgeId;
  await sendBpdus(1, 'config', 1, 0);
  const took = await waitFor(() => port(1).blockedReason === 'bpdu-guard', 1000);
  console.log(`bpdu-guard: err-disabled ${took} ms after scapy sent its BPDU`);
  expect(took).toBeDefined();
  expect(port(1).state).toBe('discarding');
  expect(
    await logged(
      new RegExp(
        `warning: ${G}: BPDU guard: a BPDU from 02:aa:00:00:00:01 arrived on port ${P}h1 \\(\\d+\\); the port is disabled \\(err-disabled\\) for 5 s`,
      ),
    ),
  ).toBe(true);
  expect(view().rstp).toMatchObject({ isRoot: true, rootId: root });
  expect(netmgr(['stp', 'show', G], daemon!.env).stdout).toMatch(new RegExp(`${P}h1 .*bpdu-guard`));
  expect(ping(`${P}-n3`, `${NET}.1`, 1)).toBe(false);
});

it('bpdu-guard: the port recovers after loop-recovery (5 s) and forwards again', async () => {
  const took = await waitFor(() => port(1).blockedReason === undefined, 8000);
  expect(took).toBeDefined();
  expect(await logged(new RegExp(`${G}: port ${P}h1 \\(\\d+\\) recovered from bpdu-guard`))).toBe(true);
  expect(await waitFor(() => ping(`${P}-n3`, `${NET}.1`, 1), 10_000)).toBeDefined();
  expect(port(1)).toMatchObject({ role: 'designated', state: 'forwarding' });
});

it('root-guard: superior RST BPDUs hold the port discarding while they last; the root does not change', async () => {
  const root = view().rstp!.bridgeId;
  // Four BPDUs, one a second, sent while the test watches.
  const sending = sendBpdus(2, 'rst', 4, 1);
  const took = await waitFor(() => port(2).blockedReason === 'root-guard', 1500);
  console.log(`root-guard: port blocked ${took} ms after scapy was started (its first BPDU)`);
  expect(took).toBeDefined();
  expect(port(2).state).toBe('discarding');
  expect(view().rstp).toMatchObject({ isRoot: true, rootId: root });
  expect(
    await logged(
      new RegExp(`warning: ${G}: root guard: superior BPDUs on port ${P}h2 \\(\\d+\\); the port is blocked`),
    ),
  ).toBe(true);
  await sending;
  // The received information ages out (3 x the BPDUs' hello, 17.21.23), then the port is designated again.
  const released = await waitFor(() => port(2).blockedReason === undefined && port(2).state === 'forwarding', 12_000);
  console.log(`root-guard: port forwarding again ${released} ms after the last superior BPDU`);
  expect(released).toBeDefined();
  expect(await logged(new RegExp(`${G}: root guard: port ${P}h2 \\(\\d+\\) no longer receives superior BPDUs`))).toBe(
    true,
  );
  expect(view().rstp!.isRoot).toBe(true);
});

it('negative control: the same superior BPDUs on a port without guards make their sender the root', async () => {
  // Watched while the BPDUs arrive, and judged on one snapshot: the information they carry ages out soon after the
  // last one (3 x their hello time), so a later look may find the bridge on its way back to being the root.
  const sending = sendBpdus(3, 'rst', 2, 1);
  let seen: LoopProtectionView['rstp'];
  const took = await waitFor(() => {
    const v = view().rstp!;
    if (v.rootId === PEER_ROOT) seen = v;
    return seen !== undefined;
  }, 4000);
  await sending;
  console.log(`negative control: root ${seen?.rootId}, via ${seen?.rootPort?.name}, ${took} ms after scapy started`);
  expect(took).toBeDefined();
  expect(seen?.rootPort?.name).toBe(`${P}h3`);
});
