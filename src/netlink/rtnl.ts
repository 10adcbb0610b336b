/**
 * rtnetlink: links and addresses. Constants carry the kernel's names (include/uapi/linux/if_link.h,
 * rtnetlink.h, if_addr.h, veth.h). Encoders build request payloads; decoders turn dump messages into plain records.
 */
import { LENIENT, NlAttrWriter, RTNETLINK_RULES, attrTable, getS32, getU32, optU32, readCString } from './attr';
import { hasErrno } from '../util/errors';
import { NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NetlinkSocket } from './socket';

export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_SETLINK = 19;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;

export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_INET6 = 10;

export const IFF_UP = 0x1;
export const IFF_LOWER_UP = 0x10000;

export const IFLA_ADDRESS = 1;
export const IFLA_BROADCAST = 2;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_LINK = 5;
export const IFLA_MASTER = 10;
export const IFLA_OPERSTATE = 16;
export const IFLA_LINKINFO = 18;
export const IFLA_IFALIAS = 20;
export const IFLA_NET_NS_FD = 28;
export const IFLA_EXT_MASK = 29;
export const IFLA_LINK_NETNSID = 37;
export const IFLA_AF_SPEC = 26;
/** Inside IFLA_AF_SPEC's AF_INET6 nest (include/uapi/linux/if_link.h). */
export const IFLA_INET6_CONF = 2;
export const IFLA_INET6_ADDR_GEN_MODE = 8;
/** Indexes into IFLA_INET6_CONF's s32 array (include/uapi/linux/ipv6.h, enum DEVCONF_*). */
export const DEVCONF_ACCEPT_RA = 3;
export const DEVCONF_AUTOCONF = 5;
/** IFLA_INET6_ADDR_GEN_MODE values (enum in6_addr_gen_mode): NONE generates no link-local address. */
export const IN6_ADDR_GEN_MODE_EUI64 = 0;
export const IN6_ADDR_GEN_MODE_NONE = 1;

export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
export const VETH_INFO_PEER = 1;

/** IFLA_EXT_MASK bit that asks the kernel to leave VF info out of dumps: smaller answers. */
export const RTEXT_FILTER_SKIP_STATS = 1 << 3;

export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const IFA_LABEL = 3;
export const IFA_FLAGS = 8;
export const IFA_F_NODAD = 0x02;
export const IFA_F_PERMANENT = 0x80;

export const IFINFOMSG_LEN = 16;
export const IFADDRMSG_LEN = 8;

/** struct ifinfomsg */
export interface IfInfoMsg {
  family: number;
  type: number;
  index: number;
  flags: number;
  change: number;
}

export function encodeIfInfoMsg(m: Partial<IfInfoMsg>): Buffer {
  const b = Buffer.alloc(IFINFOMSG_LEN);
  b.writeUInt8(m.family ?? AF_UNSPEC, 0);
  b.writeUInt16LE(m.type ?? 0, 2);
  b.writeInt32LE(m.index ?? 0, 4);
  b.writeUInt32LE(m.flags ?? 0, 8);
  b.writeUInt32LE(m.change ?? 0, 12);
  return b;
}

export function decodeIfInfoMsg(p: Buffer): IfInfoMsg {
  return {
    family: p.readUInt8(0),
    type: p.readUInt16LE(2),
    index: p.readInt32LE(4),
    flags: p.readUInt32LE(8),
    change: p.readUInt32LE(12),
  };
}

/** One link as read from a dump. */
export interface LinkRecord {
  index: number;
  name: string;
  flags: number;
  mtu: number;
  /** Lower-case colon form; undefined for links without a hardware address. */
  mac?: string;
  /** IFLA_INFO_KIND, e.g. "veth", "tun", "bridge"; undefined for physical NICs and loopback. */
  kind?: string;
  /** IFLA_LINK: for a veth, the peer's ifindex (in the peer's namespace). */
  link?: number;
  /** IFLA_LINK_NETNSID: the peer's namespace id as seen from this namespace, when it lives elsewhere. */
  linkNetnsid?: number;
  master?: number;
  alias?: string;
  /** The link's IPv6 settings (IFLA_AF_SPEC / AF_INET6); absent when IPv6 is off on it. */
  inet6?: Inet6Conf;
}

/** The IPv6 settings netmgr reads: sysctl net.ipv6.conf.IFACE.{accept_ra,autoconf,addr_gen_mode}. */
export interface Inet6Conf {
  acceptRa: number;
  autoconf: number;
  addrGenMode: number;
}

