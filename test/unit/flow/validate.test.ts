import { parseFlow, parseActions } from '../../../src/flow/parse';
import { validateFlow } from '../../../src/flow/validate';
import { decodeKey, decodeMask, encodeKey } from '../../../src/flow/codec';
import { FlowError } from '../../../src/flow/types';

/** The first problem for a flow (+ actions), as [column, token, message]. */
function problem(flow: string, actions?: string): [number, string, string] | undefined {
  const p = validateFlow(parseFlow(flow), actions === undefined ? undefined : parseActions(actions))[0];
  return p && [p.column, p.token, p.message];
}
const ok = (flow: string, actions?: string): void => expect(problem(flow, actions)).toBeUndefined();

describe('§3.10 D: missing keys (match_validate)', () => {
  test.each([
    [
      'in_port(1),eth(),eth_type(0x0800)',
      18,
      'eth_type',
      'eth_type(0x0800) requires an ipv4(...) key; add ipv4() to match any IPv4 packet',
    ],
    [
      'in_port(1),eth(),eth_type(0x86dd)',
      18,
      'eth_type',
      'eth_type(0x86dd) requires an ipv6(...) key; add ipv6() to match any IPv6 packet',
    ],
    ['in_port(1),eth(),eth_type(0x0806)', 18, 'eth_type', 'eth_type(0x0806) requires an arp(...) key'],
    ['in_port(1),eth(),eth_type(0x8035)', 18, 'eth_type', 'eth_type(0x8035) requires an arp(...) key'],
    ['in_port(1),eth(),eth_type(0x8847)', 18, 'eth_type', 'requires an mpls(...) key'],
    ['in_port(1),eth(),eth_type(0x894f)', 18, 'eth_type', 'requires an nsh(...) key'],
    [
      'in_port(1),eth(),eth_type(0x0800),ipv4(proto=6)',
      40,
      'proto=6',
      'ipv4(proto=6) requires tcp(...) and tcp_flags(...)',
    ],
    [
      'in_port(1),eth(),eth_type(0x0800),ipv4(proto=6),tcp()',
      40,
      'proto=6',
      'ipv4(proto=6) requires tcp(...) and tcp_flags(...); add tcp_flags(0/0)',
    ],
    ['in_port(1),eth(),eth_type(0x0800),ipv4(proto=17)', 40, 'proto=17', 'ipv4(proto=17) requires udp(...)'],
    ['in_port(1),eth(),eth_type(0x0800),ipv4(proto=132)', 40, 'proto=132', 'requires sctp(...)'],
    ['in_port(1),eth(),eth_type(0x0800),ipv4(proto=1)', 40, 'proto=1', 'ipv4(proto=1) requires icmp(...)'],
    [
      'in_port(1),eth(),eth_type(0x86dd),ipv6(proto=6)',
      40,
      'proto=6',
      'ipv6(proto=6) requires tcp(...) and tcp_flags(...)',
    ],
    ['in_port(1),eth(),eth_type(0x86dd),ipv6(proto=58)', 40, 'proto=58', 'requires icmpv6(...)'],
    [
      'in_port(1),eth(),eth_type(0x86dd),ipv6(proto=58),icmpv6(type=135)',
      57,
      'type=135',
      'icmpv6(type=135) is neighbor discovery and requires an nd(...) key',
    ],
    [
      'eth(),eth_type(0x8100),vlan(vid=1),encap(eth_type(0x0800))',
      42,
      'eth_type',
      'eth_type(0x0800) requires an ipv4(...) key',
    ],
  ])('%s', (flow, col, tok, msg) => {
    const [c, t, m] = problem(flow) ?? [0, '', ''];
    expect([c, t]).toEqual([col, tok]);
    expect(m).toContain(msg);
  });
  test('later fragments need no L4 key', () => ok('eth(),eth_type(0x0800),ipv4(proto=6,frag=later)'));
  test('an all-wildcard L4 key satisfies the rule', () =>
    ok('eth(),eth_type(0x0800),ipv4(proto=6),tcp(),tcp_flags(0/0)'));
});

