/**
 * The learning policy against an in-memory datapath and a fake clock: learning, aging, flooding, VLAN rules,
 * eviction fairness, revalidation on moves and port changes, megaflow masks, static entries, trace.
 */
import { formatActions, formatFlowKey, parseFlow } from '../../../src/flow';
import type { BridgeConfig, PortConfig, PortVlanConfig, StaticMacConfig } from '../../../src/model/bridges';
import { LearningPolicy, FLOW_IDLE_MS } from '../../../src/policy/learning';
import { UpcallPipeline } from '../../../src/bridge/upcall';
import { buildFrame } from '../flow/frames';
import { FakeDatapath } from './fake-datapath';

const A = 0x020000000001,
  B = 0x020000000002,
  C = 0x020000000003,
  D = 0x020000000004;
const BCAST = 0xffffffffffff;

function frame(
  src: number,
  dst: number,
  opts: { vid?: number; pcp?: number; tpid?: number; l4port?: number; arp?: boolean } = {},
): Uint8Array {
  const vlans =
    opts.vid !== undefined
      ? [{ tpid: opts.tpid ?? 0x8100, tci: 0x1000 | ((opts.pcp ?? 0) << 13) | opts.vid }]
      : undefined;
  if (opts.arp)
    return buildFrame({
      src,
      dst,
      vlans,
      ethType: 0x0806,
      arp: { op: 1, sha: src, sip: 0xc6120001, tha: 0, tip: 0xc6120002 },
    });
  return buildFrame({
    src,
    dst,
    vlans,
    ethType: 0x0800,
    ipv4: { src: 0xc6120001, dst: 0xc6120002, proto: 6, tos: 0, ttl: 64, frag: 0 },
    l4: { src: 40000, dst: opts.l4port ?? 80 },
  });
}

interface Setup {
  dp: FakeDatapath;
  policy: LearningPolicy;
  clock: { t: number };
  logs: string[];
  configure(ports: Array<[string, PortVlanConfig?]>, learning?: Partial<BridgeConfig['learning']>): void;
  /** Actions as ODP text for a frame arriving on `port`. */
  send(port: number, f: Uint8Array): string;
  path(port: number, f: Uint8Array): 'hit' | 'miss';
}

function setup(
  ports: Array<[string, PortVlanConfig?]>,
  learning: { macAging?: number; macTableSize?: number; staticMacs?: StaticMacConfig[] } = {},
): Setup {
  const clock = { t: 1_000_000 };
  const logs: string[] = [];
  const dp = new FakeDatapath('br0');
  const policy = new LearningPolicy({ now: () => clock.t, timers: false, log: (l) => logs.push(l) });
  policy.attach(dp);
  new UpcallPipeline(dp, policy, (l) => logs.push(l)).connect();
  const s: Setup = {
    dp,
    policy,
    clock,
    logs,
    configure(list, l = {}) {
      const cfgs: PortConfig[] = list.map(([name, vlans], i) => ({
        name,
        no: i + 1,
        kind: 'veth',
        namespace: null,
        link: { up: true },
        ...(vlans ? { vlans } : {}),
      }));
      policy.configure(
        {
          name: 'br0',
          datapath: 'userspace',
          policy: 'learning',
          link: { up: true },
          learning: { macAging: 300, macTableSize: 8192, staticMacs: [], ...learning, ...l },
        },
        cfgs,
      );
    },
    send(port, f) {
      dp.now = clock.t;
      const a = dp.receive(port, f).actions;
      return a.length ? formatActions(a) : 'drop';
    },
    path(port, f) {
      dp.now = clock.t;
      return dp.receive(port, f).path;
    },
  };
  s.configure(ports);
  return s;
}

const fdb = (p: LearningPolicy) =>
  p.fdbShow().map((e) => `${e.portName} ${e.vlan} ${e.mac}${e.static ? ' static' : ''}`);

