/**
 * Loop protection of one learning bridge: the spanning tree (RstpBridge, 802.1D-2004 clause 17, when stp is not
 * "off") and the loop-detection probe (LoopDetector, when loop-detect is on), driven by the learning policy. It
 * turns their verdicts into one gate per port (learn? forward?) that the forwarding decision reads, takes the
 * frames addressed to it (BPDUs, its own probes) before the decision, and hands the policy what to do: frames to
 * send, MACs to flush or move, flows to revalidate, lines to log. It keeps no timer: the policy calls run() from its
 * own, so the protocols run wherever the policy runs and never on the control path.
 */
import type { PortStpConfig, StpConfig } from '../../model/bridges';
import { formatMac } from '../../flow/text';
import { messageOf } from '../../util/errors';
import { RstpBridge, LoopDetector, parseProbe, type RstpEvent, type RstpPortConfig, type LoopEvent } from '../rstp';
import type { LinkFacts } from './link-facts';
import { type LoopProtectionView, type PortGate, OPEN, gateOf } from './loop-view';

export { type LoopProtectionView, type PortGate } from './loop-view';

/** What loop protection asks of the policy. */
export interface ProtectionHost {
  /** Sends a frame of the bridge's own out of one port (the datapath's execute); false when detached. Throws on failure. */
  send(port: number, frame: Uint8Array): boolean;
  /** Forgets the MACs learned on the port (17.19.7 fdbFlush), with the flows that depended on them. */
  flushPort(port: number): void;
  /** Moves the MACs learned on `from` to `to` (same root through a new root port). */
  moveMacs(from: number, to: number): void;
  /** A port's gate changed: every installed flow is decided again (none may output to a port that stopped). */
  revalidateAll(): void;
  info(line: string): void;
  warning(line: string): void;
}

export interface ProtectedPort {
  no: number;
  name: string;
}

/** The Bridge Group Address (BPDUs) and the probe's, as numbers. */
const BPDU_DST = 0x0180c2000000;

/** Bridge settings that, changed, rebuild the engine (mode) or reconfigure it (the rest); ports apart. */
const bridgeKey = (s: StpConfig): string =>
  [s.mode, s.priority, s.helloTime, s.maxAge, s.forwardDelay, s.txHoldCount].join('/');
const detectKey = (s: StpConfig): string => [s.loopDetect, s.loopDetectInterval, s.loopRecovery].join('/');

export class LoopProtection {
  private bridge = '';
  private settings: StpConfig | undefined;
  private rstp: RstpBridge | undefined;
  private detector: LoopDetector | undefined;
  private detectorPorts = new Set<number>();
  private ports: ProtectedPort[] = [];
  private readonly portKeys = new Map<number, string>();
  private readonly linkUp = new Map<number, boolean>();
  private gates = new Map<number, PortGate>();
  private pending: Array<{ port: number; bytes: Uint8Array }> = [];
  private flushScheduled = false;
  /** Ports BPDU guard err-disabled, and when (this.now()) they recover: loop-recovery seconds later. */
  private readonly errDisabledUntil = new Map<number, number>();

  constructor(
    private readonly host: ProtectionHost,
    private readonly facts: LinkFacts,
    private readonly now: () => number,
    /** A random 32-bit value per start: probes of an earlier run are not taken for loops. */
    private readonly nonce: number,
  ) {}

  /** Whether anything runs (the policy skips every hook when not). */
  get active(): boolean {
    return this.rstp !== undefined || this.detector !== undefined;
  }

  /** New settings or ports (ports: every port of the bridge but port 0). */
  configure(bridge: string, stp: StpConfig | undefined, ports: readonly ProtectedPort[]): void {
    const prev = this.settings;
    this.bridge = bridge;
    this.settings = stp;
    this.ports = [...ports];
    for (const no of [...this.linkUp.keys()]) if (!ports.some((p) => p.no === no)) this.linkUp.delete(no);
    for (const p of ports) if (!this.linkUp.has(p.no)) this.linkUp.set(p.no, this.facts.up(p.name));
    this.configureRstp(prev, stp);
    this.configureDetector(prev, stp);
    this.settle();
  }

