/** netmgrd's fdb and trace handlers against a stand-in bridge manager and learning policy. */
import type { Datapath } from '../../../src/datapath/types';
import { isLearning, runFdb, runTrace, type LearningReports, type PolicyBridges } from '../../../src/daemon/fdb';
import { RequestError } from '../../../src/daemon/errors';
import type { ErrorBody } from '../../../src/daemon/protocol';
import type { FlowKey } from '../../../src/flow';
import type { FdbEntry, FdbStats, TraceResult } from '../../../src/policy/learning/api';
import type { LoopProtectionView, LoopUnblocked } from '../../../src/policy/learning/loop-view';
import type { Policy } from '../../../src/policy/types';
import { runStp } from '../../../src/daemon/stp';

const STATS: FdbStats = {
  entries: 1,
  static: 0,
  capacity: 8192,
  learned: 1,
  expired: 0,
  evicted: 0,
  moved: 0,
  flows: 1,
};

class FakeLearning implements Policy, LearningReports {
  readonly kind = 'learning' as const;
  entries: FdbEntry[] = [
    { port: 1, portName: 'p1', vlan: 0, mac: '50:54:00:00:00:01', age: 2, static: false, moves: 0 },
  ];
  traced: FlowKey[] = [];
  attach(): void {}
  configure(): void {}
  upcall(): undefined {
    return undefined;
  }
  detach(): void {}
  fdbShow(): FdbEntry[] {
    return this.entries;
  }
  fdbFlush(): number {
    const n = this.entries.length;
    this.entries = [];
    return n;
  }
  fdbStats(): FdbStats {
    return STATS;
  }
  blocked = [{ no: 1, name: 'p1' }];
  loopProtectionView(): LoopProtectionView {
    return { bridge: 'br0', stp: 'off', loopDetect: { intervalS: 2, recoveryS: 300, blocked: this.blocked } };
  }
  loopUnblock(port: number): LoopUnblocked {
    const was = this.blocked.length;
    this.blocked = this.blocked.filter((b) => b.no !== port);
    return this.blocked.length < was ? ['loop-detect'] : [];
  }
  trace(key: FlowKey): TraceResult {
    this.traced.push(key);
    return {
      bridge: 'br0',
      flow: 'f',
      inPort: { no: key.inPort!, name: 'p1' },
      vlan: 0,
      decision: 'flood',
      reason: 'r',
      steps: [],
      outputs: [],
      actions: 'drop',
      megaflow: 'm',
    };
  }
}

const flowsPolicy: Policy = { kind: 'flows', attach() {}, configure() {}, upcall: () => undefined, detach() {} };

/** Only ports() is used by these handlers. */
const datapath = (ports: [string, number][]) =>
  ({
    ports: () => ports.map(([name, no]) => ({ name, no, type: no === 0 ? 'internal' : 'veth', ifindex: 10 + no })),
  }) as unknown as Datapath;

function bridges(): { m: PolicyBridges; br0: FakeLearning; br2: FakeLearning } {
  const br0 = new FakeLearning();
  const br2 = new FakeLearning();
  const policies = new Map<string, Policy>([
    ['br0', br0],
    ['flows-br', flowsPolicy],
    ['br2', br2],
  ]);
  const m: PolicyBridges = {
    names: () => [...policies.keys()],
    datapath: () =>
      datapath([
        ['br0', 0],
        ['p1', 1],
        ['p2', 2],
      ]),
    policy: (name) => policies.get(name)!,
  };
  return { m, br0, br2 };
}

