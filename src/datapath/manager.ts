/**
 * BridgeManager: netmgrd's registry of the bridges it runs. It carries out the datapath steps of a plan (create or
 * delete a bridge, add or remove a port, add or delete a flow, change a learning bridge's settings or a port's
 * VLAN settings) on top of the Datapath interface, wires each bridge to its policy, and reports what exists
 * (LiveBridge, with the learning settings and VLAN settings it was given) so the planner can diff against it.
 * After every change of a bridge's settings or ports the policy is told (Policy.configure). The TAP devices of
 * userspace bridges belong to this process: they disappear when it exits, by design. Kernel bridges outlive it:
 * they are recorded in the state directory (kernel/records.ts), left running at shutdown and adopted again at
 * the next start (adoptKernelBridges), so forwarding through their flows never stops.
 */
import * as fs from 'fs';
import * as path from 'path';
import { formatFlowText, parseActions, parseFlow } from '../flow';
import { NamespaceSockets, nsLabel } from '../live/namespaces';
import type { BridgeConfig, FlowText, LearningConfig, LinkConfig, LiveBridge, PortConfig, PortVlanConfig } from '../live/bridges';
import type { NamespaceName } from '../model/types';
import { getLinkByName, moveLink, setLink } from '../netlink/rtnl';
import { installIngressDrop, removeIngressDrop, type IngressDrop } from '../netlink/tc';
import { createPolicy, type Policy } from '../policy';
import type { DatapathStepExecutor } from '../apply/runner';
import type { DatapathStep } from '../plan/types';
import { DatapathError, type Datapath } from './types';
import { UserspaceDatapath, type HostIsolation } from './userspace/datapath';
import { KernelDatapath } from './kernel/datapath';
import { kernelLiveBridge } from './kernel/live';
import { loadKernelBridges, saveKernelBridges } from './kernel/records';


interface ManagedBridge {
  config: BridgeConfig;
  dp: Datapath;
  policy: Policy;
  ports: Map<string, PortConfig>;
}

const ISOLATION_FILE = 'isolation.json';

const notFound = (what: string) => new DatapathError('ENOENT', `${what} does not exist`);

/** VLAN settings exist only under the learning policy (the units refuse them elsewhere; netmgrd checks again). */
function refuseVlans(b: ManagedBridge, vlans: PortVlanConfig | undefined): void {
  if (vlans !== undefined && b.config.policy !== 'learning') {
    throw new DatapathError('EINVAL', `bridge ${b.config.name} runs policy = "${b.config.policy}": ports have no VLAN settings`);
  }
}

export class BridgeManager implements DatapathStepExecutor {
  private readonly bridges = new Map<string, ManagedBridge>();
  private readonly sockets = new NamespaceSockets();
  private readonly isolation: HostIsolation;
  private readonly isolated: IngressDrop[];
  /** Set by shutdown: kernel bridges leave this process but stay recorded. */
  private stopping = false;

  constructor(private readonly stateDir: string, private readonly log: (line: string) => void) {
    this.isolated = this.loadIsolation();
    const root = () => this.sockets.route(null);
    this.isolation = {
      isolate: (ifindex, name) => {
        const rec = installIngressDrop(root(), ifindex, name);
        this.isolated.push(rec);
        this.saveIsolation();
      },
      release: (ifindex, name) => {
        const i = this.isolated.findIndex((r) => r.ifindex === ifindex && r.name === name);
        if (i < 0) return;
        removeIngressDrop(root(), this.isolated[i]);
        this.isolated.splice(i, 1);
        this.saveIsolation();
      },
    };
  }

  /**
   * At start-up nothing is attached, so host isolation left behind by a netmgrd that died without cleaning up
   * (SIGKILL, power loss) is removed: the interfaces go back to the host until a bridge attaches them again.
   */
  releaseStaleIsolation(): void {
    for (const rec of [...this.isolated]) {
      try {
        removeIngressDrop(this.sockets.route(null), rec);
        this.log(`removed host isolation left on ${rec.name} by an earlier netmgrd`);
      } catch (e) {
        this.log(`could not remove stale host isolation from ${rec.name}: ${(e as Error).message}`);
      }
    }
    this.isolated.length = 0;
    this.saveIsolation();
  }

  private loadIsolation(): IngressDrop[] {
    try {
      return JSON.parse(fs.readFileSync(path.join(this.stateDir, ISOLATION_FILE), 'utf8')) as IngressDrop[];
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  }

  private saveIsolation(): void {
    fs.mkdirSync(this.stateDir, { recursive: true, mode: 0o700 });
    const file = path.join(this.stateDir, ISOLATION_FILE);
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(this.isolated, null, 2) + '\n', { mode: 0o600 });
    fs.renameSync(`${file}.tmp`, file);
  }