describe('§3.10 E: mask rules', () => {
  test.each([
    ['eth(),eth_type(0x0800/0),ipv4(src=1.2.3.4)', 'ipv4', 'needs an exact eth_type'],
    ['eth(),eth_type(0x0806/0),arp(op=1)', 'arp', 'needs an exact eth_type'],
    ['eth(),eth_type(0x0800),ipv4(proto=6/0xf0),tcp(dst=80),tcp_flags(0/0)', 'tcp', 'needs an exact ip protocol'],
    ['eth(),eth_type(0x0800),ipv4(proto=6/0xf0),tcp(),tcp_flags(syn)', 'tcp_flags', 'needs an exact ip protocol'],
    ['eth(),eth_type(0x0800),ipv4(proto=17/0xfe),udp(dst=53)', 'udp', 'needs an exact ip protocol'],
    ['eth(),eth_type(0x0800),ipv4(proto=1/0xf),icmp(type=8)', 'icmp', 'needs an exact ip protocol'],
    ['eth(),eth_type(0x0800),ipv4(proto=17,frag=later),udp(dst=53)', 'udp', 'packets carry no L4 header'],
    ['eth(),eth_type(0x86dd),ipv6(proto=58),icmpv6(type=135/0xfe),nd(target=::1)', 'nd', 'needs an exact icmpv6 type'],
    ['eth(),eth_type(0x0800),ipv4(),arp(sip=1.2.3.4)', 'arp', "the flow's eth_type is 0x0800, not 0x0806"],
  ])('%s', (flow, tok, msg) => {
    const [, t, m] = problem(flow) ?? [0, '', ''];
    expect(t).toBe(tok);
    expect(m).toContain(msg);
    expect(m).toContain('Unexpected mask');
  });
  test('masked eth_type is forced exact by the kernel, so L3 masks stay allowed', () =>
    ok('eth(),eth_type(0x0800/0xff00),ipv4(src=1.2.3.4)'));
});

describe('§3.10 B/C: VLAN and L2 rules', () => {
  test.each([
    ['eth(),eth_type(0x8100)', 'eth_type', 'needs vlan(...) and encap(...)'],
    ['eth(),eth_type(0x8100),vlan(vid=3,cfi=0),encap(eth_type(0x0800),ipv4())', 'vlan', 'CFI'],
    ['eth(),eth_type(0x8100),vlan(vid=0,pcp=0,cfi=0),encap(eth_type(0x0800),ipv4())', 'encap', 'truncated VLAN header'],
    [
      'eth(),eth_type(0x8100/0xff00),vlan(vid=3),encap(eth_type(0x0800),ipv4())',
      'eth_type',
      'exact match on VLAN TPID',
    ],
    ['eth(),eth_type(0x8100),vlan(vid=3,cfi=1/0),encap(eth_type(0x0800),ipv4())', 'vlan', 'CFI bit exactly'],
    ['eth(),eth_type(0x0800),vlan(vid=3),ipv4()', 'vlan', 'VLAN attribute unexpected'],
    ['eth(),eth_type(0x0800),encap(ipv4())', 'encap', 'only valid after'],
    ['in_port(65535),eth(),eth_type(0x0806),arp()', 'in_port', 'out of range'],
    ['eth(),eth_type(0x05dc)', 'eth_type', 'less than min 600'],
    ['eth(),eth_type(0x0806),arp(op=256)', 'op=256', 'Unknown ARP opcode'],
    ['in_port(1)', 'in_port', 'Either Ethernet header or EtherType is required'],
    [
      'eth(),eth_type(0x88a8),vlan(vid=1),encap(eth_type(0x8100),vlan(vid=2),encap(eth_type(0x8100),vlan(vid=3),encap(eth_type(0x0800),ipv4())))',
      'eth_type',
      'at most two VLAN tags',
    ],
  ])('%s', (flow, tok, msg) => {
    const [, t, m] = problem(flow) ?? [0, '', ''];
    expect(t).toBe(tok);
    expect(m).toContain(msg);
  });
  test('QinQ is accepted', () =>
    ok('eth(),eth_type(0x88a8),vlan(vid=1),encap(eth_type(0x8100),vlan(vid=2),encap(eth_type(0x0800),ipv4()))'));
  test('IPv6 label and frag range apply to decoded keys', () => {
    const f = parseFlow('eth(),eth_type(0x0800),ipv4(frag=no)');
    const key = decodeKey(encodeKey(f.key));
    (key.ipv4 as { frag: number }).frag = 3;
    const p = validateFlow({ key, mask: decodeMask(undefined, key) });
    expect(p[0].message).toContain('out of range');
  });
});

