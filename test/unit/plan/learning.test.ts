/**
 * Learning bridges in the plan: their settings (aging, table size, static MACs) and the ports' VLAN settings are
 * carried by create, changed in place by modify (bridge.set / port.set), undone exactly, and once applied the next
 * plan shows nothing.
 */
import { emptyOwnership } from '../../../src/model/ownership';
import type { LiveBridge } from '../../../src/model/bridges';
import type { LiveState } from '../../../src/live/state';
import { planChanges } from '../../../src/plan/diff';
import { formatPlan } from '../../../src/plan/format';
import { invertStep, planSteps } from '../../../src/plan/steps';
import { isDatapathStep, type Change, type Step } from '../../../src/plan/types';
import { parseUnits } from '../../../src/units';

const NO_LINKS: LiveState = { namespaces: [], links: new Map([['', []]]) };

const bridge = (name: string, body = '') => ({ file: `${name}.toml`, text: `[unit]\ntype = "bridge"\n${body}` });
const port = (name: string, body: string) => ({ file: `${name}.toml`, text: `[unit]\ntype = "port"\n[port]\n${body}` });

function desired(...sources: { file: string; text: string }[]) {
  const r = parseUnits(sources);
  expect(r.errors).toEqual([]);
  return r.state!;
}

/** What netmgrd's BridgeManager keeps for each datapath step (its `live()` report), without a datapath. */
function runSteps(bridges: LiveBridge[], steps: Step[]): LiveBridge[] {
  const out: LiveBridge[] = JSON.parse(JSON.stringify(bridges));
  const find = (name: string) => {
    const b = out.find((x) => x.name === name);
    if (!b) throw new Error(`no bridge ${name}`);
    return b;
  };
  for (const s of JSON.parse(JSON.stringify(steps)) as Step[]) {
    switch (s.op) {
      case 'bridge.create':
        out.push({ ...s.bridge, ports: [], flows: [] });
        break;
      case 'bridge.delete':
        out.splice(out.indexOf(find(s.name)), 1);
        break;
      case 'bridge.set':
        find(s.name).learning = s.to;
        break;
      case 'port.add':
        find(s.bridge).ports.push(s.port);
        break;
      case 'port.remove': {
        const b = find(s.bridge);
        b.ports = b.ports.filter((p) => p.name !== s.name);
        break;
      }
      case 'port.set': {
        const p = find(s.bridge).ports.find((x) => x.name === s.name)!;
        delete p.vlans;
        if (s.to) p.vlans = s.to;
        break;
      }
      default:
        break;
    }
  }
  return out;
}

const datapathChanges = (changes: Change[]) => changes.filter((c) => c.object === 'bridge' || c.object === 'port');

const UNITS = [
  bridge(
    'sw',
    '[bridge]\nmac-aging = 60\n[[bridge.static-mac]]\nmac = "02:00:00:00:00:01"\nport = "a"\n[[bridge.static-mac]]\nmac = "02:00:00:00:00:02"\nport = "t"\nvlan = 20\n',
  ),
  port('a', 'bridge = "sw"\nkind = "internal"\nvlan = 10\n'),
  port('t', 'bridge = "sw"\nkind = "internal"\ntrunks = [20, 10]\nnative-vlan = 5\n'),
  port('u', 'bridge = "sw"\nkind = "internal"\n'),
];

