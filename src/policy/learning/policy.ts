/**
 * The learning policy (`policy = "learning"`, the default): the slow path of a MAC-learning, VLAN-aware L2 switch,
 * as ovs-vswitchd's NORMAL action is for its datapath. On a miss it learns the source, decides (decide.ts),
 * and answers the packet's actions and a megaflow to install (the bridge layer's pipeline installs it). A revalidator round every second, as OVS's
 * revalidator threads: flows idle for 10 s are deleted, traffic through flows keeps their source MACs alive,
 * MACs past `mac-aging` expire. Whenever the table changes (a MAC learned, moved, expired, evicted, flushed) the
 * flows that depended on it are deleted, so the next packet decides again; a port or VLAN change deletes all.
 * Loop protection (spanning tree, loop detection: loop-protection.ts) runs on its own timer here and gates ports.
 * Only the Datapath interface is used, so the same code drives the userspace and the kernel datapath.
 */
import { randomBytes } from 'crypto';
import { formatActions, formatFlowKey, megaflowUfid, ufidMapKey, type FlowKey, type FlowMask } from '../../flow';
import { scanMac } from '../../flow/text';
import type { Datapath, FlowInstall, Upcall, UpcallResult } from '../../datapath/types';
import { NetmgrError } from '../../util/errors';
import { sameVlans, type BridgeConfig, type PortConfig } from '../../model/bridges';
import type { LearnedMac, Policy } from '../types';
import type { FdbEntry, FdbStats, TraceResult } from './api';
import { decide, type Decision, type SwitchView } from './decide';
import { sysfsLinkFacts, type LinkFacts } from './link-facts';
import { LoopProtection, type LoopProtectionView } from './loop-protection';
import type { LoopUnblocked } from './loop-view';
import { MacTable } from './mac-table';
import { MoveLog, fdbEntries, traceResult } from './reports';
import { portVlanMode, type PortVlanMode } from './vlan';
import { tunnelPortView, type Remote, type TunnelPortView } from './tunnel';

/** OVS's max-idle default: a megaflow with no traffic for this long is deleted. */
export const FLOW_IDLE_MS = 10_000;
/** How often the revalidator runs (OVS's revalidators wake every 500 ms - 1 s). */
export const REVALIDATE_MS = 1_000;
/** OVS's default flow-limit: beyond it packets are still switched, through the slow path, without new flows. */
export const FLOW_LIMIT = 200_000;
/** Loop protection's timer: links are polled this often (fail over within a second); the engine counts seconds. */
export const PROTOCOL_TICK_MS = 100;

export interface LearningPolicyOptions {
  log?: (line: string) => void;
  /** Milliseconds; Date.now by default. Tests pass a fake clock. */
  now?: () => number;
  /** Run the revalidator on a timer (default). Tests call revalidate() themselves. */
  timers?: boolean;
  flowLimit?: number;
  /** Link state, speed and addresses for loop protection; sysfs by default. */
  linkFacts?: LinkFacts;
  /** Loop detection's per-start random value; random by default. */
  nonce?: number;
}

/** A megaflow this policy installed, and what it depended on. */
interface InstalledFlow {
  ufid: Uint8Array;
  inPort: number;
  vlan?: number;
  src?: number;
  dst?: number;
  packets: number;
  lastActive: number;
  /** The install this record waits for (set by upcall(), cleared by installed()). */
  pending?: FlowInstall;
}

const macKey = (vlan: number, mac: number): string => `${vlan}/${mac}`;

export class LearningPolicy implements Policy {
  readonly kind = 'learning' as const;
  private dp: Datapath | undefined;
  private bridge = '';
  /** Holds nothing until configure() gives its size and aging time. */
  private table = new MacTable(0, 0);
  private ports = new Map<number, PortVlanMode>();
  /** The bridge's tunnel ports, by number. */
  private readonly tunnels = new Map<number, TunnelPortView>();
  private readonly flows = new Map<string, InstalledFlow>();
  /** Flows by the (VLAN, MAC) they match as source or destination. */
  private readonly flowsByMac = new Map<string, Set<string>>();
  private readonly view: SwitchView;
  private readonly now: () => number;
  private readonly log: (line: string) => void;
  private readonly flowLimit: number;
  private timer: NodeJS.Timeout | undefined;
  private protocolTimer: NodeJS.Timeout | undefined;
  private readonly protection: LoopProtection;
  private readonly moves: MoveLog;

