/**
 * Loop protection inside the learning policy, on in-memory datapaths wired into small networks with a fake clock:
 * two bridges joined by two links converge with one port discarding, no megaflow carries BPDUs or outputs to a
 * discarding port, a link going down fails over within a second, loop detection blocks a port whose own probe
 * comes back, BPDU guard err-disables, and trace names the port state that decided.
 */
import type { FlowActions } from '../../../src/flow';
import { formatActions } from '../../../src/flow';
import type { BridgeConfig, PortConfig, PortStpConfig, StpConfig } from '../../../src/model/bridges';
import { UpcallPipeline } from '../../../src/bridge/upcall';
import { LearningPolicy } from '../../../src/policy/learning';
import type { LinkFacts } from '../../../src/policy/learning/link-facts';
import { encodeBpduFrame } from '../../../src/policy/rstp';
import { buildFrame } from '../flow/frames';
import { FakeDatapath } from './fake-datapath';

const BPDU_DST = 0x0180c2000000;
const BCAST = 0xffffffffffff;

const STP: StpConfig = {
  mode: 'off',
  priority: 32768,
  helloTime: 2,
  maxAge: 20,
  forwardDelay: 15,
  txHoldCount: 6,
  loopDetect: false,
  loopDetectInterval: 1,
  loopRecovery: 300,
  ports: [],
};

interface Node {
  name: string;
  dp: FakeDatapath;
  policy: LearningPolicy;
  logs: string[];
}

/** A network of bridges and wires between their ports, with one clock and link states tests can change. */
class Net {
  readonly clock = { t: 1_000_000 };
  readonly down = new Set<string>();
  readonly nodes = new Map<string, Node>();
  private readonly wires = new Map<string, string>();
  /** Frames sent out of each `bridge:port`, wired or not (for counting floods). */
  readonly sentOut = new Map<string, number>();

  private readonly facts: LinkFacts = {
    up: (name) => !this.down.has(name),
    speedMbps: () => 1000,
    address: (name) => 0x020000000000 + [...name].reduce((h, c) => h * 31 + c.charCodeAt(0), 0),
  };

  bridge(name: string, ports: string[], stp: Partial<StpConfig> = {}, portStp: PortStpConfig[] = []): Node {
    const dp = new FakeDatapath(name);
    const logs: string[] = [];
    const policy = new LearningPolicy({
      now: () => this.clock.t,
      timers: false,
      log: (l) => logs.push(l),
      linkFacts: this.facts,
      nonce: 7,
    });
    policy.attach(dp);
    new UpcallPipeline(dp, policy, (l) => logs.push(l)).connect();
    const cfgs: PortConfig[] = ports.map((p, i) => ({
      name: p,
      no: i + 1,
      kind: 'veth',
      namespace: null,
      link: { up: true },
    }));
    const bridge: BridgeConfig = {
      name,
      datapath: 'userspace',
      policy: 'learning',
      link: { up: true },
      learning: { macAging: 300, macTableSize: 8192, staticMacs: [], stp: { ...STP, ...stp, ports: portStp } },
    };
    policy.configure(bridge, cfgs);
    const node = { name, dp, policy, logs };
    this.nodes.set(name, node);
    return node;
  }

  /** Joins two ports (`bridge:portNo`); a port wired to nothing swallows what it sends. */
  wire(a: string, b: string): void {
    this.wires.set(a, b);
    this.wires.set(b, a);
  }

  /** A frame enters at `bridge:port`; what the bridge sends goes on along the wires, up to `limit` hops in all. */
  inject(at: string, frame: Uint8Array, limit = 1000): string[] {
    const queue: Array<[string, Uint8Array]> = [[at, frame]];
    const first: string[] = [];
    for (let hops = 0; queue.length && hops < limit; hops++) {
      const [where, f] = queue.shift()!;
      const [b, p] = where.split(':');
      const node = this.nodes.get(b)!;
      node.dp.now = this.clock.t;
      const out = node.dp.receive(Number(p), f).actions;
      if (hops === 0) first.push(...outputs(out).map(String));
      for (const port of outputs(out)) this.forward(`${b}:${port}`, f, queue);
    }
    return first;
  }

  /** Advances the clock in steps of 100 ms, running every bridge's protocol timer and delivering its frames. */
  run(ms: number): void {
    for (let t = 0; t < ms; t += 100) {
      this.clock.t += 100;
      for (const n of this.nodes.values()) n.policy.runProtocols();
      this.deliverSent();
    }
  }

