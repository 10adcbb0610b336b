/**
 * A VXLAN tunnel port of the userspace datapath against the Linux kernel's own VXLAN device. Box A (namespace
 * ov2..ua) runs netmgrd with a userspace bridge: a veth port to host A and a vxlan port (VNI 100, UDP 4789) whose
 * remote is box B. Box B (ov2..ub) is plain Linux: `ip link add ... type vxlan id 100 remote A dstport 4789` in a
 * Linux bridge with a veth to host B. Underlay 198.18.200.0/24 on a veth pair between the boxes; hosts in
 * 198.18.204.0/24. Both hosts ping each other; a capture on the underlay sees VXLAN on UDP 4789 both ways; the
 * kernel's device and netmgr's per-remote counters count the frames; `fdb show` names host B's remote. A second
 * tunnel port whose UDP port another socket holds fails the apply with that reason and is rolled back. Hosts are at
 * MTU 1450; at 1500 the plan warns, with the fix.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { isRoot, netmgr, ping, runPrefix, sh, tempDir, writeUnits } from '../helpers/sys';
import { startDaemon, stopAndClean, type TestDaemon } from '../helpers/daemon';
import { boxUnits, capture } from '../helpers/overlay';

const P = `ov2${runPrefix()}`;
const units = tempDir('ov2-interop-units');
const state = tempDir('ov2-interop-state');
const BOX_A = `${P}ua`;
const BOX_B = `${P}ub`;
const HOST_A = `${P}ha`;
const HOST_B = `${P}hb`;
const UNDER_A = '198.18.200.1';
const UNDER_B = '198.18.200.2';
const OVER_A = '198.18.204.1';
const OVER_B = '198.18.204.2';
const MAC_B = '02:00:00:cc:04:02';
const BR = `${P}-br`;
let daemon: TestDaemon | undefined;
const it = isRoot() ? test : test.skip;
jest.setTimeout(60_000);

const inNs = (ns: string, ...args: string[]) => sh('ip', ['-n', ns, ...args]);

/** The namespaces, the underlay between the boxes, and box B: a kernel vxlan device and host B in a Linux bridge. */
function buildUnderlayAndLinuxSide(): void {
  // Host A's namespace too: netmgrd runs under `ip netns exec`, whose private mount namespace would keep one it
  // created out of sight of the test's own `ip netns exec`.
  for (const ns of [BOX_A, BOX_B, HOST_A, HOST_B]) sh('ip', ['netns', 'add', ns]);
  sh('ip', ['link', 'add', `${P}u1`, 'netns', BOX_A, 'type', 'veth', 'peer', `${P}u2`, 'netns', BOX_B]);
  inNs(BOX_A, 'addr', 'add', `${UNDER_A}/24`, 'dev', `${P}u1`);
  inNs(BOX_B, 'addr', 'add', `${UNDER_B}/24`, 'dev', `${P}u2`);
  for (const [ns, dev] of [
    [BOX_A, `${P}u1`],
    [BOX_B, `${P}u2`],
    [BOX_A, 'lo'],
    [BOX_B, 'lo'],
    [HOST_B, 'lo'],
  ])
    inNs(ns, 'link', 'set', dev, 'up');
  const vx = `${P}vx`;
  inNs(BOX_B, 'link', 'add', vx, 'type', 'vxlan', 'id', '100', 'remote', UNDER_A, 'local', UNDER_B, 'dstport', '4789');
  inNs(BOX_B, 'link', 'add', `${P}lb`, 'type', 'bridge');
  inNs(BOX_B, 'link', 'add', `${P}b1`, 'type', 'veth', 'peer', `${P}e2`, 'netns', HOST_B);
  for (const dev of [vx, `${P}b1`]) inNs(BOX_B, 'link', 'set', dev, 'master', `${P}lb`, 'up');
  inNs(BOX_B, 'link', 'set', `${P}lb`, 'up');
  inNs(HOST_B, 'link', 'set', `${P}e2`, 'address', MAC_B, 'up');
  inNs(HOST_B, 'addr', 'add', `${OVER_B}/24`, 'dev', `${P}e2`);
}

