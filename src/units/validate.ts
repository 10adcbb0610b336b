/**
 * Per-file validation: TOML parse, then a walk over the parsed document driven by the schema table, then the
 * rules that relate keys within one unit. Rules that need other units live in crosscheck.ts.
 */
import * as path from 'path';
import * as toml from 'toml';
import type { UnitError } from '../model/types';
import { Loc, PathSegment, SourceLocator, locate, pathKey } from './locate';
import {
  DefaultedKey,
  SECTIONS,
  SchemaEntry,
  UnitKey,
  UnitType,
  UnitValues,
  entryOf,
  appliesTo,
  describeDefault,
  findEntry,
  findSection,
  sectionEntries,
  sectionLabel,
} from './schema';
import { didYouMean } from './suggest';
import { IFNAME_MAX_BYTES, byteLength, parseCidr, parseIfName, parseMac, parseNsName, parseStationMac } from './values';

/** A parsed, valid value with the positions of its key and value. */
export interface Located<T = unknown> {
  value: T;
  at: Loc;
  keyAt: Loc;
}

/**
 * The values of one table (a unit file's sections, or one `[[section]]` element) by full key name, typed by
 * UnitValues; keys present but invalid (already reported) are remembered apart, so rules can stay quiet on them.
 */
export class Values {
  private readonly valid = new Map<UnitKey, Located>();
  private readonly invalid = new Set<UnitKey>();

  /** Records a value the walker accepted by the key's schema row. */
  set(key: UnitKey, value: Located): void {
    this.valid.set(key, value);
  }

  /** Records a key that was present but invalid. */
  markBad(key: UnitKey): void {
    this.invalid.add(key);
  }

  /** The valid value given in the file, with its positions. */
  given<K extends UnitKey>(key: K): Located<UnitValues[K]> | undefined {
    // The walker stores under a key only what that key's row accepted, which is the key's type.
    return this.valid.get(key) as Located<UnitValues[K]> | undefined;
  }

  /** A required key's value, when building from a unit that passed every check (anything else is a bug). */
  required<K extends UnitKey>(key: K): Located<UnitValues[K]> {
    const hit = this.given(key);
    if (!hit) throw new Error(`${key} is required, yet missing from a unit that passed validation`);
    return hit;
  }

  /** The key was given, but its value is invalid. */
  isBad(key: UnitKey): boolean {
    return this.invalid.has(key);
  }

  /** The key was given (valid or not). */
  has(key: UnitKey): boolean {
    return this.valid.has(key) || this.invalid.has(key);
  }

  /** The value given, else the schema default (arrays copied, so no caller can change the table). */
  get<K extends DefaultedKey>(key: K): UnitValues[K];
  get<K extends UnitKey>(key: K): UnitValues[K] | undefined;
  get<K extends UnitKey>(key: K): UnitValues[K] | undefined {
    const hit = this.given(key);
    if (hit) return hit.value;
    const d = entryOf(key).default;
    // row() checked each default against its key's type when the table was built.
    return (Array.isArray(d) ? [...d] : d) as UnitValues[K] | undefined;
  }
}

/** One unit file whose type is known, with everything valid in it; input to the cross-file checks. */
export interface FileUnit {
  file: string;
  loc: SourceLocator;
  type: UnitType;
  /** Undefined when the name (given or from the file name) is invalid. */
  name?: string;
  nameAt: Loc;
  /** The `[unit]` header, or 1:1. */
  unitAt: Loc;
  values: Values;
  /** Every element of every array section (`[[bridge.flow]]`, `[[bridge.static-mac]]`), in file order. */
  arrays: ArrayElement[];
}

/** One `[[section]]` table: which array section it belongs to, where its header is, and its valid values. */
export interface ArrayElement {
  /** Section path, e.g. `bridge.flow`. */
  section: string;
  at: Loc;
  values: Values;
}

/** The elements of one array section, in file order. */
export function elementsOf(u: FileUnit, section: string): ArrayElement[] {
  return u.arrays.filter((a) => a.section === section);
}

export type ErrorSink = (at: Loc, message: string, hint?: string) => void;

const TOP_SECTIONS = SECTIONS.filter((s) => !s.name.includes('.'));

/** Is `v` a TOML table as the `toml` package returns it (null-prototype object)? */
function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

// ---------------------------------------------------------------------------------------------------------------

