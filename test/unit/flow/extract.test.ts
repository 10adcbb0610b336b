import { extractFlowKey, extractPacked } from '../../../src/flow/extract';
import { newPacketKey } from '../../../src/flow/packed';
import { formatFlowKey } from '../../../src/flow/format';
import { buildFrame } from './frames';
import { prng } from './helpers';

const fmt = (frame: Uint8Array, opts?: { vnetHdr?: boolean }): string =>
  formatFlowKey(extractFlowKey(frame, 0, frame.length, 3, opts));
const V6A = Uint8Array.from([0xfe, 0x80, ...new Array(13).fill(0), 1]);
const V6B = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 5]);
const BASE =
  'skb_priority(0),skb_mark(0),recirc_id(0),dp_hash(0),in_port(3),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02)';

describe('extractFlowKey', () => {
  test('IPv4 TCP with flags', () => {
    const f = buildFrame({
      src: 1,
      dst: 2,
      ethType: 0x0800,
      ipv4: { src: 0x0a000001, dst: 0x0a000002, proto: 6, tos: 0x10, ttl: 64, frag: 0 },
      l4: { src: 1234, dst: 80, flags: 0x12 },
    });
    expect(fmt(f)).toBe(
      `${BASE},eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,tos=0x10,ttl=64,frag=no),tcp(src=1234,dst=80),tcp_flags(syn|ack)`,
    );
  });
  test('IPv4 fragments: first keeps L4, later drops it', () => {
    const ip = { src: 1, dst: 2, proto: 17, tos: 0, ttl: 1, frag: 1 };
    expect(fmt(buildFrame({ src: 1, dst: 2, ethType: 0x0800, ipv4: ip, l4: { src: 5, dst: 53 } }))).toContain(
      'frag=first),udp(src=5,dst=53)',
    );
    expect(fmt(buildFrame({ src: 1, dst: 2, ethType: 0x0800, ipv4: { ...ip, frag: 2 } }))).toMatch(/frag=later\)$/);
  });
  test('VLAN and QinQ (CFI set in the key)', () => {
    const ip = { src: 1, dst: 2, proto: 1, tos: 0, ttl: 1, frag: 0 };
    expect(
      fmt(
        buildFrame({
          src: 1,
          dst: 2,
          vlans: [{ tpid: 0x8100, tci: 10 }],
          ethType: 0x0800,
          ipv4: ip,
          icmp: { type: 8, code: 0 },
        }),
      ),
    ).toBe(
      `${BASE},eth_type(0x8100),vlan(vid=10,pcp=0),encap(eth_type(0x0800),ipv4(src=0.0.0.1,dst=0.0.0.2,proto=1,tos=0,ttl=1,frag=no),icmp(type=8,code=0))`,
    );
    expect(
      fmt(
        buildFrame({
          src: 1,
          dst: 2,
          vlans: [
            { tpid: 0x88a8, tci: 100 },
            { tpid: 0x8100, tci: 20 | (5 << 13) },
          ],
          ethType: 0x0806,
          arp: { op: 1, sha: 1, sip: 2, tha: 0, tip: 3 },
        }),
      ),
    ).toBe(
      `${BASE},eth_type(0x88a8),vlan(vid=100,pcp=0),encap(eth_type(0x8100),vlan(vid=20,pcp=5),encap(eth_type(0x0806),arp(sip=0.0.0.2,tip=0.0.0.3,op=1,sha=00:00:00:00:00:01,tha=00:00:00:00:00:00)))`,
    );
  });
  test('IPv6 with fragment header, ICMPv6 ND with options', () => {
    const ip6 = { src: V6A, dst: V6B, proto: 58, tclass: 0, hlimit: 255, label: 0x12345, frag: 0 };
    expect(
      fmt(
        buildFrame({
          src: 1,
          dst: 2,
          ethType: 0x86dd,
          ipv6: ip6,
          icmp: { type: 135, code: 0, ndTarget: V6B, ll: 0x0a0b0c0d0e0f },
        }),
      ),
    ).toBe(
      `${BASE},eth_type(0x86dd),ipv6(src=fe80::1,dst=2001:db8::5,label=0x12345,proto=58,tclass=0,hlimit=255,frag=no),icmpv6(type=135,code=0),nd(target=2001:db8::5,sll=0a:0b:0c:0d:0e:0f,tll=00:00:00:00:00:00)`,
    );
    expect(
      fmt(
        buildFrame({ src: 1, dst: 2, ethType: 0x86dd, ipv6: { ...ip6, proto: 17, frag: 1 }, l4: { src: 1, dst: 2 } }),
      ),
    ).toContain('frag=first),udp(src=1,dst=2)');
    expect(fmt(buildFrame({ src: 1, dst: 2, ethType: 0x86dd, ipv6: { ...ip6, proto: 17, frag: 2 } }))).toMatch(
      /proto=17,tclass=0,hlimit=255,frag=later\)$/,
    );
  });
  test('IPv6 hop-by-hop extension header is skipped', () => {
    const f = buildFrame({
      src: 1,
      dst: 2,
      ethType: 0x86dd,
      ipv6: { src: V6A, dst: V6B, proto: 0, tclass: 0, hlimit: 1, label: 0, frag: 0 },
    });
    // Append a hop-by-hop header (next = UDP) and a UDP header.
    const withExt = Uint8Array.from([...f, 17, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 9, 0, 8, 0, 0]);
    expect(fmt(withExt)).toContain('proto=17,tclass=0,hlimit=1,frag=no),udp(src=7,dst=9)');
  });
  test('virtio_net_hdr is skipped', () => {
    const f = buildFrame({ src: 1, dst: 2, ethType: 0x0806, arp: { op: 2, sha: 1, sip: 2, tha: 3, tip: 4 } });
    expect(fmt(Uint8Array.from([...new Array(10).fill(0xee), ...f]), { vnetHdr: true })).toBe(fmt(f));
  });
  test('truncated headers leave upper layers zero', () => {
    const f = buildFrame({
      src: 1,
      dst: 2,
      ethType: 0x0800,
      ipv4: { src: 1, dst: 2, proto: 6, tos: 0, ttl: 1, frag: 0 },
      l4: { src: 1, dst: 2, flags: 2 },
    });
    expect(fmt(f.subarray(0, 14 + 20 + 10))).toBe(
      `${BASE},eth_type(0x0800),ipv4(src=0.0.0.1,dst=0.0.0.2,proto=6,tos=0,ttl=1,frag=no),tcp(src=0,dst=0),tcp_flags(0)`,
    );
    expect(fmt(f.subarray(0, 20))).toBe(
      `${BASE},eth_type(0x0800),ipv4(src=0.0.0.0,dst=0.0.0.0,proto=0,tos=0,ttl=0,frag=no)`,
    );
    expect(fmt(f.subarray(0, 5))).toContain('eth(src=00:00:00:00:00:00,dst=00:00:00:00:00:00)');
  });
  test('802.3 length frames get EtherType 0x0004 (ETH_P_802_2)', () => {
    const f = buildFrame({ src: 1, dst: 2, ethType: 0x0040, payload: 64 });
    expect(fmt(f)).toBe(`${BASE},eth_type(0x0004)`);
  });
});

