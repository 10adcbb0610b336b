/** Walks parsed TOML tables against the schema table, recording valid values and reporting what is wrong. */
import { Loc, PathSegment, SourceLocator, pathKey } from './locate';
import {
  SECTIONS,
  SchemaEntry,
  UnitType,
  appliesTo,
  describeDefault,
  describeType,
  findEntry,
  findSection,
  sectionEntries,
  sectionLabel,
} from './schema';
import { didYouMean } from './suggest';
import { ArrayElement, Values } from './unit-values';
import {
  Parsed,
  parseCidr,
  parseIfName,
  parseIp,
  parseMac,
  parseNsName,
  parseRouteTo,
  parseStationMac,
  parseUnderlayIp,
} from './values';

export type ErrorSink = (at: Loc, message: string, hint?: string) => void;

/** Is `v` a TOML table as the `toml` package returns it (null-prototype object)? */
export function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** The sections a unit of this type takes, as written in a file (for hints). */
export function listSections(type: UnitType): string {
  return SECTIONS.filter((s) => appliesTo(s.appliesTo, type))
    .map((s) => sectionLabel(s.name))
    .join(', ');
}

/** Walks parsed tables against the schema, recording values and reporting unknown or malformed keys. */
export class Walker {
  constructor(
    private readonly loc: SourceLocator,
    private readonly report: ErrorSink,
  ) {}

  unknownTopLevel(key: string, value: unknown, type: UnitType | undefined, allowed: string[]): void {
    const at = this.loc.keyAt(key);
    if (isTable(value) || Array.isArray(value)) {
      const guess = didYouMean(key, allowed);
      this.report(
        at,
        `unknown section [${key}]${guess ? `; did you mean [${guess}]?` : ''}`,
        type ? `a ${type} unit takes ${listSections(type)}` : `sections: ${allowed.map((s) => `[${s}]`).join(', ')}`,
      );
      return;
    }
    const home = [...new Set(sectionsForKey(key, type))];
    this.report(
      at,
      `key \`${key}\` must be inside a section`,
      home.length > 0
        ? `put it under [${home[0]}]`
        : `keys belong in a section: ${allowed.map((s) => `[${s}]`).join(', ')}`,
    );
  }