/** Validate one file; errors go to `errors`. Returns the unit for cross-file checks when its type is known. */
export function validateFile(file: string, rawText: string, errors: UnitError[]): FileUnit | undefined {
  const text = rawText.charCodeAt(0) === 0xfeff ? rawText.slice(1) : rawText;
  const report: ErrorSink = (at, message, hint) =>
    errors.push(hint === undefined ? { file, ...at, message } : { file, ...at, message, hint });

  let doc: unknown;
  try {
    // bigint keeps integers apart from floats and lets huge numbers reach the range check.
    doc = toml.parse(text, { bigint: true });
  } catch (e) {
    errors.push(tomlError(file, text, e));
    return undefined;
  }
  if (!isTable(doc)) return undefined;
  const loc = locate(text);
  const values = new Values();
  const arrays: ArrayElement[] = [];
  const walker = new Walker(loc, report);

  // [unit] first: its type decides which other sections are allowed.
  const unitAt = loc.headerAt('unit') ?? (doc.unit !== undefined ? loc.keyAt('unit') : { line: 1, col: 1 });
  if (doc.unit === undefined) {
    report(
      { line: 1, col: 1 },
      'missing [unit] section',
      'every unit file needs [unit] with type = "bridge" or type = "port"',
    );
  } else {
    walker.section('unit', doc.unit, values, arrays);
  }
  const type = values.get('unit.type');

  for (const key of Object.keys(doc)) {
    if (key === 'unit') continue;
    const value = doc[key];
    const sect = TOP_SECTIONS.find((s) => s.name === key);
    const allowed = TOP_SECTIONS.filter((s) => appliesTo(s.appliesTo, type)).map((s) => s.name);
    if (!sect) {
      walker.unknownTopLevel(key, value, type, allowed);
    } else if (!appliesTo(sect.appliesTo, type)) {
      report(
        loc.keyAt(key),
        `section [${key}] is not valid in a ${type} unit`,
        `[${key}] belongs in a unit with type = "${sect.appliesTo}"; a ${type} unit takes ${listSections(type as UnitType)}`,
      );
    } else {
      walker.section(key, value, values, arrays);
    }
  }
  if (type === undefined) return undefined;

  // Sections that must exist because they hold required keys (e.g. [port] for `kind`).
  for (const s of TOP_SECTIONS) {
    if (s.name === 'unit' || !appliesTo(s.appliesTo, type) || doc[s.name] !== undefined) continue;
    const req = sectionEntries(s.name).filter((e) => e.required);
    if (req.length > 0) {
      report(
        unitAt,
        `a ${type} unit needs a [${s.name}] section`,
        `add [${s.name}] with ${req.map((e) => `${e.key} = ${e.example}`).join(', ')}`,
      );
    }
  }

  const unit: FileUnit = { file, loc, type, unitAt, nameAt: unitAt, values, arrays };
  resolveName(unit, report);
  if (type === 'bridge') bridgeRules(unit, report);
  else portRules(unit, report);
  return unit;
}

function listSections(type: UnitType): string {
  return SECTIONS.filter((s) => appliesTo(s.appliesTo, type))
    .map((s) => sectionLabel(s.name))
    .join(', ');
}

/** Turn a `toml` exception into a located error. */
export function tomlError(file: string, text: string, e: unknown): UnitError {
  const lines = text.split('\n');
  const clamp = (line: unknown, col: unknown): Loc => {
    const l = typeof line === 'number' && line >= 1 ? Math.min(Math.floor(line), lines.length) : 1;
    const c = typeof col === 'number' && col >= 1 ? Math.floor(col) : 1;
    return { line: l, col: c };
  };
  const err = (e ?? {}) as {
    message?: unknown;
    location?: { start?: { line?: unknown; column?: unknown } };
    line?: unknown;
    column?: unknown;
    found?: unknown;
  };
  if (err.location?.start) {
    const at = clamp(err.location.start.line, err.location.start.column);
    const found = typeof err.found === 'string' ? err.found : null;
    const before = (lines[at.line - 1] ?? '').slice(0, at.col - 1);
    const endOfLine = found === '\n' || found === '\r';
    let hint = 'check the quotes, brackets and `key = value` form on this line';
    if (found !== null && /[A-Za-z]/.test(found) && /=\s*$/.test(before)) {
      hint = 'string values must be quoted, e.g. type = "bridge"';
    } else if (endOfLine && (before.split('"').length - 1) % 2 === 1) {
      hint = 'a string is not closed on this line: add the closing quote';
    } else if (found === null) {
      hint = 'the file ends in the middle of a value, table header or string';
    }
    const what = found === null ? 'end of file' : endOfLine ? 'end of line' : JSON.stringify(found);
    return { file, ...at, message: `TOML syntax error: unexpected ${what}`, hint };
  }
  const message = typeof err.message === 'string' ? err.message : String(e);
  if (typeof err.line === 'number') {
    return {
      file,
      ...clamp(err.line, err.column),
      message: `invalid TOML: ${message}`,
      hint: /redefine|extend/i.test(message)
        ? 'each key and [table] may be defined only once in a file'
        : 'see the TOML specification, https://toml.io',
    };
  }
  return { file, line: 1, col: 1, message: `cannot parse TOML: ${message}` };
}

