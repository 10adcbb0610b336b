/**
 * The kernel bridges netmgr created, with the settings the kernel does not keep (policy, learning settings, port
 * kinds, namespaces, VLANs): `kernel-bridges.json` in the state directory. A kernel datapath outlives netmgrd, so
 * this record is how a restarted netmgrd (and `netmgr plan` without one) knows which datapaths are netmgr's:
 * a datapath not in it, such as an installed OVS's `ovs-system`, is never touched.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { BridgeConfig, PortConfig } from '../../live/bridges';

export const KERNEL_BRIDGES_FILE = 'kernel-bridges.json';

export interface KernelBridgeRecord {
  config: BridgeConfig;
  /** Ports other than port 0, by number. */
  ports: PortConfig[];
}

interface RecordFile {
  version: 1;
  bridges: KernelBridgeRecord[];
}

export function loadKernelBridges(stateDir: string): KernelBridgeRecord[] {
  const file = path.join(stateDir, KERNEL_BRIDGES_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const parsed = JSON.parse(text) as RecordFile;
  if (parsed.version !== 1 || !Array.isArray(parsed.bridges)) throw new Error(`${file}: unknown format (version ${String(parsed.version)})`);
  return parsed.bridges;
}

/** Written atomically (temp file + rename), so a crash leaves the old record or the new one. */
export function saveKernelBridges(stateDir: string, bridges: KernelBridgeRecord[]): void {
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const file = path.join(stateDir, KERNEL_BRIDGES_FILE);
  const body: RecordFile = { version: 1, bridges: [...bridges].sort((a, b) => (a.config.name < b.config.name ? -1 : 1)) };
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(body, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
}
