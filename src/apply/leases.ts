/**
 * The DHCP leases netmgrd holds, on disk (dhcp-leases.json, via the one state-file helper) so that the CLI's plan,
 * show and status, and netmgrd after a restart, see the same desired state as netmgrd: units plus leases.
 */
import type { DhcpLease } from '../model/leases';
import { readStateFile, writeStateFile } from '../util/state-file';

const LEASES_FILE = { name: 'dhcp-leases.json', version: 1 };

interface LeasesRecord {
  version: 1;
  leases: DhcpLease[];
}

/** The leases last saved; none when there is no record. */
export function loadLeases(stateDir: string): DhcpLease[] {
  return readStateFile<LeasesRecord>(stateDir, LEASES_FILE)?.leases ?? [];
}

export function saveLeases(stateDir: string, leases: readonly DhcpLease[]): void {
  writeStateFile(stateDir, LEASES_FILE, { version: 1, leases });
}
