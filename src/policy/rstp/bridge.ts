/**
 * RstpBridge: one bridge's IEEE 802.1D-2004 clause 17 Rapid Spanning Tree (with STP compatibility), pure and
 * deterministic. It does no I/O and reads no clock: the caller hands it received BPDUs (`receive`), the time
 * (`tick`), link changes and configuration, and collects what to send (`takeTransmits`) and what happened
 * (`takeEvents`: state changes to gate forwarding on, MAC flushes, guard triggers). Port numbers are the caller's
 * (1-4095, they become the Port Identifier's number).
 */
import { NetmgrError } from '../../util/errors';
import { formatMac } from '../../flow/text';
import { decodeBpduFrame, encodeBpduFrame, frameSource, isLoopedBack, type Bpdu } from './bpdu';
import {
  bridgeSettings,
  checkPortNumber,
  portSettings,
  type BridgeSettings,
  type PortSettings,
  type RstpBridgeConfig,
  type RstpPortConfig,
} from './config';
import { beginBridge, beginPort, settle } from './engine';
import { bridgeDetectionBegin } from './machines/bridge-detection';
import { bridgeVector, type BridgeId } from './priority';
import { applyPortSettings, newPortVars, updatePortEnabled } from './port-vars';
import { roleName, snapshot, diffSnapshots, view, type Snapshot } from './report';
import type { PortRoleName, RstpEvent } from './events';
import type { RstpView } from './show';
import type { BridgeVars, Effects, PortState, PortVars } from './types';

/** tick() catches up at most this many seconds at once (a clock jump), so one call stays cheap. */
const MAX_CATCHUP_S = 3600;
const SECOND_MS = 1000;

export interface Transmit {
  port: number;
  /** A whole Ethernet frame (802.3, LLC, BPDU, padded to 60 octets). */
  bytes: Uint8Array;
}

export class RstpBridge {
  private readonly b: BridgeVars;
  private settings: BridgeSettings;
  private readonly portSettings = new Map<number, PortSettings>();
  private transmits: Transmit[] = [];
  private events: RstpEvent[] = [];
  private lastSecondMs: number | undefined;
  private topologyChanges = 0;
  private last: Snapshot;

  /** A bridge with no ports; throws NetmgrError 'invalid' for settings out of 17.13's ranges. */
  constructor(config: RstpBridgeConfig) {
    this.settings = bridgeSettings(config);
    const id = this.bridgeId();
    const times = this.bridgeTimes();
    this.b = {
      BEGIN: true,
      BridgeIdentifier: id,
      BridgePriority: bridgeVector(id),
      BridgeTimes: times,
      rootPortId: 0,
      rootPriority: bridgeVector(id),
      rootTimes: times,
      ForceProtocolVersion: this.settings.protocol === 'rstp' ? 2 : 0,
      TxHoldCount: this.settings.txHoldCount,
      MigrateTime: 3,
      AgeingTime: this.settings.ageingTime,
      prs: 'INIT_BRIDGE',
      ports: [],
      effects: this.effects(),
    };
    beginBridge(this.b);
    this.b.BEGIN = false;
    this.last = snapshot(this.b);
  }

  /**
   * Changes bridge settings. A new priority or address changes the Bridge Identifier and new times change
   * BridgeTimes; either makes every port reselect (17.13). A new protocol version restarts every machine (BEGIN).
   */
  setBridgeConfig(config: Partial<RstpBridgeConfig>): void {
    const prev = this.settings;
    this.settings = bridgeSettings({ ...prev, ...config }, prev);
    const id = this.bridgeId();
    this.b.BridgeIdentifier = id;
    this.b.BridgePriority = bridgeVector(id);
    this.b.BridgeTimes = this.bridgeTimes();
    this.b.TxHoldCount = this.settings.txHoldCount;
    this.b.AgeingTime = this.settings.ageingTime;
    const version = this.settings.protocol === 'rstp' ? 2 : 0;
    if (version !== this.b.ForceProtocolVersion) {
      this.b.ForceProtocolVersion = version;
      beginBridge(this.b);
    } else {
      for (const p of this.b.ports) {
        p.reselect = true;
        p.selected = false;
      }
    }
    this.run();
  }

  /** Adds port `no` (1-4095); it starts as after BEGIN. Throws 'exists' if there is one, 'invalid' for bad settings. */
  addPort(no: number, config: RstpPortConfig = {}): void {
    checkPortNumber(no);
    if (this.portSettings.has(no)) throw new NetmgrError('exists', `rstp: port ${no} exists`);
    const s = portSettings(no, config, this.settings.address);
    const p = newPortVars(this.b, no, s, config.up ?? true);
    this.portSettings.set(no, s);
    this.b.ports.push(p);
    this.b.ports.sort((x, y) => x.no - y.no);
    beginPort(this.b, p);
    this.run();
  }

  /** Changes a port's settings (cost, priority, edge, guards...); the rest keep their values. */
  setPortConfig(no: number, config: Partial<RstpPortConfig>): void {
    const p = this.port(no);
    const s = portSettings(no, config, this.settings.address, this.portSettings.get(no));
    this.portSettings.set(no, s);
    const { edgeChanged } = applyPortSettings(p, s);
    if (edgeChanged) bridgeDetectionBegin(this.b, p);
    if (config.up !== undefined) this.setPortEnabled(no, config.up);
    this.run();
  }

  /** Removes a port: it is disabled first, so that the others see it go (roles, topology change). */
  removePort(no: number): void {
    const p = this.port(no);
    p.macOperational = false;
    updatePortEnabled(p);
    this.run();
    this.b.ports = this.b.ports.filter((q) => q !== p);
    this.portSettings.delete(no);
    this.last = snapshot(this.b);
  }

