/**
 * Routes against the real kernel, as root: a host namespace whose veth end has an address and a `gateway`, a
 * router namespace (forwarding on) and a far host behind it. Traffic beyond the gateway flows; removing the gateway
 * removes only that route (another unit route, the kernel's routes and a route added by hand stay); a failure
 * injected at every step of an apply that changes routes leaves every route table exactly as before (full
 * `ip -j route` dumps of both families in every namespace involved, compared).
 */
import { cleanupPrefix, cliWorld, isRoot, netmgr, ping, settleDad, sh, systemDump, writeUnits } from '../helpers/sys';

const { P, units, env, dirArgs } = cliWorld('rt');
const NS = { host: `${P}-h`, router: `${P}-r`, far: `${P}-f` };
const it = isRoot() ? test : test.skip;

/** The host's link to the router: the host end gets 198.18.157.2, its gateway and (optionally) more routes. */
const hostUnit = (ipv4: string) => `
[unit]
type = "port"
[port]
kind = "veth"
local-namespace = "${NS.router}"
local-addresses = ["198.18.157.1/24"]
namespace = "${NS.host}"
peer = "${P}h0"
[ipv4]
addresses = ["198.18.157.2/24"]
${ipv4}`;

/** The far host behind the router, which routes back through it. */
const farUnit = `
[unit]
type = "port"
[port]
kind = "veth"
local-namespace = "${NS.router}"
local-addresses = ["198.18.159.1/24"]
namespace = "${NS.far}"
peer = "${P}f0"
[ipv4]
addresses = ["198.18.159.2/24"]
gateway = "198.18.159.1"
`;

const GATEWAY = 'gateway = "198.18.157.1"\n';
const EXTRA_ROUTE = '[[ipv4.route]]\nto = "198.18.158.0/24"\nvia = "198.18.157.1"\nmetric = 50\n';

const routes = (ns: string) =>
  JSON.parse(sh('ip', ['-N', '-n', ns, '-4', '-j', 'route', 'show', 'table', 'all'])) as {
    dst: string;
    gateway?: string;
    protocol?: string;
    table?: string;
  }[];

function apply(): void {
  const r = netmgr(['apply', ...dirArgs], env);
  if (r.code !== 0) throw new Error(r.stdout + r.stderr);
}

beforeAll(() => {
  if (!isRoot()) return;
  writeUnits(units, { [`${P}-a`]: hostUnit(GATEWAY + EXTRA_ROUTE), [`${P}-b`]: farUnit });
  apply();
  sh('ip', ['netns', 'exec', NS.router, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
});

afterAll(() => {
  if (!isRoot()) return;
  writeUnits(units, {});
  netmgr(['apply', ...dirArgs], env);
  cleanupPrefix(P);
});

it("gateway: the default route is there, marked as netmgr's, and traffic beyond the gateway flows", () => {
  const host = routes(NS.host);
  expect(host).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '198.18.157.1', protocol: '44' }));
  expect(host).toContainEqual(expect.objectContaining({ dst: '198.18.158.0/24', gateway: '198.18.157.1' }));
  expect(ping(NS.host, '198.18.159.2')).toBe(true);
  expect(netmgr(['plan', ...dirArgs], env).stdout).toBe('No changes.\n');
});

it('removing the gateway removes only that route', () => {
  // A route added by hand (proto static): netmgr must leave it alone.
  sh('ip', ['-n', NS.host, 'route', 'add', '198.18.160.0/24', 'via', '198.18.157.1', 'proto', 'static']);
  const before = routes(NS.host);
  writeUnits(units, { [`${P}-a`]: hostUnit(EXTRA_ROUTE), [`${P}-b`]: farUnit });
  const plan = netmgr(['plan', ...dirArgs], env).stdout;
  expect(plan).toContain(`- route default (0.0.0.0/0) via 198.18.157.1 metric 0 dev ${P}h0 [${NS.host}]`);
  expect(plan).toContain('Plan: 0 to create, 0 to modify, 1 to delete.');
  apply();
  expect(routes(NS.host)).toEqual(before.filter((r) => r.dst !== 'default'));
  expect(ping(NS.host, '198.18.159.2', 1)).toBe(false);
  sh('ip', ['-n', NS.host, 'route', 'del', '198.18.160.0/24']);
});

it('a failure injected at any step of an apply that changes routes leaves every route table as it was', async () => {
  const involved = Object.values(NS);
  // IPv6 link-local addresses get their local routes once duplicate address detection is done: wait for it.
  await settleDad(involved);
  const before = systemDump(P, involved);
  // Target: the gateway back, the extra route moved to metric 60, and a new IPv6 address with its gateway.
  writeUnits(units, {
    [`${P}-a`]: hostUnit(
      GATEWAY +
        EXTRA_ROUTE.replace('metric = 50', 'metric = 60') +
        '[ipv6]\naddresses = ["2001:db8:9d::2/64"]\ngateway = "2001:db8:9d::1"\n',
    ),
    [`${P}-b`]: farUnit,
  });
  const plan = JSON.parse(netmgr(['plan', '--json', ...dirArgs], env).stdout) as {
    changes: { object: string; action: string }[];
  };
  expect(plan.changes.filter((c) => c.object === 'route').map((c) => c.action)).toEqual([
    'delete',
    'create',
    'create',
    'create',
  ]);
  let k = 1;
  for (;;) {
    const r = netmgr(['apply', ...dirArgs], { ...env, NETMGR_TEST_FAIL_STEP: String(k) });
    if (r.code === 0) break; // k is past the last step: the apply went through
    expect(r.stderr).toContain(`step ${k}/`);
    expect(r.stderr).toContain('the system is as it was before this apply');
    expect(systemDump(P, involved)).toEqual(before);
    k++;
  }
  expect(k).toBeGreaterThan(4);
  expect(netmgr(['plan', ...dirArgs], env).stdout).toBe('No changes.\n');
  expect(ping(NS.host, '198.18.159.2')).toBe(true);
});
