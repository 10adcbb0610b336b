/**
 * apply against the real kernel, as root: namespaces, veth pairs, addresses, MTU, MAC; no-op re-apply; targeted
 * modification; removal of only what netmgr created; rollback from a failure at every step.
 */
import * as fs from 'fs';
import * as path from 'path';
import {
  cleanupPrefix,
  isRoot,
  settleDad,
  linkIndex,
  monitor,
  namespacesWithPrefix,
  netmgr,
  ping,
  runPrefix,
  sh,
  systemDump,
  tempDir,
  writeUnits,
} from '../helpers/sys';

const P = runPrefix();
const units = tempDir('apply-units');
const state = tempDir('apply-state');
// A socket path of this run's own: a netmgrd running on the machine must not take these applies over.
const env = { NETMGR_STATE_DIR: state, NETMGR_SOCKET: path.join(state, 'no-netmgrd.sock') };
const dirArgs = ['--dir', units];

const unitA = (peerAddr = '198.18.1.2/24', mtu = 1400) => `
[unit]
type = "port"
name = "${P}-a"
[port]
kind = "veth"
local-namespace = "${P}-n1"
local-addresses = ["198.18.1.1/24"]
local-mac = "02:00:00:aa:00:01"
namespace = "${P}-n2"
peer = "${P}-b"
[ipv4]
addresses = ["${peerAddr}"]
[ipv6]
addresses = ["2001:db8:1::2/64"]
[link]
mtu = ${mtu}
mac = "02:00:00:aa:00:02"
`;

const unitC = () => `
[unit]
type = "port"
[port]
kind = "veth"
local-namespace = "${P}-n1"
local-addresses = ["198.18.2.1/24"]
namespace = "${P}-ext"
peer = "${P}-d"
[ipv4]
addresses = ["198.18.2.2/24"]
`;

const unitE = () => `
[unit]
type = "port"
[port]
kind = "veth"
local-namespace = "${P}-n4"
local-addresses = ["198.18.3.1/24"]
namespace = "${P}-n2"
peer = "${P}-f"
[ipv4]
addresses = ["198.18.3.2/24"]
`;

const describeRoot = isRoot() ? describe : describe.skip;