function decodeInet6(afSpec: Buffer): Inet6Conf | undefined {
  const inet6 = attrTable(afSpec, LENIENT).get(AF_INET6);
  if (!inet6) return undefined;
  const t = attrTable(inet6, LENIENT);
  const conf = t.get(IFLA_INET6_CONF);
  const mode = t.get(IFLA_INET6_ADDR_GEN_MODE);
  if (!conf || conf.length < 4 * (DEVCONF_AUTOCONF + 1)) return undefined;
  return {
    acceptRa: getS32(conf.subarray(4 * DEVCONF_ACCEPT_RA, 4 * DEVCONF_ACCEPT_RA + 4)),
    autoconf: getS32(conf.subarray(4 * DEVCONF_AUTOCONF, 4 * DEVCONF_AUTOCONF + 4)),
    addrGenMode: mode && mode.length >= 1 ? mode[0] : IN6_ADDR_GEN_MODE_EUI64,
  };
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Called for every link of every dump: a table lookup per byte instead of formatting. */
export function macToString(b: Buffer): string {
  let s = HEX[b[0]];
  for (let i = 1; i < b.length; i++) s += ':' + HEX[b[i]];
  return s;
}
export const macToBytes = (s: string): Buffer => Buffer.from(s.split(':').map((h) => parseInt(h, 16)));

export function decodeLink(payload: Buffer): LinkRecord {
  const hdr = decodeIfInfoMsg(payload);
  const t = attrTable(payload.subarray(IFINFOMSG_LEN), LENIENT);
  const rec: LinkRecord = {
    index: hdr.index,
    name: readCString(t.get(IFLA_IFNAME) ?? Buffer.alloc(0)),
    flags: hdr.flags,
    mtu: optU32(t.get(IFLA_MTU)),
  };
  const addr = t.get(IFLA_ADDRESS);
  if (addr && addr.length === 6) rec.mac = macToString(addr);
  const info = t.get(IFLA_LINKINFO);
  if (info) {
    const kind = attrTable(info, LENIENT).get(IFLA_INFO_KIND);
    if (kind) rec.kind = readCString(kind);
  }
  const link = t.get(IFLA_LINK);
  if (link) rec.link = getS32(link);
  const nsid = t.get(IFLA_LINK_NETNSID);
  if (nsid) rec.linkNetnsid = getS32(nsid);
  const master = t.get(IFLA_MASTER);
  if (master) rec.master = getU32(master);
  const alias = t.get(IFLA_IFALIAS);
  if (alias) rec.alias = readCString(alias);
  const afSpec = t.get(IFLA_AF_SPEC);
  const inet6 = afSpec && decodeInet6(afSpec);
  if (inet6) rec.inet6 = inet6;
  return rec;
}

/** One address as read from a dump. */
export interface AddrRecord {
  index: number;
  family: number;
  prefixlen: number;
  /** Address without prefix, in canonical text form. */
  address: string;
  flags: number;
  scope: number;
}

export function ipToString(b: Buffer): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const groups = new Array<number>(8);
  for (let i = 0; i < 8; i++) groups[i] = (b[2 * i] << 8) | b[2 * i + 1];
  return formatIPv6(groups);
}

/** RFC 5952: lower case, longest run (>= 2) of zero groups compressed, first one on ties. */
export function formatIPv6(groups: number[]): string {
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export function ipToBytes(s: string): Buffer {
  if (!s.includes(':')) return Buffer.from(s.split('.').map(Number));
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const fill: string[] = tail === undefined ? [] : new Array<string>(8 - h.length - t.length).fill('0');
  const b = Buffer.alloc(16);
  [...h, ...fill, ...t].forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}

export function decodeAddr(payload: Buffer): AddrRecord {
  const family = payload.readUInt8(0);
  const t = attrTable(payload.subarray(IFADDRMSG_LEN), LENIENT);
  // For IPv4, IFA_LOCAL is the interface's own address (IFA_ADDRESS is the peer on point-to-point links).
  const raw = (family === AF_INET ? t.get(IFA_LOCAL) : undefined) ?? t.get(IFA_ADDRESS) ?? Buffer.alloc(0);
  const flagsAttr = t.get(IFA_FLAGS);
  return {
    family,
    prefixlen: payload.readUInt8(1),
    flags: flagsAttr ? getU32(flagsAttr) : payload.readUInt8(2),
    scope: payload.readUInt8(3),
    index: payload.readUInt32LE(4),
    address: ipToString(raw),
  };
}

export function dumpLinks(sock: NetlinkSocket): LinkRecord[] {
  const req = new NlAttrWriter(RTNETLINK_RULES, 32)
    .putStruct(encodeIfInfoMsg({}))
    .putU32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS)
    .finish();
  return sock
    .request(RTM_GETLINK, NLM_F_DUMP, req, 'dump links')
    .filter((m) => m.type === RTM_NEWLINK)
    .map((m) => decodeLink(m.payload));
}

export function dumpAddrs(sock: NetlinkSocket): AddrRecord[] {
  const req = Buffer.alloc(IFADDRMSG_LEN);
  return sock
    .request(RTM_GETADDR, NLM_F_DUMP, req, 'dump addresses')
    .filter((m) => m.type === RTM_NEWADDR)
    .map((m) => decodeAddr(m.payload));
}

