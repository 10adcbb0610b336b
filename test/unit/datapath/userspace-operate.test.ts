/**
 * UserspaceDatapath.operate(): ops run in order, each failure is reported at its index and does not stop the
 * ops after it. No ports are needed: puts go to the flow table, executes to no port.
 */
import { formatActions, parseActions, parseFlow } from '../../../src/flow';
import { DatapathError, type DpOp } from '../../../src/datapath/types';
import { UserspaceDatapath } from '../../../src/datapath/userspace/datapath';
import { buildFrame } from '../flow/frames';

const put = (match: string, actions: string, opts: Extract<DpOp, { type: 'put' }>['opts']): DpOp => {
  const f = parseFlow(match);
  return { type: 'put', flow: { key: f.key, mask: f.mask }, actions: parseActions(actions).actions, opts };
};
const MATCH = 'in_port(1),eth(),eth_type(0x0806)';
const frame = buildFrame({ src: 2, dst: 3, ethType: 0x0806, arp: { op: 1, sha: 2, sip: 1, tha: 0, tip: 2 } });

describe('UserspaceDatapath.operate', () => {
  test('applies the ops in order and reports each failure at its index', () => {
    const dp = new UserspaceDatapath('br-op');
    try {
      const results = dp.operate([
        put(MATCH, '2', { mode: 'modify' }),
        put(MATCH, '2', { mode: 'modify', mayCreate: true }),
        put(MATCH, '3', { mode: 'create' }),
        put(MATCH, '4', { mode: 'modify', mayCreate: true }),
        { type: 'execute', packet: new Uint8Array(4), actions: parseActions('2').actions, inPort: 1 },
        { type: 'execute', packet: frame, actions: parseActions('2').actions, inPort: 1 },
      ]);
      expect(results.map((e) => (e instanceof DatapathError ? e.code : e))).toEqual([
        'ENOENT',
        undefined,
        'EEXIST',
        undefined,
        'EINVAL',
        undefined,
      ]);
      expect(dp.dumpFlows().map((f) => formatActions(f.actions))).toEqual(['4']);
    } finally {
      dp.destroy();
    }
  });

  test('an action the datapath cannot run fails its put only', () => {
    const dp = new UserspaceDatapath('br-op');
    try {
      const results = dp.operate([
        put(MATCH, 'set(tcp(src=1))', { mode: 'create' }),
        put('in_port(2),eth(),eth_type(0x0806)', '1', { mode: 'create' }),
      ]);
      expect(results.map((e) => (e instanceof DatapathError ? e.code : e))).toEqual(['EOPNOTSUPP', undefined]);
      expect(dp.dumpFlows()).toHaveLength(1);
    } finally {
      dp.destroy();
    }
  });

  test('tunnel(tun_id, src or ipv6_src, dst) matches and set(tunnel(...)) are taken; what it cannot key on or send is refused', () => {
    const dp = new UserspaceDatapath('br-op');
    try {
      const results = dp.operate([
        put('tunnel(tun_id=0x64,src=198.18.0.2,dst=198.18.0.1,ttl=64),in_port(1),eth()', '2', { mode: 'create' }),
        put('tunnel(tun_id=0x64,src=198.18.0.2,dst=198.18.0.1,ttl=0/0),in_port(1),eth()', '2', { mode: 'create' }),
        put(MATCH, 'set(tunnel(tun_id=0x64,dst=198.18.0.2,ttl=64)),2', { mode: 'create' }),
        put('in_port(3),eth()', 'set(tunnel(tun_id=0x64,ipv6_dst=2001:db8::2,ttl=64)),2', { mode: 'create' }),
        put('in_port(4),eth()', 'set(tunnel(tun_id=0x1000000,dst=198.18.0.2,ttl=64)),2', { mode: 'create' }),
      ]);
      expect(results.map((e) => (e instanceof DatapathError ? `${e.code} ${e.message}` : e))).toEqual([
        'EOPNOTSUPP the userspace datapath matches tunnel(tun_id, src, dst, ipv6_src, ipv6_dst) only, IPv6 endpoints exactly: not tos, ttl, tp_src, tp_dst, flags or part of an IPv6 address',
        undefined,
        undefined,
        undefined,
        'EINVAL set(tunnel(...)): tun_id does not fit a 24-bit VNI (0..16777215)',
      ]);
      expect(dp.dumpFlows()).toHaveLength(3);
    } finally {
      dp.destroy();
    }
  });
});
