/**
 * Whole-network behaviour beyond OVS's scenarios: rings, convergence times (RSTP by proposal/agreement in
 * milliseconds, STP in 2 x forward delay), migration to a legacy neighbour and back (mcheck), topology-change flushes,
 * edge ports, the guards, determinism.
 */
import { decodeBpduFrame } from '../../../../src/policy/rstp';
import { Sim } from './sim';

const checks = (sim: Sim, n: number): string[] => Array.from({ length: n }, (_, i) => sim.check(i));

function ring(n: number): Sim {
  const sim = new Sim();
  // Bridge i sits between LAN i and LAN i+1 (mod n); bridge 0 has the lowest address and becomes root.
  for (let i = 0; i < n; i++) sim.bridge(0x100 * (i + 1), [`l${i}`, `l${(i + 1) % n}`]);
  return sim;
}

describe('rings', () => {
  test('a ring of 3 converges in milliseconds, blocking one port on the far side', () => {
    const sim = ring(3);
    expect(sim.converge()).toBeLessThan(50);
    expect(checks(sim, 3)).toEqual(['root', 'F:200000 F', 'Di F:200000']);
  });

  test('a ring of 4 blocks the port on the bridge opposite the root, and heals a failure at once', () => {
    const sim = ring(4);
    expect(sim.converge()).toBeLessThan(50);
    // Bridge 2 is two hops away both ways: it keeps the path through the lower bridge (1) and blocks towards 3.
    expect(checks(sim, 4)).toEqual(['root', 'F:200000 F', 'F:400000 Di', 'F F:200000']);
    const t = sim.now;
    sim.setLan('l1', false); // the link between bridges 0 and 1: bridge 1 now reaches the root the long way
    expect(sim.converge() - t).toBeLessThan(50);
    expect(checks(sim, 4)).toEqual(['root', 'D F:600000', 'F F:400000', 'F F:200000']);
  });

  test('a double failure in a ring of 4 isolates one bridge, which becomes its own root', () => {
    const sim = ring(4);
    sim.converge();
    sim.setLan('l2', false);
    sim.setLan('l3', false);
    sim.converge();
    expect(sim.check(2)).toBe('root');
    expect(sim.check(3)).toBe('D F:200000');
  });
});