describe('learning bridges in the plan', () => {
  test('create carries learning and vlans; once applied, the next plan has no bridge or port change', () => {
    const state = desired(...UNITS);
    const plan = planChanges(state, NO_LINKS, emptyOwnership(), []);
    const create = plan.changes.find((c) => c.object === 'bridge' && c.action === 'create');
    expect(create).toMatchObject({
      learning: {
        macAging: 60,
        macTableSize: 8192,
        staticMacs: [
          { mac: '02:00:00:00:00:01', port: 'a', vlan: 10 },
          { mac: '02:00:00:00:00:02', port: 't', vlan: 20 },
        ],
      },
    });
    const ports = Object.fromEntries(
      plan.changes.filter((c) => c.object === 'port').map((c) => [(c as { name: string }).name, c]),
    );
    expect(ports.a).toMatchObject({ vlans: { access: 10 } });
    expect(ports.t).toMatchObject({ vlans: { trunks: [10, 20], native: 5 } });
    expect(ports.u).not.toHaveProperty('vlans');

    const live = runSteps([], planSteps(plan));
    expect(live[0].learning).toEqual((create as { learning: unknown }).learning);
    expect(datapathChanges(planChanges(state, NO_LINKS, emptyOwnership(), live).changes)).toEqual([]);
  });

  test('settings and VLANs change in place; the order of static MACs and trunks means nothing', () => {
    const before = runSteps([], planSteps(planChanges(desired(...UNITS), NO_LINKS, emptyOwnership(), [])));
    const reordered = desired(
      bridge(
        'sw',
        '[bridge]\nmac-aging = 60\n[[bridge.static-mac]]\nmac = "02:00:00:00:00:02"\nport = "t"\nvlan = 20\n[[bridge.static-mac]]\nmac = "02:00:00:00:00:01"\nport = "a"\n',
      ),
      UNITS[1],
      port('t', 'bridge = "sw"\nkind = "internal"\ntrunks = [10, 20]\nnative-vlan = 5\n'),
      UNITS[3],
    );
    expect(planChanges(reordered, NO_LINKS, emptyOwnership(), before).changes).toEqual([]);

    const changed = desired(
      bridge('sw', '[bridge]\nmac-aging = 120\n[[bridge.static-mac]]\nmac = "02:00:00:00:00:01"\nport = "a"\n'),
      port('a', 'bridge = "sw"\nkind = "internal"\nvlan = 30\n'),
      UNITS[2],
      port('u', 'bridge = "sw"\nkind = "internal"\ntrunks = [7]\n'),
    );
    const plan = planChanges(changed, NO_LINKS, emptyOwnership(), before);
    expect(plan.changes).toEqual([
      {
        action: 'modify',
        object: 'port',
        unit: 'a',
        name: 'a',
        bridge: 'sw',
        vlans: { from: { access: 10 }, to: { access: 30 } },
      },
      {
        action: 'modify',
        object: 'port',
        unit: 'u',
        name: 'u',
        bridge: 'sw',
        vlans: { from: undefined, to: { trunks: [7] } },
      },
      {
        action: 'modify',
        object: 'bridge',
        unit: 'sw',
        name: 'sw',
        learning: {
          from: before[0].learning,
          to: {
            macAging: 120,
            macTableSize: 8192,
            staticMacs: [{ mac: '02:00:00:00:00:01', port: 'a', vlan: 30 }],
            stp: before[0].learning!.stp,
          },
        },
      },
    ]);
    expect(formatPlan(plan)).toBe(
      [
        '~ port a on sw: vlan 10 -> 30',
        '~ port u on sw: no VLAN settings -> trunks 7',
        '~ bridge sw: mac-aging 60 -> 120, static MACs +1 -2',
        '    - static MAC 02:00:00:00:00:01 on a, VLAN 10',
        '    - static MAC 02:00:00:00:00:02 on t, VLAN 20',
        '    + static MAC 02:00:00:00:00:01 on a, VLAN 30',
        '',
        'Plan: 0 to create, 3 to modify, 0 to delete.',
        '',
      ].join('\n'),
    );
    const steps = planSteps(plan);
    expect(steps.map((s) => s.op)).toEqual(['port.set', 'port.set', 'bridge.set']);
    expect(steps.every(isDatapathStep)).toBe(true);
    const after = runSteps(before, steps);
    expect(planChanges(changed, NO_LINKS, emptyOwnership(), after).changes).toEqual([]);
    // Undo in reverse gives back exactly what ran before.
    expect(runSteps(after, [...steps].reverse().map(invertStep))).toEqual(before);
  });

  test('a port added by the plan comes before the bridge settings whose static MAC names it', () => {
    const before = runSteps([], planSteps(planChanges(desired(...UNITS), NO_LINKS, emptyOwnership(), [])));
    const plan = planChanges(
      desired(
        bridge('sw', '[bridge]\nmac-aging = 60\n[[bridge.static-mac]]\nmac = "02:00:00:00:00:09"\nport = "z"\n'),
        ...UNITS.slice(1),
        port('z', 'bridge = "sw"\nkind = "system"\nvlan = 4\n'),
      ),
      NO_LINKS,
      emptyOwnership(),
      before,
    );
    expect(planSteps(plan).map((s) => s.op)).toEqual(['port.add', 'bridge.set']);
    expect(planSteps(plan)[0]).toMatchObject({ port: { name: 'z', vlans: { access: 4 } } });
  });

  test('a port replaced for another reason is re-created with its new VLANs, not modified', () => {
    const before = runSteps([], planSteps(planChanges(desired(...UNITS), NO_LINKS, emptyOwnership(), [])));
    const plan = planChanges(
      desired(UNITS[0], port('a', 'bridge = "sw"\nkind = "system"\nvlan = 11\n'), UNITS[2], UNITS[3]),
      NO_LINKS,
      emptyOwnership(),
      before,
    );
    expect(plan.changes.map((c) => `${c.action} ${c.object}`)).toEqual(['delete port', 'create port', 'modify bridge']);
    expect(plan.changes[0]).toMatchObject({ vlans: { access: 10 }, reason: 'replaced: kind internal -> system' });
    expect(plan.changes[1]).toMatchObject({ vlans: { access: 11 } });
  });

  test('loop protection (bridge and port keys) changes in place as one bridge.set, undone exactly', () => {
    const before = runSteps([], planSteps(planChanges(desired(...UNITS), NO_LINKS, emptyOwnership(), [])));
    expect(before[0].learning?.stp).toMatchObject({ mode: 'off', loopDetect: true, ports: [] });
    const changed = desired(
      bridge(
        'sw',
        '[bridge]\nmac-aging = 60\nstp = "rstp"\nstp-priority = 8192\nloop-detect = false\n' +
          '[[bridge.static-mac]]\nmac = "02:00:00:00:00:01"\nport = "a"\n[[bridge.static-mac]]\nmac = "02:00:00:00:00:02"\nport = "t"\nvlan = 20\n',
      ),
      port('a', 'bridge = "sw"\nkind = "internal"\nvlan = 10\nstp-edge = true\nbpdu-guard = true\n'),
      UNITS[2],
      port('u', 'bridge = "sw"\nkind = "internal"\nstp-cost = 2000\n'),
    );
    const plan = planChanges(changed, NO_LINKS, emptyOwnership(), before);
    // No port or bridge is re-created: the ports' settings travel with the bridge's.
    expect(plan.changes.map((c) => `${c.action} ${c.object}`)).toEqual(['modify bridge']);
    const text = formatPlan(plan).split('\n');
    // Turning a spanning tree on says how long the network may take to settle.
    expect(text.filter((l) => l.startsWith('note: '))).toEqual([
      'note: bridge sw: stp = "rstp" starts a spanning tree: with legacy (802.1D) neighbours a topology change may ' +
        'take up to 2 x forward-delay (30 s) before ports forward; with --confirm, allow for it',
    ]);
    expect(text.filter((l) => !l.startsWith('note: ')).slice(0, 3)).toEqual([
      '~ bridge sw: stp off -> rstp, stp-priority 32768 -> 8192, loop-detect on -> off',
      '    + port a: stp-edge true, bpdu-guard',
      '    + port u: stp-cost 2000',
    ]);
    const steps = planSteps(plan);
    expect(steps.map((s) => s.op)).toEqual(['bridge.set']);
    const after = runSteps(before, steps);
    expect(after[0].learning?.stp?.ports.map((p) => p.port)).toEqual(['a', 'u']);
    expect(planChanges(changed, NO_LINKS, emptyOwnership(), after).changes).toEqual([]);
    expect(runSteps(after, [...steps].reverse().map(invertStep))).toEqual(before);
  });

  test('a flows bridge carries neither learning settings nor VLANs', () => {
    const plan = planChanges(
      desired(bridge('f', '[bridge]\npolicy = "flows"\n'), port('p', 'bridge = "f"\nkind = "internal"\n')),
      NO_LINKS,
      emptyOwnership(),
      [],
    );
    for (const c of plan.changes) {
      expect(c).not.toHaveProperty('learning');
      expect(c).not.toHaveProperty('vlans');
    }
  });

  test('a deleted learning bridge and port are restored with their settings by undo', () => {
    const before = runSteps([], planSteps(planChanges(desired(...UNITS), NO_LINKS, emptyOwnership(), [])));
    const steps = planSteps(planChanges(desired(), NO_LINKS, emptyOwnership(), before));
    expect(steps.map((s) => s.op)).toEqual(['port.remove', 'port.remove', 'port.remove', 'bridge.delete']);
    expect(
      runSteps(runSteps(before, steps), [...steps].reverse().map(invertStep)).map((b) => ({
        ...b,
        ports: [...b.ports].sort((x, y) => x.no - y.no),
      })),
    ).toEqual(before);
  });
});

