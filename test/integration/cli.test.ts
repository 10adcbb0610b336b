/** The netmgr command as a user runs it: exit codes, located errors, JSON, refusals, the lock, crash recovery. */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import {
  cleanupPrefix,
  isRoot,
  namespacesWithPrefix,
  netmgr,
  NETMGR,
  runPrefix,
  sh,
  systemDump,
  tempDir,
  writeUnits,
} from '../helpers/sys';

const P = runPrefix();
const units = tempDir('cli-units');
const state = tempDir('cli-state');
// A socket path of this run's own: a netmgrd running on the machine must not take these applies over.
const env = { NETMGR_STATE_DIR: state, NETMGR_SOCKET: path.join(state, 'no-netmgrd.sock') };
const dirArgs = ['--dir', units];

const veth = (name: string, ns1: string, ns2: string, addr: string) => `[unit]
type = "port"
name = "${name}"
[port]
kind = "veth"
local-namespace = "${ns1}"
namespace = "${ns2}"
[ipv4]
addresses = ["${addr}"]
`;

afterAll(() => {
  cleanupPrefix(P);
  fs.rmSync(units, { recursive: true, force: true });
  fs.rmSync(state, { recursive: true, force: true });
});

test('validate reports every problem as FILE:LINE:COL with a hint, exit 2', () => {
  writeUnits(units, {
    a: '[unit]\ntype = "port"\n[port]\nkind = "veth"\nnamespace = "x"\nmac-agin = 3\n',
    b: '[unit]\ntype = "bridge"\n[bridge]\nmac-aging = 5\n',
  });
  const r = netmgr(['validate', '--offline', ...dirArgs], env);
  expect(r.code).toBe(2);
  const a = path.join(units, 'a.toml');
  const b = path.join(units, 'b.toml');
  expect(r.stderr).toContain(`${a}:6:1: error: unknown key \`mac-agin\``);
  expect(r.stderr).toContain(`${b}:4:13: error:`);
  expect(r.stderr).toMatch(/15\.\.3600/);
  expect(r.stderr).toContain('nothing was applied');
  // apply refuses the same set and changes nothing.
  expect(netmgr(['apply', ...dirArgs], env).code).toBe(2);
});

test('validate and version succeed on good units', () => {
  writeUnits(units, { [`${P}-a`]: veth(`${P}-a`, `${P}-n1`, `${P}-n2`, '198.18.4.2/24') });
  const r = netmgr(['validate', ...dirArgs], env);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('1 unit valid');
  expect(netmgr(['--version']).stdout).toMatch(/^netmgr \d+\.\d+\.\d+\n$/);
  expect(netmgr(['nonsense']).code).toBe(2);
  expect(netmgr(['plan', '--bogus'], env).code).toBe(2);
});

(isRoot() ? test : test.skip)('validate as root finds a system port that does not exist', () => {
  writeUnits(units, {
    br0: '[unit]\ntype = "bridge"\n',
    [`${P}-nic`]: `[unit]\ntype = "port"\n[port]\nbridge = "br0"\nkind = "system"\n`,
  });
  const r = netmgr(['validate', ...dirArgs], env);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain(
    `${P}-nic.toml:5:8: error: system port \`${P}-nic\`: no such interface in the root namespace`,
  );
});

