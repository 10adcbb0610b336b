/** What the overlay (tunnel port) integration tests share: a capture in a namespace and the units of one box. */
import { ChildProcess, spawn } from 'child_process';

/** tcpdump in a namespace (-n, line-buffered, not promiscuous); stop() returns its text output. */
export async function capture(ns: string, iface: string, filter: string[]): Promise<{ stop(): Promise<string> }> {
  const p: ChildProcess = spawn('ip', ['netns', 'exec', ns, 'tcpdump', '-i', iface, '-n', '-l', '-p', ...filter], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  for (let i = 0; i < 100 && !err.includes('listening on'); i++) await new Promise((r) => setTimeout(r, 50));
  if (!err.includes('listening on')) throw new Error(`tcpdump did not start (apt-get install tcpdump): ${err}`);
  return {
    async stop() {
      await new Promise((r) => setTimeout(r, 300));
      const closed = new Promise((r) => p.once('close', r));
      p.kill('SIGINT');
      await closed;
      return out;
    },
  };
}

/**
 * The units of one box: a userspace bridge, a veth port to a host (its end `peer` in namespace `host`, with
 * `address`, `mac` and `mtu`), and a vxlan port (VNI 100) to `remotes`.
 */
export function boxUnits(
  P: string,
  o: { host: string; peer: string; address: string; mac?: string; mtu?: number; local: string; remotes: string[] },
): Record<string, string> {
  const br = `${P}-br`;
  const link = [o.mac ? `mac = "${o.mac}"\n` : '', o.mtu ? `mtu = ${o.mtu}\n` : ''].join('');
  const mac = link ? `[link]\n${link}` : '';
  return {
    [br]: '[unit]\ntype = "bridge"\n[bridge]\ndatapath = "userspace"\n',
    [`${P}-h1`]:
      `[unit]\ntype = "port"\n[port]\nbridge = "${br}"\nkind = "veth"\nnamespace = "${o.host}"\npeer = "${o.peer}"\n` +
      `[ipv4]\naddresses = ["${o.address}"]\n${mac}`,
    [`${P}-vx`]:
      `[unit]\ntype = "port"\n[port]\nbridge = "${br}"\nkind = "vxlan"\nvni = 100\n` +
      `remotes = [${o.remotes.map((r) => `"${r}"`).join(', ')}]\nlocal = "${o.local}"\n`,
  };
}