describe('invertStep of the new steps', () => {
  const learning = (macAging: number) => ({
    macAging,
    macTableSize: 8192,
    staticMacs: [{ mac: '02:00:00:00:00:01', port: 'p1', vlan: 0 }],
  });
  const cases: Step[] = [
    { op: 'bridge.set', name: 'br0', to: learning(60), from: learning(300) },
    { op: 'port.set', bridge: 'br0', name: 'p1', to: { access: 20 }, from: { access: 10 } },
    { op: 'port.set', bridge: 'br0', name: 'p1', to: { trunks: [10, 20], native: 5 }, from: undefined },
    { op: 'port.set', bridge: 'br0', name: 'p1', to: undefined, from: { access: 10 } },
  ];
  test.each(cases.map((s) => [s.op, s]))(
    '%s swaps to and from, and round-trips (also through the journal JSON)',
    (_op, s) => {
      const inv = invertStep(s) as Extract<Step, { op: 'bridge.set' | 'port.set' }>;
      expect(inv.op).toBe(s.op);
      expect(inv.to).toEqual((s as typeof inv).from);
      expect(inv.from).toEqual((s as typeof inv).to);
      expect(invertStep(inv)).toEqual(s);
      const journaled = JSON.parse(JSON.stringify(s)) as Step;
      expect(invertStep(invertStep(journaled))).toEqual(s);
      expect(isDatapathStep(s)).toBe(true);
    },
  );
});
