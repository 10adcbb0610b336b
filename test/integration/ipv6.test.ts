/**
 * [ipv6] accept-ra, slaac and link-local against the real kernel and a real router, as root: dnsmasq in a router
 * namespace advertises a prefix (router advertisements, `ra-only`) on two veths. The host whose unit says
 * accept-ra = true and slaac = true takes the default route and a SLAAC address from it, which netmgr leaves alone
 * (the plan stays empty); the host whose unit says accept-ra = false and link-local = false takes neither and has
 * no fe80:: address. Changing both in one apply, with a failure injected at every step, leaves every address, route
 * and sysctl exactly as before; the apply that goes through removes the first host's fe80:: address and gives the
 * second one back.
 */
import * as fs from 'fs';
import * as path from 'path';
import {
  cleanupPrefix,
  cliWorld,
  haveTool,
  isRoot,
  netmgr,
  settleDad,
  sh,
  systemDump,
  tempDir,
  writeUnits,
} from '../helpers/sys';

const { P, units, env, dirArgs } = cliWorld('v6');
const work = tempDir('v6-dnsmasq');
const NS = { router: `${P}-r`, h1: `${P}-1`, h2: `${P}-2` };
const LINK = { h1: `${P}h1`, h2: `${P}h2`, r1: `${P}a`, r2: `${P}b` };
const PREFIX = { h1: '2001:db8:9e:', h2: '2001:db8:9f:' };
const it = isRoot() && haveTool('dnsmasq', ['--version'], 'dnsmasq-base') ? test : test.skip;
let dnsmasqPid: number | undefined;

/** A host's veth to the router; `ipv6` is the host end's [ipv6] table body. */
const hostUnit = (host: 'h1' | 'h2', ipv6: string) => `
[unit]
type = "port"
[port]
kind = "veth"
local-namespace = "${NS.router}"
local-addresses = ["${PREFIX[host]}:1/64"]
namespace = "${NS[host]}"
peer = "${LINK[host]}"
[ipv6]
${ipv6}`;

const H1_RA = 'accept-ra = true\nslaac = true\n';
const H2_SILENT = `addresses = ["${PREFIX.h2}:2/64"]\naccept-ra = false\nlink-local = false\n`;

function apply(extraEnv: Record<string, string> = {}) {
  return netmgr(['apply', ...dirArgs], { ...env, ...extraEnv });
}

const sysctl = (ns: string, link: string, name: string) =>
  Number(sh('ip', ['netns', 'exec', ns, 'cat', `/proc/sys/net/ipv6/conf/${link}/${name}`]).trim());

/** The IPv6 addresses of one link: [address, scope, dynamic]. */
function addrs(ns: string, link: string): { local: string; scope: string; dynamic: boolean }[] {
  const [l] = JSON.parse(sh('ip', ['-n', ns, '-6', '-j', 'addr', 'show', 'dev', link])) as {
    addr_info: { local: string; scope: string; dynamic?: boolean }[];
  }[];
  return l.addr_info.map((a) => ({ local: a.local, scope: a.scope, dynamic: a.dynamic === true }));
}

const defaultRoutes = (ns: string) =>
  (JSON.parse(sh('ip', ['-n', ns, '-6', '-j', 'route', 'show', 'default'])) as { protocol?: string }[]).map(
    (r) => r.protocol,
  );

/**
 * Everything this test's applies could touch: systemDump plus the three sysctls of both host links. Left out: what
 * the kernel takes from advertisements (routes of proto ra, addresses with a lifetime), which is the kernel's and
 * changes with each advertisement (dnsmasq answers the router solicitation a re-formed fe80:: address sends).
 */
function dump(): unknown {
  const sysctls: Record<string, number> = {};
  for (const host of ['h1', 'h2'] as const)
    for (const name of ['accept_ra', 'autoconf', 'addr_gen_mode'])
      sysctls[`${host}.${name}`] = sysctl(NS[host], LINK[host], name);
  const fromAdvertisements = (k: string, v: unknown) =>
    (k === 'addr_info' && Array.isArray(v) && v.filter((a: { dynamic?: boolean }) => !a.dynamic)) ||
    (k.endsWith('routes -6') && Array.isArray(v) && v.filter((r: string) => !r.includes('"protocol":"ra"'))) ||
    v;
  return JSON.parse(JSON.stringify({ ...(systemDump(P, Object.values(NS)) as object), sysctls }, fromAdvertisements));
}

