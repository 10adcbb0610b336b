/**
 * The kernel datapath's tunnel ports, pure parts: the device name derived from the port's unit name (within
 * IFNAMSIZ), the screen that keeps packets from no remote or of another VNI from the policy, the drop flow it
 * installs for them (which the kernel's rules accept), and the set(tunnel) the learning policy gives a port with
 * `local`.
 */
import { applyMask, formatActions, formatFlowKey, parseFlow, validateFlow, type FlowKey } from '../../../src/flow';
import { screenDropMask, screenTunnelKey, tunnelDeviceName } from '../../../src/datapath/kernel/tunnel';
import { setTunnelAction, tunnelPortView } from '../../../src/policy/learning/tunnel';
import { VXLAN_PORT } from '../../helpers/tunnel-config';

test.each([
  ['vxlan', 'kb1t', 'vx-kb1t'],
  ['geneve', 'kb1t', 'gnv-kb1t'],
  ['vxlan', 'to-rack-12', 'vx-to-rack-12'],
  ['geneve', 'to-rack2-a', 'gnv-to-rack2-a'],
] as const)('%s port %s: device %s', (kind, name, device) => {
  expect(tunnelDeviceName(kind, name)).toBe(device);
});

test('a name too long for IFNAMSIZ: prefix, its start and a hash, at most 15 characters, stable and distinct', () => {
  const a = tunnelDeviceName('geneve', 'overlay-to-rack2');
  const b = tunnelDeviceName('geneve', 'overlay-to-rack3');
  expect(a).toMatch(/^gnv-overla-[0-9a-f]{4}$/);
  expect(a.length).toBeLessThanOrEqual(15);
  expect(tunnelDeviceName('geneve', 'overlay-to-rack2')).toBe(a);
  expect(b).not.toBe(a);
  expect(tunnelDeviceName('vxlan', 'a-very-long-port-name')).toHaveLength(15);
});

const PORT = VXLAN_PORT;
/** An upcall's key from the tunnel vport (port 3), as the kernel fills it for a received VXLAN packet. */
const fromTunnel = (tunId: string, src: string): FlowKey =>
  parseFlow(
    `in_port(3),tunnel(tun_id=${tunId},src=${src},dst=198.18.0.1,ttl=64,tp_src=49152,tp_dst=4789,flags(key)),` +
      'eth(src=02:00:00:00:02:01,dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806),' +
      'arp(sip=198.19.100.21,tip=198.19.100.11,op=1,sha=02:00:00:00:02:01,tha=00:00:00:00:00:00)',
  ).key;

test.each([
  ['0x64', '198.18.0.2', undefined],
  ['0x64', '198.18.0.3', undefined],
  ['0x64', '198.18.0.9', 'from 198.18.0.9, which is no remote of the port'],
  ['0xc8', '198.18.0.2', "of VNI 200, not the port's 100"],
  ['0x100000064', '198.18.0.2', "of VNI out of range, not the port's 100"],
])('tun_id %s from %s: %s', (tunId, src, why) => {
  expect(screenTunnelKey(PORT, fromTunnel(tunId, src))).toBe(why);
});

test('a packet without tunnel metadata is not the policy’s either', () => {
  const key = fromTunnel('0x64', '198.18.0.2');
  delete key.tunnel;
  expect(screenTunnelKey(PORT, key)).toBe('without tunnel metadata');
});

test('the drop flow matches the port, tun_id and the sender only, and the kernel rules accept it', () => {
  const key = fromTunnel('0xc8', '198.18.0.2');
  const mask = screenDropMask(key);
  expect(validateFlow({ key, mask }, [])).toEqual([]);
  expect(formatFlowKey(key, mask)).toBe('tunnel(tun_id=0xc8,src=198.18.0.2,flags(+key)),in_port(3),eth()');
  // It never covers the port's own VNI: the policy's packets from that remote still miss.
  const masked = (k: FlowKey) => formatFlowKey(applyMask(k, mask));
  expect(masked(fromTunnel('0x64', '198.18.0.2'))).not.toBe(masked(key));
});

test('over an IPv6 underlay: remotes compare as IPv6, and the drop flow matches the IPv6 sender', () => {
  const v6 = { ...PORT, family: 6 as const, remotes: ['2001:db8:c8::2', '2001:db8:c8::3'] };
  const from6 = (tunId: string, src: string): FlowKey =>
    parseFlow(
      `in_port(3),tunnel(tun_id=${tunId},ipv6_src=${src},ipv6_dst=2001:db8:c8::1,ttl=64,tp_dst=4789,flags(key)),` +
        'eth(src=02:00:00:00:02:01,dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806),' +
        'arp(sip=198.19.100.21,tip=198.19.100.11,op=1,sha=02:00:00:00:02:01,tha=00:00:00:00:00:00)',
    ).key;
  expect(screenTunnelKey(v6, from6('0x64', '2001:db8:c8::3'))).toBeUndefined();
  expect(screenTunnelKey(v6, from6('0x64', '2001:db8:c8::9'))).toBe(
    'from 2001:db8:c8::9, which is no remote of the port',
  );
  const key = from6('0x64', '2001:db8:c8::9');
  const mask = screenDropMask(key);
  expect(validateFlow({ key, mask }, [])).toEqual([]);
  expect(formatFlowKey(key, mask)).toBe('tunnel(tun_id=0x64,ipv6_src=2001:db8:c8::9,flags(+key)),in_port(3),eth()');
  const masked = (k: FlowKey) => formatFlowKey(applyMask(k, mask));
  expect(masked(from6('0x64', '2001:db8:c8::3'))).not.toBe(masked(key));
});

test.each([
  [undefined, 'set(tunnel(tun_id=0x64,dst=198.18.0.3,ttl=64,flags(df|key))),3'],
  ['198.18.0.1', 'set(tunnel(tun_id=0x64,src=198.18.0.1,dst=198.18.0.3,ttl=64,flags(df|key))),3'],
])('local %s: the set(tunnel) to a remote is %s', (local, text) => {
  const view = tunnelPortView({ ...PORT, ...(local ? { local } : {}) });
  expect(formatActions([setTunnelAction(view, '198.18.0.3'), { type: 'output', port: 3 }])).toBe(text);
});
