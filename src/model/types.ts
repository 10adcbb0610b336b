/**
 * The desired-state model: what the validated unit files ask for, with defaults applied and every implied object
 * (namespaces named by ports, veth peer names) made explicit. Produced by src/units, consumed by src/plan.
 * Nothing here does I/O.
 */

import type { PortStpSettings, StpConfig } from './stp';

/** Where a value came from, for errors that point at the user's text. Lines and columns are 1-based. */
export interface SourcePos {
  file: string;
  line: number;
  col: number;
}

/** The root network namespace is written as null everywhere in the model. */
export type NamespaceName = string | null;

export type DatapathType = 'auto' | 'kernel' | 'userspace';
export type PolicyType = 'learning' | 'flows';
export type PortKind = 'system' | 'internal' | 'veth' | TunnelKind;
/** Tunnel ports: the bridge's frames carried in UDP over an IP underlay (RFC 7348 VXLAN, RFC 8926 Geneve). */
export type TunnelKind = 'vxlan' | 'geneve';
export const TUNNEL_KINDS: readonly TunnelKind[] = ['vxlan', 'geneve'];
export const isTunnelKind = (k: string | undefined): k is TunnelKind => k === 'vxlan' || k === 'geneve';
export type LinkState = 'up' | 'down';

/** Link-level settings; undefined means "leave the kernel's value alone" (systemd-networkd's tri-state). */
export interface LinkSettings {
  mtu?: number;
  /** Lower-case colon form, e.g. "02:00:00:00:00:fe". */
  mac?: string;
  state: LinkState;
}

/** An address in CIDR form, normalised: IPv4 dotted quad, IPv6 RFC 5952 lower-case, host bits kept. */
export type Cidr = string;

export interface FlowSpec {
  match: string;
  actions: string;
  /** Position of the `match` value, for flow-syntax errors. */
  source: SourcePos;
  actionsSource: SourcePos;
}

/** A static MAC table entry of a learning bridge (`[[bridge.static-mac]]`). */
export interface StaticMacSpec {
  /** Lower-case colon form; always unicast. */
  mac: string;
  /** A port unit of the bridge. */
  port: string;
  /** Given, or the port's access VLAN, else its native VLAN, else 0 (untagged on a port without VLAN settings). */
  vlan: number;
  /** Position of the `mac` value. */
  source: SourcePos;
}

/** The kernel's main routing table (RT_TABLE_MAIN), where routes go unless a unit names another. */
export const MAIN_TABLE = 254;

/**
 * A route netmgr keeps on the interface a unit's addresses go on (`gateway` is the default route via it). netmgr
 * marks the routes it adds with its own routing protocol number, so it removes only those.
 */
export interface RouteSpec {
  family: 4 | 6;
  /** Destination network: "0.0.0.0/0" or "::/0" for the default route. */
  to: Cidr;
  /** Next hop; absent for a route straight out of the interface (on-link). */
  via?: string;
  /** The route's priority; the kernel's defaults when absent in the unit: 0 for IPv4, 1024 for IPv6. */
  metric: number;
  /** Routing table number (MAIN_TABLE unless the unit names one). */
  table: number;
  /** Where the unit gave it (`gateway` or the `to` of a [[ipvN.route]]). */
  source: SourcePos;
}

export interface BridgeSpec {
  type: 'bridge';
  name: string;
  datapath: DatapathType;
  policy: PolicyType;
  /** Seconds, 15..3600. */
  macAging: number;
  macTableSize: number;
  flows: FlowSpec[];
  /** policy = "learning" only; in unit order. */
  staticMacs: StaticMacSpec[];
  /** Loop protection (policy = "learning" only), with the settings of its port units. */
  stp: StpConfig;
  /** Addresses on the bridge's own internal port. IPv4 then IPv6. */
  addresses: Cidr[];
  /** Routes via the bridge's own internal port. */
  routes: RouteSpec[];
  /** `dhcp = true` in [ipv4] (where it was given): netmgrd adds the address and route of the interface's lease. */
  dhcp4?: SourcePos;
  /** `use-dns = true` in [ipv4] (only with dhcp4): the lease's name servers go into netmgr's resolv.conf. */
  useDns: boolean;
  /** [ipv6] accept-ra, slaac, link-local where given (on the bridge's own port). */
  ipv6: Ipv6Settings;
  link: LinkSettings;
  /** The unit file this came from. */
  source: SourcePos;
}

/**
 * The IPv6 behaviour of one interface, each key only where a unit gives it: an absent key leaves the kernel's setting
 * (net.ipv6.conf.IFACE.*) as it is, as an absent `mtu` does.
 */
