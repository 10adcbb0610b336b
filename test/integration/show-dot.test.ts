/**
 * `netmgr show --dot` as root against the real system: before apply everything the units name is drawn pending;
 * after apply with netmgrd running, the same graph is live (a learning bridge with an address, a veth port in a
 * VLAN, an internal port moved into its namespace, a plain veth pair between two namespaces).
 */
import * as path from 'path';
import { assertValidDot } from '../helpers/dot-check';
import { startDaemon, stopAndClean, TestDaemon } from '../helpers/daemon';
import { isRoot, netmgr, runPrefix, tempDir, writeUnits } from '../helpers/sys';

const P = runPrefix();
const units = tempDir('dot-units');
const state = tempDir('dot-state');
const env = { NETMGR_STATE_DIR: state, NETMGR_SOCKET: path.join(state, 'netmgrd.sock') };
const BR = `${P}-br`;
let daemon: TestDaemon | undefined;
const it = isRoot() ? test : test.skip;
jest.setTimeout(60_000);

/** The statement of one node or edge: its line, trimmed. */
const stmt = (dot: string, head: string) =>
  dot
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.startsWith(head)) ?? '';

beforeAll(() => {
  if (!isRoot()) return;
  writeUnits(units, {
    [BR]: '[unit]\ntype = "bridge"\n[bridge]\ndatapath = "userspace"\n[ipv4]\naddresses = ["198.18.70.254/24"]\n',
    [`${P}-p1`]: `[unit]\ntype = "port"\n[port]\nbridge = "${BR}"\nkind = "veth"\nnamespace = "${P}-n1"\npeer = "${P}-h1"\nvlan = 10\n[ipv4]\naddresses = ["198.18.70.1/24"]\n`,
    [`${P}-i2`]: `[unit]\ntype = "port"\n[port]\nbridge = "${BR}"\nkind = "internal"\nnamespace = "${P}-n2"\n[ipv4]\naddresses = ["198.18.70.2/24"]\n`,
    [`${P}-a`]: `[unit]\ntype = "port"\n[port]\nkind = "veth"\nlocal-namespace = "${P}-n3"\nlocal-addresses = ["198.18.71.1/24"]\nnamespace = "${P}-n4"\npeer = "${P}-b"\n[ipv4]\naddresses = ["198.18.71.2/24"]\n`,
  });
});

afterAll(async () => {
  if (isRoot()) await stopAndClean(daemon, state, P, [units]);
});

it('--dot with --json is a usage error', () => {
  const r = netmgr(['show', '--dot', '--json', '--dir', units], env);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('--json and --dot cannot be used together');
});

it('before apply, without netmgrd, every object is drawn pending', () => {
  const r = netmgr(['show', '--dot', '--dir', units], env);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  assertValidDot(r.stdout);
  expect(r.stdout).toContain('label="netmgrd is not running: kernel bridges only"');
  expect(stmt(r.stdout, `"bridge:${BR}" [`)).toMatch(/198\.18\.70\.254\/24\\npending", style="dashed"\];$/);
  expect(stmt(r.stdout, `"bridge:${BR}" -- "if:/${P}-p1" [`)).toBe(
    `"bridge:${BR}" -- "if:/${P}-p1" [label="port 2\\naccess VLAN 10\\npending", style="dashed"];`,
  );
  expect(stmt(r.stdout, `"if:${P}-n3/${P}-a" -- "if:${P}-n4/${P}-b" [`)).toContain('veth\\npending');
  for (const n of [1, 2, 3, 4])
    expect(r.stdout).toContain(`label="namespace ${P}-n${n} (pending)", style="rounded,dashed"`);
});

it('after apply with netmgrd running, the same topology is drawn live', async () => {
  daemon = await startDaemon(units, state);
  const applied = netmgr(['apply', '--dir', units], env);
  expect(applied.stderr).toBe('');
  expect(applied.code).toBe(0);
  const r = netmgr(['show', '--dot', '--dir', units], env);
  expect(r.code).toBe(0);
  assertValidDot(r.stdout);
  expect(r.stdout).not.toContain('pending');
  expect(r.stdout).not.toContain('dashed');
  expect(stmt(r.stdout, `"bridge:${BR}" [`)).toBe(
    `"bridge:${BR}" [shape="box3d", label="${BR}\\nbridge, userspace datapath, policy learning\\n198.18.70.254/24"];`,
  );
  expect(stmt(r.stdout, `"bridge:${BR}" -- "if:${P}-n2/${P}-i2" [`)).toBe(
    `"bridge:${BR}" -- "if:${P}-n2/${P}-i2" [label="port 1"];`,
  );
  expect(stmt(r.stdout, `"bridge:${BR}" -- "if:/${P}-p1" [`)).toBe(
    `"bridge:${BR}" -- "if:/${P}-p1" [label="port 2\\naccess VLAN 10"];`,
  );
  expect(stmt(r.stdout, `"if:${P}-n2/${P}-i2" [`)).toBe(
    `"if:${P}-n2/${P}-i2" [label="${P}-i2\\ninternal port\\n198.18.70.2/24"];`,
  );
  expect(stmt(r.stdout, `"if:/${P}-p1" -- "if:${P}-n1/${P}-h1" [`)).toContain('[label="veth", style="bold"]');
  expect(stmt(r.stdout, `"if:${P}-n3/${P}-a" [`)).toContain('198.18.71.1/24');
  expect(stmt(r.stdout, `"if:${P}-n4/${P}-b" [`)).toContain('198.18.71.2/24');
  for (const n of [1, 2, 3, 4]) expect(r.stdout).toContain(`label="namespace ${P}-n${n}", style="rounded"`);
});
