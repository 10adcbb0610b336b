/** Locations netmgr reads and writes, each overridable through the environment (documented in netmgr(8)). */
import * as path from 'path';

export const NETNS_DIR = '/run/netns';

export interface Paths {
  unitDir: string;
  stateDir: string;
  /** netmgrd's control socket (mode 0600, root only). */
  socket: string;
}

export function resolvePaths(env: NodeJS.ProcessEnv, dirOption?: string): Paths {
  return {
    unitDir: path.resolve(dirOption ?? env.NETMGR_DIR ?? '/etc/netmgr'),
    stateDir: path.resolve(env.NETMGR_STATE_DIR ?? '/var/lib/netmgr'),
    socket: path.resolve(env.NETMGR_SOCKET ?? '/run/netmgr/netmgrd.sock'),
  };
}

export const netnsPath = (name: string): string => path.join(NETNS_DIR, name);
