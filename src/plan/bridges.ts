/**
 * The datapath half of planChanges (pure): bridges, their ports and static flows as the units want them, against
 * the bridges netmgrd runs (LiveBridge) and the live links of their TAP devices. Ports are numbered with the live
 * bridge (model/ports.ts portNumbers: a running port keeps its number unless its unit pins another), so only a
 * pinned number changes a running port's. A bridge whose datapath or policy
 * changes, or a port whose number, kind or namespace changes, is replaced (delete + create); link settings and
 * addresses of the TAPs, a learning bridge's settings (aging, table size, static MACs, loop protection with its
 * ports' spanning-tree settings) and a port's VLAN settings are changed in place.
 */
import {
  sameStp,
  sameTunnel,
  sameVlans,
  type FlowText,
  type LearningConfig,
  type LiveBridge,
  type PortConfig,
  type PortVlanConfig,
} from '../model/bridges';
import { findLink, type LiveState } from '../live/state';
import type { BridgeSpec, DatapathType, DesiredState, PortSpec } from '../model/types';
import { pinnedNumbers, portNumbers, portTable, type PortNumberRecord } from '../model/ports';
import { diffEnd } from './link-diff';
import type { Change, PlanLink } from './types';

/** `datapath = "auto"`: the kernel datapath when this kernel has the openvswitch module, else userspace. */
export const resolveDatapath = (d: DatapathType, kernelAvailable: boolean): 'userspace' | 'kernel' =>
  d === 'auto' ? (kernelAvailable ? 'kernel' : 'userspace') : d;

const flowKey = (f: FlowText) => `${f.match} -> ${f.actions}`;

/** The units' flows of a bridge as canonical text (ports by their `numbers`), in unit order, duplicates removed. */
export function desiredFlows(bridge: BridgeSpec, numbers: Map<string, number>): FlowText[] {
  if (bridge.policy !== 'flows' || !bridge.flows.length) return [];
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: the flow model only when flows exist
  const { parseFlow, parseActions, formatFlowText } = require('../flow') as typeof import('../flow');
  const ports = portTable(numbers);
  const out = new Map<string, FlowText>();
  for (const f of bridge.flows) {
    const flow = parseFlow(f.match, { ports });
    const t = formatFlowText(flow.key, flow.mask, parseActions(f.actions, { ports }).actions);
    out.set(flowKey(t), t);
  }
  return [...out.values()];
}

const planLink = (l: { mtu?: number; mac?: string; state: 'up' | 'down' }): PlanLink => ({
  mtu: l.mtu,
  mac: l.mac,
  state: l.state,
});
const fromConfig = (l: { mtu?: number; mac?: string; up: boolean }): PlanLink => ({
  mtu: l.mtu,
  mac: l.mac,
  state: l.up ? 'up' : 'down',
});

/** The learning policy's settings of a bridge, as netmgrd runs them; undefined for other policies. */
export function wantedLearning(b: BridgeSpec): LearningConfig | undefined {
  if (b.policy !== 'learning') return undefined;
  return {
    macAging: b.macAging,
    macTableSize: b.macTableSize,
    staticMacs: b.staticMacs.map(({ mac, port, vlan }) => ({ mac, port, vlan })),
    stp: b.stp,
  };
}

/**
 * A port's VLAN settings on a learning bridge: access, or trunks (sorted) with an optional native VLAN; undefined
 * when none are set (all VLANs tagged, untagged frames in VLAN 0).
 */
export function wantedVlans(p: PortSpec): PortVlanConfig | undefined {
  if (p.vlan !== undefined) return { access: p.vlan };
  if (p.trunks.length || p.nativeVlan !== undefined) {
    return {
      trunks: [...p.trunks].sort((a, b) => a - b),
      ...(p.nativeVlan !== undefined ? { native: p.nativeVlan } : {}),
    };
  }
  return undefined;
}

