/**
 * VXLAN over an IPv6 underlay on the userspace datapath: two boxes (namespaces, each its own netmgrd) joined by a
 * veth pair with 2001:db8:c8::1 and ::2, each with a host behind its bridge (198.18.205.1-2/24, MTU 1430: the
 * 1500 of the underlay less the 70 bytes VXLAN over IPv6 adds). The hosts ping each other as VXLAN over UDP/IPv6,
 * the flows match the remote as ipv6_src and send with set(tunnel(ipv6_dst=...)), `fdb show` names the IPv6
 * remote, 1 MB over TCP arrives intact, and at MTU 1500 plan warns with the IPv6 overhead.
 */
import * as path from 'path';
import { isRoot, netmgr, ping, runPrefix, sh, tempDir, writeUnits } from '../helpers/sys';
import { startDaemon, stopAndClean, type TestDaemon } from '../helpers/daemon';
import { boxUnits, capture, MEGABYTE_RECEIVED, transferMegabyte } from '../helpers/overlay';

const P = `o6${runPrefix()}`;
const N = [1, 2] as const;
const box = (n: number) => `${P}u${n}`;
const host = (n: number) => `${P}h${n}`;
const under = (n: number) => `2001:db8:c8::${n}`;
const over = (n: number) => `198.18.205.${n}`;
const root = tempDir('ov6');
const unitDir = (n: number) => path.join(root, `units${n}`);
const daemons: TestDaemon[] = [];
const it = isRoot() ? test : test.skip;
jest.setTimeout(60_000);

const inNs = (ns: string, ...args: string[]) => sh('ip', ['-n', ns, ...args]);
const unitsOf = (n: number, mtu: number) =>
  boxUnits(P, {
    host: host(n),
    peer: `${P}e${n}`,
    address: `${over(n)}/24`,
    mtu,
    local: under(n),
    remotes: [under(3 - n)],
  });

beforeAll(async () => {
  if (!isRoot()) return;
  for (const n of N) for (const ns of [box(n), host(n)]) sh('ip', ['netns', 'add', ns]);
  inNs(box(1), 'link', 'add', `${P}x1`, 'type', 'veth', 'peer', `${P}x2`, 'netns', box(2));
  for (const n of N) {
    inNs(box(n), 'addr', 'add', `${under(n)}/64`, 'dev', `${P}x${n}`, 'nodad');
    inNs(box(n), 'link', 'set', `${P}x${n}`, 'up');
    inNs(box(n), 'link', 'set', 'lo', 'up');
    sh('mkdir', ['-p', unitDir(n)]);
    writeUnits(unitDir(n), unitsOf(n, 1430));
    const d = await startDaemon(unitDir(n), path.join(root, `state${n}`), ['--no-apply', '--no-watch'], {}, box(n));
    daemons.push(d);
    const r = netmgr(['apply', '--dir', unitDir(n)], d.env, box(n));
    if (r.code !== 0) throw new Error(r.stdout + r.stderr);
    sh('ip', ['netns', 'exec', host(n), 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1']);
  }
});

afterAll(async () => {
  if (!isRoot()) return;
  for (const d of daemons.slice(1)) await d.stop();
  await stopAndClean(daemons[0], path.join(root, 'state1'), P, [root]);
});

it('the hosts ping each other as VXLAN over UDP/IPv6, and the flows key the IPv6 remote', async () => {
  const cap = await capture(box(1), `${P}x1`, ['udp', 'port', '4789']);
  for (const [a, b] of [
    [1, 2],
    [2, 1],
  ])
    expect([a, b, ping(host(a), over(b), 3)]).toEqual([a, b, true]);
  const lines = (await cap.stop()).split('\n');
  // tcpdump decodes port 4789 as VXLAN: IPv6 datagrams both ways.
  expect(lines.some((l) => l.includes(`IP6 ${under(1)}.4789 > ${under(2)}.4789`) && l.includes('VXLAN'))).toBe(true);
  expect(lines.some((l) => l.includes(`IP6 ${under(2)}.4789 > ${under(1)}.4789`) && l.includes('VXLAN'))).toBe(true);
  const flows = netmgr(['dpctl', 'dump-flows', `${P}-br`], daemons[0].env, box(1)).stdout;
  expect(flows).toContain(`tunnel(tun_id=0x64,ipv6_src=${under(2)}`);
  expect(flows).toContain(`set(tunnel(tun_id=0x64,ipv6_src=${under(1)},ipv6_dst=${under(2)},ttl=64,flags(df|key)))`);
  const show = netmgr(['dpctl', 'show', '-s'], daemons[0].env, box(1)).stdout;
  expect(show).toMatch(new RegExp(`remote ${under(2)}: RX packets:[1-9]\\d* .*TX packets:[1-9]`));
});

it('fdb show on box 1 lists host 2 behind its IPv6 remote', () => {
  expect(ping(host(1), over(2), 1)).toBe(true);
  const r = netmgr(['fdb', 'show', `${P}-br`, '--json'], daemons[0].env, box(1));
  const entries = JSON.parse(r.stdout)[0].entries as { portName: string; remote?: string }[];
  expect(entries).toContainEqual(expect.objectContaining({ portName: `${P}-vx`, remote: under(2) }));
});

it('1 MB over TCP arrives intact across the IPv6 underlay', async () => {
  expect(await transferMegabyte({ fromNs: host(1), toNs: host(2), toIp: over(2), port: 5002 }, 10_000)).toBe(
    MEGABYTE_RECEIVED,
  );
});

it('at MTU 1500 the plan warns with the 70 bytes VXLAN over IPv6 adds', () => {
  writeUnits(unitDir(1), unitsOf(1, 1500));
  const plan = netmgr(['plan', '--dir', unitDir(1)], daemons[0].env, box(1));
  expect(plan.stdout + plan.stderr).toMatch(/\(vxlan over IPv6\) its largest frames need 1570, above the MTU 1500/);
  writeUnits(unitDir(1), unitsOf(1, 1430));
});