describe('extract never throws (seeded fuzz)', () => {
  test('1,000,000 random and mutated frames', () => {
    const r = prng(7);
    const seeds = [
      buildFrame({
        src: 1,
        dst: 2,
        ethType: 0x0800,
        ipv4: { src: 1, dst: 2, proto: 6, tos: 0, ttl: 1, frag: 0 },
        l4: { src: 1, dst: 2, flags: 2 },
      }),
      buildFrame({
        src: 1,
        dst: 2,
        vlans: [
          { tpid: 0x88a8, tci: 1 },
          { tpid: 0x8100, tci: 2 },
        ],
        ethType: 0x86dd,
        ipv6: { src: V6A, dst: V6B, proto: 58, tclass: 0, hlimit: 1, label: 0, frag: 0 },
        icmp: { type: 136, code: 0, ndTarget: V6A, ll: 5 },
      }),
      buildFrame({
        src: 1,
        dst: 2,
        ethType: 0x86dd,
        ipv6: { src: V6A, dst: V6B, proto: 17, tclass: 0, hlimit: 1, label: 0, frag: 1 },
        l4: { src: 1, dst: 2 },
      }),
      buildFrame({ src: 1, dst: 2, ethType: 0x0806, arp: { op: 1, sha: 1, sip: 2, tha: 3, tip: 4 } }),
      buildFrame({
        src: 1,
        dst: 2,
        ethType: 0x0800,
        ipv4: { src: 1, dst: 2, proto: 132, tos: 0, ttl: 1, frag: 0 },
        l4: { src: 1, dst: 2 },
      }),
    ];
    const buf = new Uint8Array(256);
    const pk = newPacketKey();
    let nonEmpty = 0;
    for (let i = 0; i < 1_000_000; i++) {
      let len: number;
      if (i % 4 === 0) {
        len = Math.floor(r() * 200);
        for (let j = 0; j < len; j += 4) {
          const x = (r() * 4294967296) >>> 0;
          buf[j] = x;
          buf[j + 1] = x >>> 8;
          buf[j + 2] = x >>> 16;
          buf[j + 3] = x >>> 24;
        }
      } else {
        const s = seeds[i % seeds.length];
        buf.set(s);
        len = s.length;
        const flips = 1 + Math.floor(r() * 4);
        for (let k = 0; k < flips; k++) buf[Math.floor(r() * len)] = (r() * 256) | 0;
        if (i % 3 === 0) len = Math.floor(r() * len);
      }
      // Odd offsets/lengths, including ones past the buffer.
      const off = i % 17 === 0 ? Math.floor(r() * 8) : 0;
      const l = i % 13 === 0 ? len + 50 : len - off;
      if (extractPacked(buf, off, l, i & 0xffff, pk, i % 7 === 0 ? { vnetHdr: true } : undefined) > 0) nonEmpty++;
      if (i % 100 === 0) extractFlowKey(buf, off, l, 1);
    }
    expect(nonEmpty).toBeGreaterThan(500_000);
    expect(() => extractFlowKey(new Uint8Array(0), 5, -3, 1)).not.toThrow();
  });
});
