/**
 * The table of every section and key a unit file may contain (schema-table.ts), in the spirit of
 * systemd-networkd's gperf table, and what its rows say: validation, defaults, the man page test and `netmgr` help
 * all iterate these arrays instead of knowing keys. Each row names the model field its value fills and its
 * default, typed by UnitValues, so the table is the one place a default is written: validation reads values
 * through it (Values.get in unit-values.ts) and the DesiredState it builds has every field filled. Rules that relate several keys (e.g. `peer` only for a veth) live in
 * validate.ts and are described in `doc`.
 */
import type { BridgeSpec, Cidr, DatapathType, FlowSpec, LinkSettings, LinkState, PolicyType, PortKind, PortSpec, StaticMacSpec } from '../model/types';
import { SCHEMA, SECTIONS } from './schema-table';

export type UnitType = 'bridge' | 'port';
export type AppliesTo = UnitType | 'both';

/**
 * Value types. `ifname`/`nsname`/`mac` are strings checked by the parsers in values.ts; `cidr-list` is an array of
 * CIDR strings (of `family` if set); `integer-list` is an array of distinct integers in `range`.
 */
export type ValueType = 'string' | 'integer' | 'enum' | 'ifname' | 'nsname' | 'mac' | 'cidr-list' | 'integer-list';

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
  'ipv4.addresses': Cidr[];
  'ipv6.addresses': Cidr[];
  'link.mtu': number;
  'link.mac': string;
  'link.state': LinkState;
}

/** A key's full name, `section.key`. */
export type UnitKey = keyof UnitValues;

/** A field of the model a key fills: of the bridge or port spec, its link settings, a flow or a static MAC entry. */
export type ModelField = keyof BridgeSpec | keyof PortSpec | keyof LinkSettings | keyof FlowSpec | keyof StaticMacSpec;

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
  default?: string | number | readonly unknown[];
  /** How the default is described when it is computed or means "leave alone". */
  defaultDoc?: string;
  required?: boolean;
  /** Inclusive bounds for `integer` and each `integer-list` element. */
  range?: readonly [number, number];
  /** Unit shown after a number in messages, e.g. "seconds". */
  unit?: string;
  /** Allowed values for `enum`. */
  values?: readonly string[];
  /** Values that are understood but refused, with the reason. */
  refused?: Readonly<Record<string, Refusal>>;
  /** Address family for `cidr-list`; undefined accepts both. */
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

// The table itself (SECTIONS, SCHEMA) is in schema-table.ts; it imports only types from here.
export { SCHEMA, SECTIONS, type DefaultedKey } from './schema-table';

export function appliesTo(a: AppliesTo, type: UnitType | undefined): boolean {
  return a === 'both' || type === undefined || a === type;
}

// Indexes over the tables: validation looks keys up for every value of every file (hundreds of units on apply).
const SECTION_BY_NAME = new Map(SECTIONS.map((s) => [s.name, s]));
const ENTRY_BY_KEY = new Map(SCHEMA.map((e) => [`${e.section}\0${e.key}`, e]));
const ENTRY_BY_NAME = new Map<UnitKey, SchemaEntry>(SCHEMA.map((e) => [e.name, e]));
const ENTRIES_BY_SECTION = new Map<string, SchemaEntry[]>();
for (const e of SCHEMA) ENTRIES_BY_SECTION.set(e.section, [...(ENTRIES_BY_SECTION.get(e.section) ?? []), e]);

export function findSection(name: string): SectionEntry | undefined {
  return SECTION_BY_NAME.get(name);
}

export function findEntry(section: string, key: string): SchemaEntry | undefined {
  return ENTRY_BY_KEY.get(`${section}\0${key}`);
}

/** The entry of a key by its full name. */
export function entryOf(name: UnitKey): SchemaEntry {
  const e = ENTRY_BY_NAME.get(name);
  if (!e) throw new Error(`${name} is in UnitValues but has no row in SCHEMA`);
  return e;
}

/** The entries of one section in table order. Callers must not modify the returned array. */
export function sectionEntries(section: string): readonly SchemaEntry[] {
  return ENTRIES_BY_SECTION.get(section) ?? [];
}

/** `[ipv4]` or `[[bridge.flow]]`, as the section is written in a file. */
export function sectionLabel(name: string): string {
  return findSection(name)?.array ? `[[${name}]]` : `[${name}]`;
}

/** The default as a TOML value, or the prose from defaultDoc. */
export function describeDefault(e: SchemaEntry): string | undefined {
  if (e.default === undefined) return e.defaultDoc;
  if (typeof e.default === 'string') return JSON.stringify(e.default);
  if (typeof e.default === 'number') return String(e.default);
  return '[]';
}

/** Human description of the type, for messages and docs. */
export function describeType(e: SchemaEntry): string {
  switch (e.type) {
    case 'string':
      return 'non-empty string';
    case 'integer':
      return `integer ${e.range?.[0]}..${e.range?.[1]}${e.unit ? ` (${e.unit})` : ''}`;
    case 'enum':
      return `one of ${(e.values ?? []).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'ifname':
      return 'interface name (string, 1..15 bytes)';
    case 'nsname':
      return 'namespace name (string, 1..64 bytes)';
    case 'mac':
      return 'MAC address (string)';
    case 'cidr-list':
      return `array of ${e.family ? `IPv${e.family} ` : 'IPv4 or IPv6 '}CIDR strings`;
    case 'integer-list':
      return `array of distinct integers ${e.range?.[0]}..${e.range?.[1]}`;
  }
}