  constructor(private readonly opts: LearningPolicyOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? (() => undefined);
    this.flowLimit = opts.flowLimit ?? FLOW_LIMIT;
    this.moves = new MoveLog(this.log);
    this.protection = new LoopProtection(
      {
        send: (port, frame) => this.dp?.execute(frame, [{ type: 'output', port }], 0) !== undefined,
        flushPort: (no) => this.invalidateMacs(this.table.flushPort(no)),
        // The root port moved: what was learned through the old one is behind the new one (as OVS does).
        moveMacs: (from, to) => this.invalidateMacs(this.table.movePort(from, to, this.now())),
        revalidateAll: () => this.invalidateAll(),
        info: this.log,
        warning: (line) => this.log(`warning: ${line}`),
      },
      opts.linkFacts ?? sysfsLinkFacts,
      this.now,
      opts.nonce ?? randomBytes(4).readUInt32BE(0),
    );
    this.view = {
      ports: this.ports,
      lookup: (vlan, mac) => this.table.lookup(vlan, mac),
      gate: (no) => this.protection.gate(no),
      tunnel: (no) => this.tunnels.get(no),
    };
  }

  attach(dp: Datapath): void {
    this.dp = dp;
    if (!this.bridge) this.bridge = dp.name;
    if (this.opts.timers !== false) {
      this.timer = setInterval(() => this.guarded('revalidating', () => this.revalidate()), REVALIDATE_MS);
      this.timer.unref();
      this.protocolTimer = setInterval(
        () => this.guarded('loop protection', () => this.runProtocols()),
        PROTOCOL_TICK_MS,
      );
      this.protocolTimer.unref();
    }
  }

  /**
   * Runs a timer's work; a failure (a netlink error from a datapath going away) is logged and the next tick tries
   * again, instead of ending the forwarding thread and with it every bridge.
   */
  private guarded(what: string, work: () => void): void {
    try {
      work();
    } catch (e) {
      this.log(
        `warning: ${this.bridge}: ${what} failed: ${e instanceof Error ? e.message : String(e)} (retried next tick)`,
      );
    }
  }

  /**
   * Takes over the flows an earlier netmgrd installed in this (kernel) datapath: their sources are learned again
   * on their in_ports, and each flow whose actions are still what this switch decides is kept and indexed as if
   * installed now; any other is deleted, so its next packet decides afresh.
   */
  adopt(learned: readonly LearnedMac[] = []): void {
    const dp = this.dp;
    if (dp === undefined) return;
    const now = this.now();
    // The table the earlier netmgrd left, oldest first (the table's aging order), on ports the bridge still has;
    // aging goes on from when each MAC was last seen. The flows' sources below refresh what they cover.
    let handed = 0;
    for (const e of [...learned].sort((a, b) => a.lastSeen - b.lastSeen)) {
      if (!this.ports.has(e.port) || e.lastSeen > now) continue;
      this.table.learn(e.vlan, e.mac, e.port, e.lastSeen);
      handed++;
    }
    const flows = dp.dumpFlows();
    for (const f of flows) {
      const d = decide(this.view, f.key);
      if (d.learn !== undefined && d.vlan !== undefined && f.key.inPort !== undefined)
        this.table.learn(d.vlan, d.learn, f.key.inPort, now);
    }
    let kept = 0;
    for (const f of flows) {
      const d = decide(this.view, f.key);
      const same =
        f.key.inPort !== undefined &&
        formatActions(d.actions) === formatActions(f.actions) &&
        formatFlowKey(f.key, d.mask) === formatFlowKey(f.key, f.mask);
      if (!same) {
        dp.deleteFlow({ ufid: f.ufid });
        continue;
      }
      this.track(f.ufid, f.key.inPort!, d, f.stats.packets, now);
      kept++;
    }
    if (flows.length || handed)
      this.log(
        `${this.bridge}: took over ${kept} of ${flows.length} flow(s) in the datapath; ${this.table.size} MAC(s) learned (${handed} from the table netmgrd left at its stop)`,
      );
  }

  learned(): LearnedMac[] {
    return this.table
      .entries()
      .filter((e) => !e.static)
      .map((e) => ({ vlan: e.vlan, mac: e.mac, port: e.port, lastSeen: e.lastSeen }));
  }

