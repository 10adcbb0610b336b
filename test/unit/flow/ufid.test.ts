import { generateUfid, megaflowUfid, parseFlow, ufidMapKey, type FlowKey, type FlowMask } from '../../../src/flow';
import { prng } from './helpers';

const keyOf = (text: string): FlowKey => {
  const r = parseFlow(text);
  return r.key;
};
const L2: FlowMask = { inPort: 0xffffffff, eth: { src: 0xffffffffffff, dst: 0xffffffffffff } };
const A = 'in_port(1),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x0800)';
const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex');

describe('megaflowUfid', () => {
  test('is 16 bytes and the same for the same megaflow, run after run', () => {
    const u = megaflowUfid(keyOf(A), L2);
    expect(u).toHaveLength(16);
    expect(hex(megaflowUfid(keyOf(A), L2))).toBe(hex(u));
  });

  test('is the same for packets that differ only in wildcarded fields (one megaflow, one UFID)', () => {
    const other = `${A},ipv4(src=198.18.0.1,dst=198.18.0.2,proto=6,tos=0,ttl=64,frag=no)`;
    expect(hex(megaflowUfid(keyOf(other), L2))).toBe(hex(megaflowUfid(keyOf(A), L2)));
  });

  test.each([
    ['another in_port', A.replace('in_port(1)', 'in_port(2)')],
    ['another source MAC', A.replace('src=50:54:00:00:00:01', 'src=50:54:00:00:00:03')],
    ['another destination MAC', A.replace('dst=50:54:00:00:00:02', 'dst=50:54:00:00:00:04')],
  ])('differs for %s', (_what, text) => {
    expect(hex(megaflowUfid(keyOf(text), L2))).not.toBe(hex(megaflowUfid(keyOf(A), L2)));
  });

  test('differs when only the mask differs', () => {
    const srcOnly: FlowMask = { inPort: 0xffffffff, eth: { src: 0xffffffffffff, dst: 0 } };
    expect(hex(megaflowUfid(keyOf(A), srcOnly))).not.toBe(hex(megaflowUfid(keyOf(A), L2)));
  });

  test('is its own scheme, not generateUfid of the netlink encoding', () => {
    expect(hex(megaflowUfid(keyOf(A), L2))).not.toBe(hex(generateUfid(keyOf(A), L2)));
  });
});

describe('ufidMapKey', () => {
  test('is one key per UFID: equal bytes give equal keys, any byte changed another key (10,000 seeded UFIDs)', () => {
    const r = prng(20261205);
    const keys = new Map<string, string>();
    for (let i = 0; i < 10_000; i++) {
      const u = Uint8Array.from({ length: 16 }, () => Math.floor(r() * 256));
      const k = ufidMapKey(u);
      expect(k).toHaveLength(8);
      expect(ufidMapKey(Uint8Array.from(u))).toBe(k);
      const other = Uint8Array.from(u);
      other[i % 16] ^= 1 << (i % 8);
      expect(ufidMapKey(other)).not.toBe(k);
      if (keys.has(k)) expect(keys.get(k)).toBe(hex(u));
      keys.set(k, hex(u));
    }
    expect(keys.size).toBe(10_000);
  });
});