export interface Ipv6Settings {
  /** Router advertisements accepted (accept_ra 2, also with forwarding on) or ignored (0). */
  acceptRa?: boolean;
  /** Addresses formed from advertised prefixes (autoconf 1 / 0). */
  slaac?: boolean;
  /** The kernel's fe80:: address (addr_gen_mode eui64 / none, the address added or removed). */
  linkLocal?: boolean;
}

/**
 * A tunnel port's settings (`kind = "vxlan"` or `"geneve"`): static flood-and-learn to a list of remotes, one
 * underlay address family per port.
 */
export interface TunnelSpec {
  /** The 24-bit virtual network identifier (VXLAN VNI, Geneve VNI), 0..16777215. */
  vni: number;
  /** Underlay unicast addresses of the other hosts of the segment, normalised; all of one family, at least one. */
  remotes: string[];
  /** Underlay source address; absent: the kernel's route to each remote picks it. */
  local?: string;
  /** 4 or 6: the underlay family of `remotes` and `local`. */
  family: 4 | 6;
  /** UDP destination port; 4789 (VXLAN, IANA) or 6081 (Geneve, IANA) unless given. */
  dstPort: number;
  /** TTL (IPv6: hop limit) of the outer packet. */
  ttl: number;
  /** Don't-fragment bit of the outer IPv4 header (IPv6 never fragments on the way). */
  df: boolean;
}

export interface PortSpec {
  type: 'port';
  name: string;
  /** Undefined only for a veth that directly joins two namespaces. */
  bridge?: string;
  kind: PortKind;
  /** internal: where the interface lives; veth: where the peer end lives; system: where the NIC is. */
  namespace: NamespaceName;
  /** veth only: the peer end's name (explicit or derived). */
  peer?: string;
  /** veth without bridge only: where this end (the unit's name) lives. */
  localNamespace: NamespaceName;
  /** veth without bridge only: this end's addresses. */
  localAddresses: Cidr[];
  /** veth without bridge only: this end's MAC. */
  localMac?: string;
  /** Access VLAN (learning policy). */
  vlan?: number;
  /** Trunk VLANs (learning policy). */
  trunks: number[];
  /** VLAN of untagged frames on a trunk port (learning policy; only with trunks). */
  nativeVlan?: number;
  /** Spanning-tree settings (learning policy). */
  stp: PortStpSettings;
  /** `number` in [port]: the datapath port number the unit pins (as OVS's ofport_request); else live or lowest free. */
  number?: number;
  /** kind = "system": move the NIC's addresses and routes onto the bridge's own port (`take-over`). */
  takeOver: boolean;
  /** kind = "vxlan" or "geneve" only. */
  tunnel?: TunnelSpec;
  /** Addresses on the internal port, or on the veth's peer end. IPv4 then IPv6. */
  addresses: Cidr[];
  /** Routes via the interface the addresses go on. */
  routes: RouteSpec[];
  /** `dhcp = true` in [ipv4] (internal ports only; where it was given): see BridgeSpec.dhcp4. */
  dhcp4?: SourcePos;
  /** `use-dns = true` in [ipv4]: see BridgeSpec.useDns. */
  useDns: boolean;
  /** [ipv6] accept-ra, slaac, link-local where given: on the interface the addresses go on (a system port's NIC). */
  ipv6: Ipv6Settings;
  /** Applies to the internal port / the veth's peer end (mtu applies to both veth ends). */
  link: LinkSettings;
  source: SourcePos;
  /** Position of the `kind` value, for errors about the interface itself (e.g. a missing system NIC). */
  kindSource?: SourcePos;
}

export type UnitSpec = BridgeSpec | PortSpec;

export interface DesiredState {
  /** Keyed by name, in file order. */
  bridges: Map<string, BridgeSpec>;
  ports: Map<string, PortSpec>;
  /** Every namespace named by any unit, sorted. */
  namespaces: string[];
  /**
   * Name servers for netmgr's resolv.conf: those of the DHCP leases whose unit says `use-dns = true`, in unit order
   * (added with the leases); absent when there are none.
   */
  dns?: string[];
}

/** One located problem found in the unit files. */
export interface UnitError {
  file: string;
  line: number;
  col: number;
  message: string;
  hint?: string;
}

/** `FILE:LINE:COL: error: what is wrong` plus an indented hint line, as `netmgr validate` prints it. */
export function formatUnitError(e: UnitError): string {
  const head = `${e.file}:${e.line}:${e.col}: error: ${e.message}`;
  return e.hint ? `${head}\n  hint: ${e.hint}` : head;
}