// ---------------------------------------------------------------------------------------------------------------

/** Walks parsed tables against the schema, recording values and reporting unknown or malformed keys. */
class Walker {
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
      case 'string':
      case 'enum':
      case 'ifname':
      case 'nsname':
      case 'mac': {
        if (found !== 'a string') return wrongType('a string');
        return this.stringValue(e, v as string, p, where);
      }
      case 'cidr-list':
      case 'integer-list': {
        if (found !== 'an array') return wrongType(e.type === 'cidr-list' ? 'an array of strings' : 'an array of integers');
        return e.type === 'cidr-list' ? this.cidrList(e, v as unknown[], at) : this.integerList(e, v as unknown[], at);
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
    return Number(v);
  }

  private stringValue(e: SchemaEntry, v: string, p: string, where: string): string | undefined {
    const at = this.loc.valueAt(p);
    switch (e.type) {
      case 'enum': {
        const refusal = e.refused?.[v];
        if (refusal) {
          this.report(at, refusal.message, refusal.hint);
          return undefined;
        }
        const values = e.values ?? [];
        if (values.includes(v)) return v;
        const guess = didYouMean(v, values);
        this.report(
          at,
          `${where} must be one of ${values.map((x) => JSON.stringify(x)).join(', ')}; found ${JSON.stringify(v)}`,
          guess ? `did you mean "${guess}"?` : undefined,
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
          e.type === 'ifname' ? parseIfName : e.type === 'nsname' ? parseNsName : e.section === 'bridge.static-mac' ? parseStationMac : parseMac;
        const r = parser(v);
        if (r.ok) return r.value;
        this.report(at, `${where}: ${r.message}`, r.hint);
        return undefined;
      }
    }
  }

  private cidrList(e: SchemaEntry, list: unknown[], at: PathSegment[]): string[] | undefined {
    const out: string[] = [];
    const seen = new Map<string, Loc>();
    let ok = true;
    list.forEach((item, i) => {
      const ep = pathKey([...at, i]);
      const pos = this.loc.valueAt(ep);
      const found = tomlType(item, this.loc.rawAt(ep));
      if (found !== 'a string') {
        this.report(pos, `each address in \`${e.key}\` must be a string, not ${found}`, `for example: ${e.key} = ${e.example}`);
        ok = false;
        return;
      }
      const r = parseCidr(item as string);
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
      out.push(c.cidr);
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
        this.report(pos, `each element of \`${e.key}\` must be an integer, not ${found}`, `for example: ${e.key} = ${e.example}`);
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

// ---------------------------------------------------------------------------------------------------------------
// Rules within one unit

function resolveName(u: FileUnit, report: ErrorSink): void {
  const given = u.values.given('unit.name');
  if (given) {
    u.name = given.value;
    u.nameAt = given.at;
    return;
  }
  if (u.values.isBad('unit.name')) return;
  const stem = path.basename(u.file).replace(/\.toml$/, '');
  const r = parseIfName(stem);
  if (r.ok) u.name = stem;
  else report(u.unitAt, `the unit name defaults to the file name, and ${r.message}`, 'set `name` in [unit], or rename the file');
}

function bridgeRules(u: FileUnit, report: ErrorSink): void {
  const v = u.values;
  if (v.isBad('bridge.policy')) return;
  const policy = v.get('bridge.policy');
  if (policy !== 'flows') {
    for (const f of elementsOf(u, 'bridge.flow')) {
      report(
        f.at,
        `[[bridge.flow]] rules need policy = "flows"; this bridge uses policy = "${policy}"`,
        'set policy = "flows" in [bridge], or remove the [[bridge.flow]] tables',
      );
    }
  }
  if (policy !== 'learning') {
    for (const m of elementsOf(u, 'bridge.static-mac')) {
      report(
        m.at,
        `[[bridge.static-mac]] entries need policy = "learning"; this bridge uses policy = "${policy}"`,
        'with policy = "flows" the [[bridge.flow]] rules alone decide forwarding: add a flow for the MAC there, or use policy = "learning"',
      );
    }
  }
}

function portRules(u: FileUnit, report: ErrorSink): void {
  const v = u.values;
  const kind = v.get('port.kind');
  const kindAt = v.given('port.kind')?.at ?? u.loc.keyAt('port');
  const hasBridge = v.has('port.bridge');
  const keyAt = (key: string): Loc => u.loc.keyAt(key);

  if (!hasBridge && kind !== undefined && kind !== 'veth') {
    report(
      kindAt,
      `a port of kind "${kind}" needs \`bridge\`; only a veth may omit it (to join two namespaces directly)`,
      'add bridge = "<bridge unit name>" to [port]',
    );
  }
  for (const key of ['local-namespace', 'local-addresses', 'local-mac'] as const) {
    if (!v.has(`port.${key}`)) continue;
    if (hasBridge) {
      report(
        keyAt(`port.${key}`),
        `\`${key}\` is only valid for a veth without \`bridge\``,
        "with a bridge, the unit's end of the veth joins the bridge; `namespace`, [ipv4], [ipv6] and [link] configure the peer end",
      );
    } else if (kind !== undefined && kind !== 'veth') {
      report(keyAt(`port.${key}`), `\`${key}\` is only valid for a veth without \`bridge\``, 'remove it');
    }
  }
  if (v.has('port.peer') && kind !== undefined && kind !== 'veth') {
    report(keyAt('port.peer'), `\`peer\` is only valid for kind = "veth"`, 'remove it');
  }
  if (v.has('port.vlan') && v.has('port.trunks')) {
    report(
      keyAt('port.trunks'),
      '`vlan` and `trunks` cannot both be set',
      'vlan makes an access port and trunks a trunk port; keep one of them',
    );
  }
  if (v.has('port.native-vlan') && !v.has('port.trunks')) {
    report(
      keyAt('port.native-vlan'),
      '`native-vlan` needs `trunks`: it is the VLAN of untagged frames on a trunk port',
      v.has('port.vlan')
        ? 'an access port (vlan) is untagged in its VLAN already; remove native-vlan, or replace vlan with trunks'
        : 'add trunks = [...] for a trunk port, or use vlan = N for a port whose frames are all untagged in VLAN N',
    );
  }
  if (!hasBridge && kind === 'veth') {
    for (const key of ['vlan', 'trunks', 'native-vlan'] as const) {
      if (v.has(`port.${key}`)) {
        report(keyAt(`port.${key}`), `\`${key}\` needs a bridge; this veth joins two namespaces directly`, 'remove it');
      }
    }
  }
  if (kind === 'system') {
    const hint =
      'a switch port carries no host addresses (the switch owns the interface); put addresses and MACs on the ' +
      'bridge unit or on an internal port';
    for (const key of ['ipv4.addresses', 'ipv6.addresses'] as const) {
      const list = v.given(key)?.value;
      if (v.isBad(key) || (list && list.length > 0)) {
        report(keyAt(key), `a system port cannot have addresses ([${key.split('.')[0]}])`, hint);
      }
    }
    if (v.has('link.mac')) {
      report(keyAt('link.mac'), 'a system port cannot have `mac` set', hint);
    }
    if (hasBridge && v.has('port.namespace')) {
      report(
        keyAt('port.namespace'),
        'a system port must be in the root namespace: the bridge attaches interfaces of its own namespace',
        `remove \`namespace\`, and move the interface back first if needed (ip -n NS link set ${u.name ?? 'IFACE'} netns 1)`,
      );
    }
  }
  if (kind === 'veth' && !v.has('port.peer') && u.name !== undefined) {
    const peer = `${u.name}-peer`;
    if (byteLength(peer) > IFNAME_MAX_BYTES) {
      report(
        kindAt,
        `the default veth peer name \`${peer}\` is ${byteLength(peer)} bytes; Linux limits interface names to ` +
          `${IFNAME_MAX_BYTES} bytes (IFNAMSIZ is 16 including the terminating NUL)`,
        `set \`peer\` in [port] to a name of at most ${IFNAME_MAX_BYTES} bytes`,
      );
    }
  }
}