async function waitFor(what: string, ok: () => boolean, timeoutMs = 30000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(() => {
  if (!isRoot()) return;
  writeUnits(units, { [LINK.r1]: hostUnit('h1', H1_RA), [LINK.r2]: hostUnit('h2', H2_SILENT) });
  const r = apply();
  if (r.code !== 0) throw new Error(r.stdout + r.stderr);
  // A router forwards, so it takes no advertisements itself (not even its own, looped back).
  sh('ip', ['netns', 'exec', NS.router, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);
  // Router advertisements of each interface's prefix only: no DHCPv6, no DNS (port 0).
  sh('ip', [
    'netns',
    'exec',
    NS.router,
    'dnsmasq',
    '--port=0',
    `--pid-file=${path.join(work, 'dnsmasq.pid')}`,
    `--log-facility=${path.join(work, 'dnsmasq.log')}`,
    `--interface=${LINK.r1}`,
    `--interface=${LINK.r2}`,
    '--bind-interfaces',
    '--enable-ra',
    `--dhcp-range=::,constructor:${LINK.r1},ra-only,64`,
    `--dhcp-range=::,constructor:${LINK.r2},ra-only,64`,
  ]);
  dnsmasqPid = Number(fs.readFileSync(path.join(work, 'dnsmasq.pid'), 'utf8').trim());
});

afterAll(() => {
  if (!isRoot()) return;
  if (dnsmasqPid !== undefined) process.kill(dnsmasqPid, 'SIGTERM');
  writeUnits(units, {});
  apply();
  cleanupPrefix(P);
});

it('accept-ra and slaac: the host takes the default route and an address from the advertisements, which netmgr leaves alone', async () => {
  expect(sysctl(NS.h1, LINK.h1, 'accept_ra')).toBe(2);
  expect(sysctl(NS.h1, LINK.h1, 'autoconf')).toBe(1);
  const slaac = () => addrs(NS.h1, LINK.h1).filter((a) => a.local.startsWith(PREFIX.h1) && a.dynamic);
  await waitFor('a SLAAC address on h1', () => slaac().length > 0);
  await waitFor('the default route from the router advertisement on h1', () => defaultRoutes(NS.h1).includes('ra'));
  expect(sh('ip', ['netns', 'exec', NS.h1, 'ping', '-6', '-c', '1', '-W', '2', `${PREFIX.h1}:1`])).toContain(
    '1 received',
  );
  // The kernel's: neither drift nor something to remove.
  expect(netmgr(['plan', ...dirArgs], env).stdout).toBe('No changes.\n');
});

it('accept-ra = false and link-local = false: no fe80:: address, no route or address from the advertisements', async () => {
  // By now h1 has had its advertisement; h2's router sends the same ones.
  await waitFor('h1 to be configured', () => defaultRoutes(NS.h1).includes('ra'));
  expect(sysctl(NS.h2, LINK.h2, 'accept_ra')).toBe(0);
  expect(sysctl(NS.h2, LINK.h2, 'addr_gen_mode')).toBe(1);
  expect(addrs(NS.h2, LINK.h2)).toEqual([{ local: `${PREFIX.h2}:2`, scope: 'global', dynamic: false }]);
  expect(defaultRoutes(NS.h2)).toEqual([]);
  expect(fs.readFileSync(path.join(work, 'dnsmasq.log'), 'utf8')).toContain(LINK.r2);
});

it('a failure injected at any step leaves addresses, routes and sysctls as they were; the apply that goes through changes both', async () => {
  await settleDad(Object.values(NS));
  const before = dump();
  writeUnits(units, {
    [LINK.r1]: hostUnit('h1', 'accept-ra = false\nslaac = false\nlink-local = false\n'),
    [LINK.r2]: hostUnit('h2', `addresses = ["${PREFIX.h2}:2/64"]\nlink-local = true\nslaac = false\n`),
  });
  const plan = netmgr(['plan', ...dirArgs], env).stdout;
  expect(plan).toMatch(
    new RegExp(
      `~ ipv6 of ${LINK.h1} \\[${NS.h1}\\]: accept-ra false \\(accept_ra 2 -> 0\\), slaac false \\(autoconf 1 -> 0\\), link-local false \\(addr_gen_mode 0 -> 1, removes fe80::[0-9a-f:]+/64\\)`,
    ),
  );
  expect(plan).toContain(
    `~ ipv6 of ${LINK.h2} [${NS.h2}]: slaac false (autoconf 1 -> 0), link-local true (addr_gen_mode 1 -> 0)`,
  );
  let k = 1;
  for (;;) {
    const r = apply({ NETMGR_TEST_FAIL_STEP: String(k) });
    if (r.code === 0) break;
    expect(r.stderr).toContain(`step ${k}/`);
    expect(r.stderr).toContain('the system is as it was before this apply');
    await settleDad(Object.values(NS));
    expect(dump()).toEqual(before);
    k++;
  }
  expect(k).toBe(3);
  expect(addrs(NS.h1, LINK.h1).filter((a) => a.scope === 'link')).toEqual([]);
  await waitFor("h2's fe80:: address from the kernel", () => addrs(NS.h2, LINK.h2).some((a) => a.scope === 'link'));
  expect(sysctl(NS.h1, LINK.h1, 'accept_ra')).toBe(0);
  expect(netmgr(['plan', ...dirArgs], env).stdout).toBe('No changes.\n');
});