describe('learning and forwarding', () => {
  test('unknown unicast floods to every other port, the reply is unicast, then the pair is unicast both ways', () => {
    const s = setup([['p1'], ['p2'], ['p3']]);
    expect(s.send(1, frame(A, B))).toBe('0,2,3');
    expect(fdb(s.policy)).toEqual(['p1 0 02:00:00:00:00:01']);
    expect(s.send(2, frame(B, A))).toBe('1');
    // The flood flow A->B was revalidated when B was learned: the next A->B packet decides again, to p2 only.
    expect(s.path(1, frame(A, B))).toBe('miss');
    expect(s.send(1, frame(A, B))).toBe('2');
    expect(s.path(1, frame(A, B))).toBe('hit');
    expect(fdb(s.policy)).toEqual(['p1 0 02:00:00:00:00:01', 'p2 0 02:00:00:00:00:02']);
  });

  test('broadcast and multicast are flooded, never back out of the ingress port', () => {
    const s = setup([['p1'], ['p2'], ['p3']]);
    expect(s.send(2, frame(A, BCAST, { arp: true }))).toBe('0,1,3');
    expect(s.send(3, frame(B, 0x01005e000001))).toBe('0,1,2');
  });

  test('link-local control frames (01:80:c2:00:00:01-0f) and multicast sources are dropped, and not learned', () => {
    const s = setup([['p1'], ['p2']]);
    // LACP (02), 802.1X (03), LLDP (0e) and the rest of the range stay local, as on the Linux bridge.
    for (const dst of [0x0180c2000001, 0x0180c2000002, 0x0180c2000003, 0x0180c200000e, 0x0180c200000f])
      expect(s.send(1, frame(A, dst))).toBe('drop');
    expect(s.send(1, frame(0x010000000005, B))).toBe('drop');
    expect(s.policy.fdbShow()).toEqual([]);
    // 01:80:c2:00:00:10 is not link-local: flooded.
    expect(s.send(1, frame(A, 0x0180c2000010))).toBe('0,2');
  });

  test.each([
    ['BPDU (01:80:c2:00:00:00)', 'flood', 0x0180c2000000, '0,2,3'],
    ['01:80:c2:00:00:01 (pause)', 'drop', 0x0180c2000001, 'drop'],
    ['01:80:c2:00:00:02 (LACP)', 'drop', 0x0180c2000002, 'drop'],
    ['01:80:c2:00:00:03 (802.1X)', 'drop', 0x0180c2000003, 'drop'],
    ['01:80:c2:00:00:0e (LLDP)', 'drop', 0x0180c200000e, 'drop'],
  ])('with stp off, %s: %s', (_name, decision, dst, actions) => {
    const s = setup([['p1'], ['p2'], ['p3']]);
    const t = s.policy.trace({ inPort: 1, eth: { src: A, dst }, ethType: 0x0027 });
    expect(t.decision).toBe(decision);
    expect(s.send(1, frame(A, dst))).toBe(actions);
  });

  test('a drop flow for LLDP does not swallow the BPDUs of the same port (the destination is always exact)', () => {
    const s = setup([['p1'], ['p2']]);
    expect(s.send(1, frame(A, 0x0180c200000e))).toBe('drop');
    expect(s.path(1, frame(A, 0x0180c2000000))).toBe('miss');
    expect(s.send(1, frame(A, 0x0180c2000000))).toBe('0,2');
    expect(s.path(1, frame(A, 0x0180c200000e))).toBe('hit');
  });

  test('a destination learned on the ingress port is dropped (hairpin)', () => {
    const s = setup([['p1'], ['p2']]);
    s.send(1, frame(A, BCAST));
    expect(s.send(1, frame(B, A))).toBe('drop');
  });

  test('megaflows match in_port, the MAC pair and the VLAN, never L3/L4: one flow serves the whole pair', () => {
    const s = setup([['p1'], ['p2']]);
    s.send(2, frame(B, BCAST));
    s.send(1, frame(A, B));
    const flows = s.dp.dumpFlows().filter((f) => f.key.eth?.dst === B);
    expect(flows).toHaveLength(1);
    expect(formatFlowKey(flows[0].key, flows[0].mask)).toBe(
      'in_port(1),eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02)',
    );
    // TCP to other ports and ARP of the same pair hit the same flow.
    expect(s.path(1, frame(A, B, { l4port: 443 }))).toBe('hit');
    expect(s.path(1, frame(A, B, { arp: true }))).toBe('hit');
    expect(s.dp.dumpFlows().filter((f) => f.key.eth?.dst === B)).toHaveLength(1);
  });

  test('a tagged megaflow matches the VID exactly and wildcards the priority', () => {
    const s = setup([
      ['t1', { trunks: [10] }],
      ['t2', { trunks: [10] }],
    ]);
    s.send(2, frame(B, BCAST, { vid: 10 }));
    expect(s.send(1, frame(A, B, { vid: 10, pcp: 3 }))).toBe('2');
    const f = s.dp.dumpFlows().find((x) => x.key.eth?.src === A)!;
    expect(formatFlowKey(f.key, f.mask)).toBe(
      'in_port(1),eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02),eth_type(0x8100),vlan(vid=10,pcp=3/0x0),encap()',
    );
    expect(s.path(1, frame(A, B, { vid: 10, pcp: 5 }))).toBe('hit');
    expect(s.path(1, frame(A, B, { vid: 11 }))).toBe('miss');
  });
});

