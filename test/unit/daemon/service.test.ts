/** The service's pure parts: log lines for the journal, netmgrd.conf, status classification, host NICs, unit-set identity. */
import { DEFAULT_DAEMON_CONFIG, parseDaemonConfig } from '../../../src/daemon/config';
import { formatLogLine, LOG_ERR, LOG_INFO, LOG_WARNING } from '../../../src/daemon/log';
import { hashSources } from '../../../src/daemon/records';
import { datapathReason, objectStates } from '../../../src/daemon/status';
import { isWatchedName } from '../../../src/daemon/watch';
import { toHostInterfaces } from '../../../src/live/host';
import type { Change } from '../../../src/plan/types';
import { parseUnits } from '../../../src/units';

describe('log lines', () => {
  test('under the journal each line carries its syslog priority', () => {
    expect(formatLogLine(LOG_ERR, 'a.toml:1:2: error: x\n  hint: y', true)).toBe(
      '<3>a.toml:1:2: error: x\n<3>  hint: y\n',
    );
    expect(formatLogLine(LOG_INFO, 'ready', true)).toBe('<6>ready\n');
  });
  test('elsewhere lines say netmgrd and spell out warnings and errors', () => {
    expect(formatLogLine(LOG_WARNING, 'rolled back', false)).toBe('netmgrd: warning: rolled back\n');
    expect(formatLogLine(LOG_INFO, 'ready', false)).toBe('netmgrd: ready\n');
  });
});

describe('netmgrd.conf', () => {
  test('empty means the defaults; every key is read', () => {
    expect(parseDaemonConfig('c', '')).toEqual({ config: DEFAULT_DAEMON_CONFIG, errors: [] });
    expect(DEFAULT_DAEMON_CONFIG.strictPermissions).toBe(true);
    expect(parseDaemonConfig('c', 'watch = false\nwatch-delay = 1000\nstrict-permissions = false\n').config).toEqual({
      watch: false,
      watchDelayMs: 1000,
      strictPermissions: false,
      httpListen: null,
      httpAllowRemote: false,
    });
  });
  test.each([
    ['watch = "no"\n', 1, 9, '`watch` must be true or false'],
    ['strict-permissions = 0\n', 1, 22, '`strict-permissions` must be true or false'],
    ['watch-delay = 60001\n', 1, 15, '`watch-delay` must be an integer from 0 to 60000'],
    ['watch-delay = 1.5\n', 1, 15, '`watch-delay` must be an integer'],
    ['\nwatsh = true\n', 2, 1, 'unknown key `watsh`'],
    ['watch = \n', 1, 9, 'TOML syntax error'],
  ])('%j is refused at its line and column', (text, line, col, message) => {
    const r = parseDaemonConfig('/etc/netmgr/netmgrd.conf', text);
    expect(r.config).toBeNull();
    expect(r.errors[0]).toMatchObject({ file: '/etc/netmgr/netmgrd.conf', line, col });
    expect(r.errors[0].message).toContain(message);
  });
});

test("the watcher keeps to units and netmgrd.conf, not editors' hidden files", () => {
  expect(
    ['br0.toml', 'netmgrd.conf', '.br0.toml.swp', '.#br0.toml', 'br0.toml~', 'README', '.br0.tmp'].filter(
      isWatchedName,
    ),
  ).toEqual(['br0.toml', 'netmgrd.conf']);
});

test('a unit set is identified by file names and contents, not by its directory', () => {
  const a = [
    { file: '/etc/netmgr/a.toml', text: 'x' },
    { file: '/etc/netmgr/b.toml', text: 'y' },
  ];
  expect(hashSources(a)).toBe(
    hashSources([
      { file: '/tmp/u/b.toml', text: 'y' },
      { file: '/tmp/u/a.toml', text: 'x' },
    ]),
  );
  expect(hashSources(a)).not.toBe(hashSources([{ file: '/etc/netmgr/a.toml', text: 'x ' }, a[1]]));
});

