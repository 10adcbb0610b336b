/**
 * Tunnel ports of the userspace datapath over real UDP sockets on the loopback interface (127.0.0.1 and
 * 127.0.0.2, no root needed): set(tunnel(...)) + output encapsulates and sends to the destination; the receiving
 * port decapsulates, keys the frame with tun_id, the remote and the local address, and a flow matching those
 * words is hit; another VNI, an address that is no remote and a malformed datagram are dropped and counted; a taken
 * UDP port or a missing local address fails addPort itself. VXLAN and Geneve alike.
 */
import * as dgram from 'dgram';
import { formatFlowKey, parseActions, parseFlow } from '../../../src/flow';
import { DatapathError, type DpTunnelConfig, type Upcall } from '../../../src/datapath/types';
import { UserspaceDatapath } from '../../../src/datapath/userspace/datapath';
import { encapsulate } from '../../../src/datapath/userspace/tunnel-header';
import { buildFrame } from '../flow/frames';

const A = '127.0.0.1';
const B = '127.0.0.2';
const frame = buildFrame({ src: 2, dst: 3, ethType: 0x0806, arp: { op: 1, sha: 2, sip: 1, tha: 0, tip: 2 } });

function tunnel(kind: 'vxlan' | 'geneve', local: string, remote: string, port: number, vni = 100): DpTunnelConfig {
  return { kind, vni, remotes: [remote], local, family: 4, dstPort: port, ttl: 64, df: false };
}