describe('aging and flow expiry (fake clock)', () => {
  test('a MAC with no traffic expires after mac-aging; flows depending on it go with it', () => {
    const s = setup([['p1'], ['p2']], { macAging: 60 });
    s.send(1, frame(A, BCAST));
    s.send(2, frame(B, A));
    s.clock.t += 59_000;
    s.policy.revalidate();
    expect(fdb(s.policy)).toHaveLength(2);
    s.clock.t += 1_000;
    s.policy.revalidate();
    expect(fdb(s.policy)).toEqual([]);
    expect(s.policy.fdbStats()).toMatchObject({ expired: 2, learned: 2 });
    // B->A floods again: A is unknown.
    expect(s.send(2, frame(B, A))).toBe('0,1');
  });

  test('traffic through installed flows keeps the MACs alive; a silent MAC ages out', () => {
    const s = setup([['p1'], ['p2'], ['p3']], { macAging: 30 });
    s.send(3, frame(C, BCAST));
    s.send(2, frame(B, BCAST));
    s.send(1, frame(A, B));
    s.send(2, frame(B, A));
    for (let i = 0; i < 10; i++) {
      s.clock.t += 5_000;
      // Both directions go through their flows: the policy sees no packet, only the flows' counters.
      expect(s.path(1, frame(A, B))).toBe('hit');
      expect(s.path(2, frame(B, A))).toBe('hit');
      s.policy.revalidate();
    }
    // 50 s: A and B (seen through their flows) are alive, C (silent) aged out at 30 s.
    expect(fdb(s.policy)).toEqual(['p1 0 02:00:00:00:00:01', 'p2 0 02:00:00:00:00:02']);
  });

  test('a megaflow idle for 10 s is deleted; an active one stays', () => {
    const s = setup([['p1'], ['p2']]);
    s.send(2, frame(B, BCAST));
    s.send(1, frame(A, B));
    s.send(2, frame(C, A));
    const count = () => s.dp.dumpFlows().length;
    const before = count();
    s.clock.t += FLOW_IDLE_MS - 1000;
    s.path(1, frame(A, B));
    s.policy.revalidate();
    expect(count()).toBe(before);
    s.clock.t += 1000;
    s.policy.revalidate();
    // Only A->B (hit 1 s ago) survives.
    expect(s.dp.dumpFlows().map((f) => f.key.eth!.src)).toEqual([A]);
    expect(s.policy.fdbStats().flows).toBe(1);
  });
});

