/**
 * IPv6 tunnel endpoints in the packed key of the userspace datapath: ids from 0.0.0.0/8, stable per address; a
 * flow's IPv6 endpoints (exact) become id words for the table and come back as addresses; a partial IPv6 mask is
 * left for checkTunnelMatch to refuse; and the packed table matches a frame keyed with the ids.
 */
import { formatFlowKey, parseFlow } from '../../../src/flow';
import {
  fromTableKey,
  fromTableMask,
  isEndpointId,
  toTableFlow,
  TunnelEndpointIds,
} from '../../../src/datapath/userspace/tunnel-endpoints';
import { checkTunnelMatch } from '../../../src/datapath/userspace/tunnel-port';

const FLOW =
  'tunnel(tun_id=0x64,ipv6_src=2001:db8:c8::2,ipv6_dst=2001:db8:c8::1,ttl=0/0,flags(+key)),in_port(1),' +
  'eth(src=02:00:00:00:00:01,dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806)';

test('ids are from 0.0.0.0/8, one per address whatever its spelling, and lead back to it', () => {
  const ids = new TunnelEndpointIds();
  const a = ids.idOfText('2001:db8:c8::2');
  expect(isEndpointId(a)).toBe(true);
  expect(ids.idOfText('2001:DB8:C8:0:0:0:0:2')).toBe(a);
  expect(ids.idOfText('2001:db8:c8::3')).not.toBe(a);
  expect(ids.addressOf(a)).toEqual(ids.addressOf(ids.idOfText('2001:db8:c8::2')));
  expect([isEndpointId(0), isEndpointId(0xc6120001), ids.addressOf(0xc6120001)]).toEqual([false, false, undefined]);
  expect(() => ids.idOfText('198.18.0.1')).toThrow('198.18.0.1 is not an IPv6 address');
});

test('a flow with exact IPv6 endpoints goes to the table as id words and comes back as it was', () => {
  const ids = new TunnelEndpointIds();
  const f = parseFlow(FLOW);
  const t = toTableFlow({ key: f.key, mask: f.mask }, ids);
  expect(t.key.tunnel!.src).toBe(ids.idOfText('2001:db8:c8::2'));
  expect(t.key.tunnel!.dst).toBe(ids.idOfText('2001:db8:c8::1'));
  expect([t.mask.tunnel!.src, t.mask.tunnel!.dst]).toEqual([0xffffffff, 0xffffffff]);
  expect(() => checkTunnelMatch(t.mask)).not.toThrow();
  expect(formatFlowKey(fromTableKey(t.key, ids), fromTableMask(t.key, t.mask))).toBe(formatFlowKey(f.key, f.mask));
  // An IPv4 flow, and a flow without a tunnel, are left as they are.
  const v4 = parseFlow('tunnel(tun_id=0x64,src=198.18.0.2,dst=198.18.0.1,ttl=0/0),in_port(1),eth()');
  expect(toTableFlow({ key: v4.key, mask: v4.mask }, ids).key).toBe(v4.key);
});

test('a partial IPv6 mask is not turned into an id match: checkTunnelMatch refuses it', () => {
  const ids = new TunnelEndpointIds();
  const f = parseFlow(
    'tunnel(tun_id=0x64,ipv6_src=2001:db8:c8::/ffff:ffff:ffff::,ttl=0/0,flags(+key)),in_port(1),eth()',
  );
  const t = toTableFlow({ key: f.key, mask: f.mask }, ids);
  expect(() => checkTunnelMatch(t.mask)).toThrow(/IPv6 endpoints exactly/);
});