beforeAll(async () => {
  if (!isRoot()) return;
  buildUnderlayAndLinuxSide();
  writeUnits(
    units,
    boxUnits(P, {
      host: HOST_A,
      peer: `${P}e1`,
      address: `${OVER_A}/24`,
      mtu: 1450,
      local: UNDER_A,
      remotes: [UNDER_B],
    }),
  );
  daemon = await startDaemon(units, state, ['--no-apply', '--no-watch'], {}, BOX_A);
  const plan = netmgr(['plan', '--dir', units], daemon.env, BOX_A);
  expect(plan.stdout).toContain(
    `+ port ${P}-vx on bridge ${BR} (port 2, vxlan; vni 100, remotes ${UNDER_B}, local ${UNDER_A}, udp 4789, ttl 64, df)`,
  );
  const r = netmgr(['apply', '--dir', units], daemon.env, BOX_A);
  if (r.code !== 0) throw new Error(r.stdout + r.stderr);
});

it('after the apply, the plan has no changes and show and status run', () => {
  expect(netmgr(['plan', '--detailed-exitcode', '--dir', units], daemon!.env, BOX_A)).toEqual(
    expect.objectContaining({ code: 0, stdout: 'No changes.\n' }),
  );
  const show = netmgr(['show', '--dir', units], daemon!.env, BOX_A);
  const status = netmgr(['status', '--dir', units], daemon!.env, BOX_A);
  expect(show.stdout).toContain(`port 2: ${P}-vx (vxlan)`);
  expect(show.stdout).toContain('Drift: none');
  expect(status.stdout).toMatch(new RegExp(`port\\s+${P}-vx\\s+realised`));
  // The same units with host A at 1500: the plan warns that its frames do not fit through the 1500 underlay.
  const wide = tempDir('ov2-interop-wide');
  try {
    writeUnits(
      wide,
      boxUnits(P, {
        host: HOST_A,
        peer: `${P}e1`,
        address: `${OVER_A}/24`,
        mtu: 1500,
        local: UNDER_A,
        remotes: [UNDER_B],
      }),
    );
    const plan = netmgr(['plan', '--dir', wide], daemon!.env, BOX_A);
    expect(plan.stdout).toContain(
      `note: warning: bridge ${BR}: port ${P}-h1 has MTU 1500; with the 50 bytes tunnel port ${P}-vx adds (vxlan over ` +
        `IPv4) its largest frames need 1550, above the MTU 1500 of the underlay interface ${P}u1, and are dropped. ` +
        `Fix: mtu = 1450 in [link] of ${P}-h1's unit`,
    );
  } finally {
    fs.rmSync(wide, { recursive: true, force: true });
  }
});

afterAll(async () => {
  if (isRoot()) await stopAndClean(daemon, state, P, [units]);
});

