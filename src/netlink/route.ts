/**
 * rtnetlink: routes (struct rtmsg and its RTA_* attributes, include/uapi/linux/rtnetlink.h). netmgr marks the routes
 * it adds with its own protocol number, RTPROT_NETMGR, so that a dump tells them from everyone else's: it reads,
 * changes and removes only those.
 */
import { LENIENT, NlAttrWriter, RTNETLINK_RULES, attrTable, getU32 } from './attr';
import { AF_INET, AF_INET6, ipToBytes, ipToString } from './rtnl';
import { NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NetlinkSocket } from './socket';

export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_GETROUTE = 26;

export const RTA_DST = 1;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_PRIORITY = 6;
export const RTA_TABLE = 15;

export const RTN_UNICAST = 1;
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_LINK = 253;
/** rtm_table of a route whose table number does not fit the u8 field: RTA_TABLE carries it. */
export const RT_TABLE_COMPAT = 252;

/**
 * netmgr's routing protocol number: unassigned in rtnetlink.h and iproute2's rt_protos (the Debian package names
 * it in /etc/iproute2/rt_protos.d/netmgr.conf, so `ip route` prints `proto netmgr`).
 */
export const RTPROT_NETMGR = 44;
/** Routes the kernel adds itself (connected networks of addresses). */
export const RTPROT_KERNEL = 2;

export const RTMSG_LEN = 12;

/** struct rtmsg */
export interface RtMsg {
  family: number;
  dstLen: number;
  srcLen: number;
  tos: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  flags: number;
}

export function encodeRtMsg(m: RtMsg): Buffer {
  const b = Buffer.alloc(RTMSG_LEN);
  [m.family, m.dstLen, m.srcLen, m.tos, m.table, m.protocol, m.scope, m.type].forEach((v, i) => b.writeUInt8(v, i));
  b.writeUInt32LE(m.flags, 8);
  return b;
}

export function decodeRtMsg(p: Buffer): RtMsg {
  return {
    family: p.readUInt8(0),
    dstLen: p.readUInt8(1),
    srcLen: p.readUInt8(2),
    tos: p.readUInt8(3),
    table: p.readUInt8(4),
    protocol: p.readUInt8(5),
    scope: p.readUInt8(6),
    type: p.readUInt8(7),
    flags: p.readUInt32LE(8),
  };
}

/** One route as read from a dump or as netmgr adds it. */
export interface RouteRecord {
  family: 4 | 6;
  /** Destination network in CIDR form ("0.0.0.0/0" for a default route). */
  to: string;
  via?: string;
  /** Output interface index (RTA_OIF). */
  oif: number;
  metric: number;
  table: number;
  protocol: number;
}

export function decodeRoute(payload: Buffer): RouteRecord {
  const h = decodeRtMsg(payload);
  const t = attrTable(payload.subarray(RTMSG_LEN), LENIENT);
  const family = h.family === AF_INET ? 4 : 6;
  const dst = t.get(RTA_DST);
  const gw = t.get(RTA_GATEWAY);
  const table = t.get(RTA_TABLE);
  const metric = t.get(RTA_PRIORITY);
  const oif = t.get(RTA_OIF);
  return {
    family,
    to: `${dst ? ipToString(Buffer.from(dst)) : family === 4 ? '0.0.0.0' : '::'}/${h.dstLen}`,
    ...(gw ? { via: ipToString(Buffer.from(gw)) } : {}),
    oif: oif ? getU32(oif) : 0,
    metric: metric ? getU32(metric) : 0,
    table: table ? getU32(table) : h.table,
    protocol: h.protocol,
  };
}

/** Every IPv4 and IPv6 unicast route of the socket's namespace, every table. */
export function dumpRoutes(sock: NetlinkSocket): RouteRecord[] {
  const req = encodeRtMsg({
    family: 0,
    dstLen: 0,
    srcLen: 0,
    tos: 0,
    table: 0,
    protocol: 0,
    scope: 0,
    type: 0,
    flags: 0,
  });
  return sock
    .request(RTM_GETROUTE, NLM_F_DUMP, req, 'dump routes')
    .filter((m) => m.type === RTM_NEWROUTE)
    .map((m) => m.payload)
    .filter((p) => {
      const h = decodeRtMsg(p);
      return (h.family === AF_INET || h.family === AF_INET6) && h.type === RTN_UNICAST;
    })
    .map(decodeRoute);
}

/** A route to add or delete: netmgr's own (RTPROT_NETMGR) unless `protocol` says otherwise (a moved route). */
export type RouteRequest = Omit<RouteRecord, 'protocol'> & { protocol?: number };

/** The request that adds or deletes `r` through interface `r.oif`. */
export function routePayload(r: RouteRequest): Uint8Array {
  const [net, len] = r.to.split('/');
  const w = new NlAttrWriter(RTNETLINK_RULES, 96).putStruct(
    encodeRtMsg({
      family: r.family === 4 ? AF_INET : AF_INET6,
      dstLen: Number(len),
      srcLen: 0,
      tos: 0,
      table: r.table < 256 ? r.table : RT_TABLE_COMPAT,
      protocol: r.protocol ?? RTPROT_NETMGR,
      // A route without a next hop reaches its destination on the link itself.
      scope: r.via === undefined ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE,
      type: RTN_UNICAST,
      flags: 0,
    }),
  );
  if (Number(len) > 0) w.put(RTA_DST, ipToBytes(net));
  if (r.via !== undefined) w.put(RTA_GATEWAY, ipToBytes(r.via));
  w.putU32(RTA_OIF, r.oif).putU32(RTA_PRIORITY, r.metric).putU32(RTA_TABLE, r.table);
  return w.finish();
}

const describe = (r: RouteRequest) =>
  `route ${r.to}${r.via ? ` via ${r.via}` : ''} metric ${r.metric} table ${r.table}`;

export function addRoute(sock: NetlinkSocket, r: RouteRequest, what: string): void {
  sock.request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, routePayload(r), `add ${describe(r)} to ${what}`);
}

export function deleteRoute(sock: NetlinkSocket, r: RouteRequest, what: string): void {
  sock.request(RTM_DELROUTE, 0, routePayload(r), `remove ${describe(r)} from ${what}`);
}