  detach(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.protocolTimer) clearInterval(this.protocolTimer);
    this.timer = undefined;
    this.protocolTimer = undefined;
    this.dp = undefined;
  }

  configure(bridge: BridgeConfig, ports: readonly PortConfig[]): void {
    this.bridge = bridge.name;
    const learning = bridge.learning;
    if (learning === undefined)
      throw new NetmgrError('invalid', `bridge ${bridge.name}: the learning policy was given no learning settings`);
    for (const e of this.table.reconfigure(learning.macTableSize, learning.macAging * 1000))
      this.invalidateMac(e.vlan, e.mac);

    const modes = new Map<number, PortVlanMode>([[0, portVlanMode(0, bridge.name, undefined)]]);
    for (const p of ports) if (p.no !== 0) modes.set(p.no, portVlanMode(p.no, p.name, p.vlans));
    let portsChanged = modes.size !== this.ports.size;
    for (const [no, old] of this.ports) {
      const mode = modes.get(no);
      if (mode && mode.name === old.name && sameVlans(old.config, mode.config)) continue;
      // The port left or switches other VLANs now: what was learned on it is no longer true.
      this.table.flushPort(no);
      portsChanged = true;
    }
    this.ports.clear();
    for (const [no, m] of modes) this.ports.set(no, m);
    this.tunnels.clear();
    for (const p of ports) if (p.tunnel !== undefined) this.tunnels.set(p.no, tunnelPortView(p.tunnel));

    const byName = new Map([...modes.values()].map((m) => [m.name, m.no]));
    const statics = learning.staticMacs
      .filter((s) => byName.has(s.port))
      .map((s) => ({ vlan: s.vlan, mac: scanMac(s.mac, 0)!.value, port: byName.get(s.port)! }));
    const changed = this.table.setStatic(statics);
    // A port added, removed or re-VLANed changes flood sets: every flow is decided again, as OVS revalidates all.
    if (portsChanged) this.invalidateAll();
    else for (const c of changed) this.invalidateMac(c.vlan, c.mac);
    // Tunnel ports run no loop protection: their probes would need a remote to go to, and split horizon already
    // keeps a frame from one tunnel out of the others.
    const protectedPorts = [...modes.values()]
      .filter((m) => m.no !== 0 && !this.tunnels.has(m.no))
      .map((m) => ({ no: m.no, name: m.name }));
    this.protection.configure(bridge.name, learning.stp, protectedPorts);
    this.protection.flushSoon();
  }

  /** The protocol timer: loop protection's links, seconds and probes; then its frames go out. */
  runProtocols(): void {
    this.protection.run();
    this.protection.flush();
  }

  /** The data behind a future `netmgr stp show`. */
  loopProtectionView(): LoopProtectionView {
    return this.protection.view();
  }

  /** `netmgr stp unblock`: lifts loop detection's block and BPDU guard's err-disable of a port now. */
  loopUnblock(port: number): LoopUnblocked {
    // The gate that opens revalidates every flow (loop protection's settle), as any port state change does.
    return this.protection.unblock(port);
  }

  // ------------------------------------------------------------------------------------------------------------
  // The slow path

  upcall(u: Upcall): UpcallResult | undefined {
    // Packets a `userspace` action sends up: the learning switch installs none, so these come from dpctl flows.
    if (u.type !== 'miss') return undefined;
    const eth = u.key.eth;
    // BPDUs (with a spanning tree) and this bridge's own probes are loop protection's: never learned, forwarded
    // or installed, so that every one of them comes up here.
    if (eth && this.protection.active) {
      const verdict = this.protection.frame(u.inPort, eth.dst, u.key.vlan !== undefined, u.packet);
      this.protection.flushSoon();
      if (verdict === 'consumed') return undefined;
    }
    const now = this.now();
    const d = decide(this.view, u.key);
    if (d.learn !== undefined && d.vlan !== undefined) this.learn(d.vlan, d.learn, u.inPort, now, d.learnRemote);
    return { actions: d.actions, install: this.install(u.key, u.inPort, d, now) };
  }

  private learn(vlan: number, mac: number, port: number, now: number, remote?: Remote): void {
    const r = this.table.learn(vlan, mac, port, now, remote);
    switch (r.kind) {
      case 'new':
        // Flows flooding toward this MAC must now go to its port.
        this.invalidateMac(vlan, mac);
        if (r.evicted) this.invalidateMac(r.evicted.vlan, r.evicted.mac);
        return;
      case 'moved':
        // Flows to the old port, and flows from the old port that would no longer teach us anything.
        this.invalidateMac(vlan, mac);
        this.moves.log(r.entry, r.from, now, this.bridge, (no) => this.portName(no));
        return;
      default:
        return;
    }
  }

  /**
   * The flow to install for this decision, tracked from now on under the UFID it will have, so a MAC learned by
   * a later upcall of the same batch invalidates it like an installed one.
   */
  private install(key: FlowKey, inPort: number, d: Decision, now: number): FlowInstall | undefined {
    if (this.dp === undefined || this.flows.size >= this.flowLimit) return undefined;
    const install: FlowInstall = {
      key,
      mask: d.mask,
      actions: d.actions,
      ufid: megaflowUfid(key, d.mask),
    };
    this.track(install.ufid!, inPort, d, 0, now).pending = install;
    return install;
  }

  /**
   * The pipeline ran an install: a failed one is forgotten; one invalidated while it was on its way (by a later
   * upcall of its batch) is deleted now, so no flow stays that this policy does not know.
   */
  installed(install: FlowInstall, error: Error | undefined): void {
    const id = ufidMapKey(install.ufid!);
    const rec = this.flows.get(id);
    if (rec !== undefined && rec.pending !== install) return; // decided again later in the batch: that put wins
    if (error !== undefined) {
      this.log(`${this.bridge}: could not install a flow: ${error.message}`);
      if (rec !== undefined) this.forget(id, rec);
      return;
    }
    if (rec !== undefined) rec.pending = undefined;
    else this.dp?.deleteFlow({ ufid: install.ufid! });
  }

  /** Records an installed flow and indexes it by the (VLAN, MAC)s its decision depended on. */
  private track(ufid: Uint8Array, inPort: number, d: Decision, packets: number, now: number): InstalledFlow {
    const id = ufidMapKey(ufid);
    const old = this.flows.get(id);
    if (old) this.forget(id, old);
    const rec: InstalledFlow = { ufid, inPort, vlan: d.vlan, src: d.learn, dst: d.dst, packets, lastActive: now };
    this.flows.set(id, rec);
    if (rec.vlan !== undefined) {
      if (rec.src !== undefined) this.index(macKey(rec.vlan, rec.src), id);
      if (rec.dst !== undefined) this.index(macKey(rec.vlan, rec.dst), id);
    }
    return rec;
  }

  private index(k: string, id: string): void {
    let set = this.flowsByMac.get(k);
    if (set === undefined) {
      set = new Set();
      this.flowsByMac.set(k, set);
    }
    set.add(id);
  }

  private forget(id: string, rec: InstalledFlow): void {
    this.flows.delete(id);
    if (rec.vlan === undefined) return;
    for (const mac of [rec.src, rec.dst]) {
      if (mac === undefined) continue;
      const k = macKey(rec.vlan, mac);
      const set = this.flowsByMac.get(k);
      set?.delete(id);
      if (set?.size === 0) this.flowsByMac.delete(k);
    }
  }

  private invalidateMacs(entries: ReadonlyArray<{ vlan: number; mac: number }>): void {
    for (const e of entries) this.invalidateMac(e.vlan, e.mac);
  }

  /** Deletes every flow whose decision depended on where (VLAN, MAC) is. */
  private invalidateMac(vlan: number, mac: number): void {
    const ids = this.flowsByMac.get(macKey(vlan, mac));
    if (ids === undefined) return;
    for (const id of [...ids]) this.deleteFlow(id);
  }

  private invalidateAll(): void {
    for (const id of [...this.flows.keys()]) this.deleteFlow(id);
  }

  private deleteFlow(id: string): void {
    const rec = this.flows.get(id);
    if (rec === undefined) return;
    this.dp?.deleteFlow({ ufid: rec.ufid });
    this.forget(id, rec);
  }

  /**
   * One revalidator round: flows with new packets refresh their source MAC; flows idle for FLOW_IDLE_MS go; MACs
   * past their aging time go, with the flows that depended on them.
   */
  revalidate(): void {
    const dp = this.dp;
    if (dp === undefined) return;
    const now = this.now();
    const seen = new Set<string>();
    for (const f of dp.dumpFlowStats()) {
      const id = ufidMapKey(f.ufid);
      const rec = this.flows.get(id);
      if (rec === undefined) continue;
      seen.add(id);
      if (f.stats.packets !== rec.packets) {
        rec.packets = f.stats.packets;
        rec.lastActive = now;
        if (rec.vlan !== undefined && rec.src !== undefined) this.table.touch(rec.vlan, rec.src, rec.inPort, now);
      } else if (now - rec.lastActive >= FLOW_IDLE_MS) {
        this.deleteFlow(id);
      }
    }
    // Flows removed behind the policy's back (dpctl del-flows) are forgotten.
    for (const [id, rec] of this.flows) if (!seen.has(id)) this.forget(id, rec);
    for (const e of this.table.expire(now)) this.invalidateMac(e.vlan, e.mac);
  }

  private portName(no: number): string {
    return this.ports.get(no)?.name ?? String(no);
  }

  // ------------------------------------------------------------------------------------------------------------
  // Reports (netmgr fdb, netmgr trace)

  fdbShow(): FdbEntry[] {
    return fdbEntries(this.table, (no) => this.portName(no), this.now());
  }

  /** Forgets every learned MAC (static entries stay); returns how many. */
  fdbFlush(): number {
    const gone = this.table.flush();
    this.invalidateMacs(gone);
    return gone.length;
  }

  fdbStats(): FdbStats {
    return {
      entries: this.table.size + this.table.staticSize,
      static: this.table.staticSize,
      capacity: this.table.limit,
      ...this.table.counters,
      flows: this.flows.size,
    };
  }

  /**
   * The decision for a packet with this flow key, explained; nothing is learned or installed. `mask` (the fields
   * the user wrote) only shapes how the traced flow is shown.
   */
  trace(key: FlowKey, mask?: FlowMask): TraceResult {
    return traceResult(this.bridge, decide(this.view, key, true), key, mask, (no) => this.portName(no));
  }
}
