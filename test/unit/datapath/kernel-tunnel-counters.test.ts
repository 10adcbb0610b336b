/**
 * The kernel datapath's per-remote counters of tunnel ports, from flows: what a flow counts for (received from a
 * remote, dropped on receipt by reason, sent to each remote of its set(tunnel) outputs), and totals that grow by
 * what each reading of a flow's statistics adds and outlive the flow.
 */
import { parseActions, parseFlow } from '../../../src/flow';
import type { DpTunnelConfig } from '../../../src/datapath/types';
import { attribute, TunnelRemoteCounters } from '../../../src/datapath/kernel/tunnel-counters';
import { VXLAN_PORT } from '../../helpers/tunnel-config';

const VX = VXLAN_PORT;
const V6: DpTunnelConfig = { ...VX, family: 6, remotes: ['2001:db8:c8::2'] };
const tunnelOf = (no: number) => (no === 3 ? VX : no === 4 ? V6 : undefined);
const ETH = 'eth(src=02:00:00:00:00:01,dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806)';
const from = (tun: string, port = 3) => parseFlow(`tunnel(${tun},flags(key)),in_port(${port}),${ETH}`).key;
const set = (dst: string) => `set(tunnel(tun_id=0x64,dst=${dst},ttl=64,flags(df|key)))`;

test.each([
  [
    'from a remote',
    from('tun_id=0x64,src=198.18.0.3,dst=198.18.0.1'),
    '1',
    { rx: { port: 3, remote: '198.18.0.3' }, tx: [] },
  ],
  [
    'from an IPv6 remote',
    from('tun_id=0x64,ipv6_src=2001:db8:c8::2,ipv6_dst=2001:db8:c8::1', 4),
    '1',
    { rx: { port: 4, remote: '2001:db8:c8::2' }, tx: [] },
  ],
  [
    'from no remote: a drop',
    from('tun_id=0x64,src=198.18.0.9,dst=198.18.0.1'),
    '',
    { rx: { port: 3, drop: 'rxUnknownRemote' }, tx: [] },
  ],
  [
    'of another VNI: a drop',
    from('tun_id=0xc8,src=198.18.0.2,dst=198.18.0.1'),
    '',
    { rx: { port: 3, drop: 'rxOtherVni' }, tx: [] },
  ],
  [
    'a host flood to both remotes (head-end replication)',
    parseFlow(`in_port(1),${ETH}`).key,
    `2,${set('198.18.0.2')},3,${set('198.18.0.3')},3`,
    {
      tx: [
        { port: 3, remote: '198.18.0.2' },
        { port: 3, remote: '198.18.0.3' },
      ],
    },
  ],
  ['a host flow to no tunnel', parseFlow(`in_port(1),${ETH}`).key, '2', undefined],
] as const)('%s', (_t, key, actions, expected) => {
  expect(attribute(key, parseActions(actions).actions, tunnelOf)).toEqual(expected);
});

test('totals grow by what each reading adds, outlive the flow, and count a flow put again from zero', () => {
  const c = new TunnelRemoteCounters();
  const ufid = new Uint8Array(16).fill(1);
  const flood = attribute(parseFlow(`in_port(1),${ETH}`).key, parseActions(`${set('198.18.0.2')},3`).actions, tunnelOf);
  c.track(ufid, flood, true);
  c.observe(ufid, { packets: 3, bytes: 180, tcpFlags: 0 });
  c.observe(ufid, { packets: 5, bytes: 300, tcpFlags: 0 });
  c.forget(ufid);
  c.observe(ufid, { packets: 9, bytes: 900, tcpFlags: 0 });
  c.track(ufid, flood, true);
  c.observe(ufid, { packets: 1, bytes: 60, tcpFlags: 0 });
  const drop = attribute(from('tun_id=0x64,src=198.18.0.9,dst=198.18.0.1'), [], tunnelOf);
  c.countScreened(drop);
  c.track(new Uint8Array(16).fill(2), drop, true);
  c.observe(new Uint8Array(16).fill(2), { packets: 4, bytes: 240, tcpFlags: 0 });
  expect(c.stats(3, VX)).toEqual({
    remotes: [
      { address: '198.18.0.2', rxPackets: 0, rxBytes: 0, txPackets: 6, txBytes: 360 },
      { address: '198.18.0.3', rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0 },
    ],
    rxUnknownRemote: 5,
    rxOtherVni: 0,
    rxMalformed: 0,
  });
  c.dropPort(3);
  expect(c.stats(3, VX).remotes[0].txPackets).toBe(0);
});

test('a flow taken over counts only what it adds after it is first read', () => {
  const c = new TunnelRemoteCounters();
  const ufid = new Uint8Array(16).fill(3);
  const rx = attribute(from('tun_id=0x64,src=198.18.0.2,dst=198.18.0.1'), parseActions('1').actions, tunnelOf);
  c.adopt(ufid, rx, { packets: 50, bytes: 5000, tcpFlags: 0 });
  c.observe(ufid, { packets: 50, bytes: 5000, tcpFlags: 0 });
  c.observe(ufid, { packets: 52, bytes: 5200, tcpFlags: 0 });
  expect(c.stats(3, VX).remotes[0]).toEqual({
    address: '198.18.0.2',
    rxPackets: 2,
    rxBytes: 200,
    txPackets: 0,
    txBytes: 0,
  });
});