describe('legacy STP neighbour (ForceProtocolVersion 0)', () => {
  test('an RSTP bridge forced to version 0: the neighbour port sends Config BPDUs once it hears an STP BPDU', () => {
    const sim = new Sim();
    sim.bridge(0x111, ['a']);
    sim.bridge(0x222, ['a'], { protocol: 'stp' });
    sim.run(60_000);
    expect(checks(sim, 2)).toEqual(['root', 'F:200000']);
    expect(sim.bridges[0].show().ports[0].protocol).toBe('stp');
    // Bridge 1 sends only Configuration and TCN BPDUs; its first, at link up, falls in bridge 0's mdelayWhile
    // (CHECKING_RSTP does not listen), the TCN of its root port going forwarding is the one that migrates bridge 0.
    expect(sim.sent.filter((s) => s.bridge === 1).every((s) => decodeBpduFrame(s.bytes).bpdu?.type !== 'RST')).toBe(
      true,
    );
    const tcn = sim.sent.find((s) => s.bridge === 1 && decodeBpduFrame(s.bytes).bpdu?.type === 'TCN')!;
    const after = sim.sent
      .filter((s) => s.bridge === 0 && s.at > tcn.at)
      .map((s) => decodeBpduFrame(s.bytes).bpdu?.type);
    expect(after.length).toBeGreaterThan(5);
    expect(new Set(after)).toEqual(new Set(['Config']));
    // Bridge 1's new root port: fdWhile starts at Max Age when a port comes up (17.29 DISABLED_PORT), then one
    // forward delay of learning: 20 s + 15 s. Bridge 0's port hears nothing for EdgeDelay (3 s) and forwards as an
    // auto edge until the TCN ends that (no loop: bridge 1 discards meanwhile).
    const states = sim.eventsOf('port-state').map((e) => [e.bridge, e.at, e.event.kind === 'port-state' && e.event.to]);
    expect(states).toEqual([
      [0, 3000, 'forwarding'],
      [1, 20000, 'learning'],
      [1, 35000, 'forwarding'],
    ]);
    expect(sim.bridges[0].show().ports[0].edge).toBe(false);
  });

  test('STP mode: an alternate port that becomes root port forwards after 2 x forward delay', () => {
    const sim = new Sim();
    sim.bridge(0x111, ['a', 'b'], { protocol: 'stp' });
    sim.bridge(0x222, ['a', 'c'], { protocol: 'stp' });
    sim.bridge(0x333, ['b', 'c'], { protocol: 'stp' });
    sim.run(60_000);
    expect(checks(sim, 3)).toEqual(['root', 'F:200000 F', 'F:200000 Di']);
    const t = sim.now;
    sim.setLan('b', false);
    sim.run(60_000);
    expect(checks(sim, 3)).toEqual(['root', 'F:200000 F', 'D F:400000']);
    const states = sim
      .eventsOf('port-state', t)
      .filter((e) => e.bridge === 2)
      .map((e) => [e.at - t, e.event]);
    expect(states).toEqual([
      [0, expect.objectContaining({ port: 1, to: 'discarding' })],
      [15000, expect.objectContaining({ port: 2, to: 'learning' })],
      [30000, expect.objectContaining({ port: 2, to: 'forwarding' })],
    ]);
  });

  test('a Linux-like neighbour (STP, drops RST BPDUs): migration after migrate time, forwarding 2 x 15 s later', () => {
    const sim = new Sim();
    sim.bridge(0x111, ['a']);
    sim.bridge(0x222, ['a']);
    sim.makeLegacy(1);
    sim.run(60_000);
    expect(checks(sim, 2)).toEqual(['root', 'F:200000']);
    const types = (b: number, from: number, to: number) =>
      new Set(
        sim.sent
          .filter((s) => s.bridge === b && s.at >= from && s.at < to)
          .map((s) => decodeBpduFrame(s.bytes).bpdu?.type),
      );
    expect(types(0, 0, 3000)).toEqual(new Set(['RST']));
    expect(types(0, 4001, 60_000)).toEqual(new Set(['Config']));
    // The Config BPDU of 4 s is the first one heard after mdelayWhile (3 s); the next hello (6 s) is a Config BPDU.
    const migrated = sim.sent.find((s) => s.bridge === 0 && decodeBpduFrame(s.bytes).bpdu?.type === 'Config')!;
    expect(migrated.at).toBe(6000);
    const forwarding = sim
      .eventsOf('port-state')
      .filter((e) => e.event.kind === 'port-state' && e.event.to === 'forwarding');
    expect(forwarding.map((e) => e.bridge).sort()).toEqual([0, 1]);
    for (const e of forwarding) expect(e.at).toBeLessThanOrEqual(migrated.at + 30_000);
    for (const e of forwarding) expect(e.at).toBeGreaterThanOrEqual(30_000);
  });

  test('a topology change in STP mode asks for MACs to age out within the forward delay', () => {
    const sim = new Sim();
    sim.bridge(0x111, ['a', 'b'], { protocol: 'stp' });
    sim.bridge(0x222, ['a', 'c'], { protocol: 'stp' });
    sim.run(60_000);
    const t = sim.now;
    sim.attach(1, 2, 'c');
    sim.attach(0, 2, 'c'); // a second link appears, one of its ends goes forwarding later
    sim.run(60_000);
    const flushes = sim.eventsOf('flush', t).map((e) => e.event);
    expect(flushes.length).toBeGreaterThan(0);
    expect(flushes.every((f) => f.kind === 'flush' && f.mode === 'age' && f.ageingMs === 15000)).toBe(true);
  });

  test('a neighbour upgraded to RSTP is heard, and the port returns to RSTP on its own', () => {
    const sim = new Sim();
    sim.bridge(0x111, ['a']);
    sim.bridge(0x222, ['a']);
    sim.makeLegacy(1);
    sim.run(10_000);
    expect(sim.bridges[0].show().ports[0].protocol).toBe('stp');
    sim.bridges[1].setBridgeConfig({ protocol: 'rstp' });
    sim.run(10_000);
    expect(sim.bridges.map((b) => b.show().ports[0].protocol)).toEqual(['rstp', 'rstp']);
  });

  test('mcheck tries RSTP again on a port whose legacy neighbour went away silently', () => {
    const sim = new Sim();
    sim.bridge(0x111, ['a']);
    sim.bridge(0x222, ['a']);
    sim.makeLegacy(1);
    sim.run(10_000);
    sim.bridges[1].setPortEnabled(1, false); // behind a hub: bridge 0 keeps its link, hears nothing more
    sim.run(10_000);
    expect(sim.bridges[0].show().ports[0].protocol).toBe('stp');
    sim.bridges[0].mcheck(1);
    sim.run(1000);
    expect(sim.bridges[0].show().ports[0].protocol).toBe('rstp');
  });
});