  // ------------------------------------------------------------------------------------------------------------

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

  /** Tells the bridge's policy its settings and ports (ordered by number) after any change to them. */
  private configurePolicy(b: ManagedBridge): void {
    b.policy.configure(b.config, [...b.ports.values()].sort((x, y) => x.no - y.no));
  }

  names(): string[] {
    return [...this.bridges.keys()];
  }

  live(): LiveBridge[] {
    return [...this.bridges.values()].map((b) => b.dp.type === 'kernel' ? this.kernelLive(b) : ({
      ...b.config,
      ports: [...b.ports.values()].sort((x, y) => x.no - y.no),
      flows: b.config.policy === 'flows' ? b.dp.dumpFlows().map((f) => formatFlowText(f.key, f.mask, f.actions)) : [],
    }));
  }

  /** A kernel bridge as the kernel confirms it (a port whose vport vanished is not reported). */
  private kernelLive(b: ManagedBridge): LiveBridge {
    const rec = { config: b.config, ports: [...b.ports.values()] };
    return kernelLiveBridge(rec, b.dp.ports(), b.config.policy === 'flows' ? b.dp.dumpFlows() : []);
  }

  createBridge(cfg: BridgeConfig): void {
    if (this.bridges.has(cfg.name)) throw new DatapathError('EEXIST', `bridge ${cfg.name} already exists`);
    const dp: Datapath = cfg.datapath === 'kernel'
      ? KernelDatapath.create(cfg.name, { log: this.log })
      : new UserspaceDatapath(cfg.name, { isolation: this.isolation, log: this.log });
    let policy: Policy | undefined;
    try {
      dp.addPort({ no: 0, name: cfg.name, type: 'internal' });
      this.configureLink(null, cfg.name, cfg.link);
      policy = createPolicy(cfg, this.log);
      policy.attach(dp);
      const b: ManagedBridge = { config: cfg, dp, policy, ports: new Map() };
      this.configurePolicy(b);
      this.bridges.set(cfg.name, b);
      this.recordKernelBridges();
    } catch (e) {
      policy?.detach();
      dp.destroy();
      throw e;
    }
  }

  /** Saves the kernel bridges' settings (after every change to one): what a restarted netmgrd adopts. */
  private recordKernelBridges(): void {
    if (this.stopping) return;
    const kernel = [...this.bridges.values()].filter((b) => b.dp.type === 'kernel');
    if (!kernel.length && !loadKernelBridges(this.stateDir).length) return;
    saveKernelBridges(this.stateDir, kernel.map((b) => ({ config: b.config, ports: [...b.ports.values()].sort((x, y) => x.no - y.no) })));
  }

  /**
   * At start-up: takes over the kernel bridges an earlier netmgrd created (recorded in the state directory).
   * Their upcalls come here from now on; ports the kernel lost are forgotten (the next apply adds them again);
   * vports not in the record (left by an apply that died between the kernel's change and the record) are removed.
   * A learning bridge's policy adopts the flows in the kernel, so forwarding goes on and aging resumes.
   */
  adoptKernelBridges(): void {
    const records = loadKernelBridges(this.stateDir);
    if (!records.length) return;
    for (const rec of records) {
      const name = rec.config.name;
      if (this.bridges.has(name)) continue;
      let dp: KernelDatapath | undefined;
      try {
        dp = KernelDatapath.adopt(name, { log: this.log });
      } catch (e) {
        this.log(`could not take over kernel bridge ${name}: ${(e as Error).message}`);
        continue;
      }
      if (!dp) {
        this.log(`kernel bridge ${name} is gone (rebooted or removed by hand); the next apply creates it again`);
        continue;
      }
      const vports = new Map(dp.ports().map((p) => [p.no, p]));
      const ports = new Map<string, PortConfig>();
      for (const p of rec.ports) {
        const v = vports.get(p.no);
        if (v && v.name === p.name) ports.set(p.name, p);
      }
      for (const v of vports.values()) {
        if (v.no === 0 || ports.get(v.name)?.no === v.no) continue;
        this.log(`kernel bridge ${name}: removing port ${v.name} (${v.no}), which netmgr's record does not have (an interrupted apply?)`);
        try {
          dp.removePort(v.no);
        } catch (e) {
          this.log(`kernel bridge ${name}: could not remove port ${v.name}: ${(e as Error).message}`);
        }
      }
      const policy = createPolicy(rec.config, this.log);
      policy.attach(dp);
      const b: ManagedBridge = { config: rec.config, dp, policy, ports };
      this.configurePolicy(b);
      policy.adopt?.();
      this.bridges.set(name, b);
      const flows = dp.stats().flows;
      this.log(`took over kernel bridge ${name} (${ports.size} port${ports.size === 1 ? '' : 's'}, ${flows} flow${flows === 1 ? '' : 's'})`);
    }
    this.recordKernelBridges();
  }

