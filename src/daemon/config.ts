/**
 * netmgrd's own settings: `netmgrd.conf` (TOML) beside the units in the unit directory. Not a unit (units are
 * `*.toml`), so the watcher and `netmgr validate` keep to units. Read at start and at every reload; a bad file
 * is reported with FILE:LINE:COL like a unit, and the settings in force stay.
 *
 * One key matters beyond netmgrd: strict-permissions, which every netmgr command that reads units as root heeds
 * (readUnits). A netmgrd.conf that fails the permission check itself is untrusted: none of it is used, and
 * netmgrd does not start on it, or keeps its settings and applies nothing on a reload (see Daemon).
 */
import * as fs from 'fs';
import * as path from 'path';
import { parse as parseToml } from 'smol-toml';
import type { UnitError } from '../model/types';
import { checksPermissions, checkUnitPaths, loadUnitDir, type LoadedUnits } from '../units';
import { locate } from '../units/locate';
import { TOML_MAX_DEPTH, tomlError } from '../units/validate';
import { isNotFound, messageOf } from '../util/errors';
import { isLoopback, parseListenAddress, type ListenAddress } from './http/address';

export const DAEMON_CONFIG_FILE = 'netmgrd.conf';

export interface DaemonConfig {
  /** Follow edits of the unit directory: plan, apply and verify after each change. */
  watch: boolean;
  /** Quiet time after the last change before applying (an editor's save, `cp *.toml` of many files: one apply). */
  watchDelayMs: number;
  /** Refuse a unit directory whose files root does not own or others may write (units/permissions), as root. */
  strictPermissions: boolean;
  /** Where the read-only status listener (/metrics, /, /status.json) binds; null: no listener (the default). */
  httpListen: ListenAddress | null;
  /** Allow httpListen to be an address other than loopback (the counters reveal the network's shape). */
  httpAllowRemote: boolean;
}

export const DEFAULT_DAEMON_CONFIG: DaemonConfig = {
  watch: true,
  watchDelayMs: 300,
  strictPermissions: true,
  httpListen: null,
  httpAllowRemote: false,
};

type KeyType = 'boolean' | 'integer' | 'address';

/** The table of keys: name, what it holds, its range; the man page's CONFIGURATION section mirrors it. */
const KEYS: { key: string; field: keyof DaemonConfig; type: KeyType; min?: number; max?: number }[] = [
  { key: 'watch', field: 'watch', type: 'boolean' },
  { key: 'watch-delay', field: 'watchDelayMs', type: 'integer', min: 0, max: 60_000 },
  { key: 'strict-permissions', field: 'strictPermissions', type: 'boolean' },
  { key: 'http-listen', field: 'httpListen', type: 'address' },
  { key: 'http-allow-remote', field: 'httpAllowRemote', type: 'boolean' },
];

/** An `address` key's value: "" is off, else ADDRESS:PORT (an error message when it is neither). */
function addressValue(key: string, value: unknown): { value: ListenAddress | null } | { error: string } {
  if (typeof value !== 'string') return { error: `\`${key}\` must be a string: "ADDRESS:PORT", or "" for off` };
  if (value === '') return { value: null };
  const a = parseListenAddress(value);
  return typeof a === 'string' ? { error: `\`${key}\` ${a}` } : { value: a };
}

