/**
 * The datapath port numbers of netmgrd's bridges as of its last settled apply (`port-numbers.json` in the state
 * directory), so that a bridge built again (a userspace bridge after a restart of netmgrd, an apply brought back
 * or rolled back across one) gets the numbers it had, as OVS keeps ofports in its database: the plan takes them
 * for a bridge that is not running (model/ports.ts portNumbers).
 */
import type { LiveBridge } from '../model/bridges';
import type { NumberedPort, PortNumberRecord } from '../model/ports';
import { readStateFile, writeStateFile, type StateFileSpec } from '../util/state-file';

export const PORT_NUMBERS_FILE = 'port-numbers.json';
const RECORD: StateFileSpec = { name: PORT_NUMBERS_FILE, version: 1 };

interface RecordFile {
  version: 1;
  bridges: PortNumberRecord;
}

export function loadPortNumbers(stateDir: string): PortNumberRecord {
  return readStateFile<RecordFile>(stateDir, RECORD)?.bridges ?? {};
}

/** The numbers of the bridges running now (port 0 left out); written only when they differ from the record. */
export function savePortNumbers(stateDir: string, bridges: readonly LiveBridge[]): void {
  const record: PortNumberRecord = {};
  for (const b of [...bridges].sort((x, y) => (x.name < y.name ? -1 : 1)))
    record[b.name] = b.ports
      .filter((p) => p.no !== 0)
      .map((p): NumberedPort => ({ name: p.name, no: p.no }))
      .sort((x, y) => x.no - y.no);
  if (JSON.stringify(record) === JSON.stringify(loadPortNumbers(stateDir))) return;
  writeStateFile(stateDir, RECORD, { version: 1, bridges: record } satisfies RecordFile);
}
