/**
 * A deterministic network simulator for RstpBridge (as OVS's tests/test-rstp.c): bridges whose ports attach to named
 * LANs, BPDUs delivered to every other port on the LAN after `delayMs`, a fake clock that ticks each bridge on every
 * whole second, link up/down. Everything happens in one order (time, then queue order), so every run is the same.
 */
import {
  RstpBridge,
  decodeBpduFrame,
  type RstpBridgeConfig,
  type RstpEvent,
  type RstpPortConfig,
} from '../../../../src/policy/rstp';

interface Frame {
  at: number;
  bridge: number;
  port: number;
  bytes: Uint8Array;
}

export interface SimEvent {
  at: number;
  bridge: number;
  event: RstpEvent;
}

/** A port's summary in OVS's test notation: F:<root path cost> (root port), F, L, Di (discarding), D (disabled). */
export type PortCheck = string;

export class Sim {
  now = 0;
  readonly bridges: RstpBridge[] = [];
  readonly events: SimEvent[] = [];
  /** Every BPDU put on a wire, in order (a tap for tests that look at what was sent). */
  readonly sent: Array<{ at: number; bridge: number; port: number; bytes: Uint8Array }> = [];
  private readonly lans = new Map<string, Array<{ bridge: number; port: number }>>();
  private readonly attached = new Map<string, string>();
  private queue: Frame[] = [];
  /** Ports attached since the last run: their links come up together when the run starts (both ends of a cable). */
  private pending: Array<{ bridge: number; port: number }> = [];

  /** Bridges that drop RST BPDUs on receipt, as an 802.1D-1998 bridge (the Linux bridge) does. */
  private readonly legacy = new Set<number>();

  constructor(readonly delayMs = 1) {}

  /** Makes bridge `i` behave like the Linux bridge: protocol 'stp' and RST BPDUs dropped unread. */
  makeLegacy(i: number): void {
    this.bridges[i].setBridgeConfig({ protocol: 'stp' });
    this.legacy.add(i);
  }

  /** Adds a bridge with MAC address `address` (priority 32768 unless given); returns its index. */
  addBridge(address: number, config: Partial<RstpBridgeConfig> = {}): number {
    const b = new RstpBridge({ address, ...config });
    b.tick(this.now);
    this.bridges.push(b);
    return this.bridges.length - 1;
  }

  /**
   * OVS's `bridge <n> <id> = a b 0 X`: port i+1 attaches to LAN lans[i]; '0' is a port up but on no LAN, 'X' a port
   * down. `a:100000` sets the cost, `a^112` the port priority. The links come up when the next run() starts.
   */
  bridge(address: number, lans: string[], config: Partial<RstpBridgeConfig> = {}, port: RstpPortConfig = {}): number {
    const i = this.addBridge(address, config);
    lans.forEach((spec, k) => this.attach(i, k + 1, spec, port));
    this.collect();
    return i;
  }

  /** Attaches (or re-attaches) port `no` of bridge `i` to the LAN named by `spec` (see bridge()). */
  attach(i: number, no: number, spec: string, port: RstpPortConfig = {}): void {
    const m = /^([a-z0-9X]+)(?::(\d+))?(?:\^(\d+))?$/.exec(spec);
    if (m === null) throw new Error(`bad port spec ${spec}`);
    const [, lan, cost, prio] = m;
    const b = this.bridges[i];
    const config: RstpPortConfig = {
      ...port,
      ...(cost !== undefined && { pathCost: Number(cost) }),
      ...(prio !== undefined && { priority: Number(prio) }),
    };
    this.detach(i, no);
    if (b.ports().includes(no)) b.setPortConfig(no, { pathCost: 200000, ...config, up: false });
    else b.addPort(no, { pathCost: 200000, ...config, up: false });
    if (lan !== 'X') this.pending.push({ bridge: i, port: no });
    if (lan !== 'X' && lan !== '0') {
      const conns = this.lans.get(lan) ?? [];
      conns.push({ bridge: i, port: no });
      this.lans.set(lan, conns);
      this.attached.set(`${i}/${no}`, lan);
    }
    this.collect();
  }

