/**
 * A Plan is what `netmgr plan` prints and `netmgr apply` executes: typed changes computed by a pure function of
 * the desired state, the live state and the ownership record. The JSON form of Change is a documented, stable
 * schema (netmgr(8), "PLAN JSON"): add fields, never rename or remove them.
 */
import { Cidr, Ipv6Settings, NamespaceName, LinkState, type TunnelSpec } from '../model/types';
import type { BridgeConfig, FlowText, LearningConfig, PortConfig, PortVlanConfig } from '../model/bridges';
import type { OwnedTakeover } from '../model/ownership';

/** One end of a veth pair as netmgr wants it. */
export interface VethEnd {
  namespace: NamespaceName;
  name: string;
  mtu?: number;
  mac?: string;
  state: LinkState;
  addresses: Cidr[];
}

/** One end of a live veth pair, with what rollback needs to recreate it exactly. */
export interface LiveVethEnd {
  namespace: NamespaceName;
  name: string;
  index: number;
  mtu: number;
  mac?: string;
  state: LinkState;
  addresses: Cidr[];
}

export type FieldChange<T> = { from: T; to: T };

export type Change =
  | { action: 'create'; object: 'namespace'; name: string }
  | { action: 'delete'; object: 'namespace'; name: string }
  | { action: 'create'; object: 'veth'; unit: string; ends: [VethEnd, VethEnd] }
  | { action: 'delete'; object: 'veth'; unit: string; ends: [LiveVethEnd, LiveVethEnd]; reason: string }
  | {
      action: 'modify';
      object: 'link';
      unit: string;
      namespace: NamespaceName;
      name: string;
      fields: { mtu?: FieldChange<number>; mac?: FieldChange<string>; state?: FieldChange<LinkState> };
      /** True when the change takes the link down (traffic stops while it applies). */
      bounce: boolean;
    }
  | {
      action: 'create' | 'delete';
      object: 'address';
      unit: string;
      namespace: NamespaceName;
      link: string;
      address: Cidr;
      /** 'dhcp' when the address is a DHCP lease's (netmgrd's client), absent for a unit's own address. */
      origin?: 'dhcp';
    }
  /**
   * A bridge (datapath + its own internal port, named like the bridge) run by netmgrd. `learning` (the learning
   * policy's settings) is present exactly when policy = "learning".
   */
  | {
      action: 'create';
      object: 'bridge';
      unit: string;
      name: string;
      datapath: string;
      policy: string;
      link: PlanLink;
      learning?: LearningConfig;
    }
  | {
      action: 'delete';
      object: 'bridge';
      unit: string;
      name: string;
      datapath: string;
      policy: string;
      link: PlanLink;
      learning?: LearningConfig;
      addresses: Cidr[];
      reason: string;
    }
  /** A running learning bridge's settings (MAC aging, table size, static MACs) changed in place: traffic keeps flowing. */
  | { action: 'modify'; object: 'bridge'; unit: string; name: string; learning: FieldChange<LearningConfig> }
  /**
   * A datapath port: internal = a TAP netmgrd creates; veth/system = an interface attached with AF_PACKET. `vlans`:
   * the port's VLAN settings on a learning bridge; absent = none (all VLANs, untagged frames in VLAN 0).
   */
  | {
      action: 'create';
      object: 'port';
      unit: string;
      name: string;
      bridge: string;
      kind: string;
      namespace: NamespaceName;
      no: number;
      link: PlanLink;
      vlans?: PortVlanConfig;
      tunnel?: TunnelSpec;
    }
  | {
      action: 'delete';
      object: 'port';
      unit: string;
      name: string;
      bridge: string;
      kind: string;
      namespace: NamespaceName;
      no: number;
      link: PlanLink;
      vlans?: PortVlanConfig;
      tunnel?: TunnelSpec;
      addresses: Cidr[];
      reason: string;
    }
  /** A port's VLAN settings changed in place (no delete/re-create); `from`/`to` absent = no VLAN settings. */
  | {
      action: 'modify';
      object: 'port';
      unit: string;
      name: string;
      bridge: string;
      vlans: FieldChange<PortVlanConfig | undefined>;
    }
  /** A route netmgr keeps (marked with its protocol number) through one interface of a unit. */
  | {
      action: 'create' | 'delete';
      object: 'route';
      unit: string;
      namespace: NamespaceName;
      link: string;
      route: PlanRoute;
      /** 'dhcp' when the route is a DHCP lease's default route, absent for a unit's own route. */
      origin?: 'dhcp';
    }
  /**
   * An uplink taken over (create: the NIC's addresses and routes move onto the bridge's own port, which takes its
   * MAC) or given back (delete: they return to the NIC). The bridge's side is planned as its addresses and MAC.
   */
  | { action: 'create' | 'delete'; object: 'takeover'; unit: string; bridge: string; record: OwnedTakeover }
  /**
   * A unit's [ipv6] settings brought onto its interface: `to` what the unit gives, `created` when this plan creates
   * the link (its values are the kernel's defaults then); `set` the sysctl values and fe80:: addresses written, and
   * those undo puts back.
   */
  | {
      action: 'modify';
      object: 'ipv6';
      unit: string;
      namespace: NamespaceName;
      link: string;
      to: Ipv6Settings;
      created: boolean;
      set: { to: Ipv6Sysctls; from: Ipv6Sysctls };
    }
  /** netmgr's resolver file: the name servers of the use-dns leases (`to` empty: the file goes). */
  | { action: 'modify'; object: 'dns'; from: string[]; to: string[] }
  /** A static flow of a policy = "flows" bridge, as canonical ODP text with numeric ports. */
  | { action: 'create' | 'delete'; object: 'flow'; unit: string; bridge: string; match: string; actions: string };