  /** The gate of port `no`: what the forwarding decision may do with it now. Port 0 (the bridge's own) is open. */
  gate(no: number): PortGate {
    return this.gates.get(no) ?? OPEN;
  }

  /**
   * A frame arrived (an upcall): BPDUs are the spanning tree's when it runs, this bridge's own probes are the
   * detector's; 'consumed' frames are neither learned from nor forwarded. Anything else passes to the decision.
   */
  frame(inPort: number, dst: number, tagged: boolean, packet: Uint8Array): 'consumed' | 'pass' {
    if (dst === BPDU_DST && this.rstp !== undefined) {
      // A tagged BPDU is no BPDU of this bridge's tree (802.1D bridges send them untagged): dropped.
      if (!tagged && this.rstp.ports().includes(inPort)) this.rstp.receive(inPort, packet);
      this.settle();
      return 'consumed';
    }
    if (this.detector === undefined || inPort === 0) return 'pass';
    // A probe coming back on a port the tree discards on is the tree doing its job (an alternate port sees the
    // loop it breaks): no loop to block, and the decision drops what arrives there anyway.
    if (!this.rstpForwarding(inPort)) return parseProbe(packet) !== undefined ? 'consumed' : 'pass';
    const verdict = this.detector.receive(inPort, packet, this.now());
    if (verdict === 'not-probe' || verdict === 'foreign') return 'pass';
    this.settle();
    return 'consumed';
  }

  /** The policy's timer: link changes, the engine's second ticks, probes and block expiry, then what they caused. */
  run(): void {
    if (!this.active) return;
    const now = this.now();
    for (const p of this.ports) {
      const up = this.facts.up(p.name);
      if (up === this.linkUp.get(p.no)) continue;
      this.linkUp.set(p.no, up);
      this.host.info(`${this.bridge}: port ${p.name} (${p.no}) link ${up ? 'up' : 'down'}`);
      this.rstp?.setPortEnabled(p.no, up);
    }
    this.rstp?.tick(now);
    for (const [no, until] of this.errDisabledUntil)
      if (now >= until) {
        this.errDisabledUntil.delete(no);
        if (this.rstp?.ports().includes(no)) this.rstp.recoverPort(no);
      }
    this.settle();
    this.detector?.tick(now);
    this.settle();
  }

  /** Sends the queued frames (BPDUs, probes) now; a failure is logged and the others still go. */
  flush(): void {
    const frames = this.pending;
    this.pending = [];
    for (const f of frames) {
      try {
        this.host.send(f.port, f.bytes);
      } catch (e) {
        this.host.info(`${this.bridge}: could not send a loop-protection frame on port ${f.port}: ${messageOf(e)}`);
      }
    }
  }