describe('VLANs', () => {
  const ports: Array<[string, PortVlanConfig?]> = [
    ['a10', { access: 10 }],
    ['a20', { access: 20 }],
    ['trunk', { trunks: [10, 20] }],
    ['plain'],
    ['native', { trunks: [20], native: 10 }],
  ];

  test('access ports flood only within their VLAN; trunks get it tagged, the native VLAN untagged', () => {
    const s = setup(ports);
    // From a10 (VLAN 10): untagged to native (port 5), then tagged 10 to trunk (3) and the plain port (4) and bridge (0).
    expect(s.send(1, frame(A, BCAST))).toBe('5,push_vlan(vid=10,pcp=0),0,3,4');
    // From a20 (VLAN 20): tagged 20 to bridge, trunk, plain and native's trunk list.
    expect(s.send(2, frame(B, BCAST))).toBe('push_vlan(vid=20,pcp=0),0,3,4,5');
  });

  test('VLAN 10 and 20 are isolated: a unicast to a MAC learned in the other VLAN is flooded in its own, never delivered across', () => {
    const s = setup(ports);
    s.send(2, frame(B, BCAST)); // B learned in VLAN 20 on a20
    const a = s.send(1, frame(A, B));
    expect(a).not.toMatch(/(^|,)2(,|$)/);
    expect(fdb(s.policy)).toEqual(['a10 10 02:00:00:00:00:01', 'a20 20 02:00:00:00:00:02']);
  });

  test('a trunk carries both VLANs tagged: tagged 20 in reaches a20 untagged, tagged 10 reaches a10', () => {
    const s = setup(ports);
    s.send(1, frame(A, BCAST));
    s.send(2, frame(B, BCAST));
    expect(s.send(3, frame(C, B, { vid: 20 }))).toBe('pop_vlan,2');
    expect(s.send(3, frame(C, A, { vid: 10 }))).toBe('pop_vlan,1');
    expect(fdb(s.policy)).toContain('trunk 10 02:00:00:00:00:03');
    expect(fdb(s.policy)).toContain('trunk 20 02:00:00:00:00:03');
  });

  test("frames outside a port's VLANs are dropped", () => {
    const s = setup(ports);
    expect(s.send(1, frame(A, BCAST, { vid: 20 }))).toBe('drop'); // tagged on an access port
    expect(s.send(3, frame(A, BCAST, { vid: 30 }))).toBe('drop'); // not among the trunks
    expect(s.send(3, frame(A, BCAST))).toBe('drop'); // untagged on a trunk without native VLAN
    expect(s.policy.fdbShow()).toEqual([]);
  });

  test('priority-tagged frames (VID 0) on an access port are in its VLAN, sent on without the tag', () => {
    const s = setup(ports);
    s.send(2, frame(B, BCAST));
    expect(s.send(2, frame(C, BCAST, { vid: 0, pcp: 5 }))).toBe('pop_vlan,push_vlan(vid=20,pcp=0),0,3,4,5');
  });

  test('untagged frames on a trunk with native-vlan are in the native VLAN', () => {
    const s = setup(ports);
    expect(s.send(5, frame(D, BCAST))).toBe('1,push_vlan(vid=10,pcp=0),0,3,4');
    expect(fdb(s.policy)).toEqual(['native 10 02:00:00:00:00:04']);
  });

  test('802.1ad (QinQ) outer tags are not switched', () => {
    const s = setup([['p1'], ['p2']]);
    expect(s.send(1, frame(A, BCAST, { vid: 5, tpid: 0x88a8 }))).toBe('drop');
  });
});

describe('capacity and fair eviction', () => {
  test('a port flooding random source MACs evicts only its own entries', () => {
    const s = setup([['p1'], ['p2'], ['p3']], { macTableSize: 32 });
    s.send(1, frame(A, BCAST));
    s.send(2, frame(B, BCAST));
    for (let i = 0; i < 5000; i++) s.send(3, frame(0x060000000000 + i, BCAST));
    const entries = s.policy.fdbShow();
    expect(entries).toHaveLength(32);
    expect(fdb(s.policy)).toContain('p1 0 02:00:00:00:00:01');
    expect(fdb(s.policy)).toContain('p2 0 02:00:00:00:00:02');
    const st = s.policy.fdbStats();
    expect(st).toMatchObject({ capacity: 32, learned: 5002, evicted: 5002 - 32 });
    // Flows depending on evicted MACs were deleted with them: flows stay bounded by the table.
    expect(s.dp.dumpFlows().length).toBeLessThanOrEqual(32);
    // The others still switch unicast.
    expect(s.send(1, frame(A, B))).toBe('2');
  });

  test('when every port is over its share, the port with the most entries loses its oldest', () => {
    const s = setup([['p1'], ['p2']], { macTableSize: 16 });
    for (let i = 0; i < 6; i++) s.send(1, frame(0x020000000100 + i, BCAST));
    for (let i = 0; i < 10; i++) s.send(2, frame(0x020000000200 + i, BCAST));
    s.send(1, frame(0x020000000106, BCAST));
    const onP2 = s.policy
      .fdbShow()
      .filter((e) => e.portName === 'p2')
      .map((e) => e.mac);
    expect(onP2).toHaveLength(9);
    expect(onP2).not.toContain('02:00:00:00:02:00');
  });
});

