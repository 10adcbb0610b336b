import { fdbCommand, formatFdbFlush, formatFdbStats, formatFdbTable } from '../../../src/cli/fdb';
import { EXIT_FAILURE, EXIT_INVALID, EXIT_OK, UsageError } from '../../../src/cli/command';
import { main } from '../../../src/cli/main';
import type { FdbEntry, FdbStats } from '../../../src/policy/learning/api';
import { commandHarness } from './fake-daemon';

const ENTRIES: FdbEntry[] = [
  { port: 0, portName: 'br0', vlan: 0, mac: '02:00:00:00:00:fe', age: 0, static: true, moves: 0 },
  { port: 1, portName: 'p1', vlan: 0, mac: '50:54:00:00:00:01', age: 3, static: false, moves: 0 },
  { port: 2, portName: 'p2', vlan: 10, mac: '50:54:00:00:00:02', age: 125, static: false, moves: 1 },
];

const STATS: FdbStats = {
  entries: 3,
  static: 1,
  capacity: 8192,
  learned: 14,
  expired: 11,
  evicted: 0,
  moved: 1,
  flows: 4,
};

describe('formatFdbTable', () => {
  test('prints the ovs-appctl fdb/show columns, ports by name and number, static entries as such', () => {
    expect(formatFdbTable(ENTRIES)).toBe(
      '  port  VLAN  MAC                Age\n' +
        'br0(0)     0  02:00:00:00:00:fe  static\n' +
        ' p1(1)     0  50:54:00:00:00:01    3\n' +
        ' p2(2)    10  50:54:00:00:00:02  125\n',
    );
  });
  test('keeps the ovs-appctl widths when the port labels fit', () => {
    expect(
      formatFdbTable([
        { port: 3, portName: 'p3', vlan: 4094, mac: 'aa:bb:cc:dd:ee:ff', age: 1, static: false, moves: 0 },
      ]),
    ).toBe(' port  VLAN  MAC                Age\n' + 'p3(3)  4094  aa:bb:cc:dd:ee:ff    1\n');
  });
  test('an empty table is the header alone', () => {
    expect(formatFdbTable([])).toBe(' port  VLAN  MAC                Age\n');
  });
  test('a port without a name of its own shows its number', () => {
    expect(
      formatFdbTable([
        { port: 7, portName: '', vlan: 0, mac: '00:00:00:00:00:07', age: 9, static: false, moves: 0 },
      ]).split('\n')[1],
    ).toBe('    7     0  00:00:00:00:00:07    9');
  });
});

describe('formatFdbStats', () => {
  test('prints the ovs-appctl fdb/stats-show lines and the megaflow count', () => {
    expect(formatFdbStats('br0', STATS)).toBe(
      'Statistics for bridge "br0":\n' +
        '  Current/maximum MAC entries in the table: 3/8192\n' +
        '  Current static MAC entries in the table : 1\n' +
        '  Total number of learned MAC entries     : 14\n' +
        '  Total number of expired MAC entries     : 11\n' +
        '  Total number of evicted MAC entries     : 0\n' +
        '  Total number of port moved MAC entries  : 1\n' +
        '  Current megaflows installed in datapath : 4\n',
    );
  });
});

describe('formatFdbFlush', () => {
  test('counts what was flushed', () => {
    expect(formatFdbFlush('br0', 2)).toBe('flushed 2 learned MAC entries from br0\n');
    expect(formatFdbFlush('br0', 1)).toBe('flushed 1 learned MAC entry from br0\n');
  });
});

