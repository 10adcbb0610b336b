/** RstpBridge's API contract: validation of 17.13/17.14 settings, the clock, errors, and the show view. */
import { NetmgrError } from '../../../../src/util/errors';
import { RstpBridge, formatRstpView, pathCostForSpeed } from '../../../../src/policy/rstp';

const kindOf = (f: () => void): string | undefined => {
  try {
    f();
  } catch (e) {
    return e instanceof NetmgrError ? e.kind : 'other';
  }
  return undefined;
};

describe('RstpBridge API', () => {
  test.each([
    [{ priority: 1000 }, 'invalid'],
    [{ priority: 65536 }, 'invalid'],
    [{ priority: 61440 }, undefined],
    [{ maxAge: 41 }, 'invalid'],
    [{ forwardDelay: 3 }, 'invalid'],
    [{ txHoldCount: 11 }, 'invalid'],
    [{ helloTime: 2, maxAge: 6, forwardDelay: 4 }, undefined],
  ] as const)('bridge settings %j: %s', (c, kind) => {
    expect(kindOf(() => new RstpBridge({ address: 1, ...c }))).toBe(kind);
  });

  test('17.14 relations between the times are enforced', () => {
    expect(kindOf(() => new RstpBridge({ address: 1, maxAge: 30, forwardDelay: 10 }))).toBe('invalid');
    expect(kindOf(() => new RstpBridge({ address: 1, maxAge: 6, helloTime: 3 }))).toBe('invalid');
  });

  test('port settings and numbers are checked; unknown ports are not-found, duplicates exist', () => {
    const b = new RstpBridge({ address: 1 });
    expect(kindOf(() => b.addPort(0))).toBe('invalid');
    expect(kindOf(() => b.addPort(4096))).toBe('invalid');
    expect(kindOf(() => b.addPort(1, { priority: 100 }))).toBe('invalid');
    expect(kindOf(() => b.addPort(1, { pathCost: 0 }))).toBe('invalid');
    b.addPort(1);
    expect(kindOf(() => b.addPort(1))).toBe('exists');
    expect(kindOf(() => b.portState(2))).toBe('not-found');
    expect(kindOf(() => b.receive(2, new Uint8Array(60)))).toBe('not-found');
  });

  test('17.14 Table 17-3 path costs by speed', () => {
    expect([10, 100, 1000, 2500, 10_000, 100_000].map(pathCostForSpeed)).toEqual([
      2_000_000, 200_000, 20_000, 20_000, 2_000, 200,
    ]);
    const b = new RstpBridge({ address: 1 });
    b.addPort(1, { speedMbps: 10_000 });
    expect(b.show().ports[0].pathCost).toBe(2000);
  });

  test('timers advance one step per whole second of the caller clock; a clock going back restarts the count', () => {
    const b = new RstpBridge({ address: 1 });
    b.addPort(1); // an auto edge after EdgeDelay (3 s) with no BPDU heard
    b.tick(10_000);
    b.tick(12_999);
    expect(b.portState(1)).toBe('discarding');
    b.tick(13_000);
    expect(b.portState(1)).toBe('forwarding');
    b.addPort(2);
    b.tick(5_000); // backwards: a new origin
    b.tick(7_999);
    expect(b.portState(2)).toBe('discarding');
    b.tick(8_000);
    expect(b.portState(2)).toBe('forwarding');
  });

  test('a port that is down sends nothing; removing a port reports it gone from the roles', () => {
    const b = new RstpBridge({ address: 1 });
    b.addPort(1, { up: false });
    b.tick(0);
    b.tick(10_000);
    expect(b.takeTransmits()).toEqual([]);
    expect(b.portRole(1)).toBe('disabled');
    b.setPortEnabled(1, true);
    expect(b.takeTransmits().map((t) => t.port)).toEqual([1]);
    b.removePort(1);
    expect(b.ports()).toEqual([]);
  });

  test('invalid frames are counted, not processed', () => {
    const b = new RstpBridge({ address: 1 });
    b.addPort(1);
    b.receive(1, new Uint8Array(60));
    expect(b.show().ports[0]).toMatchObject({ invalidIn: 1, bpduIn: 0 });
  });

  test('show(): the bridge, its root and a table of ports', () => {
    const b = new RstpBridge({ address: 0x525400000001, priority: 4096 });
    b.addPort(1, { name: 'eth1', adminEdge: true, bpduGuard: true });
    b.addPort(2, { name: 'eth2', up: false, priority: 16 });
    const v = b.show();
    expect(v).toMatchObject({
      bridgeId: '1000.525400000001',
      rootId: '1000.525400000001',
      isRoot: true,
      rootPathCost: 0,
    });
    expect(v.ports.map((p) => [p.name, p.portId, p.role, p.state, p.edge, p.blockedReason, p.guards])).toEqual([
      ['eth1', '8001', 'designated', 'forwarding', true, undefined, ['bpdu-guard']],
      ['eth2', '1002', 'disabled', 'discarding', false, 'link-down', []],
    ]);
    expect(formatRstpView(v)).toEqual([
      'bridge 1000.525400000001 protocol rstp',
      '  root 1000.525400000001 (this bridge)',
      '  hello 2 max-age 20 forward-delay 15 tx-hold 6 topology-changes 0',
      '  port  id    role        state       cost   edge  proto  designated              in  out  note',
      '  eth1  8001  designated  forwarding  20000  yes   rstp   1000.525400000001/8001  0   1    bpdu-guard',
      '  eth2  1002  disabled    discarding  20000  no    rstp   1000.525400000001/0000  0   0    link-down',
    ]);
  });
});
