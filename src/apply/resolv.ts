/**
 * netmgr's resolver file: the name servers of the DHCP leases whose unit says `use-dns = true`, as resolv.conf(5) in
 * the state directory. netmgr never writes /etc/resolv.conf; an administrator links it here to use this one.
 */
import * as fs from 'fs';
import * as path from 'path';

export const RESOLV_CONF = 'resolv.conf';

const HEADER =
  '# Written by netmgr: the name servers of its DHCP leases (units with use-dns = true).\n' +
  '# Edits are undone at the next apply; /etc/resolv.conf may be a symlink to this file.\n';

export const resolvConfPath = (stateDir: string): string => path.join(stateDir, RESOLV_CONF);

/** The name servers the file lists, or undefined when there is no file. */
export function readResolvConf(stateDir: string): string[] | undefined {
  let text: string;
  try {
    text = fs.readFileSync(resolvConfPath(stateDir), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return text
    .split('\n')
    .map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1])
    .filter((s): s is string => s !== undefined);
}

/** Writes the file (atomically: readers never see half of it), or removes it when there are no servers. */
export function writeResolvConf(stateDir: string, servers: readonly string[]): void {
  const file = resolvConfPath(stateDir);
  if (!servers.length) {
    fs.rmSync(file, { force: true });
    return;
  }
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, HEADER + servers.map((s) => `nameserver ${s}\n`).join(''), { mode: 0o644 });
  fs.renameSync(tmp, file);
}
