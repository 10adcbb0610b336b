/**
 * BridgeManager: netmgrd's registry of the bridges it runs. It carries out the datapath steps of a plan (create or
 * delete a bridge, add or remove a port, add or delete a flow, change a learning bridge's settings or a port's
 * VLAN settings) on top of the Datapath interface, puts each bridge's policy on its datapath (bridge.ts), and
 * reports what exists (LiveBridge, with the learning settings and VLAN settings it was given) so the planner can
 * diff against it. After every change of a bridge's settings or ports the policy is told (Policy.configure).
 * A datapath that lives in this process (userspace: its TAP devices) disappears when it exits, by design. A
 * persistent one (kernel) outlives it: it is recorded in the state directory (records.ts), left running at
 * shutdown and adopted again at the next start (adopt.ts), so forwarding through its flows never stops.
 */
import { formatFlowText, parseActions, parseFlow } from '../flow';
import { NamespaceSockets } from '../live/namespaces';
import type { BridgeConfig, FlowText, LearningConfig, LiveBridge, PortConfig, PortVlanConfig } from '../model/bridges';
import type { DatapathStep } from '../plan/types';
import { DatapathError, type Datapath } from '../datapath/types';
import { UserspaceDatapath } from '../datapath/userspace/datapath';
import { KernelDatapath } from '../datapath/kernel/datapath';
import type { Policy } from '../policy';
import { hasErrno, messageOf } from '../util/errors';
import { adoptKernelBridge } from './adopt';
import { configurePolicy, sortedPorts, startBridge, stopPolicy, type ManagedBridge } from './bridge';
import type { BridgeControl } from './control';
import { completeBridgeConfig, portSpecOf } from './config';
import { IsolationRecords } from './isolation';
import { configureLink, moveToNamespace } from './link';
import { kernelLiveBridge } from './live';
import { loadKernelBridges, saveKernelBridges } from './records';

const notFound = (what: string) => new DatapathError('ENOENT', `${what} does not exist`);

/** VLAN settings exist only under the learning policy (the units refuse them elsewhere; netmgrd checks again). */
function refuseVlans(b: ManagedBridge, vlans: PortVlanConfig | undefined): void {
  if (vlans !== undefined && b.config.policy !== 'learning') {
    throw new DatapathError(
      'EINVAL',
      `bridge ${b.config.name} runs policy = "${b.config.policy}": ports have no VLAN settings`,
    );
  }
}

export class BridgeManager implements BridgeControl {
  private readonly bridges = new Map<string, ManagedBridge>();
  private readonly sockets = new NamespaceSockets();
  private readonly isolation: IsolationRecords;
  /** Set by shutdown: persistent bridges leave this process but stay recorded. */
  private stopping = false;

  constructor(
    private readonly stateDir: string,
    private readonly log: (line: string) => void,
  ) {
    this.isolation = new IsolationRecords(stateDir, this.sockets, log);
  }

  /**
   * At start-up nothing is attached, so host isolation left behind by a netmgrd that died without cleaning up
   * (SIGKILL, power loss) is removed: the interfaces go back to the host until a bridge attaches them again.
   */
  releaseStaleIsolation(): void {
    this.isolation.releaseStale();
  }

  private bridge(name: string): ManagedBridge {
    const b = this.bridges.get(name);
    if (!b) throw notFound(`bridge ${name}`);
    return b;
  }

  private port(bridge: string, name: string): { b: ManagedBridge; p: PortConfig } {
    const b = this.bridges.get(bridge);
    const p = b?.ports.get(name);
    if (!b || !p) throw notFound(`port ${name} of bridge ${bridge}`);
    return { b, p };
  }

  /** The datapath of a bridge, for dpctl and the policies. */
  datapath(name: string): Datapath {
    return this.bridge(name).dp;
  }

  /** The policy of a bridge, for fdb and trace. */
  policy(name: string): Policy {
    return this.bridge(name).policy;
  }

  names(): string[] {
    return [...this.bridges.keys()];
  }