  private deliverSent(): void {
    for (let round = 0; round < 20; round++) {
      const frames: Array<[string, Uint8Array]> = [];
      for (const n of this.nodes.values()) {
        for (const s of n.dp.sent.splice(0))
          for (const port of outputs(s.actions)) frames.push([`${n.name}:${port}`, s.frame]);
      }
      if (!frames.length) return;
      for (const [from, f] of frames) {
        const q: Array<[string, Uint8Array]> = [];
        this.forward(from, f, q);
        for (const [to, g] of q) this.inject(to, g, 50);
      }
      for (const n of this.nodes.values()) n.policy.runProtocols();
    }
  }

  private forward(from: string, f: Uint8Array, queue: Array<[string, Uint8Array]>): void {
    this.sentOut.set(from, (this.sentOut.get(from) ?? 0) + 1);
    const [b, p] = from.split(':');
    const to = this.wires.get(from);
    const name = portName(this.nodes.get(b)!, Number(p));
    if (to === undefined || this.down.has(name)) return;
    const [tb, tp] = to.split(':');
    if (this.down.has(portName(this.nodes.get(tb)!, Number(tp)))) return;
    queue.push([to, f]);
  }
}

const outputs = (a: FlowActions): number[] => a.flatMap((x) => (x.type === 'output' ? [x.port] : []));
const portName = (n: Node, no: number): string =>
  n.policy.loopProtectionView().rstp?.ports.find((p) => p.no === no)?.name ?? `${n.name}-p${no}`;
const states = (n: Node) =>
  Object.fromEntries((n.policy.loopProtectionView().rstp?.ports ?? []).map((p) => [p.name, `${p.role}/${p.state}`]));
const frame = (src: number, dst: number) =>
  buildFrame({ src, dst, ethType: 0x0800, ipv4: { src: 1, dst: 2, proto: 17, tos: 0, ttl: 64, frag: 0 } });

/** Two bridges, a (root by priority) and b, joined by two links; a host port h on each. */
function square(opts: Partial<StpConfig> = {}) {
  const net = new Net();
  const a = net.bridge('a', ['a1', 'a2', 'ah'], { mode: 'rstp', priority: 4096, ...opts });
  const b = net.bridge('b', ['b1', 'b2', 'bh'], { mode: 'rstp', ...opts });
  net.wire('a:1', 'b:1');
  net.wire('a:2', 'b:2');
  return { net, a, b };
}

describe('spanning tree in the learning policy', () => {
  test('two bridges, two links: converged within 3 s with exactly one port discarding (alternate)', () => {
    const { net, a, b } = square();
    net.run(3000);
    expect(states(a)).toMatchObject({ a1: 'designated/forwarding', a2: 'designated/forwarding' });
    expect(states(b)).toMatchObject({ b1: 'root/forwarding', b2: 'alternate/discarding' });
    expect(b.logs).toContain('b: port b2 (2) role designated -> alternate');
    // A host port (no BPDU on it) becomes an edge port after the migrate time (3 s, 17.13.9 via edgeDelayWhile).
    net.run(1000);
    expect(states(a).ah).toBe('designated/forwarding');
    expect(states(b).bh).toBe('designated/forwarding');
  });

  test('a broadcast floods only through forwarding ports: no storm, and no flow outputs to the discarding port', () => {
    const { net, b } = square();
    net.run(4000);
    net.sentOut.clear();
    net.inject('a:3', frame(0x020000000a01, BCAST), 200);
    // a floods to b1 and b2; b takes it from b1 only (b2 discards) and floods to bh: finite.
    expect(net.sentOut.get('b:3')).toBe(1);
    expect(net.sentOut.get('b:2')).toBeUndefined();
    for (const f of b.dp.dumpFlows()) expect(outputs(f.actions)).not.toContain(2);
    expect(b.policy.trace({ inPort: 3, eth: { src: 0x020000000b01, dst: BCAST }, ethType: 0x0800 }).steps).toContain(
      'not flooded to b2 (2): discarding (spanning tree, alternate port)',
    );
    expect(b.policy.trace({ inPort: 2, eth: { src: 0x020000000a01, dst: BCAST }, ethType: 0x0800 }).reason).toBe(
      'ingress port b2 is discarding (spanning tree, alternate port)',
    );
  });

  test('BPDUs go to the slow path every time: none is ever installed or forwarded', () => {
    const { net, a, b } = square();
    net.run(5000);
    for (const n of [a, b]) {
      expect(n.dp.dumpFlows().filter((f) => f.key.eth?.dst === BPDU_DST)).toEqual([]);
      const v = n.policy.loopProtectionView().rstp!;
      expect(v.ports.find((p) => p.name.endsWith('1'))!.bpduIn).toBeGreaterThan(1);
    }
  });

  test('the root link goes down: the alternate forwards within a second', () => {
    const { net, b } = square();
    net.run(3000);
    net.down.add('b1');
    net.run(1000);
    expect(states(b)).toMatchObject({ b2: 'root/forwarding' });
    expect(b.logs).toContain('b: port b1 (1) link down');
  });

  test('BPDU guard err-disables a host port that receives a BPDU, with a warning; it recovers after loop-recovery', () => {
    const net = new Net();
    const a = net.bridge('a', ['a1', 'ah'], { mode: 'rstp', loopRecovery: 60 }, [
      { port: 'ah', priority: 128, edge: true, bpduGuard: true, rootGuard: false, bpduFilter: false },
    ]);
    net.run(1000);
    const peer = { priority: 0, address: 0x02aa00000001 };
    const bpdu = encodeBpduFrame(
      {
        type: 'Config',
        version: 0,
        tc: false,
        tca: false,
        rootId: peer,
        rootPathCost: 0,
        bridgeId: peer,
        portId: 0x8001,
        messageAge: 0,
        maxAge: 20,
        helloTime: 2,
        forwardDelay: 15,
      },
      peer.address,
    );
    expect(net.inject('a:2', bpdu)).toEqual([]);
    expect(a.logs.find((l) => l.startsWith('warning: a: BPDU guard'))).toMatch(
      /port ah \(2\); the port is disabled \(err-disabled\) for 60 s/,
    );
    const ah = () => a.policy.loopProtectionView().rstp!.ports.find((p) => p.name === 'ah')!;
    expect(ah()).toMatchObject({ state: 'discarding', blockedReason: 'bpdu-guard' });
    // The superior BPDU was not taken in: a is still its own root.
    expect(a.policy.loopProtectionView().rstp!.isRoot).toBe(true);
    net.run(59_000);
    expect(ah().blockedReason).toBe('bpdu-guard');
    net.run(2000);
    expect(ah().blockedReason).toBeUndefined();
    expect(a.logs).toContain('a: port ah (2) recovered from bpdu-guard');
    net.run(1000);
    expect(ah()).toMatchObject({ role: 'designated', state: 'forwarding' });
  });
});