describe('topology change', () => {
  test('a new forwarding link makes the other bridges flush the MACs of their other ports, at once (RSTP)', () => {
    const sim = new Sim();
    sim.bridge(0x111, ['a', 'b']);
    sim.bridge(0x222, ['a', 'c', '0']);
    sim.converge();
    const t = sim.now;
    sim.bridge(0x333, ['c']);
    sim.converge();
    const tc = sim.eventsOf('topology-change', t).map((e) => [e.bridge, e.event]);
    expect(tc).toContainEqual([1, expect.objectContaining({ port: 2, cause: 'detected' })]);
    expect(tc).toContainEqual([0, expect.objectContaining({ port: 1, cause: 'received' })]);
    // Bridge 0 flushes port 2 (LAN b, an edge by now); bridge 1 flushes its root port and its edge-less port 3.
    const flushed = sim.eventsOf('flush', t).map((e) => [e.bridge, e.event.kind === 'flush' && e.event.port]);
    expect(flushed).toEqual(expect.arrayContaining([[1, 1]]));
    for (const e of sim.eventsOf('flush', t)) expect(e.event).toMatchObject({ mode: 'immediate', ageingMs: 0 });
  });

  test('when the root port moves to an alternate towards the same root, its MACs move instead of being flushed', () => {
    const sim = new Sim();
    sim.bridge(0x111, ['a', 'b']);
    sim.bridge(0x222, ['a', 'c']);
    sim.bridge(0x333, ['b:300000', 'c']); // the second path is the cheaper one: c (via bridge 1) is the root port
    sim.bridges[2].setPortConfig(1, { pathCost: 500000 });
    sim.converge();
    expect(sim.check(2)).toBe('Di F:400000');
    const t = sim.now;
    sim.setLan('c', false);
    sim.converge();
    expect(sim.check(2)).toBe('F:500000 D');
    expect(sim.eventsOf('move-macs', t).map((e) => [e.bridge, e.event])).toEqual([
      [2, { kind: 'move-macs', from: 2, to: 1 }],
    ]);
  });
});

describe('edge ports', () => {
  test('an admin edge port forwards as soon as it is up, and causes no topology change', () => {
    const sim = new Sim();
    sim.bridge(0x111, ['0'], {}, { adminEdge: true });
    sim.run(1);
    expect(sim.bridges[0].portState(1)).toBe('forwarding');
    expect(sim.eventsOf('port-state')[0].at).toBe(0);
    expect(sim.eventsOf('topology-change')).toEqual([]);
    expect(sim.bridges[0].show().ports[0].edge).toBe(true);
  });

  test('an auto edge port with no bridge behind it forwards after EdgeDelay (migrate time, 3 s)', () => {
    const sim = new Sim();
    sim.bridge(0x111, ['0']);
    sim.run(10_000);
    expect(sim.eventsOf('port-state').map((e) => e.at)).toEqual([3000]);
    expect(sim.bridges[0].show().ports[0].edge).toBe(true);
  });

  test('an admin edge port that hears a BPDU is no longer an edge', () => {
    const sim = new Sim();
    sim.bridge(0x111, ['a'], {}, { adminEdge: true });
    sim.bridge(0x222, ['a']);
    sim.converge();
    expect(sim.bridges[0].show().ports[0].edge).toBe(false);
    expect(checks(sim, 2)).toEqual(['root', 'F:200000']);
  });
});

