import { generateUfid, megaflowUfid, parseFlow, type FlowKey, type FlowMask } from '../../../src/flow';

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