  live(): LiveBridge[] {
    return [...this.bridges.values()].map((b) =>
      b.dp.persistent
        ? this.persistentLive(b)
        : {
            ...b.config,
            ports: sortedPorts(b),
            flows:
              b.config.policy === 'flows' ? b.dp.dumpFlows().map((f) => formatFlowText(f.key, f.mask, f.actions)) : [],
          },
    );
  }

  /** A persistent bridge as the datapath confirms it (a port whose vport vanished is not reported). */
  private persistentLive(b: ManagedBridge): LiveBridge {
    const rec = { config: b.config, ports: [...b.ports.values()] };
    return kernelLiveBridge(rec, b.dp.ports(), b.config.policy === 'flows' ? b.dp.dumpFlows() : []);
  }

  createBridge(cfg: BridgeConfig): void {
    if (this.bridges.has(cfg.name)) throw new DatapathError('EEXIST', `bridge ${cfg.name} already exists`);
    const dp: Datapath =
      cfg.datapath === 'kernel'
        ? KernelDatapath.create(cfg.name, { log: this.log })
        : new UserspaceDatapath(cfg.name, { isolation: this.isolation, log: this.log });
    try {
      dp.addPort({ no: 0, name: cfg.name, type: 'internal' });
      configureLink(this.sockets, null, cfg.name, cfg.link);
      this.bridges.set(cfg.name, startBridge(cfg, dp, new Map(), this.log));
      this.recordPersistentBridges();
    } catch (e) {
      const b = this.bridges.get(cfg.name);
      if (b?.dp === dp) {
        stopPolicy(b);
        this.bridges.delete(cfg.name);
      }
      dp.destroy();
      throw e;
    }
  }

  /** Saves the persistent bridges' settings (after every change to one): what a restarted netmgrd adopts. */
  private recordPersistentBridges(): void {
    if (this.stopping) return;
    const persistent = [...this.bridges.values()].filter((b) => b.dp.persistent);
    if (!persistent.length && !loadKernelBridges(this.stateDir).length) return;
    saveKernelBridges(
      this.stateDir,
      persistent.map((b) => ({ config: b.config, ports: sortedPorts(b) })),
    );
  }

  /** At start-up: takes over the persistent bridges an earlier netmgrd recorded (adopt.ts). */
  adoptKernelBridges(): void {
    const records = loadKernelBridges(this.stateDir);
    if (!records.length) return;
    for (const rec of records) {
      if (this.bridges.has(rec.config.name)) continue;
      const b = adoptKernelBridge(rec, this.log);
      if (b) this.bridges.set(rec.config.name, b);
    }
    this.recordPersistentBridges();
  }

  /** A learning bridge's settings (aging, table size, static MACs), changed in place: learned MACs are kept. */
  setLearning(bridge: string, learning: LearningConfig): void {
    const b = this.bridge(bridge);
    if (b.config.policy !== 'learning')
      throw new DatapathError(
        'EINVAL',
        `bridge ${bridge} runs policy = "${b.config.policy}", which has no learning settings`,
      );
    b.config = completeBridgeConfig({ ...b.config, learning });
    configurePolicy(b);
    this.recordPersistentBridges();
  }

  /** A port's VLAN settings (undefined = none), changed in place: the port stays attached. */
  setPortVlans(bridge: string, name: string, vlans: PortVlanConfig | undefined): void {
    const { b, p } = this.port(bridge, name);
    refuseVlans(b, vlans);
    const next: PortConfig = { ...p };
    delete next.vlans;
    if (vlans) next.vlans = vlans;
    b.ports.set(name, next);
    configurePolicy(b);
    this.recordPersistentBridges();
  }

  deleteBridge(name: string): void {
    const b = this.bridge(name);
    stopPolicy(b);
    b.dp.destroy();
    this.bridges.delete(name);
    this.recordPersistentBridges();
  }

