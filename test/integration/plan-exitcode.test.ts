/** `netmgr plan --detailed-exitcode`, as terraform's: 0 no changes, 2 changes pending, 1 any error. */
import * as fs from 'fs';
import * as path from 'path';
import { cleanupPrefix, isRoot, namespacesWithPrefix, netmgr, tempDir, writeUnits } from '../helpers/sys';

// nm8 + 3 random characters on every namespace and link this test makes.
const P = 'nm8' + Math.random().toString(36).slice(2, 5);
const units = tempDir('plan-exitcode-units');
const state = tempDir('plan-exitcode-state');
const env = { NETMGR_STATE_DIR: state, NETMGR_SOCKET: path.join(state, 'no-netmgrd.sock') };
const dirArgs = ['--dir', units];
const veth = `[unit]
type = "port"
name = "${P}-a"
[port]
kind = "veth"
local-namespace = "${P}-n1"
namespace = "${P}-n2"
[ipv4]
addresses = ["198.18.7.2/24"]
`;

afterAll(() => {
  cleanupPrefix(P);
  fs.rmSync(units, { recursive: true, force: true });
  fs.rmSync(state, { recursive: true, force: true });
});

(isRoot() ? test : test.skip)('changes pending exit 2, none exit 0, and the plan is printed either way', () => {
  writeUnits(units, { [`${P}-a`]: veth });
  const pending = netmgr(['plan', '--detailed-exitcode', ...dirArgs], env);
  expect(pending.stderr).toBe('');
  expect(pending.stdout).toContain(`+ namespace ${P}-n1`);
  expect(pending.code).toBe(2);
  const json = netmgr(['plan', '--json', '--detailed-exitcode', ...dirArgs], env);
  expect(json.code).toBe(2);
  expect(JSON.parse(json.stdout).summary.create).toBeGreaterThan(0);
  // Without the option a plan with changes is still a success.
  expect(netmgr(['plan', ...dirArgs], env).code).toBe(0);

  expect(netmgr(['apply', ...dirArgs], env).code).toBe(0);
  const none = netmgr(['plan', '--detailed-exitcode', ...dirArgs], env);
  expect(none).toEqual({ code: 0, stdout: 'No changes.\n', stderr: '' });

  writeUnits(units, {});
  expect(netmgr(['plan', '--detailed-exitcode', ...dirArgs], env).code).toBe(2);
  expect(netmgr(['apply', ...dirArgs], env).code).toBe(0);
  expect(namespacesWithPrefix(P)).toEqual([]);
  expect(netmgr(['plan', '--detailed-exitcode', ...dirArgs], env).code).toBe(0);
});

(isRoot() ? test : test.skip)('every error is exit 1 with it (not 2, which would read as changes pending)', () => {
  writeUnits(units, { [`${P}-b`]: '[unit]\ntype = "port"\n[port]\nkind = "veth"\nmtu = "big"\n' });
  const invalid = netmgr(['plan', '--detailed-exitcode', ...dirArgs], env);
  expect(invalid.code).toBe(1);
  expect(invalid.stderr).toContain(`${path.join(units, `${P}-b.toml`)}:5:1: error:`);
  expect(invalid.stdout).toBe('');
  // The same units without the option keep the usual exit status for invalid input.
  expect(netmgr(['plan', ...dirArgs], env).code).toBe(2);

  const usage = netmgr(['plan', '--detailed-exitcode', '--bogus', ...dirArgs], env);
  expect(usage.code).toBe(1);
  expect(usage.stderr).toContain("netmgr plan: Unknown option '--bogus'");
  expect(usage.stderr).toContain('usage: netmgr plan [--json] [--detailed-exitcode] [--dir DIR]');
  expect(netmgr(['plan', '--bogus', ...dirArgs], env).code).toBe(2);
});

(isRoot() ? test : test.skip)(
  'a tunnel port over an IPv6 underlay: validate accepts it and plan --detailed-exitcode says changes are pending',
  () => {
    writeUnits(units, {
      [`${P}-br`]: '[unit]\ntype = "bridge"\n[bridge]\ndatapath = "userspace"\n',
      [`${P}-vx`]: `[unit]\ntype = "port"\n[port]\nbridge = "${P}-br"\nkind = "vxlan"\nvni = 100\nremotes = ["2001:db8::9"]\n`,
    });
    for (const args of [['validate', '--offline'], ['validate']]) {
      const r = netmgr([...args, ...dirArgs], env);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: '' });
    }
    const plan = netmgr(['plan', '--detailed-exitcode', ...dirArgs], env);
    expect(plan.code).toBe(2);
    expect(plan.stdout).toContain(`+ port ${P}-vx on bridge ${P}-br`);
    expect(plan.stdout).toContain('remotes 2001:db8::9');
    expect(namespacesWithPrefix(P)).toEqual([]);
    expect(fs.readdirSync('/sys/class/net').filter((n) => n.startsWith(P))).toEqual([]);
  },
);