const staticKey = (s: { mac: string; port: string; vlan: number }) => `${s.mac}/${s.vlan}/${s.port}`;

/** Same settings; static MACs compared as a set (their order in the units means nothing). */
export function sameLearning(a: LearningConfig, b: LearningConfig): boolean {
  if (a.macAging !== b.macAging || a.macTableSize !== b.macTableSize || a.staticMacs.length !== b.staticMacs.length)
    return false;
  const keys = new Set(a.staticMacs.map(staticKey));
  return b.staticMacs.every((s) => keys.has(staticKey(s))) && sameStp(a.stp, b.stp);
}

function wantedPort(p: PortSpec, no: number, learning: boolean): PortConfig {
  const vlans = learning ? wantedVlans(p) : undefined;
  return {
    name: p.name,
    no,
    kind: p.kind,
    namespace: p.kind === 'internal' ? p.namespace : null,
    link: p.kind === 'internal' ? { mtu: p.link.mtu, mac: p.link.mac, up: p.link.state === 'up' } : { up: true },
    ...(vlans ? { vlans } : {}),
    ...(p.tunnel ? { tunnel: p.tunnel } : {}),
  };
}

const samePort = (a: PortConfig, b: PortConfig) =>
  a.no === b.no && a.kind === b.kind && a.namespace === b.namespace && sameTunnel(a.tunnel, b.tunnel);

/** Why a port that exists is deleted and created again rather than kept; `pins`: pinned numbers and their ports. */
function whyReplaced(lp: PortConfig, cfg: PortConfig, vethCreated: boolean, pins: Map<number, string>): string {
  if (vethCreated && samePort(lp, cfg)) return 'its veth is re-created';
  if (lp.no !== cfg.no)
    return pins.get(cfg.no) === cfg.name
      ? `port number ${lp.no} -> ${cfg.no}: its unit pins number = ${cfg.no}`
      : `port number ${lp.no} -> ${cfg.no}: ${pins.get(lp.no) ?? 'another port'} pins number = ${lp.no}`;
  if (lp.kind !== cfg.kind) return `kind ${lp.kind} -> ${cfg.kind}`;
  return sameTunnel(lp.tunnel, cfg.tunnel) ? 'namespace changes' : 'tunnel settings change';
}

export interface BridgePlanInput {
  desired: DesiredState;
  live: LiveState;
  bridges: LiveBridge[];
  /** Port numbers of bridges at netmgrd's last settled apply: a bridge built again gets them back. */
  portNumbers?: PortNumberRecord;
  /** Units whose veth this plan creates (or re-creates): their AF_PACKET attachment must be made anew. */
  vethsCreated: Set<string>;
}

/** The changes of one plan's bridges, with how deleting and creating their parts is written. */
class BridgeChanges {
  readonly out: Change[] = [];
  constructor(private readonly live: LiveState) {}

  deletePort(b: LiveBridge, p: PortConfig, reason: string): void {
    const link = p.kind === 'internal' ? findLink(this.live, p.namespace, p.name) : undefined;
    this.out.push({
      action: 'delete',
      object: 'port',
      unit: p.name,
      name: p.name,
      bridge: b.name,
      kind: p.kind,
      namespace: p.namespace,
      no: p.no,
      link: link ? { mtu: link.mtu, mac: link.mac, state: link.up ? 'up' : 'down' } : fromConfig(p.link),
      ...(p.vlans ? { vlans: p.vlans } : {}),
      ...(p.tunnel ? { tunnel: p.tunnel } : {}),
      addresses: link ? [...link.addresses] : [],
      reason,
    });
  }