/** Settings of one veth end at creation. `index` asks the kernel for a specific ifindex (used by rollback). */
export interface VethEndSpec {
  name: string;
  /** fd of the namespace to create this end in; undefined = the socket's namespace. */
  nsFd?: number;
  mtu?: number;
  mac?: string;
  index?: number;
}

function writeEnd(w: NlAttrWriter, end: VethEndSpec): void {
  w.putString(IFLA_IFNAME, end.name);
  if (end.mtu !== undefined) w.putU32(IFLA_MTU, end.mtu);
  if (end.mac !== undefined) w.put(IFLA_ADDRESS, macToBytes(end.mac));
  if (end.nsFd !== undefined) w.putU32(IFLA_NET_NS_FD, end.nsFd);
}

/** `ip link add A netns X type veth peer name B netns Y`, in one message. Both ends start down. */
export function createVeth(sock: NetlinkSocket, a: VethEndSpec, b: VethEndSpec): void {
  const w = new NlAttrWriter(RTNETLINK_RULES, 256).putStruct(encodeIfInfoMsg({ index: a.index ?? 0 }));
  writeEnd(w, a);
  w.nested(IFLA_LINKINFO, (li) => {
    li.putString(IFLA_INFO_KIND, 'veth');
    li.nested(IFLA_INFO_DATA, (d) => {
      d.nested(VETH_INFO_PEER, (p) => {
        p.putStruct(encodeIfInfoMsg({ index: b.index ?? 0 }));
        writeEnd(p, b);
      });
    });
  });
  sock.request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, w.finish(), `create veth ${a.name} <-> ${b.name}`);
}

export function deleteLink(sock: NetlinkSocket, index: number, what: string): void {
  sock.request(RTM_DELLINK, 0, encodeIfInfoMsg({ index }), `delete ${what}`);
}

export interface LinkChange {
  mtu?: number;
  mac?: string;
  up?: boolean;
}

export function setLink(sock: NetlinkSocket, index: number, change: LinkChange, what: string): void {
  const hdr: Partial<IfInfoMsg> = { index };
  if (change.up !== undefined) {
    hdr.flags = change.up ? IFF_UP : 0;
    hdr.change = IFF_UP;
  }
  const w = new NlAttrWriter(RTNETLINK_RULES, 64).putStruct(encodeIfInfoMsg(hdr));
  if (change.mtu !== undefined) w.putU32(IFLA_MTU, change.mtu);
  if (change.mac !== undefined) w.put(IFLA_ADDRESS, macToBytes(change.mac));
  sock.request(RTM_NEWLINK, 0, w.finish(), `set ${what}`);
}

/** `ip link set X netns NS`: moves a link into the namespace behind nsFd (it keeps its name, goes down). */
export function moveLink(sock: NetlinkSocket, index: number, nsFd: number, what: string): void {
  const w = new NlAttrWriter(RTNETLINK_RULES, 32).putStruct(encodeIfInfoMsg({ index })).putU32(IFLA_NET_NS_FD, nsFd);
  sock.request(RTM_NEWLINK, 0, w.finish(), `move ${what}`);
}

/** Looks one link up by name; undefined when absent. */
export function getLinkByName(sock: NetlinkSocket, name: string): LinkRecord | undefined {
  const w = new NlAttrWriter(RTNETLINK_RULES, 48)
    .putStruct(encodeIfInfoMsg({}))
    .putString(IFLA_IFNAME, name)
    .putU32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  try {
    const r = sock.request(RTM_GETLINK, 0, w.finish(), `get link ${name}`);
    return r.length ? decodeLink(r[0].payload) : undefined;
  } catch (e) {
    if (hasErrno(e, 'ENODEV')) return undefined;
    throw e;
  }
}

function addrPayload(index: number, cidr: string): Uint8Array {
  const [ip, plen] = cidr.split('/');
  const bytes = ipToBytes(ip);
  const family = bytes.length === 4 ? AF_INET : AF_INET6;
  const hdr = Buffer.alloc(IFADDRMSG_LEN);
  hdr.writeUInt8(family, 0);
  hdr.writeUInt8(Number(plen), 1);
  hdr.writeUInt32LE(index, 4);
  const w = new NlAttrWriter(RTNETLINK_RULES, 48).putStruct(hdr).put(IFA_LOCAL, bytes).put(IFA_ADDRESS, bytes);
  return w.finish();
}

export function addAddress(sock: NetlinkSocket, index: number, cidr: string, what: string): void {
  sock.request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, addrPayload(index, cidr), `add address ${cidr} to ${what}`);
}

export function deleteAddress(sock: NetlinkSocket, index: number, cidr: string, what: string): void {
  sock.request(RTM_DELADDR, 0, addrPayload(index, cidr), `remove address ${cidr} from ${what}`);
}