  /** Takes a LAN down or up: every port on it loses or regains its link. */
  setLan(lan: string, up: boolean): void {
    for (const c of this.lans.get(lan) ?? []) this.bridges[c.bridge].setPortEnabled(c.port, up);
    this.collect();
  }

  /** Runs the network for `ms` of simulated time. */
  run(ms: number): void {
    const end = this.now + ms;
    for (const c of this.pending) this.bridges[c.bridge].setPortEnabled(c.port, true);
    this.pending = [];
    this.collect();
    for (;;) {
      const nextTick = (Math.floor(this.now / 1000) + 1) * 1000;
      const nextFrame = this.queue.length > 0 ? this.queue[0].at : Infinity;
      const t = Math.min(nextTick, nextFrame);
      if (t > end) break;
      this.now = t;
      while (this.queue.length > 0 && this.queue[0].at <= this.now) {
        const f = this.queue.shift()!;
        if (this.legacy.has(f.bridge) && decodeBpduFrame(f.bytes).bpdu?.type === 'RST') continue;
        this.bridges[f.bridge].receive(f.port, f.bytes);
        this.collect();
      }
      if (t === nextTick) {
        for (const b of this.bridges) b.tick(this.now);
        this.collect();
      }
    }
    this.now = end;
  }

  /** Runs until nothing changes (no role or state event) for `quietMs`; returns when the last change happened. */
  converge(maxMs = 120_000, quietMs = 10_000): number {
    const start = this.now;
    while (this.now - start < maxMs) {
      const before = this.lastChange();
      this.run(1000);
      if (this.lastChange() === before && this.now - Math.max(before, start) >= quietMs) break;
    }
    return this.lastChange();
  }

  /** The time of the last role or state change (or of a root change). */
  lastChange(): number {
    const changes = this.events.filter((e) => ['port-role', 'port-state', 'root-changed'].includes(e.event.kind));
    return changes.length === 0 ? 0 : changes[changes.length - 1].at;
  }

  /** OVS's `check <n> = ...`: 'root' for the root bridge, else each port's summary. */
  check(i: number): string {
    const b = this.bridges[i];
    const v = b.show();
    if (v.isRoot) return 'root';
    return v.ports
      .map((p) => {
        if (p.role === 'disabled') return 'D';
        const s = p.state === 'forwarding' ? 'F' : p.state === 'learning' ? 'L' : 'Di';
        return p.role === 'root' ? `${s}:${v.rootPathCost}` : s;
      })
      .join(' ');
  }

  eventsOf(kind: RstpEvent['kind'], since = 0): SimEvent[] {
    return this.events.filter((e) => e.event.kind === kind && e.at >= since);
  }

  private detach(i: number, no: number): void {
    const lan = this.attached.get(`${i}/${no}`);
    if (lan === undefined) return;
    this.lans.set(
      lan,
      (this.lans.get(lan) ?? []).filter((c) => !(c.bridge === i && c.port === no)),
    );
    this.attached.delete(`${i}/${no}`);
  }

  /** Moves every bridge's transmits onto the wire and its events into the log. */
  private collect(): void {
    this.bridges.forEach((b, i) => {
      for (const e of b.takeEvents()) this.events.push({ at: this.now, bridge: i, event: e });
      for (const t of b.takeTransmits()) {
        this.sent.push({ at: this.now, bridge: i, port: t.port, bytes: t.bytes });
        const lan = this.attached.get(`${i}/${t.port}`);
        if (lan === undefined) continue;
        for (const c of this.lans.get(lan) ?? []) {
          if (c.bridge === i && c.port === t.port) continue;
          this.queue.push({ at: this.now + this.delayMs, bridge: c.bridge, port: c.port, bytes: t.bytes });
        }
      }
    });
  }
}
