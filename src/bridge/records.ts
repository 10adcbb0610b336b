/**
 * The kernel bridges netmgr created, with the settings the kernel does not keep (policy, learning settings, port
 * kinds, namespaces, VLANs): `kernel-bridges.json` in the state directory. A kernel datapath outlives netmgrd, so
 * this record is how a restarted netmgrd (and `netmgr plan` without one) knows which datapaths are netmgr's:
 * a datapath not in it, such as an installed OVS's `ovs-system`, is never touched.
 */
import type { BridgeConfig, PortConfig } from '../model/bridges';
import type { LearnedMac } from '../policy';
import { NetmgrError } from '../util/errors';
import { readStateFile, writeStateFile, type StateFileSpec } from '../util/state-file';

export const KERNEL_BRIDGES_FILE = 'kernel-bridges.json';
const RECORD: StateFileSpec = { name: KERNEL_BRIDGES_FILE, version: 1 };

export interface KernelBridgeRecord {
  config: BridgeConfig;
  /** Ports other than port 0, by number. */
  ports: PortConfig[];
  /** A learning bridge's learned MACs, written when netmgrd stops and left it running; read by the next one. */
  learned?: LearnedMac[];
}

interface RecordFile {
  version: 1;
  bridges: KernelBridgeRecord[];
}

export function loadKernelBridges(stateDir: string): KernelBridgeRecord[] {
  const parsed = readStateFile<RecordFile>(stateDir, RECORD);
  if (parsed === undefined) return [];
  if (!Array.isArray(parsed.bridges)) throw new NetmgrError('corrupt', `${KERNEL_BRIDGES_FILE}: no list of bridges`);
  return parsed.bridges;
}

/** Written atomically, so a crash leaves the old record or the new one. */
export function saveKernelBridges(stateDir: string, bridges: KernelBridgeRecord[]): void {
  const body: RecordFile = {
    version: 1,
    bridges: [...bridges].sort((a, b) => (a.config.name < b.config.name ? -1 : 1)),
  };
  writeStateFile(stateDir, RECORD, body);
}
