/**
 * A learning switch with a status listener, for the status listener's integration tests: a userspace bridge with
 * three hosts in namespaces (198.19.77.0/24), and netmgrd with `http-listen` on a free loopback port. Every name
 * starts with a per-run `nm9` prefix; close() removes it all.
 */
import * as fs from 'fs';
import * as path from 'path';
import { startDaemon, stopAndClean, type TestDaemon } from './daemon';
import { freePort } from './http';
import { netmgr, sh, tempDir, writeUnits } from './sys';

export const SWITCH_NET = '198.19.77';

export interface StatusSwitch {
  prefix: string;
  bridge: string;
  /** Port unit names (the bridge-side veth ends), host namespaces and their addresses, by host 1..3. */
  ports: string[];
  namespaces: string[];
  addresses: string[];
  unitDir: string;
  daemon: TestDaemon;
  httpPort: number;
  url: string;
  close(): Promise<void>;
}

export const nsx = (ns: string, ...cmd: string[]): string => sh('ip', ['netns', 'exec', ns, ...cmd]);

export async function startStatusSwitch(label: string): Promise<StatusSwitch> {
  const prefix = `nm9${Math.random().toString(36).slice(2, 5)}`;
  const unitDir = tempDir(`${label}-units`);
  const state = tempDir(`${label}-state`);
  const bridge = `${prefix}-sw`;
  const hosts = [1, 2, 3];
  const ports = hosts.map((n) => `${prefix}-p${n}`);
  const namespaces = hosts.map((n) => `${prefix}-h${n}`);
  const addresses = hosts.map((n) => `${SWITCH_NET}.${n}`);
  const port = (n: number) =>
    `[unit]\ntype = "port"\n[port]\nbridge = "${bridge}"\nkind = "veth"\nnamespace = "${prefix}-h${n}"\n` +
    `peer = "${prefix}-e${n}"\n[ipv4]\naddresses = ["${SWITCH_NET}.${n}/24"]\n`;
  writeUnits(unitDir, {
    [bridge]: '[unit]\ntype = "bridge"\n[bridge]\ndatapath = "userspace"\npolicy = "learning"\n',
    ...Object.fromEntries(hosts.map((n) => [`${prefix}-p${n}`, port(n)])),
  });
  const httpPort = await freePort();
  fs.writeFileSync(path.join(unitDir, 'netmgrd.conf'), `watch = false\nhttp-listen = "127.0.0.1:${httpPort}"\n`);
  let daemon: TestDaemon | undefined;
  const close = () => stopAndClean(daemon, state, prefix, [unitDir]);
  try {
    daemon = await startDaemon(unitDir, state, ['--no-apply', '--no-watch']);
    const r = netmgr(['apply', '--dir', unitDir], daemon.env);
    if (r.code !== 0) throw new Error(r.stdout + r.stderr);
    // Quiet hosts: no IPv6 chatter, so the counters move with the test's own packets only.
    for (const ns of namespaces) nsx(ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1');
  } catch (e) {
    await close();
    throw e;
  }
  const url = `http://127.0.0.1:${httpPort}/`;
  return { prefix, bridge, ports, namespaces, addresses, unitDir, daemon, httpPort, url, close };
}