describe('loop detection in the learning policy', () => {
  test('stp off: two ports of one bridge joined: one port blocked by the first probes, with a warning', () => {
    const net = new Net();
    const a = net.bridge('a', ['a1', 'a2', 'ah'], { loopDetect: true, loopRecovery: 10 });
    net.wire('a:1', 'a:2');
    net.run(200);
    const warning = a.logs.find((l) => l.startsWith('warning: a: loop detected'));
    expect(warning).toBe(
      'warning: a: loop detected: a probe sent out of port a1 (1) came back on port a2 (2); port a2 (2) is blocked for 10 s',
    );
    expect(a.policy.loopProtectionView().loopDetect?.blocked).toEqual([{ no: 2, name: 'a2' }]);
    // Nothing leaves through the blocked port; what arrives on it is neither switched nor learned.
    expect(net.inject('a:3', frame(0x020000000a01, BCAST))).toEqual(['0', '1']);
    expect(net.inject('a:2', frame(0x020000000a02, BCAST))).toEqual([]);
    expect(a.policy.fdbShow().map((e) => e.portName)).toEqual(['ah']);
    // After loop-recovery the port is probed again, and blocked again while the loop is there.
    net.run(10_000);
    expect(a.logs).toContain('a: port a2 (2) unblocked (recovery-timer); probing it again');
    net.run(1000);
    expect(a.logs.filter((l) => l.startsWith('warning: a: loop detected'))).toHaveLength(2);
  });

  test('with rstp, a probe coming back on the alternate port is no loop: nothing is blocked, failover works', () => {
    const { net, a, b } = square({ loopDetect: true });
    net.run(5000);
    for (const n of [a, b]) expect(n.policy.loopProtectionView().loopDetect?.blocked).toEqual([]);
    net.down.add('b1');
    net.run(1000);
    expect(states(b)).toMatchObject({ b2: 'root/forwarding' });
    expect(b.policy.loopProtectionView().loopDetect?.blocked).toEqual([]);
  });

  test('without a loop no port is blocked, and foreign probes are forwarded like any multicast', () => {
    const net = new Net();
    const a = net.bridge('a', ['a1', 'a2'], { loopDetect: true });
    const b = net.bridge('b', ['b1', 'b2'], { loopDetect: true });
    net.wire('a:1', 'b:1');
    net.run(3000);
    expect(a.policy.loopProtectionView().loopDetect?.blocked).toEqual([]);
    expect(b.policy.loopProtectionView().loopDetect?.blocked).toEqual([]);
    // a's probes reached b on b1 and were flooded to b2 (wired to nothing).
    expect(b.dp.stats().missed).toBeGreaterThan(0);
    expect(formatActions(b.dp.operated.flat().find((o) => o.type === 'execute')!.actions)).toBe('0,2');
  });
});
