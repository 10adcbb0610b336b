/** The types of the unit schema: what a row of the table (schema-table.ts) says, and the typed values it yields. */
import type {
  BridgeSpec,
  Cidr,
  DatapathType,
  FlowSpec,
  LinkSettings,
  LinkState,
  PolicyType,
  PortKind,
  PortSpec,
  RouteSpec,
  StaticMacSpec,
  TunnelSpec,
} from '../model/types';
import type { PortStpSettings, StpConfig, StpEdge, StpMode } from '../model/bridges';

export type UnitType = 'bridge' | 'port';
export type AppliesTo = UnitType | 'both';

/**
 * Value types. `ifname`/`nsname`/`mac` are strings checked by the parsers in values.ts; `cidr-list` is an array of
 * CIDR strings (of `family` if set); `integer-list` is an array of distinct integers in `range`; `boolean` is true or
 * false; `enum-or-boolean` is one of `values` or a boolean (`stp-edge = "auto"` or true/false); `ip` is one address
 * without prefix (a gateway); `route-to` a route's destination network, or "default"; `underlay-ip` one unicast
 * address of a tunnel's underlay (IPv4 or IPv6), `underlay-ip-list` an array of distinct ones.
 */
export type ValueType =
  | 'string'
  | 'integer'
  | 'boolean'
  | 'enum'
  | 'enum-or-boolean'
  | 'ifname'
  | 'nsname'
  | 'mac'
  | 'cidr-list'
  | 'integer-list'
  | 'ip'
  | 'route-to'
  | 'underlay-ip'
  | 'underlay-ip-list';

export interface Refusal {
  message: string;
  hint: string;
}

/** The parsed value of each key, by its full name `section.key`: what validation stores and Values.get returns. */
export interface UnitValues {
  'unit.type': UnitType;
  'unit.name': string;
  'bridge.datapath': DatapathType;
  'bridge.policy': PolicyType;
  'bridge.mac-aging': number;
  'bridge.mac-table-size': number;
  'bridge.stp': StpMode;
  'bridge.stp-priority': number;
  'bridge.stp-hello-time': number;
  'bridge.stp-max-age': number;
  'bridge.stp-forward-delay': number;
  'bridge.stp-tx-hold-count': number;
  'bridge.loop-detect': boolean;
  'bridge.loop-detect-interval': number;
  'bridge.loop-recovery': number;
  'bridge.flow.match': string;
  'bridge.flow.actions': string;
  'bridge.static-mac.mac': string;
  'bridge.static-mac.port': string;
  'bridge.static-mac.vlan': number;
  'port.bridge': string;
  'port.kind': PortKind;
  'port.namespace': string;
  'port.peer': string;
  'port.local-namespace': string;
  'port.local-addresses': Cidr[];
  'port.local-mac': string;
  'port.vlan': number;
  'port.trunks': number[];
  'port.native-vlan': number;
  'port.number': number;
  'port.stp-cost': number;
  'port.stp-priority': number;
  'port.stp-edge': StpEdge;
  'port.bpdu-guard': boolean;
  'port.root-guard': boolean;
  'port.bpdu-filter': boolean;
  'port.take-over': boolean;
  'port.vni': number;
  'port.remotes': string[];
  'port.local': string;
  'port.dst-port': number;
  'port.ttl': number;
  'port.df': boolean;
  'ipv4.addresses': Cidr[];
  'ipv6.addresses': Cidr[];
  'ipv4.gateway': string;
  'ipv6.gateway': string;
  'ipv4.dhcp': boolean;
  'ipv4.use-dns': boolean;
  'ipv6.accept-ra': boolean;
  'ipv6.slaac': boolean;
  'ipv6.link-local': boolean;
  'ipv4.route.to': Cidr;
  'ipv4.route.via': string;
  'ipv4.route.metric': number;
  'ipv4.route.table': number;
  'ipv6.route.to': Cidr;
  'ipv6.route.via': string;
  'ipv6.route.metric': number;
  'ipv6.route.table': number;
  'link.mtu': number;
  'link.mac': string;
  'link.state': LinkState;
}

/** A key's full name, `section.key`. */
export type UnitKey = keyof UnitValues;

/**
 * A field of the model a key fills: of the bridge or port spec, its link settings, a flow, a static MAC entry, or the
 * loop protection of a bridge (BridgeSpec.stp) or a port (PortSpec.stp).
 */
export type ModelField =
  | keyof BridgeSpec
  | keyof PortSpec
  | keyof LinkSettings
  | keyof FlowSpec
  | keyof StaticMacSpec
  | keyof RouteSpec
  | keyof StpConfig
  | keyof PortStpSettings
  | keyof TunnelSpec;

export interface SchemaEntry {
  /** `section.key`. */
  name: UnitKey;
  /** The model field the value fills (`addresses` collects [ipv4] and [ipv6]; link keys fill LinkSettings). */
  fills: ModelField;
  /**
   * Section path: `unit`, `bridge`, `bridge.flow` and `bridge.static-mac` (arrays of tables), `port`, `ipv4`,
   * `ipv6`, `link`.
   */
  section: string;
  key: string;
  type: ValueType;
  /** The value used when the key is absent; undefined means "unset" (see defaultDoc). */
  default?: string | number | boolean | readonly unknown[];
  /** How the default is described when it is computed or means "leave alone". */
  defaultDoc?: string;
  required?: boolean;
  /** Inclusive bounds for `integer` and each `integer-list` element. */
  range?: readonly [number, number];
  /** `integer` only: the value must be a multiple of this (802.1D priorities go in steps of 4096 and 16). */
  step?: number;
  /** Unit shown after a number in messages, e.g. "seconds". */
  unit?: string;
  /** Allowed values for `enum` and `enum-or-boolean`. */
  values?: readonly string[];
  /** Values that are understood but refused, with the reason. */
  refused?: Readonly<Record<string, Refusal>>;
  /** Address family for `cidr-list`, `ip` and `route-to`; undefined accepts both. */
  family?: 4 | 6;
  appliesTo: AppliesTo;
  doc: string;
  /** A TOML right-hand side, used in hints and the man page. */
  example: string;
}

export interface SectionEntry {
  /** `bridge.flow` and `bridge.static-mac` are nested under `bridge`. */
  name: string;
  appliesTo: AppliesTo;
  /** Written `[[name]]`: an array of tables. */
  array: boolean;
  doc: string;
}