  /** A learning bridge's settings (aging, table size, static MACs), changed in place: learned MACs are kept. */
  setLearning(bridge: string, learning: LearningConfig): void {
    const b = this.bridge(bridge);
    if (b.config.policy !== 'learning') throw new DatapathError('EINVAL', `bridge ${bridge} runs policy = "${b.config.policy}", which has no learning settings`);
    b.config = { ...b.config, learning };
    this.configurePolicy(b);
    this.recordKernelBridges();
  }

  /** A port's VLAN settings (undefined = none), changed in place: the port stays attached. */
  setPortVlans(bridge: string, name: string, vlans: PortVlanConfig | undefined): void {
    const { b, p } = this.port(bridge, name);
    refuseVlans(b, vlans);
    const next: PortConfig = { ...p };
    delete next.vlans;
    if (vlans) next.vlans = vlans;
    b.ports.set(name, next);
    this.configurePolicy(b);
    this.recordKernelBridges();
  }

  deleteBridge(name: string): void {
    const b = this.bridges.get(name);
    if (!b) throw notFound(`bridge ${name}`);
    b.policy.detach();
    b.dp.destroy();
    this.bridges.delete(name);
    this.recordKernelBridges();
  }

  addPort(bridge: string, cfg: PortConfig): void {
    const b = this.bridges.get(bridge);
    if (!b) throw notFound(`bridge ${bridge}`);
    if (b.ports.has(cfg.name)) throw new DatapathError('EEXIST', `port ${cfg.name} already exists on ${bridge}`);
    refuseVlans(b, cfg.vlans);
    const internal = cfg.kind === 'internal';
    b.dp.addPort({ no: cfg.no, name: cfg.name, type: internal ? 'internal' : 'netdev' });
    try {
      if (internal) {
        if (cfg.namespace !== null) {
          const root = this.sockets.route(null);
          const l = getLinkByName(root, cfg.name);
          if (!l) throw notFound(`TAP ${cfg.name}`);
          moveLink(root, l.index, this.sockets.nsFd(cfg.namespace), `${cfg.name} to namespace ${cfg.namespace}`);
        }
        this.configureLink(cfg.namespace, cfg.name, cfg.link);
      }
    } catch (e) {
      b.dp.removePort(cfg.no);
      throw e;
    }
    b.ports.set(cfg.name, cfg);
    this.configurePolicy(b);
    this.recordKernelBridges();
  }

  removePort(bridge: string, name: string): void {
    const { b, p } = this.port(bridge, name);
    try {
      b.dp.removePort(p.no);
    } catch (e) {
      // A kernel vport goes by itself when its interface is deleted (a veth removed by hand): already done.
      if (!(e instanceof DatapathError && e.code === 'ENOENT' && b.dp.type === 'kernel')) throw e;
    }
    b.ports.delete(name);
    this.configurePolicy(b);
    this.recordKernelBridges();
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

  /** Sets MTU, MAC and state of an interface this process created (a TAP), in its namespace. */
  private configureLink(ns: NamespaceName, name: string, link: LinkConfig): void {
    const sock = this.sockets.route(ns);
    const l = getLinkByName(sock, name);
    if (!l) throw notFound(`interface ${name} in ${nsLabel(ns)}`);
    if (link.mtu !== undefined || link.mac !== undefined) setLink(sock, l.index, { mtu: link.mtu, mac: link.mac }, `${name} [${nsLabel(ns)}]`);
    if (link.up) setLink(sock, l.index, { up: true }, `${name} [${nsLabel(ns)}]`);
  }

  /**
   * Stops every bridge (SIGTERM). Userspace bridges: ports detached, host isolation removed, TAPs closed. Kernel
   * bridges stay, with their ports and flows, for the next netmgrd to adopt (as ovs-vswitchd leaves its
   * datapaths); what no flow covers is dropped meanwhile.
   */
  shutdown(): void {
    this.stopping = true;
    for (const [name, b] of [...this.bridges]) {
      try {
        if (b.dp.type === 'kernel') {
          b.policy.detach();
          b.dp.release();
          this.bridges.delete(name);
          this.log(`left kernel bridge ${name} running (the next netmgrd takes it over)`);
        } else {
          this.deleteBridge(name);
        }
      } catch (e) {
        this.log(`stopping bridge ${name}: ${(e as Error).message}`);
      }
    }
    this.sockets.close();
  }
}
