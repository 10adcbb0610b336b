/**
 * Strict unit files, as sshd's StrictModes: a root process applies only what root alone can change. Everything
 * netmgr reads from a unit directory (the directory, each unit file, netmgrd.conf) must be owned by root and not
 * writable by group or others; for a symlink that holds for its final target, which is what is read.
 *
 * The directories above them, up to /, must pass too, as sshd requires of the path to authorized_keys: whoever may
 * write a directory on the way can rename what is below it and put their own in its place. It costs one stat per
 * directory (/etc and / for /etc/netmgr). A directory on the way with the sticky bit (/tmp, mode 1777) passes:
 * others may add entries there, not rename or remove root's. The unit directory itself gets no such exception:
 * whoever may add an entry there can add a symlink to any file of root's.
 *
 * Only a root process checks (effective uid 0; see daemon/config's readUnits): the check guards what root applies.
 * `netmgr validate` run by a user on a copy of units is not refused for the user owning them; it says the check
 * was skipped.
 *
 * permissionProblems and permissionError decide (pure, over stat-like records); checkUnitPaths gathers the
 * records with lstat, stat and realpath.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { UnitError } from '../model/types';

/** What a stat(2) of one path says, reduced to what the check decides on. */
export interface PathFacts {
  /** The path stat'ed: a symlink's final target, a directory's real path. */
  path: string;
  /** Regular file, directory, or anything else (a FIFO, a socket, a device). */
  kind: 'file' | 'directory' | 'other';
  /** The permission bits of st_mode, set-id and sticky bits included (07777). */
  mode: number;
  /** The owner (st_uid). */
  uid: number;
}

/** The part a path plays: what netmgr reads (the unit directory, a file in it), or a directory on the way there. */
export type PathRole = 'unit-dir' | 'file' | 'ancestor';

/** One thing wrong with one path, and the command that fixes it. */
export interface PermissionProblem {
  /** Completes "… is": `owned by uid 65534, not root`, `writable by others (mode 0666)`. */
  what: string;
  /** A shell command: `chown root:root PATH`, `chmod go-w PATH`. */
  fix: string;
}

const S_ISVTX = 0o1000;
const WRITABLE_BY_GROUP = 0o020;
const WRITABLE_BY_OTHERS = 0o002;

/** Whether this process checks: only when its effective uid is root's (see the module comment). */
export const checksPermissions = (): boolean => process.geteuid?.() === 0;

