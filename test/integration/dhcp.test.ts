/**
 * DHCP against a real server, as root: dnsmasq in a namespace behind a netmgr bridge (userspace datapath, in one
 * netmgrd) serves 198.18.154.0/25 with a 2-minute lease and T1 = 10 s, T2 = 20 s. The bridge's own port (root
 * namespace) and an internal port in a namespace both say `dhcp = true`: each gets a lease through netmgrd's own
 * apply (the address; the internal port also the default route via the router, proto 44 metric 1024), renews at
 * T1 (seen in dnsmasq's log and netmgrd's), and drift of a lease's address shows in the plan as "(dhcp lease)".
 * The internal port's unit goes: dnsmasq logs its DHCPRELEASE and the port is gone. dnsmasq is killed: at expiry
 * the bridge's lease is lost (a warning), its address removed, status says "lost", the rest stays as it was.
 *
 * The upper half of 198.18.154.0/24 is examples-e2e's office-dhcp server, which may run beside this test.
 *
 * Safety: the root namespace never gets a default route from this test: dnsmasq sends the bridge's own port (its
 * MAC is fixed by the unit) no router option; only the internal port's namespace gets one.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { startDaemon, stopAndClean, TestDaemon } from '../helpers/daemon';
import { haveTool, isRoot, netmgr, runPrefix, sh, tempDir, writeUnits } from '../helpers/sys';

const P = `${runPrefix()}dh`;
const units = tempDir('dh-units');
const state = tempDir('dh-state');
const work = tempDir('dh-dnsmasq');
const BR = `${P}br`;
const INTERNAL = `${P}ip`;
const NS = { server: `${P}-s`, internal: `${P}-i` };
const SERVER_IF = `${P}s0`;
const BR_MAC = '02:00:00:9a:00:01';
const NET = '198.18.154';
const files = { pid: path.join(work, 'dnsmasq.pid'), log: path.join(work, 'dnsmasq.log') };
let daemon: TestDaemon | undefined;
let dnsmasqPid: number | undefined;
const ok =
  isRoot() && haveTool('dnsmasq', ['--version'], 'dnsmasq-base') && haveTool('dhcpcd', ['--version'], 'dhcpcd-base');
const it = ok ? test : test.skip;
jest.setTimeout(300_000);

const bridgeUnit = `[unit]\ntype = "bridge"\n[bridge]\ndatapath = "userspace"\n[ipv4]\ndhcp = true\n[link]\nmac = "${BR_MAC}"\n`;
const serverUnit = `[unit]\ntype = "port"\n[port]\nbridge = "${BR}"\nkind = "veth"\nnamespace = "${NS.server}"\npeer = "${SERVER_IF}"\n[ipv4]\naddresses = ["${NET}.1/25"]\n`;
const internalUnit = `[unit]\ntype = "port"\n[port]\nbridge = "${BR}"\nkind = "internal"\nnamespace = "${NS.internal}"\n[ipv4]\ndhcp = true\nuse-dns = true\n`;
// Name servers the leases carry (option 6): addresses nothing answers on; no DNS query is sent in this test.
const DNS = [`${NET}.53`, `${NET}.54`];
const resolvConf = () => path.join(state, 'resolv.conf');
const resolvers = () =>
  fs.existsSync(resolvConf())
    ? [...fs.readFileSync(resolvConf(), 'utf8').matchAll(/^nameserver (\S+)$/gm)].map((m) => m[1])
    : undefined;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dnsmasqLog = () => (fs.existsSync(files.log) ? fs.readFileSync(files.log, 'utf8') : '');

/** IPv4 addresses of a link, read with iproute2. */
function addresses(ns: string | null, link: string): string[] {
  const out = spawnSync('ip', [...(ns ? ['-n', ns] : []), '-4', '-j', 'addr', 'show', 'dev', link], {
    encoding: 'utf8',
  });
  if (out.status !== 0) return [];
  const j = JSON.parse(out.stdout) as { addr_info: { local: string; prefixlen: number }[] }[];
  return j.flatMap((l) => l.addr_info.map((a) => `${a.local}/${a.prefixlen}`));
}

