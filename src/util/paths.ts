/** Locations netmgr reads and writes, each overridable through the environment (documented in netmgr(8)). */
import * as fs from 'fs';
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

let root: string | undefined;

/**
 * The directory of netmgr's package.json (the source tree, or /usr/lib/netmgr when installed): the addon
 * (build/Release) and the forwarding worker's script (dist/bridge) are found from it. Walked up to from this file
 * rather than a fixed number of `..`, because this code runs from dist/util/paths.js, from src/ under jest, and
 * from the bundled CLI dist/netmgr.js.
 */
export function packageRoot(): string {
  if (root) return root;
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return (root = dir);
    if (path.dirname(dir) === dir) throw new Error(`netmgr's package.json not found above ${__dirname}`);
  }
}