/** Parses netmgrd.conf text (pure). Every problem is reported; settings are returned only when there is none. */
export function parseDaemonConfig(file: string, text: string): { config: DaemonConfig | null; errors: UnitError[] } {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text, { maxDepth: TOML_MAX_DEPTH }) as Record<string, unknown>;
  } catch (e) {
    return { config: null, errors: [tomlError(file, text, e)] };
  }
  const loc = locate(text);
  const errors: UnitError[] = [];
  const config: DaemonConfig = { ...DEFAULT_DAEMON_CONFIG };
  for (const [key, value] of Object.entries(doc)) {
    const spec = KEYS.find((k) => k.key === key);
    if (!spec) {
      errors.push({
        file,
        ...loc.keyAt(key),
        message: `unknown key \`${key}\``,
        hint: `netmgrd.conf takes ${KEYS.map((k) => k.key).join(', ')} (see netmgr(8), CONFIGURATION)`,
      });
      continue;
    }
    if (spec.type === 'boolean') {
      if (typeof value !== 'boolean') {
        errors.push({
          file,
          ...loc.valueAt(key),
          message: `\`${key}\` must be true or false`,
          hint: `e.g. ${key} = false`,
        });
        continue;
      }
      (config[spec.field] as boolean) = value;
    } else if (spec.type === 'address') {
      const a = addressValue(key, value);
      if ('error' in a)
        errors.push({ file, ...loc.valueAt(key), message: a.error, hint: `e.g. ${key} = "127.0.0.1:9477"` });
      else config.httpListen = a.value;
    } else {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < spec.min! || value > spec.max!) {
        errors.push({
          file,
          ...loc.valueAt(key),
          message: `\`${key}\` must be an integer from ${spec.min} to ${spec.max} (milliseconds)`,
          hint: `e.g. ${key} = ${DEFAULT_DAEMON_CONFIG[spec.field] as number}`,
        });
        continue;
      }
      (config[spec.field] as number) = value;
    }
  }
  if (!errors.length && config.httpListen && !config.httpAllowRemote && !isLoopback(config.httpListen.host))
    errors.push({
      file,
      ...loc.valueAt('http-listen'),
      message: `\`http-listen\` ${config.httpListen.host} is not a loopback address: the status listener has no authentication and its counters reveal the network's shape`,
      hint: 'bind 127.0.0.1 (or ::1) and reach it through a tunnel or a proxy; or add http-allow-remote = true',
    });
  return errors.length ? { config: null, errors } : { config, errors };
}

/** netmgrd.conf as loadDaemonConfig found it. */
export interface LoadedDaemonConfig {
  /** The settings, or null when the file is not used (errors say why). */
  config: DaemonConfig | null;
  /** What is wrong with the file, each at FILE:LINE:COL. */
  errors: UnitError[];
  /** True when the errors are permission problems: someone other than root may have written the file. */
  untrusted: boolean;
  /** The path of netmgrd.conf read (or looked for). */
  file: string;
}

/**
 * Reads the unit directory's netmgrd.conf; no file means the defaults. With `checkPermissions`, a file that fails
 * the permission check (itself, or its directory) is not read at all.
 */
export function loadDaemonConfig(unitDir: string, checkPermissions: boolean): LoadedDaemonConfig {
  const file = path.join(unitDir, DAEMON_CONFIG_FILE);
  const refused = checkPermissions && fs.existsSync(file) ? checkUnitPaths(unitDir, [DAEMON_CONFIG_FILE]) : [];
  if (refused.length) return { config: null, errors: refused, untrusted: true, file };
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if (isNotFound(e)) return { config: { ...DEFAULT_DAEMON_CONFIG }, errors: [], untrusted: false, file };
    const errors = [{ file, line: 1, col: 1, message: `cannot read: ${messageOf(e)}` }];
    return { config: null, errors, untrusted: false, file };
  }
  return { ...parseDaemonConfig(file, text), untrusted: false, file };
}

/**
 * The unit directory as the netmgr commands read it. As root (the only user the check is for: see
 * units/permissions), the permission check is on unless the directory's netmgrd.conf, passing the check itself,
 * says strict-permissions = false; a netmgrd.conf that fails it is one more error of the set, and one that does
 * not parse leaves the check on (its other errors are netmgrd's to report). Throws as readUnitDir does.
 */
export function readUnits(unitDir: string, asRoot = checksPermissions()): LoadedUnits {
  if (!asRoot) return loadUnitDir(unitDir, { strictPermissions: false });
  const strict = loadDaemonConfig(unitDir, true).config?.strictPermissions ?? true;
  return loadUnitDir(unitDir, { strictPermissions: strict, alsoCheck: [DAEMON_CONFIG_FILE] });
}