const leased = (ns: string | null, link: string) => addresses(ns, link).find((a) => a.startsWith(`${NET}.`));

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${what}\nnetmgrd:\n${daemon?.log()}\ndnsmasq:\n${dnsmasqLog()}`);
    await sleep(250);
  }
}

function apply(): void {
  const r = netmgr(['apply', '--dir', units], daemon!.env);
  if (r.code !== 0) throw new Error(r.stdout + r.stderr);
}

function startDnsmasq(): void {
  sh('ip', [
    'netns',
    'exec',
    NS.server,
    'dnsmasq',
    '--port=0',
    `--pid-file=${files.pid}`,
    `--dhcp-leasefile=${path.join(work, 'leases')}`,
    `--log-facility=${files.log}`,
    '--log-dhcp',
    `--interface=${SERVER_IF}`,
    '--bind-interfaces',
    `--dhcp-range=${NET}.50,${NET}.99,255.255.255.128,2m`,
    // T1 and T2 short so renewal shows in seconds; no router option for the bridge's own port (root namespace).
    '--dhcp-option=option:T1,10',
    '--dhcp-option=option:T2,20',
    `--dhcp-host=${BR_MAC},set:rootport`,
    '--dhcp-option=tag:rootport,3',
    `--dhcp-option=3,${NET}.1`,
    `--dhcp-option=option:dns-server,${DNS.join(',')}`,
  ]);
  dnsmasqPid = Number(fs.readFileSync(files.pid, 'utf8').trim());
}

function stopDnsmasq(): void {
  if (dnsmasqPid === undefined) return;
  try {
    process.kill(dnsmasqPid, 'SIGTERM');
  } catch {
    // already gone
  }
  dnsmasqPid = undefined;
}

const routes = (ns: string | null) =>
  // -N: protocol numbers as numbers, whatever names /etc/iproute2/rt_protos.d gives them (deb.test.ts installs the
  // package, and with it the name "netmgr" for 44, while this file runs).
  JSON.parse(sh('ip', [...(ns ? ['-n', ns] : []), '-N', '-4', '-j', 'route', 'show', 'table', 'main'])) as {
    dst: string;
    gateway?: string;
    dev: string;
    protocol?: string;
    metric?: number;
  }[];

beforeAll(async () => {
  if (!ok) return;
  writeUnits(units, { [BR]: bridgeUnit, [`${P}sv`]: serverUnit, [INTERNAL]: internalUnit });
  daemon = await startDaemon(units, state, ['--no-apply', '--no-watch']);
  apply();
  startDnsmasq();
});

afterAll(async () => {
  if (!ok) return;
  stopDnsmasq();
  await stopAndClean(daemon, state, P, [units, work]);
  // dhcpcd's own lease database entries for this run's interfaces.
  for (const l of [BR, INTERNAL]) fs.rmSync(`/var/lib/dhcpcd/${l}.lease`, { force: true });
});

let started = 0;
const lease: { bridge?: string; internal?: string } = {};

it('the bridge and the internal port get a lease through netmgr: address, and the router only in the namespace', async () => {
  started = Date.now();
  lease.bridge = await until('the bridge lease', () => leased(null, BR), 60_000);
  lease.internal = await until('the internal port lease', () => leased(NS.internal, INTERNAL), 60_000);
  console.log(
    `DHCP: both leases in ${Date.now() - started} ms: ${lease.bridge} on ${BR}, ${lease.internal} on ${INTERNAL}`,
  );
  expect(lease.bridge).toMatch(new RegExp(`^${NET.replace(/\./g, '\\.')}\\.([5-9]\\d)/25$`));
  expect(lease.internal).toMatch(/\/25$/);
  const def = await until(
    'the lease default route',
    () => routes(NS.internal).find((r) => r.dst === 'default'),
    20_000,
  );
  expect(def).toMatchObject({ gateway: `${NET}.1`, dev: INTERNAL, protocol: '44', metric: 1024 });
  expect(routes(null).filter((r) => r.gateway?.startsWith(`${NET}.`) || (r.dev === BR && r.dst === 'default'))).toEqual(
    [],
  );
  // Realised: nothing to plan; status names both leases.
  await until('a settled plan', () => /No changes/i.test(netmgr(['plan', '--dir', units], daemon!.env).stdout), 20_000);
  const st = netmgr(['status', '--dir', units], daemon!.env).stdout;
  expect(st).toContain(`${BR} [${BR}]: bound ${lease.bridge} from ${NET}.1`);
  expect(st).toContain(`${INTERNAL} (namespace ${NS.internal}) [${INTERNAL}]: bound ${lease.internal} router ${NET}.1`);
});

it("use-dns: the internal port's lease gives netmgr's resolv.conf its name servers", () => {
  expect(resolvers()).toEqual(DNS);
  expect(fs.readFileSync(resolvConf(), 'utf8')).toMatch(/^# Written by netmgr/);
  // Edited by hand: drift, put back by the next apply.
  fs.writeFileSync(resolvConf(), 'nameserver 198.18.154.99\n');
  expect(netmgr(['plan', '--dir', units], daemon!.env).stdout).toContain(
    `~ resolv.conf name servers: ${NET}.99 -> ${DNS.join(' ')}  (dhcp lease)`,
  );
  apply();
  expect(resolvers()).toEqual(DNS);
});

it('a lease route removed by hand is drift: the plan puts it back, marked "(dhcp lease)"', () => {
  sh('ip', ['-n', NS.internal, 'route', 'del', 'default', 'via', `${NET}.1`, 'dev', INTERNAL, 'proto', '44']);
  const plan = netmgr(['plan', '--dir', units], daemon!.env).stdout;
  expect(plan).toContain(
    `+ route default (0.0.0.0/0) via ${NET}.1 metric 1024 dev ${INTERNAL} [${NS.internal}]  (dhcp lease)`,
  );
  const st = netmgr(['status', '--dir', units], daemon!.env).stdout;
  expect(st).toMatch(new RegExp(`port +${INTERNAL} +drifted`));
  apply();
  expect(routes(NS.internal).find((r) => r.dst === 'default')).toMatchObject({ gateway: `${NET}.1`, protocol: '44' });
});

it('renews at T1: dnsmasq ACKs a second request of each address, netmgrd logs the RENEW', async () => {
  const acks = (a: string) =>
    (dnsmasqLog().match(new RegExp(`DHCPACK\\(${SERVER_IF}\\) ${a.split('/')[0]} `, 'g')) ?? []).length;
  await until('renewals', () => acks(lease.bridge!) >= 2 && acks(lease.internal!) >= 2, 40_000);
  await until('RENEW in the log', () => /dhcp: .*RENEW/.test(daemon!.log()), 5_000);
  console.log(`DHCP: renewals of both seen ${Date.now() - started} ms after the start`);
  expect(leased(null, BR)).toBe(lease.bridge);
});

it("the internal port's unit goes: DHCPRELEASE is sent, and its port and address are gone", () => {
  writeUnits(units, { [BR]: bridgeUnit, [`${P}sv`]: serverUnit });
  apply();
  expect(dnsmasqLog()).toMatch(new RegExp(`DHCPRELEASE\\(${SERVER_IF}\\) ${lease.internal!.split('/')[0]} `));
  expect(sh('ip', ['netns', 'list'])).not.toContain(NS.internal);
  expect(leased(null, BR)).toBe(lease.bridge);
  // Its name servers went with it: the file is gone (the bridge's lease, without use-dns, gives it none).
  expect(resolvers()).toBeUndefined();
});

it('an apply --confirm that brings the internal port back and expires: no DHCP client of it is left', async () => {
  // dhcpcd names its processes "dhcpcd: IFACE [ip4]" (setproctitle), the main one first.
  const clients = () => spawnSync('pgrep', ['-f', `^dhcpcd: ${INTERNAL} `], { encoding: 'utf8' }).stdout.trim();
  writeUnits(units, { [BR]: bridgeUnit, [`${P}sv`]: serverUnit, [INTERNAL]: internalUnit });
  const r = netmgr(['apply', '--confirm', '5', '--dir', units], daemon!.env);
  expect(r.code).toBe(0);
  await until('its client to run', () => clients() !== '', 10_000);
  await until('the rollback', () => /rolled back the apply of/.test(daemon!.log()), 20_000);
  await until('its client to stop', () => clients() === '', 10_000);
  expect(sh('ip', ['netns', 'list'])).not.toContain(NS.internal);
  expect(netmgr(['status', '--dir', units], daemon!.env).stdout).not.toContain(`${INTERNAL} (namespace`);
  // The files on disk are those rolled back; the set in force is the one before them.
  writeUnits(units, { [BR]: bridgeUnit, [`${P}sv`]: serverUnit });
});

it('dnsmasq down: at expiry the lease is lost (warning), its address goes, status says so, nothing else moves', async () => {
  stopDnsmasq();
  const killed = Date.now();
  const logFrom = daemon!.log().length;
  const other = addresses(NS.server, SERVER_IF);
  const lost = new RegExp(`warning: dhcp: ${BR}: lease of ${lease.bridge} lost \\(EXPIRE\\)`);
  await until('the lease to be lost', () => lost.test(daemon!.log().slice(logFrom)), 150_000);
  await until('the address to go', () => !leased(null, BR), 20_000);
  console.log(`DHCP: lease lost ${Date.now() - killed} ms after dnsmasq was killed`);
  expect(netmgr(['status', '--dir', units], daemon!.env).stdout).toMatch(new RegExp(`${BR} \\[${BR}\\]: lost`));
  expect(addresses(NS.server, SERVER_IF)).toEqual(other);
  expect(fs.existsSync(`/sys/class/net/${BR}`)).toBe(true);
  expect(daemon!.alive()).toBe(true);
});

it('without netmgrd, netmgr apply refuses a `dhcp = true` unit, located, and applies nothing', () => {
  const alone = tempDir('dh-alone');
  try {
    const r = netmgr(['apply', '--dir', units], {
      NETMGR_STATE_DIR: alone,
      NETMGR_SOCKET: path.join(alone, 'none.sock'),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `${BR}.toml:6:8: \`dhcp = true\` needs netmgrd, which runs the DHCP client; nothing was applied`,
    );
    expect(fs.readdirSync(alone).filter((f) => f.endsWith('.json'))).toEqual([]);
  } finally {
    fs.rmSync(alone, { recursive: true, force: true });
  }
});