const until = async (done: () => boolean): Promise<void> => {
  for (let i = 0; i < 100 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
};

/** Two datapaths, each with one tunnel port (number 1) to the other; B's upcalls are collected. */
function pair(kind: 'vxlan' | 'geneve', port: number, vniB = 100) {
  const a = new UserspaceDatapath('tun-a');
  const b = new UserspaceDatapath('tun-b');
  a.addPort({ no: 1, name: 'vxa', type: 'tunnel', tunnel: tunnel(kind, A, B, port) });
  b.addPort({ no: 1, name: 'vxb', type: 'tunnel', tunnel: tunnel(kind, B, A, port, vniB) });
  const upcalls: Upcall[] = [];
  b.setUpcallHandler((batch) => upcalls.push(...batch.map((u) => ({ ...u, packet: Uint8Array.from(u.packet) }))));
  const send = () => a.execute(frame, parseActions(`set(tunnel(tun_id=0x64,dst=${B},ttl=64)),1`).actions, 0);
  return { a, b, upcalls, send, close: () => (a.destroy(), b.destroy()) };
}

const basePort = 20000 + (process.pid % 20000);

describe.each(['vxlan', 'geneve'] as const)('%s tunnel port of the userspace datapath', (kind) => {
  const port = basePort + (kind === 'vxlan' ? 0 : 1);

  test('encapsulates to the set(tunnel) destination; the peer decapsulates and keys tun_id, remote, local', async () => {
    const p = pair(kind, port);
    try {
      p.send();
      await until(() => p.upcalls.length > 0);
      expect(p.upcalls).toHaveLength(1);
      const u = p.upcalls[0];
      expect(u.inPort).toBe(1);
      expect(Buffer.from(u.packet).equals(Buffer.from(frame))).toBe(true);
      expect(formatFlowKey(u.key)).toMatch(
        /,tunnel\(tun_id=0x64,src=127\.0\.0\.1,dst=127\.0\.0\.2,ttl=0,flags\(key\)\),in_port\(1\),/,
      );
      const [ta] = p.a.ports();
      const [tb] = p.b.ports();
      expect(ta.tunnelStats?.remotes).toEqual([
        { address: B, rxPackets: 0, rxBytes: 0, txPackets: 1, txBytes: frame.length },
      ]);
      expect(tb.tunnelStats?.remotes).toEqual([
        { address: A, rxPackets: 1, rxBytes: frame.length, txPackets: 0, txBytes: 0 },
      ]);
      expect(tb.stats.rxPackets).toBe(1);
    } finally {
      p.close();
    }
  });

  test('a flow matching the tunnel words is hit; one for another remote is not', async () => {
    const p = pair(kind, port);
    try {
      const mine = parseFlow(`tunnel(tun_id=0x64,src=${A},dst=${B},ttl=0/0),in_port(1),eth(),eth_type(0x0806)`);
      const other = parseFlow(`tunnel(tun_id=0x64,src=127.0.0.9,dst=${B},ttl=0/0),in_port(1),eth(),eth_type(0x0806)`);
      p.b.putFlow({ key: mine.key, mask: mine.mask }, [], { mode: 'create' });
      p.b.putFlow({ key: other.key, mask: other.mask }, [], { mode: 'create' });
      p.send();
      await until(() => p.b.stats().hit > 0);
      expect(p.b.stats()).toEqual(expect.objectContaining({ hit: 1, missed: 0 }));
      const hits = p.b.dumpFlows().map((f) => f.stats.packets);
      expect(hits.sort()).toEqual([0, 1]);
    } finally {
      p.close();
    }
  });

  test('another VNI, an address that is no remote, and a malformed datagram are dropped and counted', async () => {
    const p = pair(kind, port, 200);
    const stranger = dgram.createSocket('udp4');
    try {
      p.send();
      await new Promise<void>((r) => stranger.bind(0, '127.0.0.3', () => r()));
      stranger.send(encapsulate(kind, 200, frame), port, B);
      stranger.send(Buffer.alloc(4), port, B);
      await until(() => {
        const t = p.b.ports()[0].tunnelStats!;
        return t.rxOtherVni + t.rxUnknownRemote >= 2;
      });
      const [tb] = p.b.ports();
      expect(tb.tunnelStats).toEqual(expect.objectContaining({ rxOtherVni: 1, rxUnknownRemote: 2, rxMalformed: 0 }));
      expect(tb.stats.rxDropped).toBe(3);
      expect(p.upcalls).toHaveLength(0);
    } finally {
      stranger.close();
      p.close();
    }
  });
});

describe('opening a tunnel port', () => {
  test('a UDP port already taken is EBUSY, a local address the namespace lacks is ENOENT; nothing is added', () => {
    const dp = new UserspaceDatapath('tun-c');
    const port = basePort + 2;
    try {
      dp.addPort({ no: 1, name: 'vx1', type: 'tunnel', tunnel: tunnel('vxlan', A, B, port) });
      const taken = () =>
        dp.addPort({ no: 2, name: 'vx2', type: 'tunnel', tunnel: tunnel('vxlan', A, '127.0.0.5', port, 7) });
      expect(taken).toThrow(DatapathError);
      expect(taken).toThrow(`vx2: UDP port ${A}:${port} is already taken by another socket in this namespace`);
      const missing = () =>
        dp.addPort({ no: 3, name: 'vx3', type: 'tunnel', tunnel: tunnel('vxlan', '198.18.203.99', B, port) });
      expect(missing).toThrow('vx3: local address 198.18.203.99 is on no interface of this namespace');
      expect(dp.ports().map((p) => p.name)).toEqual(['vx1']);
    } finally {
      dp.destroy();
    }
  });

  test('removing a tunnel port, or destroying its datapath, closes its socket: the UDP port is free again', () => {
    const port = basePort + 4;
    const dp = new UserspaceDatapath('tun-e');
    try {
      dp.addPort({ no: 1, name: 'vx1', type: 'tunnel', tunnel: tunnel('vxlan', A, B, port) });
      dp.removePort(1);
      expect(dp.ports()).toEqual([]);
      dp.addPort({ no: 1, name: 'vx1', type: 'tunnel', tunnel: tunnel('vxlan', A, B, port) });
    } finally {
      dp.destroy();
    }
    const again = new UserspaceDatapath('tun-f');
    try {
      again.addPort({ no: 1, name: 'vx1', type: 'tunnel', tunnel: tunnel('vxlan', A, B, port) });
    } finally {
      again.destroy();
    }
  });

  test('an output to a tunnel port without set(tunnel) counts a transmit error and sends nothing', () => {
    const dp = new UserspaceDatapath('tun-d');
    try {
      dp.addPort({ no: 1, name: 'vx1', type: 'tunnel', tunnel: tunnel('vxlan', A, B, basePort + 3) });
      dp.execute(frame, parseActions('1').actions, 0);
      const [p] = dp.ports();
      expect(p.stats).toEqual(expect.objectContaining({ txPackets: 0, txErrors: 1 }));
    } finally {
      dp.destroy();
    }
  });
});