function refusal(f: () => unknown): ErrorBody {
  try {
    f();
  } catch (e) {
    if (e instanceof RequestError) return e.body;
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('fdb', () => {
  test('isLearning tells the learning policy by its kind', () => {
    expect(isLearning(new FakeLearning())).toBe(true);
    expect(isLearning(flowsPolicy)).toBe(false);
  });
  test('show without a bridge covers every learning bridge, skipping the others', () => {
    const { m, br0 } = bridges();
    expect(runFdb(m, { command: 'show' })).toEqual([
      { bridge: 'br0', entries: br0.entries },
      { bridge: 'br2', entries: br0.entries },
    ]);
  });
  test('stats and flush of one bridge', () => {
    const { m, br0, br2 } = bridges();
    expect(runFdb(m, { command: 'stats', bridge: 'br2' })).toEqual([{ bridge: 'br2', stats: STATS }]);
    expect(runFdb(m, { command: 'flush', bridge: 'br2' })).toEqual([{ bridge: 'br2', flushed: 1 }]);
    expect(br2.entries).toEqual([]);
    expect(br0.entries).toHaveLength(1);
  });
  test('flush without a bridge flushes every learning bridge', () => {
    const { m } = bridges();
    expect(runFdb(m, { command: 'flush' })).toEqual([
      { bridge: 'br0', flushed: 1 },
      { bridge: 'br2', flushed: 1 },
    ]);
  });
  test('no learning bridge: an empty answer, not an error', () => {
    const m: PolicyBridges = { names: () => ['flows-br'], datapath: () => datapath([]), policy: () => flowsPolicy };
    expect(runFdb(m, { command: 'show' })).toEqual([]);
  });
  test('a bridge with policy "flows" has no MAC table', () => {
    const { m } = bridges();
    expect(refusal(() => runFdb(m, { command: 'show', bridge: 'flows-br' }))).toEqual({
      kind: 'invalid',
      message: 'bridge flows-br runs policy = "flows": it has no MAC table',
    });
  });
  test('an unknown bridge is refused as dpctl refuses it', () => {
    const { m } = bridges();
    expect(refusal(() => runFdb(m, { command: 'flush', bridge: 'nope' }))).toEqual({
      kind: 'invalid',
      message: 'no bridge named nope (netmgrd runs: br0, flows-br, br2)',
    });
  });
  test('an unknown command is refused before anything is flushed', () => {
    const { m, br0 } = bridges();
    expect(refusal(() => runFdb(m, { command: 'dump' as 'show' })).kind).toBe('invalid');
    expect(br0.entries).toHaveLength(1);
  });
});

describe('trace', () => {
  const trace = (flow: string, bridge = 'br0') => {
    const b = bridges();
    return { ...b, run: () => runTrace(b.m, { bridge, flow }) };
  };
  test('resolves port names and hands the key to the policy', () => {
    const t = trace('in_port(p2),eth(src=50:54:00:00:00:01,dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806),arp()');
    expect(t.run().inPort).toEqual({ no: 2, name: 'p1' });
    expect(t.br0.traced).toHaveLength(1);
    expect(t.br0.traced[0].inPort).toBe(2);
    expect(t.br0.traced[0].eth).toEqual({ src: 0x505400000001, dst: 0xffffffffffff });
  });
  test('a bridge with policy "flows" cannot be traced', () => {
    expect(refusal(trace('in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02)', 'flows-br').run)).toEqual({
      kind: 'invalid',
      message:
        'bridge flows-br runs policy = "flows": trace explains the learning policy\'s decisions; this bridge forwards by its flows (netmgr dpctl dump-flows flows-br)',
    });
  });
  test('an unknown bridge', () => {
    expect(refusal(trace('in_port(1),eth()', 'br9').run).message).toBe(
      'no bridge named br9 (netmgrd runs: br0, flows-br, br2)',
    );
  });
  const flowErrors = (flow: string) => {
    const e = refusal(trace(flow).run);
    expect(e.kind).toBe('flow');
    return e.flowErrors!.map((f) => `${f.column} ${f.token}: ${f.message}`);
  };
  test('needs in_port and eth(src,dst), located', () => {
    expect(flowErrors('eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02)')).toEqual([
      '1 eth: trace needs in_port(PORT): the port the packet arrives on, by name or number',
    ]);
    expect(flowErrors('in_port(1),eth_type(0x0806),arp()')).toEqual([
      "1 in_port: trace needs eth(src=MAC,dst=MAC): the packet's Ethernet addresses",
    ]);
    expect(flowErrors('in_port(1),eth(dst=00:00:00:00:00:02)')).toEqual([
      "12 eth: trace needs the packet's source MAC: add src=MAC to eth(...)",
    ]);
    expect(flowErrors('in_port(1),eth(src=00:00:00:00:00:01/ff:ff:ff:00:00:00,dst=00:00:00:00:00:02)')).toEqual([
      '16 src=00:00:00:00:00:01/ff:ff:ff:00:00:00: eth(src=...) must be exact for a trace (it follows one packet): remove the /mask',
    ]);
  });
  test('in_port must be a port of the bridge', () => {
    expect(flowErrors('in_port(7),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02)')).toEqual([
      '1 in_port: bridge br0 has no port 7 (ports: br0(0), p1(1), p2(2))',
    ]);
  });
  test('syntax errors and what the kernel would refuse are located too', () => {
    expect(flowErrors('in_port(p9),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02)')[0]).toMatch(/^9 p9: /);
    expect(flowErrors('in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800)')[0]).toMatch(
      /eth_type\(0x0800\) requires an ipv4\(\.\.\.\) key/,
    );
  });
});

describe('stp', () => {
  test('show without a bridge covers every learning bridge; naming a flows bridge is refused', () => {
    const { m } = bridges();
    const shown = runStp(m, { command: 'show' });
    expect(Array.isArray(shown) && shown.map((v) => v.loopDetect?.blocked)).toEqual([
      [{ no: 1, name: 'p1' }],
      [{ no: 1, name: 'p1' }],
    ]);
    expect(refusal(() => runStp(m, { command: 'show', bridge: 'flows-br' }))).toMatchObject({
      kind: 'invalid',
      message: expect.stringContaining('policy = "flows"'),
    });
  });
  test('unblock names the port by name or number and says what it lifted', () => {
    const { m, br2 } = bridges();
    expect(runStp(m, { command: 'unblock', bridge: 'br2', port: 'p1' })).toEqual({
      bridge: 'br2',
      port: 'p1',
      portNo: 1,
      lifted: ['loop-detect'],
    });
    expect(br2.blocked).toEqual([]);
    expect(runStp(m, { command: 'unblock', bridge: 'br2', port: '1' })).toMatchObject({ lifted: [] });
  });
  test('unblock refuses a missing bridge or port, and a port the bridge does not have', () => {
    const { m } = bridges();
    expect(refusal(() => runStp(m, { command: 'unblock', bridge: 'br0' })).message).toBe(
      'stp unblock needs a bridge and a port',
    );
    expect(refusal(() => runStp(m, { command: 'unblock', bridge: 'br0', port: 'p9' })).message).toBe(
      'bridge br0 has no port p9 (ports: p1(1), p2(2))',
    );
  });
});