  addPort(bridge: string, cfg: PortConfig): void {
    const b = this.bridge(bridge);
    if (b.ports.has(cfg.name)) throw new DatapathError('EEXIST', `port ${cfg.name} already exists on ${bridge}`);
    refuseVlans(b, cfg.vlans);
    const internal = cfg.kind === 'internal';
    b.dp.addPort(portSpecOf(cfg));
    try {
      if (internal) {
        if (cfg.namespace !== null) moveToNamespace(this.sockets, cfg.name, cfg.namespace);
        configureLink(this.sockets, cfg.namespace, cfg.name, cfg.link);
      }
    } catch (e) {
      b.dp.removePort(cfg.no);
      throw e;
    }
    b.ports.set(cfg.name, cfg);
    configurePolicy(b);
    this.recordPersistentBridges();
  }

  removePort(bridge: string, name: string): void {
    const { b, p } = this.port(bridge, name);
    try {
      b.dp.removePort(p.no);
    } catch (e) {
      // A persistent datapath's port goes by itself when its interface is deleted (a veth removed by hand).
      if (!(e instanceof DatapathError && hasErrno(e, 'ENOENT') && b.dp.persistent)) throw e;
    }
    b.ports.delete(name);
    configurePolicy(b);
    this.recordPersistentBridges();
  }

  addFlow(bridge: string, flow: FlowText): void {
    const dp = this.datapath(bridge);
    const f = parseFlow(flow.match);
    dp.putFlow({ key: f.key, mask: f.mask, ufid: f.ufid }, parseActions(flow.actions).actions, { mode: 'create' });
  }

  deleteFlow(bridge: string, flow: FlowText): void {
    const dp = this.datapath(bridge);
    const f = parseFlow(flow.match);
    if (!dp.deleteFlow({ key: f.key, mask: f.mask })) throw notFound(`flow ${flow.match} on ${bridge}`);
  }

  /** Runs one datapath step of a plan (apply's StepRunner hands them over). */
  run(s: DatapathStep): void {
    switch (s.op) {
      case 'bridge.create':
        return this.createBridge(s.bridge);
      case 'bridge.delete':
        return this.deleteBridge(s.name);
      case 'port.add':
        return this.addPort(s.bridge, s.port);
      case 'port.remove':
        return this.removePort(s.bridge, s.name);
      case 'bridge.set':
        return this.setLearning(s.name, s.to);
      case 'port.set':
        return this.setPortVlans(s.bridge, s.name, s.to);
      case 'flow.add':
        return this.addFlow(s.bridge, s.flow);
      case 'flow.del':
        return this.deleteFlow(s.bridge, s.flow);
    }
  }

  /**
   * Stops every bridge (SIGTERM). Bridges of this process: ports detached, host isolation removed, TAPs closed.
   * Persistent ones stay, with their ports and flows, for the next netmgrd to adopt (as ovs-vswitchd leaves its
   * datapaths); what no flow covers is dropped meanwhile.
   */
  shutdown(): void {
    // The record gets the learned MACs too: the next netmgrd starts with the table, not only the MACs whose flows
    // are still in the kernel (idle flows expire after 10 s; learned MACs live for the aging time).
    const persistent = [...this.bridges.values()].filter((b) => b.dp.persistent);
    if (persistent.length)
      try {
        saveKernelBridges(
          this.stateDir,
          persistent.map((b) => ({ config: b.config, ports: sortedPorts(b), learned: b.policy.learned?.() ?? [] })),
        );
      } catch (e) {
        this.log(`saving the learned MACs of the kernel bridges: ${messageOf(e)}`);
      }
    this.stopping = true;
    for (const [name, b] of [...this.bridges]) {
      try {
        if (b.dp.persistent) {
          stopPolicy(b);
          b.dp.release();
          this.bridges.delete(name);
          this.log(`left kernel bridge ${name} running (the next netmgrd takes it over)`);
        } else {
          this.deleteBridge(name);
        }
      } catch (e) {
        this.log(`stopping bridge ${name}: ${messageOf(e)}`);
      }
    }
    this.sockets.close();
  }
}