/**
 * Values of net.ipv6.conf.IFACE.{accept_ra,autoconf,addr_gen_mode}, each only when written; `linkLocal`, when
 * present, is the exact set of fe80:: addresses the interface ends with (others are removed, missing ones added).
 */
export interface Ipv6Sysctls {
  acceptRa?: number;
  autoconf?: number;
  addrGenMode?: number;
  linkLocal?: Cidr[];
}

/** A route as planned and journaled: everything the kernel matches it by, the interface apart. */
export interface PlanRoute {
  family: 4 | 6;
  /** Destination network, "0.0.0.0/0" / "::/0" for the default route. */
  to: Cidr;
  via?: string;
  metric: number;
  table: number;
  /** The routing protocol it carries: absent for netmgr's own (RTPROT_NETMGR); a moved route keeps its own. */
  protocol?: number;
}

export interface PlanLink {
  mtu?: number;
  mac?: string;
  state: LinkState;
}

export interface Plan {
  changes: Change[];
  /** Things the user should know that change nothing, e.g. a namespace kept because it holds foreign links. */
  notes: string[];
}

/** A primitive, reversible operation the executor performs, written to the journal before it runs. */
export type Step =
  | { op: 'ns.create'; name: string }
  | { op: 'ns.delete'; name: string }
  | { op: 'veth.create'; a: StepVethEnd; b: StepVethEnd }
  | { op: 'veth.delete'; namespace: NamespaceName; name: string; restore: { a: StepVethEnd; b: StepVethEnd } }
  | { op: 'link.set'; namespace: NamespaceName; name: string; to: LinkSettingChange; from: LinkSettingChange }
  | { op: 'addr.add'; namespace: NamespaceName; link: string; address: Cidr }
  | { op: 'addr.del'; namespace: NamespaceName; link: string; address: Cidr }
  | { op: 'route.add'; namespace: NamespaceName; link: string; route: PlanRoute }
  | { op: 'route.del'; namespace: NamespaceName; link: string; route: PlanRoute }
  | { op: 'ipv6.set'; namespace: NamespaceName; link: string; to: Ipv6Sysctls; from: Ipv6Sysctls }
  /** netmgr's resolver file rewritten with these name servers (none: removed). */
  | { op: 'dns.set'; to: string[]; from: string[] }
  /** Datapath steps, carried out by netmgrd. */
  | { op: 'bridge.create'; bridge: BridgeConfig }
  | { op: 'bridge.delete'; name: string; restore: BridgeConfig }
  | { op: 'port.add'; bridge: string; port: PortConfig }
  | { op: 'port.remove'; bridge: string; name: string; restore: PortConfig }
  /** A learning bridge's settings, replaced as a whole; `from` is what undo puts back. */
  | { op: 'bridge.set'; name: string; to: LearningConfig; from: LearningConfig }
  /** A port's VLAN settings (undefined = none), replaced as a whole. */
  | { op: 'port.set'; bridge: string; name: string; to: PortVlanConfig | undefined; from: PortVlanConfig | undefined }
  | { op: 'flow.add'; bridge: string; flow: FlowText }
  | { op: 'flow.del'; bridge: string; flow: FlowText };

export type DatapathStep = Extract<Step, { op: `bridge.${string}` | `port.${string}` | `flow.${string}` }>;

export const isDatapathStep = (s: Step): s is DatapathStep => /^(bridge|port|flow)\./.test(s.op);

export interface StepVethEnd {
  namespace: NamespaceName;
  name: string;
  mtu?: number;
  mac?: string;
  /** Requested ifindex: only when restoring a deleted link, so rollback gives back the very same interface. */
  index?: number;
  /**
   * Only when restoring a deleted link: the addresses it had (added back in this order) and whether it was up
   * (set once they are on). A veth is deleted in one step as it is, and its undo gives all of it back.
   */
  addresses?: Cidr[];
  up?: boolean;
}

export interface LinkSettingChange {
  mtu?: number;
  mac?: string;
  up?: boolean;
}