  deleteBridge(b: LiveBridge, reason: string): void {
    for (const f of b.flows) this.out.push({ action: 'delete', object: 'flow', unit: b.name, bridge: b.name, ...f });
    for (const p of b.ports)
      if (p.no !== 0)
        this.deletePort(
          b,
          p,
          reason === 'no unit declares it any more' ? 'its bridge is deleted' : `its bridge is ${reason}`,
        );
    const link = findLink(this.live, null, b.name);
    this.out.push({
      action: 'delete',
      object: 'bridge',
      unit: b.name,
      name: b.name,
      datapath: b.datapath,
      policy: b.policy,
      link: link ? { mtu: link.mtu, mac: link.mac, state: link.up ? 'up' : 'down' } : fromConfig(b.link),
      ...(b.learning ? { learning: b.learning } : {}),
      addresses: link ? [...link.addresses] : [],
      reason,
    });
  }

  createPort(bridge: string, p: PortSpec, cfg: PortConfig): void {
    this.out.push({
      action: 'create',
      object: 'port',
      unit: p.name,
      name: p.name,
      bridge,
      kind: p.kind,
      namespace: cfg.namespace,
      no: cfg.no,
      link: fromConfig(cfg.link),
      ...(cfg.vlans ? { vlans: cfg.vlans } : {}),
      ...(cfg.tunnel ? { tunnel: cfg.tunnel } : {}),
    });
    if (p.kind === 'internal')
      for (const address of p.addresses)
        this.out.push({
          action: 'create',
          object: 'address',
          unit: p.name,
          namespace: cfg.namespace,
          link: p.name,
          address,
        });
  }
}

/** What the units want of one bridge, as netmgrd would run it. */
interface WantedBridge {
  spec: BridgeSpec;
  datapath: 'userspace' | 'kernel';
  numbers: Map<string, number>;
  /** Numbers the units pin, with their port. */
  pins: Map<number, string>;
  ports: PortSpec[];
  flows: FlowText[];
  learning?: LearningConfig;
}

export function planBridgeChanges(input: BridgePlanInput): Change[] {
  const { desired, live, bridges } = input;
  const c = new BridgeChanges(live);
  const liveByName = new Map(bridges.map((b) => [b.name, b]));
  for (const b of desired.bridges.values()) {
    const have = liveByName.get(b.name);
    // "auto" keeps a running bridge on the datapath it has: loading the module later must not bounce it.
    const datapath =
      b.datapath === 'auto' && have ? have.datapath : resolveDatapath(b.datapath, live.kernelDatapath === true);
    const ports = [...desired.ports.values()].filter((p) => p.bridge === b.name);
    // A bridge replaced (datapath or policy) keeps its numbers too, and one built again (netmgrd restarted) gets
    // those it had: its flows' numbers stay what they were, and an undo recorded with them still fits.
    const numbers = portNumbers(desired, b, have?.ports ?? input.portNumbers?.[b.name]);
    const want: WantedBridge = {
      spec: b,
      datapath,
      numbers,
      pins: pinnedNumbers(desired, b),
      ports,
      flows: desiredFlows(b, numbers),
      learning: wantedLearning(b),
    };
    planBridge(c, input, want, have);
  }
  for (const hb of bridges) if (!desired.bridges.has(hb.name)) c.deleteBridge(hb, 'no unit declares it any more');

  // A system NIC must be up to switch; its MTU is the unit's when set. Its addresses are the host's business.
  for (const p of desired.ports.values()) {
    if (p.kind !== 'system' || p.bridge === undefined) continue;
    const l = findLink(live, null, p.name);
    if (!l) continue;
    diffEnd(
      p.name,
      { namespace: null, name: p.name, mtu: p.link.mtu, state: p.link.state, addresses: l.addresses },
      l,
      c.out,
    );
  }
  return c.out;
}

