/**
 * The route codec against hand-written wire bytes (test/golden/rtnl/*.hex, from struct rtmsg and the RTA_* layout
 * in include/uapi/linux/rtnetlink.h), and the decoder reading back what the encoder wrote.
 */
import * as fs from 'fs';
import * as path from 'path';
import { decodeRoute, routePayload, RTPROT_NETMGR } from '../../../src/netlink/route';
import { hexWords, parseAnnotatedHex } from '../../helpers/golden-hex';

const golden = (name: string) =>
  parseAnnotatedHex(fs.readFileSync(path.join(__dirname, '..', '..', 'golden', 'rtnl', name), 'utf8'), name);

const CASES = [
  {
    file: 'route-add-default-v4.hex',
    route: { family: 4 as const, to: '0.0.0.0/0', via: '198.18.0.1', oif: 7, metric: 0, table: 254 },
  },
  {
    file: 'route-add-onlink-v6-table300.hex',
    route: { family: 6 as const, to: '2001:db8:1::/48', oif: 3, metric: 1024, table: 300 },
  },
];

test.each(CASES)('$file: encoded as the golden bytes', ({ file, route }) => {
  expect(hexWords(routePayload(route))).toBe(hexWords(golden(file)));
});

test.each(CASES)("$file: decoded back to the route, marked as netmgr's", ({ file, route }) => {
  expect(decodeRoute(golden(file))).toEqual({ ...route, protocol: RTPROT_NETMGR });
});
