/**
 * Three boxes in a full mesh of VXLAN tunnel ports on the userspace datapath, each box a namespace running its own
 * netmgrd (own unit directory, state directory and socket) on an underlay Linux bridge (198.18.200.1-3/24), each
 * with one host behind its netmgr bridge (198.18.204.1-3/24). Every pair of hosts pings; a broadcast from host 1
 * arrives exactly once at hosts 2 and 3 and the tunnel ports' counters stay bounded (split horizon: without it,
 * box 2 would flood box 1's broadcast on to box 3 and back, for ever); `fdb show` on box 1 lists the other hosts'
 * MACs behind their remotes; 1 MB over TCP from host 1 to host 3 arrives intact (the hosts' TSO super-frames cut
 * into segments at the tunnel port).
 */
import { spawn, spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as path from 'path';
import { isRoot, netmgr, ping, runPrefix, sh, tempDir, writeUnits } from '../helpers/sys';
import { startDaemon, stopAndClean, type TestDaemon } from '../helpers/daemon';
import { boxUnits, capture } from '../helpers/overlay';

const P = `ov2${runPrefix()}`;
const N = [1, 2, 3] as const;
const box = (n: number) => `${P}u${n}`;
const host = (n: number) => `${P}h${n}`;
const under = (n: number) => `198.18.200.${n}`;
const over = (n: number) => `198.18.204.${n}`;
const mac = (n: number) => `02:00:00:cc:04:0${n}`;
const UNDERLAY = `${P}un`;
const root = tempDir('ov2-mesh');
const unitDir = (n: number) => path.join(root, `units${n}`);
const daemons: TestDaemon[] = [];
const it = isRoot() ? test : test.skip;
jest.setTimeout(60_000);

const inNs = (ns: string, ...args: string[]) => sh('ip', ['-n', ns, ...args]);

/** The underlay: a Linux bridge in its own namespace with a veth to each box. Host namespaces exist beforehand. */
function buildUnderlay(): void {
  sh('ip', ['netns', 'add', UNDERLAY]);
  inNs(UNDERLAY, 'link', 'add', `${P}sw`, 'type', 'bridge');
  inNs(UNDERLAY, 'link', 'set', `${P}sw`, 'up');
  for (const n of N) {
    sh('ip', ['netns', 'add', box(n)]);
    sh('ip', ['netns', 'add', host(n)]);
    inNs(UNDERLAY, 'link', 'add', `${P}s${n}`, 'type', 'veth', 'peer', `${P}x${n}`, 'netns', box(n));
    inNs(UNDERLAY, 'link', 'set', `${P}s${n}`, 'master', `${P}sw`, 'up');
    inNs(box(n), 'addr', 'add', `${under(n)}/24`, 'dev', `${P}x${n}`);
    inNs(box(n), 'link', 'set', `${P}x${n}`, 'up');
    inNs(box(n), 'link', 'set', 'lo', 'up');
  }
}

/** The tunnel port's line of `dpctl show -s` on box n: its receive and transmit packet counts. */
function tunnelCounters(n: number): { rx: number; tx: number } {
  const show = netmgr(['dpctl', 'show', '-s'], daemons[n - 1].env, box(n));
  const m = /\(vxlan: vni=100, dst_port=4789\)\n\s+RX packets:(\d+).*\n\s+TX packets:(\d+)/.exec(show.stdout);
  if (!m) throw new Error(`no tunnel port in dpctl show on box ${n}:\n${show.stdout}${show.stderr}`);
  return { rx: Number(m[1]), tx: Number(m[2]) };
}

beforeAll(async () => {
  if (!isRoot()) return;
  buildUnderlay();
  for (const n of N) {
    sh('mkdir', ['-p', unitDir(n)]);
    const others = N.filter((o) => o !== n).map(under);
    writeUnits(
      unitDir(n),
      boxUnits(P, {
        host: host(n),
        peer: `${P}e${n}`,
        address: `${over(n)}/24`,
        mac: mac(n),
        // The underlay's 1500 minus VXLAN over IPv4's 50 bytes.
        mtu: 1450,
        local: under(n),
        remotes: others,
      }),
    );
    const d = await startDaemon(unitDir(n), path.join(root, `state${n}`), ['--no-apply', '--no-watch'], {}, box(n));
    daemons.push(d);
    const r = netmgr(['apply', '--dir', unitDir(n)], d.env, box(n));
    if (r.code !== 0) throw new Error(r.stdout + r.stderr);
    // Quiet hosts: no IPv6 router and neighbour solicitations flooding through the mesh behind the test's back.
    sh('ip', ['netns', 'exec', host(n), 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1']);
  }
});

afterAll(async () => {
  if (!isRoot()) return;
  for (const d of daemons.slice(1)) await d.stop();
  await stopAndClean(daemons[0], path.join(root, 'state1'), P, [root]);
});

it('every pair of hosts pings across the mesh', () => {
  for (const a of N) for (const b of N) if (a !== b) expect([a, b, ping(host(a), over(b), 1)]).toEqual([a, b, true]);
});

it('a broadcast arrives exactly once at every other host, and the tunnels carry no storm', async () => {
  const before = N.map(tunnelCounters);
  const caps = await Promise.all([2, 3].map((n) => capture(host(n), `${P}e${n}`, ['icmp'])));
  const r = spawnSync('ip', ['netns', 'exec', host(1), 'ping', '-b', '-c', '3', '-i', '0.2', '-W', '1', over(255)], {
    encoding: 'utf8',
  });
  expect(r.stdout).toContain('3 packets transmitted');
  await new Promise((res) => setTimeout(res, 1000));
  const seen = await Promise.all(caps.map((c) => c.stop()));
  for (const text of seen) {
    const requests = text.split('\n').filter((l) => l.includes(`${over(1)} > ${over(255)}: ICMP echo request`));
    expect(requests).toHaveLength(3);
  }
  const after = N.map(tunnelCounters);
  // Box 1 sends each broadcast to both remotes (head-end replication); boxes 2 and 3 receive each once and send
  // none of them on. A few more frames are the pings' ARP and replies, far below a loop's thousands.
  expect(after[0].tx - before[0].tx).toBeGreaterThanOrEqual(6);
  for (const i of [1, 2]) expect(after[i].rx - before[i].rx).toBeLessThan(20);
  for (const i of [0, 1, 2]) expect(after[i].tx - before[i].tx).toBeLessThan(20);
});

it('fdb show on box 1 lists the other hosts behind their remotes', () => {
  expect(ping(host(1), over(2), 1) && ping(host(1), over(3), 1)).toBe(true);
  const r = netmgr(['fdb', 'show', `${P}-br`, '--json'], daemons[0].env, box(1));
  const entries = JSON.parse(r.stdout)[0].entries as { mac: string; portName: string; remote?: string }[];
  for (const n of [2, 3])
    expect(entries.find((e) => e.mac === mac(n))).toEqual(
      expect.objectContaining({ portName: `${P}-vx`, remote: under(n) }),
    );
  const text = netmgr(['fdb', 'show', `${P}-br`], daemons[0].env, box(1)).stdout;
  expect(text).toContain('Remote');
  expect(text).toMatch(new RegExp(`${mac(2)}\\s+\\d+\\s+${under(2).replace(/\./g, '\\.')}`));
});

it('1 MB over TCP from host 1 to host 3 arrives intact', async () => {
  const size = 1 << 20;
  const expected = createHash('sha256')
    .update(Buffer.from(Array.from({ length: size }, (_, i) => (i * 31 + (i >> 8)) & 0xff)))
    .digest('hex');
  const server = spawn(
    'ip',
    [
      'netns',
      'exec',
      host(3),
      process.execPath,
      '-e',
      `const h = require('crypto').createHash('sha256'); let n = 0;
       require('net').createServer((s) => {
         s.on('data', (d) => { h.update(d); n += d.length; });
         s.on('end', () => { console.log(n + ' ' + h.digest('hex')); process.exit(0); });
       }).listen(5001, '${over(3)}', () => console.log('listening'));`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  try {
    let out = '';
    server.stdout.on('data', (d: Buffer) => (out += d.toString()));
    for (let i = 0; i < 100 && !out.includes('listening'); i++) await new Promise((r) => setTimeout(r, 50));
    const client = spawnSync(
      'ip',
      [
        'netns',
        'exec',
        host(1),
        process.execPath,
        '-e',
        `const b = Buffer.from(Array.from({ length: ${size} }, (_, i) => (i * 31 + (i >> 8)) & 0xff));
         const c = require('net').connect(5001, '${over(3)}', () => c.end(b));`,
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(client.stderr).toBe('');
    for (let i = 0; i < 200 && !/\d+ [0-9a-f]{64}/.test(out); i++) await new Promise((r) => setTimeout(r, 50));
    expect(out.trim().split('\n').pop()).toBe(`${size} ${expected}`);
  } finally {
    server.kill('SIGTERM');
  }
});