/** The path quoted for a shell when it needs it, so a fix can be pasted as is. */
export function shellQuote(p: string): string {
  return /^[\w@%+=:,./-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`;
}

const octal = (mode: number): string => (mode & 0o7777).toString(8).padStart(4, '0');

/** `group`, `others`, `group and others`, or undefined when neither may write. */
function writers(mode: number): string | undefined {
  const group = (mode & WRITABLE_BY_GROUP) !== 0;
  const others = (mode & WRITABLE_BY_OTHERS) !== 0;
  if (group && others) return 'group and others';
  return group ? 'group' : others ? 'others' : undefined;
}

/** Pure: what is wrong with one path in its role; empty when root alone can change it. */
export function permissionProblems(f: PathFacts, role: PathRole): PermissionProblem[] {
  const out: PermissionProblem[] = [];
  if (f.uid !== 0) out.push({ what: `owned by uid ${f.uid}, not root`, fix: `chown root:root ${shellQuote(f.path)}` });
  const who = writers(f.mode);
  const stickyOnTheWay = role === 'ancestor' && f.kind === 'directory' && (f.mode & S_ISVTX) !== 0;
  if (who && !stickyOnTheWay)
    out.push({ what: `writable by ${who} (mode ${octal(f.mode)})`, fix: `chmod go-w ${shellQuote(f.path)}` });
  return out;
}

/** How the subject (what netmgr reads, by the name it reads it by) reaches the path that fails. */
export interface Resolution {
  /** Where the subject resolves to, when that is not its own name. */
  target?: string;
  /** True when the subject itself is a symlink (else a directory above it is). */
  symlink?: boolean;
}

/**
 * Pure: the located error for `subject` when a path on its way fails, or undefined when it passes. `noun` says what
 * the subject is (`unit directory`, `unit file`, `netmgrd.conf`); like an unreadable file, it is located at 1:1.
 */
export function permissionError(
  subject: string,
  noun: string,
  failing: { facts: PathFacts; role: PathRole },
  via: Resolution = {},
): UnitError | undefined {
  const problems = permissionProblems(failing.facts, failing.role);
  if (!problems.length) return undefined;
  const what = problems.map((p) => p.what).join(', and ');
  const resolved = via.target ? `${via.symlink ? 'is a symlink to' : 'resolves to'} ${via.target}` : '';
  const message =
    failing.role === 'ancestor'
      ? `${noun} ${resolved ? `${resolved}, ` : 'is '}in ${failing.facts.path}, which is ${what}`
      : `${noun} ${resolved ? `${resolved}, which is` : 'is'} ${what}`;
  const fix = problems.map((p) => p.fix).join(' && ');
  const hint =
    failing.role === 'ancestor'
      ? `${fix}, or keep the units (and what they link to) where only root can change them, such as /etc/netmgr`
      : fix;
  return { file: subject, line: 1, col: 1, message, hint };
}

/** The directories above p, nearest first, up to /. */
export function directoriesAbove(p: string): string[] {
  const out: string[] = [];
  for (let d = path.dirname(p); ; d = path.dirname(d)) {
    out.push(d);
    if (d === path.dirname(d)) return out;
  }
}

function factsOf(p: string, st: fs.Stats): PathFacts {
  const kind = st.isFile() ? 'file' : st.isDirectory() ? 'directory' : 'other';
  return { path: p, kind, mode: st.mode & 0o7777, uid: st.uid };
}

/** One read's stat calls: a directory shared by many files is stat'ed once. */
class StatCache {
  private readonly dirs = new Map<string, PathFacts | null>();

  /** Facts of a real (symlink-free) directory path, or null when it cannot be stat'ed. */
  directory(p: string): PathFacts | null {
    let f = this.dirs.get(p);
    if (f === undefined) {
      f = orNull(() => factsOf(p, fs.statSync(p)));
      this.dirs.set(p, f);
    }
    return f;
  }
}

/** The value, or null when the file system says no (ENOENT, EACCES, ...): reading the file reports those. */
function orNull<T>(fn: () => T): T | null {
  try {
    return fn();
  } catch {
    return null;
  }
}

/** The errors of real directories checked as directories on the way, nearest first. */
function onTheWay(
  cache: StatCache,
  dirs: readonly string[],
  report: (f: PathFacts) => UnitError | undefined,
): UnitError[] {
  const out: UnitError[] = [];
  for (const d of dirs) {
    const f = cache.directory(d);
    const e = f && report(f);
    if (e) out.push(e);
  }
  return out;
}

/** The unit directory itself and every directory above it. */
function checkDirectory(dir: string, cache: StatCache): { errors: UnitError[]; real: string | null } {
  const real = orNull(() => fs.realpathSync.native(dir));
  const facts = real === null ? null : cache.directory(real);
  if (real === null || facts === null) return { errors: [], real };
  const symlink = orNull(() => fs.lstatSync(dir).isSymbolicLink()) ?? false;
  const via: Resolution = real === dir ? {} : { target: real, symlink };
  const own = permissionError(dir, 'unit directory', { facts, role: 'unit-dir' }, via);
  const above = onTheWay(cache, directoriesAbove(real), (f) =>
    permissionError(dir, 'unit directory', { facts: f, role: 'ancestor' }, via),
  );
  return { errors: own ? [own, ...above] : above, real };
}

/**
 * One file of the directory: the file (a symlink's final target), and for a target elsewhere the directories
 * above it that the directory's own check did not cover.
 */
function checkFile(file: string, covered: ReadonlySet<string>, cache: StatCache): UnitError[] {
  const link = orNull(() => fs.lstatSync(file));
  if (!link) return [];
  const target = link.isSymbolicLink() ? orNull(() => fs.realpathSync.native(file)) : file;
  const st = target === null ? null : orNull(() => fs.statSync(target));
  // A directory named *.toml, a dangling symlink: not read, and reading it reports why.
  if (target === null || st === null || st.isDirectory()) return [];
  const noun = file.endsWith('.toml') ? 'unit file' : path.basename(file);
  const via: Resolution = link.isSymbolicLink() ? { target, symlink: true } : {};
  const own = permissionError(file, noun, { facts: factsOf(target, st), role: 'file' }, via);
  const elsewhere = link.isSymbolicLink() ? directoriesAbove(target).filter((d) => !covered.has(d)) : [];
  const above = onTheWay(cache, elsewhere, (f) => permissionError(file, noun, { facts: f, role: 'ancestor' }, via));
  return own ? [own, ...above] : above;
}

/**
 * The permission errors of `dir` (itself and every directory above it) and of the files `names` in it that exist:
 * one error per path that fails, located at the name netmgr reads it by. Paths that cannot be stat'ed are left to
 * the read, which reports them.
 */
export function checkUnitPaths(dir: string, names: readonly string[]): UnitError[] {
  const cache = new StatCache();
  const { errors, real } = checkDirectory(dir, cache);
  const covered = new Set(real === null ? [] : [real, ...directoriesAbove(real)]);
  for (const n of names) errors.push(...checkFile(path.join(dir, n), covered, cache));
  return errors;
}
