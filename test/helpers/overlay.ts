/**
 * What the overlay (tunnel port) integration tests share: a capture in a namespace, the units of one box, and a
 * megabyte over TCP checked by its hash.
 */
import { ChildProcess, spawn } from 'child_process';
import { createHash } from 'crypto';

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

/**
 * Byte i of what transferMegabyte sends (every 256-byte run differs, so a misplaced segment shows). The sender, a
 * child process, gets this function's source.
 */
const megabyteByte = (i: number): number => (i * 31 + (i >> 8)) & 0xff;
const MB = 1 << 20;

/** What transferMegabyte returns when all of the megabyte arrived intact: its length and SHA-256. */
export const MEGABYTE_RECEIVED = `${MB} ${createHash('sha256')
  .update(Buffer.from(Array.from({ length: MB }, (_, i) => megabyteByte(i))))
  .digest('hex')}`;

/**
 * 1 MB over TCP from namespace `fromNs` to `toIp`:`port`, served in namespace `toNs`: what the receiver counted
 * and hashed when the sender closed ("LENGTH SHA256", MEGABYTE_RECEIVED when intact; '' when it did not finish
 * within waitMs).
 */
export async function transferMegabyte(
  o: { fromNs: string; toNs: string; toIp: string; port: number },
  waitMs: number,
): Promise<string> {
  const node = (ns: string, script: string, stdio: 'pipe' | 'ignore') =>
    spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { stdio: ['ignore', stdio, stdio] });
  const server = node(
    o.toNs,
    `const h = require('crypto').createHash('sha256'); let n = 0;
     require('net').createServer((s) => {
       s.on('data', (d) => { h.update(d); n += d.length; });
       s.on('end', () => { console.log(n + ' ' + h.digest('hex')); process.exit(0); });
     }).listen(${o.port}, '${o.toIp}', () => console.log('listening'));`,
    'pipe',
  );
  let client: ChildProcess | undefined;
  try {
    let out = '';
    server.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    for (let i = 0; i < 100 && !out.includes('listening'); i++) await new Promise((r) => setTimeout(r, 50));
    client = node(
      o.fromNs,
      `const byte = ${megabyteByte.toString()};
       const b = Buffer.from(Array.from({ length: ${MB} }, (_, i) => byte(i)));
       const c = require('net').connect(${o.port}, '${o.toIp}', () => c.end(b));`,
      'ignore',
    );
    const t0 = Date.now();
    while (!/\d+ [0-9a-f]{64}/.test(out) && Date.now() - t0 < waitMs) await new Promise((r) => setTimeout(r, 50));
    return /\d+ [0-9a-f]{64}/.exec(out)?.[0] ?? '';
  } finally {
    client?.kill('SIGTERM');
    server.kill('SIGTERM');
  }
}