  /** Validate the table at `section` (whose path is the section name, or an array element path). */
  section(section: string, value: unknown, out: Values, arrays: ArrayElement[], at: PathSegment[] = [section]): void {
    const p = pathKey(at);
    if (!isTable(value)) {
      this.report(
        this.loc.keyAt(p),
        Array.isArray(value)
          ? `[${section}] must be a single table, not an array of tables`
          : `\`${section}\` must be a table, written [${section}]`,
      );
      return;
    }
    for (const key of Object.keys(value)) {
      const v = value[key];
      const kp = [...at, key];
      const sub = findSection(`${section}.${key}`);
      if (sub) {
        this.arraySection(sub.name, v, kp, arrays);
        continue;
      }
      const e = findEntry(section, key);
      if (!e) {
        const candidates = [
          ...sectionEntries(section).map((x) => x.key),
          ...SECTIONS.filter((s) => s.name.startsWith(`${section}.`)).map((s) => s.name.slice(section.length + 1)),
        ];
        const guess = didYouMean(key, candidates);
        this.report(
          this.loc.keyAt(pathKey(kp)),
          `unknown key \`${key}\` in ${sectionLabel(section)}${guess ? `; did you mean \`${guess}\`?` : ''}`,
          candidates.length > 0 ? `valid keys in ${sectionLabel(section)}: ${candidates.join(', ')}` : undefined,
        );
        continue;
      }
      const parsed = this.value(e, v, kp);
      if (parsed === undefined) out.markBad(e.name);
      else out.set(e.name, { value: parsed, at: this.loc.valueAt(pathKey(kp)), keyAt: this.loc.keyAt(pathKey(kp)) });
    }
    for (const e of sectionEntries(section)) {
      if (e.required && !(e.key in value)) {
        this.report(
          this.loc.keyAt(p),
          `missing required key \`${e.key}\` in ${sectionLabel(section)}`,
          `add ${e.key} = ${e.example}`,
        );
      }
    }
  }

  /** `[[bridge.flow]]`, `[[bridge.static-mac]]`: an array whose elements are tables validated one by one. */
  private arraySection(section: string, value: unknown, at: PathSegment[], arrays: ArrayElement[]): void {
    const p = pathKey(at);
    if (!Array.isArray(value)) {
      this.report(this.loc.keyAt(p), `${section} entries must be written as [[${section}]] tables`);
      return;
    }
    value.forEach((el, i) => {
      const ep = [...at, i];
      if (!isTable(el)) {
        this.report(this.loc.valueAt(pathKey(ep)), `each [[${section}]] entry must be a table`);
        return;
      }
      const values = new Values();
      this.section(section, el, values, arrays, ep);
      arrays.push({ section, at: this.loc.keyAt(pathKey(ep)), values });
    });
  }

  /** Check and convert one value; undefined (after reporting) when invalid. */
  private value(e: SchemaEntry, v: unknown, at: PathSegment[]): unknown {
    const p = pathKey(at);
    const where = `\`${e.key}\` in ${sectionLabel(e.section)}`;
    const example = `for example: ${e.key} = ${e.example}`;
    const found = tomlType(v, this.loc.rawAt(p));
    const wrongType = (want: string): undefined => {
      this.report(this.loc.valueAt(p), `${where} must be ${want}, not ${found}`, example);
      return undefined;
    };
    switch (e.type) {
      case 'integer': {
        if (found !== 'an integer') return wrongType('an integer');
        return this.integer(e, v as bigint, p, where);
      }
      case 'boolean':
        return found === 'a boolean' ? v : wrongType('true or false');
      case 'enum-or-boolean':
        if (found === 'a boolean') return v;
        if (found !== 'a string') return wrongType(`${describeType(e)}`);
        return this.stringValue(e, v as string, p, where);
      case 'string':
      case 'enum':
      case 'ifname':
      case 'nsname':
      case 'mac': {
        if (found !== 'a string') return wrongType('a string');
        return this.stringValue(e, v as string, p, where);
      }
      case 'ip':
      case 'route-to': {
        if (found !== 'a string') return wrongType('a string');
        const r = e.type === 'ip' ? parseIp(v as string, e.family) : parseRouteTo(v as string, e.family ?? 4);
        if (r.ok) return r.value;
        this.report(this.loc.valueAt(p), `${where}: ${r.message}`, r.hint);
        return undefined;
      }
      case 'underlay-ip': {
        if (found !== 'a string') return wrongType('a string');
        const r = parseUnderlayIp(v as string);
        if (r.ok) return r.value.address;
        this.report(this.loc.valueAt(p), `${where}: ${r.message}`, r.hint);
        return undefined;
      }
      case 'cidr-list':
      case 'underlay-ip-list':
      case 'integer-list': {
        if (found !== 'an array')
          return wrongType(e.type === 'integer-list' ? 'an array of integers' : 'an array of strings');
        return e.type === 'integer-list'
          ? this.integerList(e, v as unknown[], at)
          : this.addressList(e, v as unknown[], at);
      }
    }
  }

  private integer(e: SchemaEntry, v: bigint, p: string, where: string): number | undefined {
    const [min, max] = e.range ?? [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];
    if (v < BigInt(min) || v > BigInt(max)) {
      const dflt = describeDefault(e);
      this.report(
        this.loc.valueAt(p),
        `${where} = ${v} is out of range: it must be ${min}..${max}${e.unit ? ` (${e.unit})` : ''}`,
        e.default !== undefined ? `omit it for the default (${dflt})` : `for example: ${e.key} = ${e.example}`,
      );
      return undefined;
    }
    if (e.step !== undefined && v % BigInt(e.step) !== 0n) {
      const lower = (v / BigInt(e.step)) * BigInt(e.step);
      this.report(
        this.loc.valueAt(p),
        `${where} = ${v} is not a multiple of ${e.step}`,
        `use ${lower} or ${lower + BigInt(e.step)}`,
      );
      return undefined;
    }
    return Number(v);
  }

  private stringValue(e: SchemaEntry, v: string, p: string, where: string): string | undefined {
    const at = this.loc.valueAt(p);
    switch (e.type) {
      case 'enum':
      case 'enum-or-boolean': {
        const refusal = e.refused?.[v];
        if (refusal) {
          this.report(at, refusal.message, refusal.hint);
          return undefined;
        }
        const values = e.values ?? [];
        if (values.includes(v)) return v;
        const guess = didYouMean(v, values);
        const bool = e.type === 'enum-or-boolean' && (v === 'true' || v === 'false');
        this.report(
          at,
          `${where} must be ${describeType(e)}; found ${JSON.stringify(v)}`,
          bool ? `write ${v} without quotes` : guess ? `did you mean "${guess}"?` : undefined,
        );
        return undefined;
      }
      case 'string':
        if (v.trim() === '') {
          this.report(at, `${where} must not be empty`, `for example: ${e.key} = ${e.example}`);
          return undefined;
        }
        return v;
      default: {
        // A static MAC entry names a station, not an interface: its own wording for multicast and all-zero MACs.
        const parser =
          e.type === 'ifname'
            ? parseIfName
            : e.type === 'nsname'
              ? parseNsName
              : e.section === 'bridge.static-mac'
                ? parseStationMac
                : parseMac;
        const r = parser(v);
        if (r.ok) return r.value;
        this.report(at, `${where}: ${r.message}`, r.hint);
        return undefined;
      }
    }
  }

  /** `cidr-list` (addresses with prefix) or `underlay-ip-list` (tunnel remotes): strings, each listed once. */
  private addressList(e: SchemaEntry, list: unknown[], at: PathSegment[]): string[] | undefined {
    const parse = (t: string): Parsed<{ family: 4 | 6; address: string; cidr?: string }> =>
      e.type === 'cidr-list' ? parseCidr(t) : parseUnderlayIp(t);
    const out: string[] = [];
    const seen = new Map<string, Loc>();
    let ok = true;
    list.forEach((item, i) => {
      const ep = pathKey([...at, i]);
      const pos = this.loc.valueAt(ep);
      const found = tomlType(item, this.loc.rawAt(ep));
      if (found !== 'a string') {
        this.report(
          pos,
          `each address in \`${e.key}\` must be a string, not ${found}`,
          `for example: ${e.key} = ${e.example}`,
        );
        ok = false;
        return;
      }
      const r = parse(item as string);
      if (!r.ok) {
        this.report(pos, r.message, r.hint);
        ok = false;
        return;
      }
      const c = r.value;
      if (e.family !== undefined && c.family !== e.family) {
        this.report(
          pos,
          `\`${item as string}\` is an IPv${c.family} address; it belongs in [ipv${c.family}], not ${sectionLabel(e.section)}`,
          `move it to addresses under [ipv${c.family}]`,
        );
        ok = false;
        return;
      }
      const first = seen.get(c.address);
      if (first) {
        this.report(
          pos,
          `duplicate address ${c.address} in \`${e.key}\` (first listed at ${first.line}:${first.col})`,
          'list each address once',
        );
        ok = false;
        return;
      }
      seen.set(c.address, pos);
      out.push(c.cidr ?? c.address);
    });
    return ok ? out : undefined;
  }

  private integerList(e: SchemaEntry, list: unknown[], at: PathSegment[]): number[] | undefined {
    const out: number[] = [];
    let ok = true;
    const [min, max] = e.range ?? [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];
    list.forEach((item, i) => {
      const ep = pathKey([...at, i]);
      const pos = this.loc.valueAt(ep);
      const found = tomlType(item, this.loc.rawAt(ep));
      if (found !== 'an integer') {
        this.report(
          pos,
          `each element of \`${e.key}\` must be an integer, not ${found}`,
          `for example: ${e.key} = ${e.example}`,
        );
        ok = false;
        return;
      }
      const n = item as bigint;
      if (n < BigInt(min) || n > BigInt(max)) {
        this.report(pos, `${n} in \`${e.key}\` is out of range: each must be ${min}..${max}`);
        ok = false;
        return;
      }
      if (out.includes(Number(n))) {
        this.report(pos, `${n} is listed twice in \`${e.key}\``, 'list each VLAN once');
        ok = false;
        return;
      }
      out.push(Number(n));
    });
    return ok ? out : undefined;
  }
}

function sectionsForKey(key: string, type: UnitType | undefined): string[] {
  return SECTIONS.filter((s) => appliesTo(s.appliesTo, type) && !s.array)
    .filter((s) => findEntry(s.name, key) !== undefined)
    .map((s) => s.name);
}

/** The TOML type of a parsed value, with an article, for messages. `raw` tells quoted strings from local dates. */
export function tomlType(v: unknown, raw: string | undefined): string {
  if (typeof v === 'bigint') return 'an integer';
  // Parsed with `bigint: true`, so every JS number is a TOML float.
  if (typeof v === 'number') return 'a float';
  if (typeof v === 'boolean') return 'a boolean';
  if (typeof v === 'string') return raw !== undefined && !/^["']/.test(raw) ? 'a date/time' : 'a string';
  if (v instanceof Date) return 'a date/time';
  if (Array.isArray(v)) return 'an array';
  if (isTable(v)) return 'a table';
  return 'an unsupported value';
}