describe('moves and revalidation', () => {
  test('a host moving to another port is relearned from its first packet there; flows to the old port go', () => {
    const s = setup([['p1'], ['p2'], ['p3']]);
    s.send(1, frame(A, BCAST));
    s.send(2, frame(B, A));
    expect(s.send(2, frame(B, A))).toBe('1');
    expect(s.path(2, frame(B, A))).toBe('hit');
    // A appears on p3.
    s.send(3, frame(A, B));
    expect(fdb(s.policy)).toContain('p3 0 02:00:00:00:00:01');
    expect(s.send(2, frame(B, A))).toBe('3');
    expect(s.policy.fdbShow().find((e) => e.mac === '02:00:00:00:00:01')!.moves).toBe(1);
    expect(s.policy.fdbStats().moved).toBe(1);
    expect(s.logs.join('\n')).toMatch(
      /MAC 02:00:00:00:00:01 in VLAN 0 moved from port p1 \(1\) to p3 \(3\), 1 move so far/,
    );
  });

  test('moving back is relearned too (no stale flow from the first stay bypasses learning)', () => {
    const s = setup([['p1'], ['p2'], ['p3']]);
    s.send(2, frame(B, BCAST));
    s.send(1, frame(A, B));
    s.send(1, frame(A, B));
    s.send(3, frame(A, B));
    s.send(3, frame(A, B));
    expect(s.path(1, frame(A, B))).toBe('miss');
    expect(fdb(s.policy)).toContain('p1 0 02:00:00:00:00:01');
  });

  test('a MAC flapping between two ports is logged at a limited rate', () => {
    const s = setup([['p1'], ['p2'], ['p3']]);
    s.send(2, frame(B, BCAST));
    for (let i = 0; i < 40; i++) s.send(i % 2 ? 3 : 1, frame(A, B));
    expect(s.policy.fdbStats().moved).toBe(39);
    expect(s.logs.length).toBe(5);
    expect(s.logs[4]).toMatch(/flapping between ports/);
    s.clock.t += 2000;
    s.send(1, frame(A, B));
    expect(s.logs.length).toBe(6);
    expect(s.logs[5]).toMatch(/34 more moves not logged/);
  });

  test('a port changing VLAN loses what was learned on it, and every flow is decided again', () => {
    const s = setup([['p1'], ['p2']]);
    s.send(1, frame(A, BCAST));
    s.send(2, frame(B, A));
    expect(s.dp.dumpFlows().length).toBeGreaterThan(0);
    s.configure([['p1', { access: 10 }], ['p2']]);
    expect(fdb(s.policy)).toEqual(['p2 0 02:00:00:00:00:02']);
    expect(s.dp.dumpFlows()).toEqual([]);
    // p1 is now in VLAN 10: reaches p2 only tagged.
    expect(s.send(1, frame(A, B))).toBe('push_vlan(vid=10,pcp=0),0,2');
  });

  test('a removed port: its MACs are forgotten and no flood includes it', () => {
    const s = setup([['p1'], ['p2'], ['p3']]);
    s.send(3, frame(C, BCAST));
    s.configure([['p1'], ['p2']]);
    expect(s.policy.fdbShow()).toEqual([]);
    expect(s.send(1, frame(A, C))).toBe('0,2');
  });
});

