import { parseFlow, parseActions } from '../../../src/flow/parse';
import {
  encodeKey,
  encodeMask,
  decodeKey,
  decodeMask,
  encodeActions,
  decodeActions,
  FlowDecodeError,
} from '../../../src/flow/codec';
import { NlAttrWriter, RTNETLINK_RULES, readAttrs, NLA_F_NESTED } from '../../../src/netlink/attr';
import { HOST_IS_LITTLE_ENDIAN } from '../../../src/flow/constants';
import { goldenLines } from './helpers';
import { corpus, judge } from './corpus';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
/** Little-endian hosts only: golden bytes include host-order nlattr headers and u32s. */
const le = HOST_IS_LITTLE_ENDIAN ? test : test.skip;

describe('netlink attribute helpers', () => {
  test('4-byte alignment and zero padding', () => {
    const b = new NlAttrWriter()
      .put(5, Uint8Array.of(1, 2, 3))
      .putU32(6, 7)
      .finish();
    expect(b.length).toBe(8 + 8);
    expect([...b.subarray(4, 8)]).toEqual([1, 2, 3, 0]);
    const attrs = readAttrs(b);
    expect(attrs.map((a) => [a.type, a.payload.length])).toEqual([
      [5, 3],
      [6, 4],
    ]);
  });
  test('nested with NLA_F_NESTED is read back with the flag stripped', () => {
    const w = new NlAttrWriter(RTNETLINK_RULES);
    const t = w.beginNested(1);
    w.putU32(2, 9);
    w.endNested(t);
    const [a] = readAttrs(w.finish());
    expect(a.type).toBe(1);
    expect(a.nestedFlag).toBe(true);
    expect(readAttrs(a.payload)[0].type).toBe(2);
    expect(NLA_F_NESTED).toBe(0x8000);
  });
  test('truncated buffers are rejected', () => {
    expect(() => readAttrs(Uint8Array.of(8, 0, 1, 0))).toThrow();
    expect(() => readAttrs(Uint8Array.of(1, 2))).toThrow(/unknown bytes/);
  });
});

describe('golden key bytes', () => {
  le('ethernet is src then dst; ethertype big-endian; in_port host order', () => {
    const f = parseFlow(
      'in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x0806),arp(sip=1.2.3.4,tip=5.6.7.8,op=1,sha=00:0f:10:11:12:13,tha=00:14:15:16:17:18)',
    );
    expect(hex(encodeKey(f.key))).toBe(
      '0800030001000000' + // IN_PORT u32 host order
        '1000040000010203040510111213141' +
        '5' + // ETHERNET src then dst
        '0600060008060000' + // ETHERTYPE be16 + 2 pad
        '1c000d00' +
        '01020304' +
        '05060708' +
        '0001' +
        '000f10111213' +
        '001415161718' +
        '0000', // ARP 24 bytes
    );
  });
  le('ipv4 / tcp / tcp_flags layouts', () => {
    const f = parseFlow(
      'eth(),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,tos=0x10,ttl=64,frag=first),tcp(src=80,dst=8080),tcp_flags(syn|ack)',
    );
    const attrs = readAttrs(encodeKey(f.key));
    expect(attrs.map((a) => [a.type, hex(a.payload)])).toEqual([
      [4, '000000000000000000000000'],
      [6, '0800'],
      [7, '0a0000010a00000206104001'],
      [9, '00501f90'],
      [18, '0012'],
    ]);
    const masks = readAttrs(encodeMask(f.key, f.mask));
    expect(masks.map((a) => hex(a.payload))).toEqual([
      '000000000000000000000000',
      'ffff',
      'ffffffffffffffffffffffff',
      'ffffffff',
      'ffff',
    ]);
  });
  le('ipv6 (40 bytes) and nd (28 bytes)', () => {
    const f = parseFlow(
      'eth(),eth_type(0x86dd),ipv6(src=::1,dst=::2,label=0x12345,proto=58,tclass=0x70,hlimit=128,frag=no),icmpv6(type=136,code=0),nd(target=::3,sll=00:05:06:07:08:09,tll=00:0a:0b:0c:0d:0e)',
    );
    const attrs = readAttrs(encodeKey(f.key));
    const ip6 = attrs.find((a) => a.type === 8)!;
    expect(hex(ip6.payload)).toBe(
      '00000000000000000000000000000001' + '00000000000000000000000000000002' + '00012345' + '3a708000',
    );
    const nd = attrs.find((a) => a.type === 14)!;
    expect(hex(nd.payload)).toBe('00000000000000000000000000000003' + '000506070809' + '000a0b0c0d0e');
    expect(
      hex(
        readAttrs(encodeMask(f.key, f.mask))
          .find((a) => a.type === 8)!
          .payload.subarray(32, 36),
      ),
    ).toBe('000fffff');
  });
  le('vlan + encap nesting', () => {
    const f = parseFlow('in_port(1),eth(),eth_type(0x8100),vlan(vid=99,pcp=7),encap(eth_type(0x0800),ipv4())');
    const attrs = readAttrs(encodeKey(f.key));
    expect(attrs.map((a) => a.type)).toEqual([3, 4, 6, 5, 1]);
    expect(hex(attrs[3].payload)).toBe('f063'); // pcp 7, CFI, vid 99
    expect(readAttrs(attrs[4].payload).map((a) => a.type)).toEqual([6, 7]);
    const m = readAttrs(encodeMask(f.key, f.mask));
    expect(hex(m[3].payload)).toBe('ffff');
  });
});