describeRoot('apply (root, real namespaces)', () => {
  beforeAll(() => {
    // A namespace and an interface netmgr did not create: they must never be touched.
    sh('ip', ['netns', 'add', `${P}-ext`]);
  });

  afterAll(() => {
    cleanupPrefix(P);
    fs.rmSync(units, { recursive: true, force: true });
    fs.rmSync(state, { recursive: true, force: true });
  });

  test('apply creates namespaces, veths, addresses, MTU and MAC, and ping works across', () => {
    writeUnits(units, { [`${P}-a`]: unitA(), [`${P}-c`]: unitC() });
    const r = netmgr(['apply', ...dirArgs], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`+ namespace ${P}-n1`);
    expect(namespacesWithPrefix(P)).toEqual([`${P}-ext`, `${P}-n1`, `${P}-n2`].sort());
    const [b] = JSON.parse(sh('ip', ['-n', `${P}-n2`, '-j', 'addr', 'show', 'dev', `${P}-b`]));
    expect(b.mtu).toBe(1400);
    expect(b.address).toBe('02:00:00:aa:00:02');
    expect(b.flags).toContain('UP');
    expect(b.addr_info.map((a: { local: string; prefixlen: number }) => `${a.local}/${a.prefixlen}`)).toEqual(
      expect.arrayContaining(['198.18.1.2/24', '2001:db8:1::2/64']),
    );
    const [a] = JSON.parse(sh('ip', ['-n', `${P}-n1`, '-j', 'link', 'show', 'dev', `${P}-a`]));
    expect(a.address).toBe('02:00:00:aa:00:01');
    expect(ping(`${P}-n1`, '198.18.1.2')).toBe(true);
    expect(ping(`${P}-n1`, '198.18.2.2')).toBe(true);
    // Loopback of a namespace netmgr created is up.
    expect(sh('ip', ['-n', `${P}-n1`, 'link', 'show', 'lo'])).toContain('UP');
  });

  test('re-apply with nothing changed performs no netlink write', async () => {
    const all = [null, `${P}-n1`, `${P}-n2`, `${P}-ext`];
    await settleDad(all);
    const watch = monitor(all, P);
    await new Promise((r) => setTimeout(r, 200));
    const r = netmgr(['apply', ...dirArgs], env);
    const events = await watch.stop();
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('No changes.\n');
    expect(events).toBe('');
    expect(netmgr(['plan', ...dirArgs], env).stdout).toBe('No changes.\n');
  });

  test('editing an address modifies only that address', () => {
    const before = systemDump(P);
    const idx = linkIndex(`${P}-n2`, `${P}-b`);
    writeUnits(units, { [`${P}-a`]: unitA('198.18.1.3/24'), [`${P}-c`]: unitC() });
    const plan = netmgr(['plan', '--json', ...dirArgs], env);
    const changes = JSON.parse(plan.stdout).changes;
    expect(changes).toEqual([
      {
        action: 'delete',
        object: 'address',
        unit: `${P}-a`,
        namespace: `${P}-n2`,
        link: `${P}-b`,
        address: '198.18.1.2/24',
      },
      {
        action: 'create',
        object: 'address',
        unit: `${P}-a`,
        namespace: `${P}-n2`,
        link: `${P}-b`,
        address: '198.18.1.3/24',
      },
    ]);
    expect(netmgr(['apply', ...dirArgs], env).code).toBe(0);
    expect(linkIndex(`${P}-n2`, `${P}-b`)).toBe(idx);
    const after = systemDump(P) as Record<string, { ifname: string; addr_info: { local: string }[] }[]>;
    // Everything equal except that one address.
    const swap = (d: unknown) => JSON.parse(JSON.stringify(d).split('198.18.1.3').join('198.18.1.2'));
    expect(swap(after)).toEqual(before);
    expect(ping(`${P}-n1`, '198.18.1.3')).toBe(true);
  });

  test('a unit naming an interface netmgr did not create is refused and nothing changes', () => {
    sh('ip', ['-n', `${P}-n1`, 'link', 'add', `${P}-x`, 'type', 'veth', 'peer', 'name', `${P}-y`]);
    const before = systemDump(P);
    writeUnits(units, {
      [`${P}-a`]: unitA('198.18.1.3/24'),
      [`${P}-c`]: unitC(),
      [`${P}-x`]: `[unit]\ntype = "port"\n[port]\nkind = "veth"\nlocal-namespace = "${P}-n1"\nnamespace = "${P}-n2"\n`,
    });
    const r = netmgr(['apply', ...dirArgs], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(
        `${P}-x\\.toml:\\d+:\\d+: error: interface \`${P}-x\` already exists in namespace ${P}-n1 and netmgr did not create it`,
      ),
    );
    expect(systemDump(P)).toEqual(before);
  });

  test('a failure injected at any step leaves the system exactly as before', async () => {
    writeUnits(units, { [`${P}-a`]: unitA('198.18.1.3/24'), [`${P}-c`]: unitC() });
    // A re-created veth's IPv6 link-local address gets its local route once duplicate address detection is done.
    const settled = async () => {
      await settleDad([null, ...namespacesWithPrefix(P)], 5000, P);
      return systemDump(P);
    };
    const before = await settled();
    // Target: modify MTU and an address, delete unit c (veth pair, addresses), add unit e (new namespace).
    writeUnits(units, { [`${P}-a`]: unitA('198.18.1.4/24', 1300), [`${P}-e`]: unitE() });
    const plan = JSON.parse(netmgr(['plan', '--json', ...dirArgs], env).stdout);
    expect(plan.summary).toMatchObject({ create: 5, modify: 2, delete: 2 });
    let k = 1;
    for (;;) {
      const r = netmgr(['apply', ...dirArgs], { ...env, NETMGR_TEST_FAIL_STEP: String(k) });
      if (r.code === 0) break; // k is past the last step: the apply went through
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`step ${k}/`);
      expect(r.stderr).toContain('the system is as it was before this apply');
      expect(await settled()).toEqual(before);
      k++;
    }
    expect(k).toBeGreaterThan(10);
    expect(netmgr(['plan', ...dirArgs], env).stdout).toBe('No changes.\n');
    expect(ping(`${P}-n4`, '198.18.3.2')).toBe(true);
  });

  test('deleting units removes only what netmgr created', () => {
    // Unit c is gone (previous test). Remove a and e too: n2 and n4 go; n1 holds the foreign dummy, so it stays.
    writeUnits(units, {});
    const r = netmgr(['apply', ...dirArgs], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `note: namespace ${P}-n1 is kept although no unit names it: it holds interfaces netmgr did not create (${P}-x, ${P}-y)`,
    );
    expect(namespacesWithPrefix(P)).toEqual([`${P}-ext`, `${P}-n1`]);
    expect(sh('ip', ['-n', `${P}-n1`, '-br', 'link'])).toContain(`${P}-x`);
    expect(sh('ip', ['-n', `${P}-n1`, '-br', 'link'])).not.toContain(`${P}-a`);
    expect(netmgr(['plan', ...dirArgs], env).stdout).toContain('No changes.');
  });
});
