/**
 * BridgeManager: netmgrd's registry of the bridges it runs. It carries out the datapath steps of a plan (create or
 * delete a bridge, add or remove a port, add or delete a flow, change a learning bridge's settings or a port's
 * VLAN settings) on top of the Datapath interface, wires each bridge to its policy, and reports what exists
 * (LiveBridge, with the learning settings and VLAN settings it was given) so the planner can diff against it.
 * After every change of a bridge's settings or ports the policy is told (Policy.configure). The TAP devices of
 * userspace bridges belong to this process: they disappear when it exits, by design.
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
    return [...this.bridges.values()].map((b) => ({
      ...b.config,
      ports: [...b.ports.values()].sort((x, y) => x.no - y.no),
      flows: b.config.policy === 'flows' ? b.dp.dumpFlows().map((f) => formatFlowText(f.key, f.mask, f.actions)) : [],
    }));
  }

  createBridge(cfg: BridgeConfig): void {
    if (this.bridges.has(cfg.name)) throw new DatapathError('EEXIST', `bridge ${cfg.name} already exists`);
    if (cfg.datapath !== 'userspace') throw new DatapathError('EOPNOTSUPP', `the ${cfg.datapath} datapath is not implemented yet; use datapath = "userspace"`);
    const dp = new UserspaceDatapath(cfg.name, { isolation: this.isolation, log: this.log });
    let policy: Policy | undefined;
    try {
      dp.addPort({ no: 0, name: cfg.name, type: 'internal' });
      this.configureLink(null, cfg.name, cfg.link);
      policy = createPolicy(cfg, this.log);
      policy.attach(dp);
      const b: ManagedBridge = { config: cfg, dp, policy, ports: new Map() };
      this.configurePolicy(b);
      this.bridges.set(cfg.name, b);
    } catch (e) {
      policy?.detach();
      dp.destroy();
      throw e;
    }
  }

  /** A learning bridge's settings (aging, table size, static MACs), changed in place: learned MACs are kept. */
  setLearning(bridge: string, learning: LearningConfig): void {
    const b = this.bridge(bridge);
    if (b.config.policy !== 'learning') throw new DatapathError('EINVAL', `bridge ${bridge} runs policy = "${b.config.policy}", which has no learning settings`);
    b.config = { ...b.config, learning };
    this.configurePolicy(b);
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
  }

  deleteBridge(name: string): void {
    const b = this.bridges.get(name);
    if (!b) throw notFound(`bridge ${name}`);
    b.policy.detach();
    b.dp.destroy();
    this.bridges.delete(name);
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
  }

  removePort(bridge: string, name: string): void {
    const { b, p } = this.port(bridge, name);
    b.dp.removePort(p.no);
    b.ports.delete(name);
    this.configurePolicy(b);
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

  /** Stops every bridge (SIGTERM): detaches ports, removes host isolation, closes the TAPs. */
  shutdown(): void {
    for (const name of [...this.bridges.keys()]) {
      try {
        this.deleteBridge(name);
      } catch (e) {
        this.log(`stopping bridge ${name}: ${(e as Error).message}`);
      }
    }
    this.sockets.close();
  }
}