describe('netmgr fdb', () => {
  const h = commandHarness(fdbCommand);
  const run = h.run;

  test('show BRIDGE asks for that bridge and prints its table without a heading', async () => {
    h.fake.answer = { ok: true, result: [{ bridge: 'br0', entries: ENTRIES.slice(1, 2) }] };
    expect(await run('show', 'br0')).toEqual({
      code: EXIT_OK,
      out: ' port  VLAN  MAC                Age\np1(1)     0  50:54:00:00:00:01    3\n',
      err: '',
    });
    expect(h.fake.requests).toEqual([{ op: 'fdb', command: 'show', bridge: 'br0' }]);
  });
  test('show without a bridge prints every learning bridge under a heading', async () => {
    h.fake.answer = {
      ok: true,
      result: [
        { bridge: 'br0', entries: ENTRIES.slice(1, 2) },
        { bridge: 'br1', entries: [] },
      ],
    };
    const r = await run('show');
    expect(r.out).toBe(
      'bridge br0:\n port  VLAN  MAC                Age\np1(1)     0  50:54:00:00:00:01    3\n\nbridge br1:\n port  VLAN  MAC                Age\n',
    );
    expect(h.fake.requests).toEqual([{ op: 'fdb', command: 'show' }]);
  });
  test('show says so on stderr when no bridge learns', async () => {
    h.fake.answer = { ok: true, result: [] };
    expect(await run('show')).toEqual({
      code: EXIT_OK,
      out: '',
      err: 'netmgr fdb: netmgrd runs no bridge with policy = "learning"\n',
    });
  });
  test('--json prints the raw result', async () => {
    const result = [{ bridge: 'br0', stats: STATS }];
    h.fake.answer = { ok: true, result };
    const r = await run('stats', '--json');
    expect(JSON.parse(r.out)).toEqual(result);
  });
  test('stats prints one block per bridge', async () => {
    h.fake.answer = {
      ok: true,
      result: [
        { bridge: 'br0', stats: STATS },
        { bridge: 'br1', stats: STATS },
      ],
    };
    const r = await run('stats');
    expect(r.out).toBe(`${formatFdbStats('br0', STATS)}\n${formatFdbStats('br1', STATS)}`);
  });
  test('flush prints what each bridge dropped', async () => {
    h.fake.answer = {
      ok: true,
      result: [
        { bridge: 'br0', flushed: 5 },
        { bridge: 'br1', flushed: 0 },
      ],
    };
    expect((await run('flush')).out).toBe(
      'flushed 5 learned MAC entries from br0\nflushed 0 learned MAC entries from br1\n',
    );
    expect(h.fake.requests).toEqual([{ op: 'fdb', command: 'flush' }]);
  });
  test('a refusal is printed and exits 2', async () => {
    h.fake.answer = {
      ok: false,
      error: { kind: 'invalid', message: 'bridge flows-br runs policy = "flows": it has no MAC table' },
    };
    expect(await run('show', 'flows-br')).toEqual({
      code: EXIT_INVALID,
      out: '',
      err: 'netmgr fdb show: bridge flows-br runs policy = "flows": it has no MAC table\n',
    });
  });
  test('bad command lines are UsageErrors', async () => {
    await expect(run()).rejects.toBeInstanceOf(UsageError);
    await expect(run('dump')).rejects.toBeInstanceOf(UsageError);
    await expect(run('show', 'br0', 'br1')).rejects.toBeInstanceOf(UsageError);
    await expect(run('flush', '--all')).rejects.toBeInstanceOf(UsageError);
    expect(h.fake.requests).toEqual([]);
  });
  test('without netmgrd: exit 1 with how to start it', async () => {
    const saved = process.env.NETMGR_SOCKET;
    process.env.NETMGR_SOCKET = `${h.fake.socket}.absent`;
    let err = '';
    try {
      const code = await main(['fdb', 'show'], { stdout: () => true, stderr: (t) => ((err += t), true) });
      expect(code).toBe(EXIT_FAILURE);
    } finally {
      if (saved === undefined) delete process.env.NETMGR_SOCKET;
      else process.env.NETMGR_SOCKET = saved;
    }
    expect(err).toBe(
      `netmgr fdb: netmgrd is not running (${h.fake.socket}.absent: no socket)\n  hint: start it with \`netmgr daemon\` (in the foreground) or \`systemctl start netmgr\`\n`,
    );
  });
});
