/**
 * Unit files -> validated DesiredState. `parseUnits` is pure; `readUnitDir` reads, `loadUnitDir` reads, checks
 * permissions (./permissions) and validates.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { DesiredState, UnitError } from '../model/types';
import { errnoOf, hasErrno, isNotFound, messageOf, NetmgrError } from '../util/errors';
import { crossCheck } from './crosscheck';
import { checkBridgeFlows } from './flows';
import { checkUnitPaths } from './permissions';
import { compareErrors } from './system';
import { FileUnit, validateFile } from './validate';

export { checkAgainstSystem } from './system';
export { checkUnitPaths, checksPermissions } from './permissions';
export type { SystemFacts } from './system';
export { SCHEMA, SECTIONS, describeDefault, describeType, sectionLabel } from './schema';
export type { SchemaEntry, SectionEntry } from './schema';

/** One unit file's text. `readError` is set (and `text` empty) when the file could not be read. */
export interface UnitSource {
  file: string;
  text: string;
  readError?: string;
}

export interface ParseResult {
  /** Null exactly when `errors` is non-empty. */
  state: DesiredState | null;
  /** Sorted by file, line, column. */
  errors: UnitError[];
}

/**
 * Validate all unit files together; every problem in every file is reported, with `fileErrors`: what was found
 * wrong with the files themselves while reading them (permissions), which makes the set invalid too.
 */
export function parseUnits(sources: readonly UnitSource[], fileErrors: readonly UnitError[] = []): ParseResult {
  const errors: UnitError[] = [...fileErrors];
  const units: FileUnit[] = [];
  const sorted = [...sources].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  for (const src of sorted) {
    if (src.readError !== undefined) {
      errors.push({ file: src.file, line: 1, col: 1, message: `cannot read unit file: ${src.readError}` });
      continue;
    }
    const u = validateFile(src.file, src.text, errors);
    if (u) units.push(u);
  }
  const state = crossCheck(units, errors);
  if (state) errors.push(...checkBridgeFlows(state));
  // Array.prototype.sort is stable, so errors at one position keep the order they were found in.
  const sortedErrors = errors.map(printable).sort(compareErrors);
  return sortedErrors.length > 0 ? { state: null, errors: sortedErrors } : { state, errors: [] };
}

/** Keys and values from the files are quoted into messages; keep each message on one printable line. */
function printable(e: UnitError): UnitError {
  // eslint-disable-next-line no-control-regex -- control characters are what this escapes
  const control = /[\u0000-\u001f\u007f]/g;
  const esc = (s: string): string => s.replace(control, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return e.hint === undefined
    ? { ...e, message: esc(e.message) }
    : { ...e, message: esc(e.message), hint: esc(e.hint) };
}

/**
 * The `*.toml` files of `dir`, sorted by name (plain code-unit order). Hidden files are skipped: editors leave
 * lock files such as `.#br0.toml`. Throws if `dir` is missing or not a directory; unreadable files are returned
 * with `readError` so that parseUnits reports them at 1:1. Checks no permissions: what is applied is read with
 * loadUnitDir.
 */
export function readUnitDir(dir: string): UnitSource[] {
  let names: string[];
  try {
    if (!fs.statSync(dir).isDirectory()) throw new NetmgrError('invalid', `unit directory ${dir} is not a directory`);
    names = fs.readdirSync(dir);
  } catch (e) {
    if (e instanceof NetmgrError) throw e;
    if (isNotFound(e)) throw new NetmgrError('not-found', `unit directory ${dir} does not exist`, 'ENOENT');
    const errno = errnoOf(e);
    if (errno !== undefined)
      throw new NetmgrError('failed', `cannot read unit directory ${dir}: ${messageOf(e)}`, errno);
    throw e;
  }
  return names
    .filter((n) => n.endsWith('.toml') && !n.startsWith('.'))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((n) => {
      const file = path.join(dir, n);
      try {
        return { file, text: fs.readFileSync(file, 'utf8') };
      } catch (e) {
        return { file, text: '', readError: hasErrno(e, 'EISDIR') ? 'it is a directory' : messageOf(e) };
      }
    });
}

/** How loadUnitDir reads a unit directory. */
export interface LoadOptions {
  /** Refuse the set when the directory or a file fails the permission check (./permissions). */
  strictPermissions: boolean;
  /** Other files read from the directory (netmgrd.conf), checked with the units when they exist. */
  alsoCheck?: readonly string[];
}

/** A unit directory as read and validated. */
export interface LoadedUnits extends ParseResult {
  /** The files as read (what `netmgr apply` hands to netmgrd, what netmgrd records as applied). */
  sources: UnitSource[];
}

/** Read a unit directory, check its permissions when asked, and validate it. Throws as readUnitDir does. */
export function loadUnitDir(dir: string, opts: LoadOptions): LoadedUnits {
  const sources = readUnitDir(dir);
  const names = [...sources.map((s) => path.basename(s.file)), ...(opts.alsoCheck ?? [])];
  const fileErrors = opts.strictPermissions ? checkUnitPaths(dir, names) : [];
  return { ...parseUnits(sources, fileErrors), sources };
}

/**
 * A JSON-ready copy of a state with Maps turned into objects (in insertion order), for `--json` output and golden
 * files. Key order follows construction order, so the output is deterministic.
 */
export function stateToJSON(state: DesiredState): {
  bridges: Record<string, unknown>;
  ports: Record<string, unknown>;
  namespaces: string[];
} {
  return {
    bridges: Object.fromEntries(state.bridges),
    ports: Object.fromEntries(state.ports),
    namespaces: [...state.namespaces],
  };
}