  /** Sends them once the current slow-path batch has returned: never from inside an upcall. */
  flushSoon(): void {
    if (this.flushScheduled || !this.pending.length) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /**
   * `netmgr stp unblock`: lifts loop detection's block and BPDU guard's err-disable of port `no` now, instead of
   * at the end of the recovery time. Returns what was lifted (empty when the port was held by neither).
   */
  unblock(no: number): Array<'loop-detect' | 'bpdu-guard'> {
    const lifted: Array<'loop-detect' | 'bpdu-guard'> = [];
    if (this.detector?.isBlocked(no)) {
      this.detector.unblock(no);
      lifted.push('loop-detect');
    }
    if (
      this.rstp?.ports().includes(no) &&
      this.rstp.show().ports.find((p) => p.no === no)?.blockedReason === 'bpdu-guard'
    ) {
      this.rstp.recoverPort(no);
      this.errDisabledUntil.delete(no);
      lifted.push('bpdu-guard');
    }
    if (lifted.length) {
      this.settle();
      this.flushSoon();
    }
    return lifted;
  }

  /** The data behind `netmgr stp show`: the tree as the engine sees it and the ports loop detection holds. */
  view(): LoopProtectionView {
    const s = this.settings;
    return {
      bridge: this.bridge,
      stp: s?.mode ?? 'off',
      ...(this.rstp ? { rstp: this.rstp.show() } : {}),
      ...(this.detector && s
        ? {
            loopDetect: {
              intervalS: s.loopDetectInterval,
              recoveryS: s.loopRecovery,
              blocked: this.ports.filter((p) => this.detector!.isBlocked(p.no)),
            },
          }
        : {}),
    };
  }

  private configureRstp(prev: StpConfig | undefined, stp: StpConfig | undefined): void {
    if (stp === undefined || stp.mode === 'off') {
      this.rstp = undefined;
      this.portKeys.clear();
      this.errDisabledUntil.clear();
      return;
    }
    const address = this.bridgeAddress();
    const settings = {
      protocol: stp.mode,
      priority: stp.priority,
      helloTime: stp.helloTime,
      maxAge: stp.maxAge,
      forwardDelay: stp.forwardDelay,
      txHoldCount: stp.txHoldCount,
    };
    if (this.rstp === undefined || prev === undefined || prev.mode === 'off') {
      this.rstp = new RstpBridge({ address, ...settings });
      this.portKeys.clear();
      this.errDisabledUntil.clear();
      this.host.info(`${this.bridge}: spanning tree on (${stp.mode}, bridge ${formatMac(address)})`);
    } else if (bridgeKey(prev) !== bridgeKey(stp)) {
      this.rstp.setBridgeConfig(settings);
    }
    const rstp = this.rstp;
    for (const no of rstp.ports()) if (!this.ports.some((p) => p.no === no)) rstp.removePort(no);
    for (const p of this.ports) {
      const cfg = this.portConfig(
        p,
        stp.ports.find((x) => x.port === p.name),
      );
      const key = JSON.stringify(cfg);
      if (!this.portKeys.has(p.no)) rstp.addPort(p.no, cfg);
      else if (this.portKeys.get(p.no) !== key) rstp.setPortConfig(p.no, cfg);
      this.portKeys.set(p.no, key);
    }
    for (const no of [...this.portKeys.keys()]) if (!this.ports.some((p) => p.no === no)) this.portKeys.delete(no);
  }

  /** A port's settings for the engine: the units' (by name), the defaults for the rest, and its link. */
  private portConfig(p: ProtectedPort, s: PortStpConfig | undefined): RstpPortConfig {
    const edge = s?.edge ?? 'auto';
    const speed = s?.cost === undefined ? this.facts.speedMbps(p.name) : undefined;
    return {
      name: p.name,
      ...(s?.cost !== undefined ? { pathCost: s.cost } : speed !== undefined ? { speedMbps: speed } : {}),
      priority: s?.priority ?? 128,
      adminEdge: edge === true,
      autoEdge: edge !== false,
      bpduGuard: s?.bpduGuard ?? false,
      rootGuard: s?.rootGuard ?? false,
      bpduFilter: s?.bpduFilter ?? false,
      up: this.linkUp.get(p.no) ?? true,
    };
  }

  private configureDetector(prev: StpConfig | undefined, stp: StpConfig | undefined): void {
    if (stp === undefined || !stp.loopDetect) {
      this.detector = undefined;
      this.detectorPorts.clear();
      return;
    }
    if (this.detector === undefined || prev === undefined || detectKey(prev) !== detectKey(stp)) {
      this.detectorPorts = new Set();
      this.detector = new LoopDetector({
        address: this.bridgeAddress(),
        nonce: this.nonce,
        probeIntervalMs: stp.loopDetectInterval * 1000,
        recoveryMs: stp.loopRecovery * 1000,
      });
    }
    // Ports keep their blocks across a reconfiguration: only the ones that came or went change.
    const d = this.detector;
    const want = new Set(this.ports.map((p) => p.no));
    for (const no of this.detectorPorts) if (!want.has(no)) d.removePort(no);
    for (const p of this.ports) if (!this.detectorPorts.has(p.no)) d.addPort(p.no, p.name);
    this.detectorPorts = want;
  }

  /** Applies what the engine and the detector did, recomputes the gates, and revalidates if one changed. */
  private settle(): void {
    for (let round = 0; round < 4; round++) {
      const events = [...(this.rstp?.takeEvents() ?? []), ...(this.detector?.takeEvents() ?? [])];
      for (const e of events) this.apply(e);
      this.pending.push(...(this.rstp?.takeTransmits() ?? []));
      // Probes go out of forwarding ports only; a port blocked by loop detection sends nothing.
      for (const p of this.ports)
        this.detector?.setForwarding(p.no, this.linkUp.get(p.no) !== false && this.rstpForwarding(p.no));
      this.pending.push(...(this.detector?.takeTransmits() ?? []));
      if (!events.length) break;
    }
    const next = new Map<number, PortGate>();
    for (const p of this.ports) next.set(p.no, this.computeGate(p.no));
    const changed = this.ports.some((p) => JSON.stringify(next.get(p.no)) !== JSON.stringify(this.gates.get(p.no)));
    this.gates = next;
    if (changed) this.host.revalidateAll();
  }

  private rstpForwarding(no: number): boolean {
    return this.rstp === undefined || !this.rstp.ports().includes(no) || this.rstp.portState(no) === 'forwarding';
  }

  private computeGate(no: number): PortGate {
    if (this.detector?.isBlocked(no)) return gateOf('blocked');
    if (this.rstp === undefined || !this.rstp.ports().includes(no)) return OPEN;
    return gateOf(this.rstp.portState(no), this.rstp.portRole(no));
  }

  private apply(e: RstpEvent | LoopEvent): void {
    const b = this.bridge;
    switch (e.kind) {
      case 'flush':
        return this.host.flushPort(e.port);
      case 'move-macs':
        return this.host.moveMacs(e.from, e.to);
      case 'port-state':
        return this.host.info(`${b}: port ${e.name} (${e.port}) ${e.from} -> ${e.to}`);
      case 'port-role':
        return this.host.info(`${b}: port ${e.name} (${e.port}) role ${e.from} -> ${e.to}`);
      case 'root-changed': {
        const via = e.rootPort === undefined ? 'this bridge is the root' : `root port ${e.rootPort}`;
        return this.host.info(`${b}: root bridge ${e.root}, ${via}, path cost ${e.rootPathCost}`);
      }
      case 'topology-change':
        return this.host.info(`${b}: topology change at port ${e.name} (${e.port}, ${e.cause})`);
      case 'bpdu-guard': {
        const recovery = this.settings?.loopRecovery ?? 0;
        this.errDisabledUntil.set(e.port, this.now() + recovery * 1000);
        return this.host.warning(
          `${b}: BPDU guard: a BPDU from ${e.source} arrived on port ${e.name} (${e.port}); the port is disabled ` +
            `(err-disabled) for ${recovery} s`,
        );
      }
      case 'root-guard':
        return e.blocked
          ? this.host.warning(`${b}: root guard: superior BPDUs on port ${e.name} (${e.port}); the port is blocked`)
          : this.host.info(`${b}: root guard: port ${e.name} (${e.port}) no longer receives superior BPDUs`);
      case 'port-recovered':
        return this.host.info(`${b}: port ${e.name} (${e.port}) recovered from ${e.reason}`);
      case 'loop-detected':
        return this.host.warning(
          `${b}: loop detected: a probe sent out of port ${e.txName} (${e.txPort}) came back on port ${e.rxName} ` +
            `(${e.rxPort}); port ${e.blockedName} (${e.blocked}) is blocked for ${this.settings?.loopRecovery ?? 0} s`,
        );
      case 'loop-unblocked':
        return this.host.info(`${b}: port ${e.name} (${e.port}) unblocked (${e.reason}); probing it again`);
    }
  }

  /** The bridge interface's MAC (unique per bridge), else one made from the bridge's name (locally administered). */
  private bridgeAddress(): number {
    const a = this.facts.address(this.bridge);
    if (a !== undefined) return a;
    let h = 0x811c9dc5;
    for (const c of this.bridge) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
    return 0x020000000000 + h;
  }
}
