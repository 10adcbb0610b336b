/**
 * The one way netmgr keeps state on disk (ownership, journal, kernel bridge and isolation records, the unit set in
 * force, a pending confirm): JSON files in the state directory, read with a version check and written atomically
 * (temp file, fsync, rename, fsync of the directory), so a crash or power loss leaves the old record or the new
 * one, never half of one. Files are 0600 in a 0700 directory: they name interfaces and hold unit texts.
 */
import * as fs from 'fs';
import * as path from 'path';
import { NetmgrError, isNotFound, messageOf } from './errors';

export interface StateFileSpec {
  /** File name inside the state directory. */
  name: string;
  /**
   * The record version this code writes and reads; undefined for records without a version field (their
   * content is then whatever JSON the file holds).
   */
  version?: number;
  /**
   * false for a record of kernel state that a reboot clears anyway (host isolation): written atomically but not
   * fsynced, since it must survive netmgrd's own death, not a power loss, and an fsync (~4 ms here, far more on
   * a busy disk) per port added or removed was paid on the forwarding thread. Default true.
   */
  durable?: boolean;
}

/**
 * Reads a record: undefined when the file does not exist (or, for a record that is not durable, is not JSON); a
 * 'corrupt' NetmgrError naming the file when it is not JSON or has another version than spec.version.
 */
export function readStateFile<T>(stateDir: string, spec: StateFileSpec): T | undefined {
  const file = path.join(stateDir, spec.name);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    // A record written without fsync may be empty or torn after a power loss; the kernel state it named went too.
    if (spec.durable === false) return undefined;
    throw new NetmgrError('corrupt', `${file}: not a JSON record (${messageOf(e)}); move it away to start afresh`);
  }
  if (spec.version !== undefined) {
    const v = (data as { version?: unknown } | null)?.version;
    if (v !== spec.version) {
      throw new NetmgrError(
        'corrupt',
        `${file}: unknown record version ${String(v)} (this netmgr reads version ${spec.version})`,
      );
    }
  }
  return data as T;
}

/** Writes a record atomically and (unless spec.durable is false) durably (see the file comment). */
export function writeStateFile(stateDir: string, spec: StateFileSpec, value: unknown): void {
  const durable = spec.durable !== false;
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const file = path.join(stateDir, spec.name);
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeSync(fd, JSON.stringify(value, null, 1) + '\n');
    if (durable) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  if (durable) syncDir(stateDir);
}

/** Removes a record; a missing one is fine. */
export function removeStateFile(stateDir: string, spec: StateFileSpec): void {
  fs.rmSync(path.join(stateDir, spec.name), { force: true });
  syncDir(stateDir);
}

/** Makes a rename or unlink in the directory durable (the entry itself lives in the directory). */
function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic there.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