it('hosts on both sides ping each other, as VXLAN on UDP 4789, and both ends count it', async () => {
  const cap = await capture(BOX_A, `${P}u1`, ['udp', 'port', '4789']);
  expect(ping(HOST_A, OVER_B, 3)).toBe(true);
  expect(ping(HOST_B, OVER_A, 3)).toBe(true);
  const lines = (await cap.stop()).split('\n');
  // tcpdump decodes port 4789 as VXLAN: datagrams both ways, with the inner ICMP.
  expect(lines.some((l) => l.includes(`${UNDER_A}.4789 > ${UNDER_B}.4789`) && l.includes('VXLAN'))).toBe(true);
  expect(lines.some((l) => l.includes(`> ${UNDER_A}.4789`) && l.includes('VXLAN'))).toBe(true);
  expect(lines.some((l) => l.includes(`${OVER_A} > ${OVER_B}: ICMP echo request`))).toBe(true);
  expect(lines.some((l) => l.includes(`${OVER_B} > ${OVER_A}: ICMP echo request`))).toBe(true);

  const kernel = JSON.parse(inNs(BOX_B, '-s', '-j', 'link', 'show', `${P}vx`))[0].stats64;
  expect(kernel.rx.packets).toBeGreaterThanOrEqual(6);
  expect(kernel.tx.packets).toBeGreaterThanOrEqual(6);

  const show = netmgr(['dpctl', 'show', '-s'], daemon!.env, BOX_A);
  expect(show.code).toBe(0);
  expect(show.stdout).toContain(`port 2: ${P}-vx (vxlan: vni=100, dst_port=4789)`);
  const remote = new RegExp(`remote ${UNDER_B.replace(/\./g, '\\.')}: RX packets:(\\d+) bytes:\\d+  TX packets:(\\d+)`);
  const m = remote.exec(show.stdout);
  expect(m).not.toBeNull();
  expect(Number(m![1])).toBeGreaterThanOrEqual(6);
  expect(Number(m![2])).toBeGreaterThanOrEqual(6);
  expect(show.stdout).toContain('dropped on receipt: unknown remote:0 other VNI:0 malformed:0');
  // Nothing was output to the tunnel port without a set(tunnel(...)) (loop protection sends nothing there).
  expect(show.stdout).toMatch(/vni=100, dst_port=4789\)\n.*\n\s+TX packets:\d+ errors:0 dropped:0/);

  // netmgr status lists the remote under its tunnel port, with the same counters.
  const status = netmgr(['status', '--dir', units], daemon!.env, BOX_A).stdout;
  const row = new RegExp(`\\n\\s+remote ${UNDER_B.replace(/\./g, '\\.')}\\s+(\\d+)\\s+\\d+\\s+(\\d+)`).exec(status);
  expect(row).not.toBeNull();
  expect(Number(row![1])).toBeGreaterThanOrEqual(6);
  expect(Number(row![2])).toBeGreaterThanOrEqual(6);

  const fdb = netmgr(['fdb', 'show', BR, '--json'], daemon!.env, BOX_A);
  const entries = JSON.parse(fdb.stdout)[0].entries as { mac: string; portName: string; remote?: string }[];
  expect(entries.find((e) => e.mac === MAC_B)).toEqual(
    expect.objectContaining({ portName: `${P}-vx`, remote: UNDER_B }),
  );
});

it('a tunnel port whose UDP port is taken fails the apply with the reason and is rolled back', async () => {
  // Another socket in box A holds UDP 4790 (a child process of this test, ended by its PID).
  const holder = spawn(
    'ip',
    [
      'netns',
      'exec',
      BOX_A,
      process.execPath,
      '-e',
      "require('dgram').createSocket('udp4').bind(4790, () => console.log('bound'))",
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  try {
    await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
    const taken = `[unit]\ntype = "port"\n[port]\nbridge = "${BR}"\nkind = "vxlan"\nvni = 200\nremotes = ["${UNDER_B}"]\ndst-port = 4790\n`;
    fs.writeFileSync(path.join(units, `${P}-vy.toml`), taken);
    const r = netmgr(['apply', '--dir', units], daemon!.env, BOX_A);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toContain(
      `${P}-vy: UDP port 0.0.0.0:4790 is already taken by another socket in this namespace`,
    );
    const show = netmgr(['dpctl', 'show'], daemon!.env, BOX_A).stdout;
    expect(show).not.toContain(`${P}-vy`);
    expect(show).toContain(`${P}-vx`);
    // Still pending, and the rest of the bridge still forwards.
    expect(netmgr(['plan', '--detailed-exitcode', '--dir', units], daemon!.env, BOX_A).code).toBe(2);
    expect(ping(HOST_A, OVER_B, 1)).toBe(true);
  } finally {
    holder.kill('SIGTERM');
    fs.rmSync(path.join(units, `${P}-vy.toml`), { force: true });
  }
});