describe('guards', () => {
  test('BPDU guard err-disables the port on the first BPDU, reports it, and recoverPort lifts it', () => {
    const sim = new Sim();
    sim.bridge(0x111, ['a'], {}, { bpduGuard: true });
    sim.bridge(0x222, ['a']);
    sim.run(100);
    expect(sim.eventsOf('bpdu-guard').map((e) => [e.bridge, e.event])).toEqual([
      [0, { kind: 'bpdu-guard', port: 1, name: 'port1', source: '00:00:00:00:02:22' }],
    ]);
    const port = sim.bridges[0].show().ports[0];
    expect([port.role, port.state, port.blockedReason]).toEqual(['disabled', 'discarding', 'bpdu-guard']);
    sim.bridges[1].setPortEnabled(1, false); // the offending bridge goes away
    sim.bridges[0].recoverPort(1);
    sim.run(10_000);
    expect(sim.bridges[0].portState(1)).toBe('forwarding');
    expect(sim.eventsOf('port-recovered')).toHaveLength(1);
  });

  test('root guard keeps a port discarding while superior information arrives on it, and releases it after', () => {
    const sim = new Sim();
    sim.bridge(0x111, ['a', 'b']);
    sim.bridge(0x222, ['a'], {}, {});
    sim.bridges[0].setPortConfig(1, { rootGuard: true });
    sim.converge();
    expect(checks(sim, 2)).toEqual(['root', 'F:200000']);
    const t = sim.now;
    sim.bridges[1].setBridgeConfig({ priority: 4096 }); // bridge 1 claims the root through the guarded port
    sim.run(1000);
    expect(sim.check(0)).toBe('root');
    expect(sim.bridges[0].show().ports[0]).toMatchObject({
      role: 'alternate',
      state: 'discarding',
      blockedReason: 'root-guard',
    });
    expect(sim.eventsOf('root-guard', t).map((e) => e.event)).toEqual([
      expect.objectContaining({ port: 1, blocked: true }),
    ]);
    sim.bridges[1].setBridgeConfig({ priority: 32768 });
    sim.converge();
    expect(sim.bridges[0].show().ports[0]).toMatchObject({ role: 'designated', state: 'forwarding' });
    expect(sim.eventsOf('root-guard', t).map((e) => e.event.kind === 'root-guard' && e.event.blocked)).toEqual([
      true,
      false,
    ]);
  });

  test('BPDU filter neither sends nor processes BPDUs', () => {
    const sim = new Sim();
    sim.bridge(0x111, ['a'], {}, { bpduFilter: true });
    sim.bridge(0x222, ['a']);
    sim.run(10_000);
    const [filtered] = sim.bridges[0].show().ports;
    expect([filtered.bpduOut, filtered.bpduIn, filtered.filteredIn > 0]).toEqual([0, 0, true]);
    // Neither hears the other: both are roots, and bridge 1's port turned edge for want of BPDUs.
    expect(checks(sim, 2)).toEqual(['root', 'root']);
    expect(sim.bridges[1].show().ports[0].edge).toBe(true);
  });
});

describe('determinism', () => {
  test('the same network run twice gives the same events at the same times and the same bytes', () => {
    const run = (): string => {
      const sim = ring(4);
      sim.converge();
      sim.setLan('l1', false);
      sim.converge();
      return JSON.stringify([
        sim.events,
        sim.sent.map((s) => [s.at, s.bridge, s.port, Buffer.from(s.bytes).toString('hex')]),
      ]);
    };
    expect(run()).toBe(run());
  });
});
