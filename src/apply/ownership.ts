/**
 * The ownership record on disk (its shape is src/model/ownership.ts): JSON in the state directory, replaced
 * atomically so that a crash leaves either the old or the new record, never half of one.
 */
import { emptyOwnership, type Ownership } from '../model/ownership';
import { readStateFile, writeStateFile, type StateFileSpec } from '../util/state-file';

export const OWNERSHIP_FILE = 'owned.json';

const OWNERSHIP_RECORD: StateFileSpec = { name: OWNERSHIP_FILE, version: 1 };

export function loadOwnership(stateDir: string): Ownership {
  const data = readStateFile<Partial<Ownership>>(stateDir, OWNERSHIP_RECORD);
  if (!data) return emptyOwnership();
  return {
    version: 1,
    namespaces: data.namespaces ?? [],
    veths: data.veths ?? [],
    ...(data.takeovers?.length ? { takeovers: data.takeovers } : {}),
  };
}

/** Sorted, so that the file reads the same whatever order the apply created things in. */
export function saveOwnership(stateDir: string, owned: Ownership): void {
  const sorted: Ownership = {
    version: 1,
    namespaces: [...owned.namespaces].sort(),
    veths: [...owned.veths].sort(
      (a, b) => (a.namespace ?? '').localeCompare(b.namespace ?? '') || a.name.localeCompare(b.name),
    ),
    ...(owned.takeovers?.length
      ? { takeovers: [...owned.takeovers].sort((a, b) => a.unit.localeCompare(b.unit)) }
      : {}),
  };
  writeStateFile(stateDir, OWNERSHIP_RECORD, sorted);
}
