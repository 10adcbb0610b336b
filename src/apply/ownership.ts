/**
 * The ownership record: what netmgr created, so that removing a unit removes exactly that and nothing else
 * (netplan's lesson: stateless apply leaves garbage; ifupdown2's: reload must not touch what it does not own).
 * Stored as JSON in the state directory, replaced atomically.
 */
import * as fs from 'fs';
import * as path from 'path';
import { NamespaceName } from '../model/types';

export interface OwnedVeth {
  /** The unit that declared it. */
  unit: string;
  namespace: NamespaceName;
  name: string;
  peerNamespace: NamespaceName;
  peer: string;
}

export interface Ownership {
  version: 1;
  /** Namespaces netmgr created (and so may delete). */
  namespaces: string[];
  veths: OwnedVeth[];
}

export const emptyOwnership = (): Ownership => ({ version: 1, namespaces: [], veths: [] });

export const OWNERSHIP_FILE = 'owned.json';

export function loadOwnership(stateDir: string): Ownership {
  const file = path.join(stateDir, OWNERSHIP_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyOwnership();
    throw e;
  }
  const data = JSON.parse(text) as Ownership;
  if (data.version !== 1) throw new Error(`${file}: unknown ownership record version ${String(data.version)}`);
  return { version: 1, namespaces: data.namespaces ?? [], veths: data.veths ?? [] };
}

/** Write-then-rename, so a crash leaves either the old or the new record, never half of one. */
export function saveOwnership(stateDir: string, owned: Ownership): void {
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const file = path.join(stateDir, OWNERSHIP_FILE);
  const tmp = `${file}.tmp`;
  const sorted: Ownership = {
    version: 1,
    namespaces: [...owned.namespaces].sort(),
    veths: [...owned.veths].sort((a, b) => (a.namespace ?? '').localeCompare(b.namespace ?? '') || a.name.localeCompare(b.name)),
  };
  fs.writeFileSync(tmp, JSON.stringify(sorted, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(tmp, file);
}