describe('status: realised, pending, drifted, failed', () => {
  const desired = (ports: string[]) => {
    const files = [{ file: '/u/br0.toml', text: '[unit]\ntype = "bridge"\n[bridge]\ndatapath = "userspace"\n' }];
    for (const p of ports)
      files.push({
        file: `/u/${p}.toml`,
        text: `[unit]\ntype = "port"\n[port]\nbridge = "br0"\nkind = "veth"\nnamespace = "ns-${p}"\npeer = "h-${p}"\n`,
      });
    const r = parseUnits(files);
    if (!r.state) throw new Error(JSON.stringify(r.errors));
    return r.state;
  };
  const addr = (unit: string, action: 'create' | 'delete' = 'create'): Change => ({
    action,
    object: 'address',
    unit,
    namespace: `ns-${unit}`,
    link: `h-${unit}`,
    address: '198.18.0.1/24',
  });
  const stateOf = (r: ReturnType<typeof objectStates>) =>
    Object.fromEntries(r.map((o) => [`${o.object} ${o.name}`, o.state]));

  test('everything matches: realised', () => {
    const d = desired(['p1']);
    expect(
      stateOf(objectStates({ applied: d, appliedChanges: [], disk: d, diskChanges: [], lastFailed: false })),
    ).toEqual({ 'bridge br0': 'realised', 'port p1': 'realised', 'namespace ns-p1': 'realised' });
  });
  test('changed by hand since the apply: drifted, with what differs', () => {
    const d = desired(['p1']);
    const r = objectStates({
      applied: d,
      appliedChanges: [addr('p1')],
      disk: d,
      diskChanges: [addr('p1')],
      lastFailed: false,
    });
    expect(r.find((o) => o.name === 'p1')).toEqual({
      object: 'port',
      name: 'p1',
      state: 'drifted',
      changes: ['+ address 198.18.0.1/24 on h-p1 [ns-p1]'],
    });
  });
  test('on disk but not applied: pending; a unit removed on disk but not applied: pending', () => {
    const r = objectStates({
      applied: desired(['p1']),
      appliedChanges: [],
      disk: desired(['p2']),
      diskChanges: [{ action: 'create', object: 'namespace', name: 'ns-p2' }, addr('p2'), addr('p1', 'delete')],
      lastFailed: false,
    });
    expect(stateOf(r)).toMatchObject({
      'port p1': 'pending',
      'port p2': 'pending',
      'namespace ns-p2': 'pending',
      'namespace ns-p1': 'realised',
    });
  });
  test('the last apply of the disk failed: what it would change is failed', () => {
    const r = objectStates({
      applied: desired([]),
      appliedChanges: [],
      disk: desired(['p1']),
      diskChanges: [addr('p1')],
      lastFailed: true,
    });
    expect(stateOf(r)['port p1']).toBe('failed');
    expect(stateOf(r)['bridge br0']).toBe('realised');
  });
  test('units on disk invalid: drift is still reported against what was applied', () => {
    const d = desired(['p1']);
    expect(
      stateOf(
        objectStates({ applied: d, appliedChanges: [addr('p1')], disk: null, diskChanges: null, lastFailed: false }),
      )['port p1'],
    ).toBe('drifted');
  });
});

test('status says why a bridge runs on its datapath', () => {
  expect(datapathReason('kernel', 'kernel', true)).toBe('datapath = "kernel" in its unit');
  expect(datapathReason('auto', 'kernel', true)).toBe('datapath = "auto" and the kernel has the openvswitch datapath');
  expect(datapathReason('auto', 'userspace', false)).toMatch(
    /^datapath = "auto" and the kernel has no openvswitch datapath \(.*blacklisted\)$/,
  );
  // Loaded later: "auto" keeps a running bridge where it is, and status says so rather than blaming the kernel.
  expect(datapathReason('auto', 'userspace', true)).toMatch(/was not there when the bridge was created/);
  expect(datapathReason(undefined, 'kernel', true)).toBe('no unit in force names this bridge');
});

test('host interfaces: loopback left out, unknown speed and duplex are null, sorted by name', () => {
  const si = (iface: string, speed: number | null, duplex: string, internal = false) => ({
    iface,
    mac: '02:00:00:00:00:01',
    operstate: 'up',
    mtu: 1500,
    speed,
    duplex,
    virtual: false,
    internal,
  });
  const r = toHostInterfaces([si('lo', null, '', true), si('eth1', 1000, 'full'), si('eth0', -1, 'unknown')], (n) =>
    n === 'eth1' ? 'e1000e' : null,
  );
  expect(r).toEqual([
    {
      name: 'eth0',
      mac: '02:00:00:00:00:01',
      operstate: 'up',
      mtu: 1500,
      speed: null,
      duplex: null,
      driver: null,
      virtual: false,
    },
    {
      name: 'eth1',
      mac: '02:00:00:00:00:01',
      operstate: 'up',
      mtu: 1500,
      speed: 1000,
      duplex: 'full',
      driver: 'e1000e',
      virtual: false,
    },
  ]);
});
