/**
 * Per-file validation: TOML parse, then a walk over the parsed document driven by the schema table (walker.ts),
 * then the rules that relate keys within one unit. Rules that need other units live in crosscheck.ts.
 */
import * as path from 'path';
import { parse as parseToml } from 'smol-toml';
import type { UnitError } from '../model/types';
import { Loc, SourceLocator, locate } from './locate';
import { SECTIONS, UnitType, appliesTo, sectionEntries } from './schema';
import { ArrayElement, Values } from './unit-values';
import { IFNAME_MAX_BYTES, byteLength, parseIfName } from './values';
import { stpBridgeRules, stpPortRules } from './stp';
import { routeRules } from './routes';
import { tunnelPortRules } from './tunnel';
import { isTunnelKind } from '../model/types';
import { ErrorSink, Walker, isTable, listSections } from './walker';

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

/** The elements of one array section, in file order. */
export function elementsOf(u: FileUnit, section: string): ArrayElement[] {
  return u.arrays.filter((a) => a.section === section);
}

const TOP_SECTIONS = SECTIONS.filter((s) => !s.name.includes('.'));

// ---------------------------------------------------------------------------------------------------------------

/** Validate one file; errors go to `errors`. Returns the unit for cross-file checks when its type is known. */
export function validateFile(file: string, rawText: string, errors: UnitError[]): FileUnit | undefined {
  const text = rawText.charCodeAt(0) === 0xfeff ? rawText.slice(1) : rawText;
  const report: ErrorSink = (at, message, hint) =>
    errors.push(hint === undefined ? { file, ...at, message } : { file, ...at, message, hint });

  let doc: unknown;
  try {
    // bigint keeps integers apart from floats and lets huge numbers reach the range check.
    doc = parseToml(text, { integersAsBigInt: true, maxDepth: TOML_MAX_DEPTH });
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
  const kind = type === 'port' ? values.get('port.kind') : undefined;
  // A tunnel port takes no addresses or routes at all (tunnel.ts says so once for each).
  if (!isTunnelKind(kind)) routeRules(unit, kind, report);
  return unit;
}

/** Nesting deeper than this is refused by the parser, before the locator (units/locate.ts) scans the text. */
export const TOML_MAX_DEPTH = 500;

/** Turn a TOML parser exception (smol-toml's TomlError: line, column, "Invalid TOML document: reason") into a located error. */
export function tomlError(file: string, text: string, e: unknown): UnitError {
  const lines = text.split('\n');
  const err = (e ?? {}) as { message?: unknown; line?: unknown; column?: unknown };
  const message = typeof err.message === 'string' ? err.message : String(e);
  if (typeof err.line !== 'number') return { file, line: 1, col: 1, message: `cannot parse TOML: ${message}` };
  const line = err.line >= 1 ? Math.min(Math.floor(err.line), lines.length) : 1;
  const col = typeof err.column === 'number' && err.column >= 1 ? Math.floor(err.column) : 1;
  const at = { file, line, col };
  const reason = message.split('\n')[0].replace(/^Invalid TOML document:\s*/, '');
  const source = (lines[line - 1] ?? '').replace(/\r$/, '');
  const before = source.slice(0, col - 1);
  const found = source[col - 1];
  if (/redefine/i.test(reason)) {
    const what = /^\s*\[/.test(source)
      ? `table [${source.replace(/^\s*\[+\s*|\s*\]+.*$/g, '')}]`
      : `key ${source.split('=')[0].trim()}`;
    return {
      ...at,
      message: `TOML syntax error: ${what} is defined a second time`,
      hint: 'each key and [table] may be defined only once in a file',
    };
  }
  if (found === undefined && (before.split('"').length - 1) % 2 === 1)
    return {
      ...at,
      message: 'TOML syntax error: a string is not closed at the end of the line',
      hint: 'add the closing quote',
    };
  let hint = 'check the quotes, brackets and `key = value` form on this line';
  if (found !== undefined && /[A-Za-z]/.test(found) && /=\s*$/.test(before))
    hint = 'string values must be quoted, e.g. type = "bridge"';
  else if (/unfinished|unterminated|end of/i.test(reason))
    hint = 'the file ends in the middle of a value, table header or string';
  else if (/depth|deep/i.test(reason)) hint = `values may nest at most ${TOML_MAX_DEPTH} deep`;
  const where = found === undefined ? 'at the end of the line' : `at ${JSON.stringify(found)}`;
  return { ...at, message: `TOML syntax error: ${reason} ${where}`, hint };
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
  else
    report(
      u.unitAt,
      `the unit name defaults to the file name, and ${r.message}`,
      'set `name` in [unit], or rename the file',
    );
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
  stpBridgeRules(u, policy, report);
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
    stpPortRules(u, undefined, undefined, report);
    for (const key of ['vlan', 'trunks', 'native-vlan', 'number'] as const) {
      if (v.has(`port.${key}`)) {
        report(keyAt(`port.${key}`), `\`${key}\` needs a bridge; this veth joins two namespaces directly`, 'remove it');
      }
    }
  }
  tunnelPortRules(u, report);
  if (kind === 'system') systemPortRules(u, report);
  else if (v.has('port.take-over'))
    report(
      keyAt('port.take-over'),
      '`take-over` is only valid for kind = "system": it moves an existing NIC\'s addresses onto the bridge',
      'remove it; addresses of a veth or internal port go in its [ipv4] / [ipv6]',
    );
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

/** A system port is the switch's: no host addresses or MAC on it, and it stays in the bridge's namespace. */
function systemPortRules(u: FileUnit, report: ErrorSink): void {
  const v = u.values;
  const keyAt = (key: string): Loc => u.loc.keyAt(key);
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
  if (v.has('port.bridge') && v.has('port.namespace')) {
    report(
      keyAt('port.namespace'),
      'a system port must be in the root namespace: the bridge attaches interfaces of its own namespace',
      `remove \`namespace\`, and move the interface back first if needed (ip -n NS link set ${u.name ?? 'IFACE'} netns 1)`,
    );
  }
}