  /** The port's link (and admin state) went up or down (6.4.2 MAC_Operational). */
  setPortEnabled(no: number, up: boolean): void {
    const p = this.port(no);
    p.macOperational = up;
    updatePortEnabled(p);
    this.run();
  }

  /** Lifts BPDU guard's err-disabled state; the port comes back as a new port would. */
  recoverPort(no: number): void {
    const p = this.port(no);
    if (!p.errDisabled) return;
    p.errDisabled = false;
    updatePortEnabled(p);
    this.events.push({ kind: 'port-recovered', port: no, name: p.name, reason: 'bpdu-guard' });
    this.run();
  }

  /** 17.19.13 mcheck: try RSTP again on a port that fell back to STP (its legacy neighbour may be gone). */
  mcheck(no: number): void {
    const p = this.port(no);
    if (this.b.ForceProtocolVersion >= 2) p.mcheck = true;
    this.run();
  }

  /**
   * A frame to the Bridge Group Address arrived on port `no`. Invalid BPDUs (9.3.4) are counted and dropped; BPDU
   * filter drops everything; BPDU guard err-disables the port on a valid one. Effects are queued, nothing returned.
   */
  receive(no: number, bytes: Uint8Array): void {
    const p = this.port(no);
    if (p.bpduFilter) {
      p.counters.filteredIn++;
      return;
    }
    const { bpdu, error } = decodeBpduFrame(bytes);
    if (bpdu === undefined || isLoopedBack(bpdu, this.b.BridgeIdentifier, p.portId)) {
      p.counters.invalidIn++;
      p.counters.lastInvalid = error ?? 'own BPDU looped back';
      return;
    }
    if (!p.portEnabled) return;
    p.counters.bpduIn++;
    if (p.bpduGuard) return this.bpduGuard(p, bytes);
    this.deliver(p, bpdu);
  }

  /**
   * The caller's clock, in milliseconds, at any rate: each whole second since the first call runs the Port Timers
   * machine once (17.22; the standard's one-second resolution). A clock that goes backwards restarts the count.
   */
  tick(nowMs: number): void {
    if (this.lastSecondMs === undefined || nowMs < this.lastSecondMs) {
      this.lastSecondMs = nowMs;
      return;
    }
    const seconds = Math.floor((nowMs - this.lastSecondMs) / SECOND_MS);
    this.lastSecondMs += seconds * SECOND_MS;
    for (let i = 0; i < Math.min(seconds, MAX_CATCHUP_S); i++) {
      for (const p of this.b.ports) p.tick = true;
      this.run();
    }
  }

  /** The BPDUs to send since the last call, in order; the caller sends each out of its port. */
  takeTransmits(): Transmit[] {
    const out = this.transmits;
    this.transmits = [];
    return out;
  }

  /** What happened since the last call, in order (see RstpEvent). */
  takeEvents(): RstpEvent[] {
    const out = this.events;
    this.events = [];
    return out;
  }

  /** The port's forwarding state (17.10): learn from it only when learning or forwarding, forward only when forwarding. */
  portState(no: number): PortState {
    const p = this.port(no);
    return p.forwarding ? 'forwarding' : p.learning ? 'learning' : 'discarding';
  }

  /** The port's role (17.7). */
  portRole(no: number): PortRoleName {
    return roleName(this.port(no).role);
  }

  /** Port numbers, ascending. */
  ports(): number[] {
    return this.b.ports.map((p) => p.no);
  }

  /** The `netmgr stp show` view: bridge and root, and per port role, state, cost, edge, counters, why blocked. */
  show(): RstpView {
    return view(this.b, this.settings.protocol, this.topologyChanges);
  }

  /** The clause-17 variables, read-only, for tests and traces. */
  get vars(): Readonly<BridgeVars> {
    return this.b;
  }

  private bpduGuard(p: PortVars, bytes: Uint8Array): void {
    p.errDisabled = true;
    updatePortEnabled(p);
    this.events.push({ kind: 'bpdu-guard', port: p.no, name: p.name, source: formatMac(frameSource(bytes)) });
    this.run();
  }

  private deliver(p: PortVars, bpdu: Bpdu): void {
    p.rxBpdu = bpdu;
    p.rcvdBpdu = true;
    this.run();
  }

  private run(): void {
    settle(this.b);
    const now = snapshot(this.b);
    this.events.push(...diffSnapshots(this.last, now));
    this.last = now;
  }

  private port(no: number): PortVars {
    const p = this.b.ports.find((q) => q.no === no);
    if (p === undefined) throw new NetmgrError('not-found', `rstp: no port ${no}`);
    return p;
  }

  private bridgeId(): BridgeId {
    return { priority: this.settings.priority, address: this.settings.address };
  }

  private bridgeTimes() {
    const s = this.settings;
    return { messageAge: 0, maxAge: s.maxAge, forwardDelay: s.forwardDelay, helloTime: s.helloTime };
  }

  private effects(): Effects {
    return {
      transmit: (p, bpdu) => {
        p.counters.bpduOut++;
        this.transmits.push({ port: p.no, bytes: encodeBpduFrame(bpdu, p.mac) });
      },
      flush: (p, mode, ageingS) =>
        this.events.push({
          kind: 'flush',
          port: p.no,
          name: p.name,
          mode,
          ageingMs: mode === 'age' ? ageingS * SECOND_MS : 0,
        }),
      moveMacs: (from, to) => this.events.push({ kind: 'move-macs', from: from.no, to: to.no }),
      topologyChange: (p, cause) => {
        this.topologyChanges++;
        this.events.push({ kind: 'topology-change', port: p.no, name: p.name, cause });
      },
    };
  }
}
