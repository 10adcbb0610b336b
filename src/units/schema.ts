/**
 * The table of every section and key a unit file may contain (schema-table.ts), in the spirit of
 * systemd-networkd's gperf table, and what its rows say: validation, defaults, the man page test and `netmgr` help
 * all iterate these arrays instead of knowing keys. Each row names the model field its value fills and its
 * default, typed by UnitValues, so the table is the one place a default is written: validation reads values
 * through it (Values.get in unit-values.ts) and the DesiredState it builds has every field filled. Rules that relate several keys (e.g. `peer` only for a veth) live in
 * validate.ts and are described in `doc`.
 */
import { SCHEMA, SECTIONS } from './schema-table';
import type { AppliesTo, SchemaEntry, SectionEntry, UnitKey, UnitType } from './schema-types';

export type * from './schema-types';
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
  if (typeof e.default === 'number' || typeof e.default === 'boolean') return String(e.default);
  return '[]';
}

/** Human description of the type, for messages and docs. */
export function describeType(e: SchemaEntry): string {
  switch (e.type) {
    case 'string':
      return 'non-empty string';
    case 'integer':
      return `integer ${e.range?.[0]}..${e.range?.[1]}${e.step ? ` in steps of ${e.step}` : ''}${e.unit ? ` (${e.unit})` : ''}`;
    case 'boolean':
      return 'true or false';
    case 'enum':
      return `one of ${(e.values ?? []).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'enum-or-boolean':
      return `${(e.values ?? []).map((v) => JSON.stringify(v)).join(', ')}, true or false`;
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
    case 'ip':
      return `${e.family ? `IPv${e.family} ` : ''}address (string, no prefix length)`;
    case 'route-to':
      return `${e.family ? `IPv${e.family} ` : ''}network in CIDR form, or "default" (string)`;
    case 'underlay-ip':
      return 'unicast IPv4 or IPv6 address (string, no prefix length)';
    case 'underlay-ip-list':
      return 'array of distinct unicast IPv4 or IPv6 address strings';
  }
}