describe('static entries, flush, stats, trace', () => {
  test('a static entry forwards, is never moved by learning, and survives flush and aging', () => {
    const s = setup([['p1'], ['p2']], {
      macAging: 15,
      staticMacs: [{ mac: '02:00:00:00:00:02', port: 'p2', vlan: 0 }],
    });
    expect(s.send(1, frame(A, B))).toBe('2');
    s.send(1, frame(B, A)); // B seen on p1: ignored
    expect(fdb(s.policy)).toEqual(['p1 0 02:00:00:00:00:01', 'p2 0 02:00:00:00:00:02 static']);
    expect(s.policy.fdbFlush()).toBe(1);
    s.clock.t += 3_600_000;
    s.policy.revalidate();
    expect(fdb(s.policy)).toEqual(['p2 0 02:00:00:00:00:02 static']);
    expect(s.policy.fdbStats()).toMatchObject({ entries: 1, static: 1 });
  });

  test('a static entry added later takes over the learned one and revalidates its flows', () => {
    const s = setup([['p1'], ['p2'], ['p3']]);
    s.send(2, frame(B, BCAST));
    expect(s.send(1, frame(A, B))).toBe('2');
    s.configure([['p1'], ['p2'], ['p3']], { staticMacs: [{ mac: '02:00:00:00:00:02', port: 'p3', vlan: 0 }] });
    expect(s.send(1, frame(A, B))).toBe('3');
  });

  test('flush forgets learned MACs and the flows built on them', () => {
    const s = setup([['p1'], ['p2']]);
    s.send(1, frame(A, BCAST));
    s.send(2, frame(B, A));
    expect(s.policy.fdbFlush()).toBe(2);
    expect(s.policy.fdbShow()).toEqual([]);
    expect(s.dp.dumpFlows()).toEqual([]);
    expect(s.send(2, frame(B, A))).toBe('0,1');
  });

  test('fdb show reports age in seconds', () => {
    const s = setup([['p1'], ['p2']]);
    s.send(1, frame(A, BCAST));
    s.clock.t += 7_500;
    expect(s.policy.fdbShow()[0]).toMatchObject({
      port: 1,
      portName: 'p1',
      vlan: 0,
      mac: '02:00:00:00:00:01',
      age: 7,
      static: false,
      moves: 0,
    });
  });

  test('trace explains without learning', () => {
    const s = setup([['p1'], ['p2', { access: 10 }], ['p3']]);
    const key = parseFlow('in_port(1),eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02),eth_type(0x0800),ipv4()').key;
    const t = s.policy.trace(key);
    expect(t.decision).toBe('flood');
    expect(t.reason).toBe('no learned MAC for destination 02:00:00:00:00:02 in VLAN 0, flooding');
    expect(t.outputs.map((o) => o.name)).toEqual(['br0', 'p3']);
    expect(t.actions).toBe('0,3');
    expect(t.megaflow).toBe('in_port(1),eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02)');
    expect(t.steps[0]).toBe(
      'ingress: port p1 (1), port without VLAN settings (all VLANs tagged, untagged frames in VLAN 0)',
    );
    expect(s.policy.fdbShow()).toEqual([]);
    s.send(3, frame(B, BCAST));
    const t2 = s.policy.trace(key);
    expect(t2).toMatchObject({
      decision: 'forward',
      actions: '3',
      reason: 'destination 02:00:00:00:00:02 is learned on port p3 (3) in VLAN 0',
    });
  });
});

describe('handover between netmgrd processes (persistent bridges)', () => {
  test('learned() hands the table over; adopt() takes it back, on ports that still exist, with its ages', () => {
    const s = setup([['p1'], ['p2'], ['p3']]);
    s.send(1, frame(A, B));
    s.send(2, frame(B, A));
    s.clock.t += 5000;
    s.send(3, frame(C, A));
    const learned = s.policy.learned();
    expect(learned.map((e) => [e.port, e.mac, s.clock.t - e.lastSeen])).toEqual([
      [1, A, 5000],
      [2, B, 5000],
      [3, C, 0],
    ]);
    // The next netmgrd: no flows left in the datapath (they expired), a port gone, a MAC from the future ignored.
    const next = setup([['p1'], ['p2']]);
    next.clock.t = s.clock.t + 1000;
    next.policy.adopt([...learned, { vlan: 0, mac: D, port: 1, lastSeen: next.clock.t + 60000 }]);
    expect(fdb(next.policy)).toEqual(['p1 0 02:00:00:00:00:01', 'p2 0 02:00:00:00:00:02']);
    expect(next.policy.fdbShow().map((e) => e.age)).toEqual([6, 6]);
    // Known at once: A -> B goes to p2 alone, no flood.
    expect(next.send(1, frame(A, B))).toBe('2');
    expect(next.logs.join('\n')).toMatch(/2 MAC\(s\) learned \(2 from the table netmgrd left at its stop\)/);
  });
});