/** One bridge: created, replaced (datapath or policy changes), or changed in place. */
function planBridge(c: BridgeChanges, input: BridgePlanInput, want: WantedBridge, have: LiveBridge | undefined): void {
  const { spec: b, datapath, learning } = want;
  // A learning bridge whose settings netmgrd does not report cannot be changed in place (no `from` to undo to).
  if (have && (have.datapath !== datapath || have.policy !== b.policy || (learning && !have.learning))) {
    const what =
      have.datapath !== datapath
        ? `datapath ${have.datapath} -> ${datapath}`
        : have.policy !== b.policy
          ? `policy ${have.policy} -> ${b.policy}`
          : 'its learning settings are unknown';
    c.deleteBridge(have, `replaced: ${what}`);
    have = undefined;
  }
  if (have) {
    planBridgeInPlace(c, input, want, have);
    return;
  }
  c.out.push({
    action: 'create',
    object: 'bridge',
    unit: b.name,
    name: b.name,
    datapath,
    policy: b.policy,
    link: planLink(b.link),
    ...(learning ? { learning } : {}),
  });
  for (const address of b.addresses)
    c.out.push({ action: 'create', object: 'address', unit: b.name, namespace: null, link: b.name, address });
  for (const p of want.ports) c.createPort(b.name, p, wantedPort(p, want.numbers.get(p.name)!, !!learning));
  for (const f of want.flows) c.out.push({ action: 'create', object: 'flow', unit: b.name, bridge: b.name, ...f });
}

/** A running bridge kept: its learning settings, own interface, ports and flows brought to what the units want. */
function planBridgeInPlace(
  c: BridgeChanges,
  { live, vethsCreated }: BridgePlanInput,
  want: WantedBridge,
  hb: LiveBridge,
): void {
  const { spec: b, learning } = want;
  const out = c.out;
  if (learning && hb.learning && !sameLearning(hb.learning, learning)) {
    out.push({
      action: 'modify',
      object: 'bridge',
      unit: b.name,
      name: b.name,
      learning: { from: hb.learning, to: learning },
    });
  }
  // The bridge's own interface: settings and addresses in place.
  const own = findLink(live, null, b.name);
  if (own)
    diffEnd(
      b.name,
      { namespace: null, name: b.name, mtu: b.link.mtu, mac: b.link.mac, state: b.link.state, addresses: b.addresses },
      own,
      out,
    );
  const livePorts = new Map(hb.ports.filter((p) => p.no !== 0).map((p) => [p.name, p]));
  const wanted = new Set<string>();
  for (const p of want.ports) {
    const cfg = wantedPort(p, want.numbers.get(p.name)!, !!learning);
    wanted.add(p.name);
    const lp = livePorts.get(p.name);
    if (lp && samePort(lp, cfg) && !vethsCreated.has(p.name)) {
      if (!sameVlans(lp.vlans, cfg.vlans)) {
        out.push({
          action: 'modify',
          object: 'port',
          unit: p.name,
          name: p.name,
          bridge: b.name,
          vlans: { from: lp.vlans, to: cfg.vlans },
        });
      }
      if (p.kind === 'internal') {
        const l = findLink(live, cfg.namespace, p.name);
        if (l)
          diffEnd(
            p.name,
            {
              namespace: cfg.namespace,
              name: p.name,
              mtu: p.link.mtu,
              mac: p.link.mac,
              state: p.link.state,
              addresses: p.addresses,
            },
            l,
            out,
          );
      }
      continue;
    }
    if (lp) {
      c.deletePort(hb, lp, `replaced: ${whyReplaced(lp, cfg, vethsCreated.has(p.name), want.pins)}`);
    }
    c.createPort(b.name, p, cfg);
  }
  for (const lp of livePorts.values()) if (!wanted.has(lp.name)) c.deletePort(hb, lp, 'no unit declares it any more');
  const haveFlows = new Set(hb.flows.map(flowKey));
  const wantFlows = new Set(want.flows.map(flowKey));
  for (const f of hb.flows)
    if (!wantFlows.has(flowKey(f))) out.push({ action: 'delete', object: 'flow', unit: b.name, bridge: b.name, ...f });
  for (const f of want.flows)
    if (!haveFlows.has(flowKey(f))) out.push({ action: 'create', object: 'flow', unit: b.name, bridge: b.name, ...f });
}