(isRoot() ? test : test.skip)(
  'plan --json has the documented schema; without netmgrd, apply of a bridge says how to start it and changes nothing',
  () => {
    writeUnits(units, {
      br0: '[unit]\ntype = "bridge"\n[bridge]\ndatapath = "userspace"\npolicy = "flows"\n',
      [`${P}-p`]: `[unit]\ntype = "port"\n[port]\nbridge = "br0"\nkind = "veth"\nnamespace = "${P}-h1"\n`,
    });
    const plan = JSON.parse(netmgr(['plan', '--json', ...dirArgs], env).stdout);
    expect(plan.schema).toBe('netmgr.plan/1');
    expect(plan.changes.map((c: { action: string; object: string }) => `${c.action} ${c.object}`)).toEqual([
      'create namespace',
      'create veth',
      'create bridge',
      'create port',
    ]);
    expect(plan.summary).toEqual({ create: 4, modify: 0, delete: 0, bounce: [] });
    expect(plan.notes).toEqual([expect.stringContaining('netmgrd is not running')]);
    const before = systemDump(P);
    const r = netmgr(['apply', ...dirArgs], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('nothing was applied');
    expect(r.stderr).toContain('netmgr daemon');
    expect(systemDump(P)).toEqual(before);
    expect(namespacesWithPrefix(P)).toEqual([]);
  },
);

// This machine's kernel has no openvswitch module (the VM suite under test/vm covers the kernel datapath itself).
const hasOvsModule = fs.existsSync('/sys/module/openvswitch');
(isRoot() && !hasOvsModule ? test : test.skip)(
  'datapath = "kernel" without the openvswitch module is refused before anything is applied, with what to do; "auto" says it picks userspace',
  () => {
    writeUnits(units, { br0: '[unit]\ntype = "bridge"\n[bridge]\ndatapath = "kernel"\n' });
    const r = netmgr(['plan', ...dirArgs], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /br0\.toml:1:1: error: bridge br0: datapath = "kernel" needs the openvswitch kernel module, which is not loaded/,
    );
    expect(r.stderr).toContain('modprobe openvswitch');
    expect(r.stderr).toContain('datapath = "userspace"');
    writeUnits(units, { br0: '[unit]\ntype = "bridge"\n[bridge]\ndatapath = "auto"\n' });
    const auto = netmgr(['plan', ...dirArgs], env);
    expect(auto.code).toBe(0);
    expect(auto.stdout).toContain('+ bridge br0 (datapath userspace');
    expect(auto.stdout).toContain('datapath = "auto" is the userspace datapath here (no openvswitch kernel module');
  },
);

(isRoot() ? test : test.skip)('concurrent applies are serialized by the lock, with a clear message', async () => {
  writeUnits(units, { [`${P}-a`]: veth(`${P}-a`, `${P}-n1`, `${P}-n2`, '198.18.4.2/24') });
  fs.mkdirSync(state, { recursive: true });
  // Hold the lock the way another apply would (flock(1) from util-linux) until the waiting apply has said so: on a
  // loaded machine a CLI start takes seconds, so no fixed hold time is sure to outlast both applies' starts.
  // Its own process group, so that ending it ends flock and the sleep that inherited the locked descriptor.
  const holder = spawn('flock', [path.join(state, 'apply.lock'), 'sleep', '120'], { stdio: 'ignore', detached: true });
  const release = () => {
    try {
      process.kill(-holder.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  await new Promise((r) => setTimeout(r, 300));
  try {
    const busy = netmgr(['apply', '--no-wait', ...dirArgs], env);
    expect(busy.code).toBe(3);
    expect(busy.stderr).toContain('another netmgr apply is running');
    const waiter = spawn(process.execPath, [NETMGR, 'apply', ...dirArgs], { env: { ...process.env, ...env } });
    let stderr = '';
    waiter.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => waiter.on('exit', (code) => r(code)));
    for (let i = 0; i < 300 && !stderr.includes('waiting for another netmgr apply'); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(stderr).toContain('waiting for another netmgr apply');
    release();
    expect(await exited).toBe(0);
  } finally {
    release();
  }
  expect(namespacesWithPrefix(P)).toEqual([`${P}-n1`, `${P}-n2`]);
});

(isRoot() ? test : test.skip)(
  'an apply killed mid-way (SIGKILL) is undone by the next apply, which then converges',
  () => {
    writeUnits(units, {
      [`${P}-a`]: veth(`${P}-a`, `${P}-n1`, `${P}-n2`, '198.18.4.2/24'),
      [`${P}-c`]: veth(`${P}-c`, `${P}-n3`, `${P}-n4`, '198.18.5.2/24'),
    });
    const killed = netmgr(['apply', ...dirArgs], { ...env, NETMGR_TEST_KILL_STEP: '3' });
    expect(killed.code).not.toBe(0);
    expect(fs.existsSync(path.join(state, 'journal.jsonl'))).toBe(true);
    const r = netmgr(['apply', ...dirArgs], env);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/was interrupted; undoing its \d+ step\(s\) first/);
    expect(fs.existsSync(path.join(state, 'journal.jsonl'))).toBe(false);
    expect(netmgr(['plan', ...dirArgs], env).stdout).toBe('No changes.\n');
    expect(namespacesWithPrefix(P)).toEqual([`${P}-n1`, `${P}-n2`, `${P}-n3`, `${P}-n4`]);
    // Nothing duplicated: one veth of each name.
    expect(sh('ip', ['-n', `${P}-n3`, '-br', 'link']).match(new RegExp(`${P}-c`, 'g'))).toHaveLength(1);
    // show reports it, with no drift.
    const show = netmgr(['show', ...dirArgs], env);
    expect(show.stdout).toContain(`${P}-c [${P}-n3] <-> ${P}-c-peer [${P}-n4]`);
    expect(show.stdout).toContain('Drift: none');
    // Clean up through netmgr itself.
    writeUnits(units, {});
    expect(netmgr(['apply', ...dirArgs], env).code).toBe(0);
    expect(namespacesWithPrefix(P)).toEqual([]);
  },
);