describe('golden action bytes', () => {
  le('output, push_vlan, pop_vlan, set, set_masked, userspace, sample, clone, recirc, trunc, drop', () => {
    const enc = (s: string): string[] =>
      readAttrs(encodeActions(parseActions(s).actions)).map((a) => `${a.type}:${hex(a.payload)}`);
    expect(enc('2')).toEqual(['1:02000000']);
    expect(enc('push_vlan(vid=12,pcp=0)')).toEqual(['4:8100100c']);
    expect(enc('push_vlan(tpid=0x88a8,vid=13,pcp=5,cfi=0)')).toEqual(['4:88a8a00d']);
    expect(enc('pop_vlan')).toEqual(['5:']);
    expect(enc('set(tcp(src=80,dst=8080))')).toEqual(['3:0800090000501f90']);
    expect(enc('set(ipv4(tos=0x80/0xfc))')).toEqual([
      '11:1c000700' + '000000000000000000800000' + '000000000000000000fc0000',
    ]);
    expect(enc('recirc(0x5)')).toEqual(['7:05000000']);
    expect(enc('trunc(100)')).toEqual(['13:64000000']);
    expect(enc('drop')).toEqual(['24:00000000']);
    expect(enc('userspace(pid=7,userdata(01020304),actions,tunnel_out_port=3)')).toEqual([
      '2:08000100070000000800020001020304080003000300000004000400',
    ]);
    expect(enc('sample(sample=50.0%,actions(1))')).toEqual(['6:0800010000000080' + '0c000200' + '0800010001000000']);
    expect(enc('clone(1,2)')).toEqual(['20:08000100010000000800010002000000']);
  });
});

describe('decode(encode(x)) deep-equals x', () => {
  const flows = [...goldenLines('ovs-odp-keys.txt'), ...corpus().map((c) => c.flow)];
  test.each(
    flows.filter((f) => {
      try {
        // A key mixing IPv4 and IPv6 tunnel endpoints parses but does not decode (the kernel's rule; see below).
        parseFlow(f);
        return !/tunnel\([^)]*src=[\d.]+[^)]*ipv6_dst/.test(f);
      } catch {
        return false;
      }
    }),
  )('%s', (line) => {
    const f = parseFlow(line);
    const key = decodeKey(encodeKey(f.key));
    expect(key).toEqual(f.key);
    expect(decodeMask(encodeMask(f.key, f.mask), key)).toEqual(f.mask);
  });
  test.each(goldenLines('ovs-odp-actions.txt'))('actions %s', (line) => {
    const a = parseActions(line).actions;
    expect(decodeActions(encodeActions(a))).toEqual(a);
  });
  test('corpus actions', () => {
    for (const c of corpus()) {
      const v = judge(c);
      if (v.ok) expect(decodeActions(encodeActions(v.actions.actions))).toEqual(v.actions.actions);
    }
  });
});

