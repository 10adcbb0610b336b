/**
 * The VXLAN header codec (src/datapath/userspace/tunnel-header.ts) against the Linux kernel's own VXLAN device:
 * namespace A has a kernel `vxlan` (VNI 100, port 4789, nolearning, all-zero fdb entry to B) with an overlay
 * address; namespace B runs a plain UDP socket on port 4789 that speaks VXLAN through the codec only. B sends an
 * encapsulated ARP request for A's overlay address; the kernel must decapsulate it, answer, and encapsulate the
 * ARP reply back to B, which must decode it. Underlay 198.18.218.0/24, overlay 198.19.218.0/24, all in namespaces.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { cleanupPrefix, isRoot, REPO, sh, tempDir } from '../helpers/sys';

const P = 'nm8' + Math.random().toString(36).slice(2, 5);
const A = `${P}a`;
const B = `${P}b`;
const UNDER_A = '198.18.218.1';
const UNDER_B = '198.18.218.2';
const OVER_A = '198.19.218.1';
const OVER_B = '198.19.218.2';
const MAC_B = '020000000002';
const dir = tempDir('vxlan-interop');
const CODEC = path.join(REPO, 'dist', 'datapath', 'userspace', 'tunnel-header.js');

const ipHex = (ip: string): string =>
  ip
    .split('.')
    .map((o) => Number(o).toString(16).padStart(2, '0'))
    .join('');

/** Who-has OVER_A tell OVER_B, from MAC_B, broadcast. */
const ARP_REQUEST =
  'ffffffffffff' + MAC_B + '0806' + '0001080006040001' + MAC_B + ipHex(OVER_B) + '000000000000' + ipHex(OVER_A);

/** B's side: one VXLAN datagram out, every datagram in decoded, as JSON on stdout. */
const PEER = `
const dgram = require('dgram');
const { encapsulate, decapsulate } = require(${JSON.stringify(CODEC)});
const s = dgram.createSocket('udp4');
const received = [];
s.on('message', (msg, rinfo) => {
  const d = decapsulate('vxlan', msg);
  received.push('drop' in d ? { from: rinfo.address, drop: d.drop }
    : { from: rinfo.address, vni: d.vni, frame: Buffer.from(msg.subarray(d.offset)).toString('hex') });
});
s.bind(4789, ${JSON.stringify(UNDER_B)}, () => {
  s.send(encapsulate('vxlan', 100, Buffer.from(${JSON.stringify(ARP_REQUEST)}, 'hex')), 4789, ${JSON.stringify(UNDER_A)});
  setTimeout(() => { console.log(JSON.stringify(received)); s.close(); }, 2000);
});
`;

function setUp(): void {
  sh('ip', ['netns', 'add', A]);
  sh('ip', ['netns', 'add', B]);
  sh('ip', ['link', 'add', `${P}u1`, 'netns', A, 'type', 'veth', 'peer', `${P}u2`, 'netns', B]);
  sh('ip', ['-n', A, 'addr', 'add', `${UNDER_A}/24`, 'dev', `${P}u1`]);
  sh('ip', ['-n', B, 'addr', 'add', `${UNDER_B}/24`, 'dev', `${P}u2`]);
  for (const [ns, dev] of [
    [A, `${P}u1`],
    [B, `${P}u2`],
    [A, 'lo'],
    [B, 'lo'],
  ])
    sh('ip', ['-n', ns, 'link', 'set', dev, 'up']);
  const vx = `${P}vx`;
  sh('ip', ['-n', A, 'link', 'add', vx, 'type', 'vxlan', 'id', '100', 'dstport', '4789']);
  sh('ip', ['-n', A, 'link', 'set', vx, 'type', 'vxlan', 'nolearning', 'local', UNDER_A]);
  sh('ip', ['netns', 'exec', A, 'bridge', 'fdb', 'append', '00:00:00:00:00:00', 'dev', vx, 'dst', UNDER_B]);
  sh('ip', ['-n', A, 'addr', 'add', `${OVER_A}/24`, 'dev', vx]);
  sh('ip', ['-n', A, 'link', 'set', vx, 'up']);
}

afterAll(() => {
  cleanupPrefix(P);
  fs.rmSync(dir, { recursive: true, force: true });
});

(isRoot() ? test : test.skip)(
  "the kernel's VXLAN device takes our encapsulation and its reply decodes with our codec",
  () => {
    setUp();
    const script = path.join(dir, 'peer.js');
    fs.writeFileSync(script, PEER);
    const r = spawnSync('ip', ['netns', 'exec', B, process.execPath, script], { encoding: 'utf8', timeout: 20000 });
    expect(r.stderr).toBe('');
    const received = JSON.parse(r.stdout) as { from: string; vni?: number; frame?: string; drop?: string }[];
    const replies = received.filter((d) => d.frame?.slice(24, 28) === '0806' && d.frame.slice(40, 44) === '0002');
    expect(replies).toHaveLength(1);
    const reply = replies[0];
    expect(reply.from).toBe(UNDER_A);
    expect(reply.vni).toBe(100);
    const f = reply.frame as string;
    expect(f.slice(0, 12)).toBe(MAC_B); // to B's inner MAC
    expect(f.slice(56, 64)).toBe(ipHex(OVER_A)); // sender: A's overlay address
    expect(f.slice(76, 84)).toBe(ipHex(OVER_B)); // target: B
    // The kernel counted our datagram as a frame received on its VXLAN device.
    const stats = JSON.parse(sh('ip', ['-n', A, '-s', '-j', 'link', 'show', `${P}vx`]))[0].stats64.rx;
    expect(stats.packets).toBeGreaterThanOrEqual(1);
  },
  30000,
);