describe('duplicate keys (§3.10 A)', () => {
  test('parse rejects a repeated key with its column', () => {
    expect(() => parseFlow('eth(),eth(),eth_type(0x0806),arp()')).toThrow(/Duplicate key \(type 4\)/);
    try {
      parseFlow('eth(),eth_type(0x0806),arp(),arp()');
    } catch (e) {
      expect((e as FlowError).column).toBe(30);
      expect((e as FlowError).token).toBe('arp');
    }
  });
});

describe('§3.10 F: actions', () => {
  const F = 'in_port(1),eth(),eth_type(0x0800),ipv4(proto=17),udp()';
  test.each([
    ['65535', '65535', 'out of range'],
    ['push_vlan(vid=1,pcp=0,cfi=0)', 'push_vlan', 'requires the CFI bit'],
    ['push_vlan(tpid=0x9100,vid=1,pcp=0)', 'push_vlan', '802.1Q (0x8100) or 802.1ad (0x88a8)'],
    ['trunc(13)', 'trunc', 'at least 14'],
    ['userspace(pid=0)', 'userspace', 'PID 0'],
    ['set(tcp(dst=1))', 'set', 'needs a flow that matches ip proto=6'],
    ['set(ipv6(src=::1))', 'set', 'needs a flow with eth_type(0x86dd)'],
    ['set(ipv4(src=1.1.1.1,dst=2.2.2.2,proto=6,tos=0,ttl=64,frag=no))', 'set', 'must keep proto=17'],
    ['set(ipv4(proto=6/0xff))', 'set', 'proto and frag cannot be rewritten'],
    ['set(ipv4(tos=0x3/0xfc))', 'set', 'bits outside its mask'],
    ['set(vlan(vid=5))', 'set', 'pop_vlan,push_vlan'],
    ['set(eth_type(0x0800))', 'set', 'cannot set eth_type'],
    ['sample(sample=1.0%,actions(trunc(1)))', 'trunc', 'at least 14'],
    ['clone(65536)', '65536', 'out of range'],
  ])('%s', (acts, tok, msg) => {
    const [, t, m] = problem(F, acts) ?? [0, '', ''];
    expect(t).toBe(tok);
    expect(m).toContain(msg);
  });
  test('pop_vlan needs an Ethernet flow', () => {
    expect(problem('eth_type(0x0800),ipv4()', 'pop_vlan')?.[2]).toContain('needs an Ethernet packet');
  });
  test('set on the inner EtherType of a VLAN flow is allowed', () =>
    ok('eth(),eth_type(0x8100),vlan(vid=1),encap(eth_type(0x0800),ipv4())', 'set(ipv4(ttl=3)),pop_vlan,1'));
  test('action columns point into the action text', () => {
    const p = validateFlow(parseFlow(F), parseActions('1,2,trunc(3)'))[0];
    expect([p.source, p.column, p.token]).toEqual(['actions', 5, 'trunc']);
  });
});