describe('tunnel keys (OVS_KEY_ATTR_TUNNEL)', () => {
  test('mixed IPv4 and IPv6 endpoints do not decode, as the kernel refuses them', () => {
    const f = parseFlow('tunnel(src=198.18.0.1,ipv6_dst=2001:db8::2,ttl=64),in_port(1),eth()');
    expect(() => decodeKey(encodeKey(f.key))).toThrow('Mixed IPv4 and IPv6 tunnel attributes');
  });
  test('a zero TTL is still sent, as the kernel and OVS always send TTL', () => {
    const f = parseFlow('tunnel(dst=198.18.0.1,ttl=0),in_port(1),eth()');
    const b = Buffer.from(encodeKey(f.key)).toString('hex');
    expect(b).toContain('05000400' + '00000000');
    expect(decodeKey(encodeKey(f.key)).tunnel?.ttl).toBe(0);
  });
  test('Geneve options and unknown tunnel attributes are refused by name or number', () => {
    const nested = (children: Uint8Array): Uint8Array => new NlAttrWriter().put(16, children).finish();
    const geneve = new NlAttrWriter().put(8, new Uint8Array(8)).finish();
    expect(() => decodeKey(nested(geneve))).toThrow(/geneve options are valid for the kernel but not modelled/);
    const bad = new NlAttrWriter().put(17, new Uint8Array(4)).finish();
    expect(() => decodeKey(nested(bad))).toThrow('Tunnel attr 17 out of range max 16');
    const short = new NlAttrWriter().put(0, new Uint8Array(4)).finish();
    expect(() => decodeKey(nested(short))).toThrow('Tunnel attr 0 has unexpected len 4 expected 8');
  });
  test('a masked set(tunnel) does not decode: the kernel takes a tunnel key only unmasked', () => {
    const t = new NlAttrWriter().put(4, Uint8Array.of(64)).finish();
    const set = new NlAttrWriter().put(11, new NlAttrWriter().put(16, t).finish()).finish();
    expect(() => decodeActions(set)).toThrow('set: a tunnel key cannot be masked');
  });
});

describe('decode applies the kernel attribute rules', () => {
  const attr = (type: number, payload: number[]): Uint8Array =>
    new NlAttrWriter().put(type, Uint8Array.from(payload)).finish();
  test('wrong fixed length', () =>
    expect(() => decodeKey(attr(4, [1, 2, 3]))).toThrow('Key 4 has unexpected len 3 expected 12'));
  test('ARP must be 24 bytes', () =>
    expect(() => decodeKey(attr(13, new Array(22).fill(0)))).toThrow('Key 13 has unexpected len 22 expected 24'));
  test('out of range', () =>
    expect(() => decodeKey(attr(40, [0, 0, 0, 0]))).toThrow('Key type 40 is out of range max 32'));
  test('userspace-only types', () =>
    expect(() => decodeKey(attr(29, [0, 0, 0, 0]))).toThrow('Key type 29 is not supported'));
  test('duplicates', () => {
    const w = new NlAttrWriter().putU32(3, 1).putU32(3, 2).finish();
    expect(() => decodeKey(w)).toThrow('Duplicate key (type 3).');
  });
  test('errors are FlowDecodeErrors', () => expect(() => decodeKey(attr(40, []))).toThrow(FlowDecodeError));
});
