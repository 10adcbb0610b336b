/**
 * LiveState: what the kernel has, read over rtnetlink from the root namespace and from the named namespaces
 * netmgr cares about. Reading is the only I/O; everything after it (plan) is pure.
 */
import { Cidr, NamespaceName } from '../model/types';
import { AF_INET6, dumpAddrs, dumpLinks, IFA_F_PERMANENT, IFF_UP, Inet6Conf, LinkRecord } from '../netlink/rtnl';
import { dumpRoutes, RTPROT_KERNEL, RTPROT_NETMGR } from '../netlink/route';
import { listNamespaces, NamespaceSockets, nsKey } from './namespaces';
import { isIPv6LinkLocal } from '../units/values';
import { kernelDatapathAvailable } from './kernel';

export interface LiveLink {
  namespace: NamespaceName;
  index: number;
  name: string;
  kind?: string;
  mtu: number;
  mac?: string;
  up: boolean;
  /** veth: the peer's ifindex, in the peer's namespace. */
  peerIndex?: number;
  /**
   * Addresses as CIDR, kernel order. Left out: IPv6 link-local addresses (in linkLocal) and IPv6 addresses with a
   * lifetime (SLAAC and privacy addresses the kernel forms from router advertisements: the kernel's, not netmgr's).
   */
  addresses: Cidr[];
  /** Its IPv6 addresses with a lifetime (SLAAC, privacy): the kernel's, but the host may be reached through them. */
  kernelAddresses?: Cidr[];
  /** Its fe80::/10 addresses but those a unit declares (which are in addresses). */
  linkLocal?: Cidr[];
  /** accept_ra, autoconf and addr_gen_mode; absent when IPv6 is off on the link. */
  ipv6?: Inet6Conf;
}

/**
 * A route through a link (not the kernel's own connected and local routes). netmgr changes only its own (`protocol`
 * RTPROT_NETMGR); the others are read so that a NIC about to join a bridge is known to carry them.
 */
export interface LiveRoute {
  namespace: NamespaceName;
  /** The output interface's name. */
  link: string;
  family: 4 | 6;
  to: Cidr;
  via?: string;
  metric: number;
  table: number;
  protocol: number;
}

export interface LiveState {
  /** Every named namespace on the system. */
  namespaces: string[];
  /** Links of each namespace that was read, keyed by nsKey(). Namespaces not read are absent. */
  links: Map<string, LiveLink[]>;
  /** The routes of each namespace that was read, keyed by nsKey(); absent (as in tests) means none. */
  routes?: Map<string, LiveRoute[]>;
  /** The name servers in netmgr's resolver file (use-dns); absent when there is no file. */
  resolvConf?: string[];
  /** The kernel has the openvswitch datapath (its generic netlink families resolve); what `auto` picks by. */
  kernelDatapath?: boolean;
}

/** fe80::/10 addresses come and go with the link; netmgr manages them only when a unit names one. */
export const isKernelLinkLocal = (family: number, address: string): boolean =>
  family === AF_INET6 && isIPv6LinkLocal(address);

function toLiveLink(ns: NamespaceName, l: LinkRecord, addrs: Cidr[], linkLocal: Cidr[], kernel: Cidr[]): LiveLink {
  return {
    namespace: ns,
    index: l.index,
    name: l.name,
    kind: l.kind,
    mtu: l.mtu,
    mac: l.mac,
    up: (l.flags & IFF_UP) !== 0,
    peerIndex: l.kind === 'veth' ? l.link : undefined,
    addresses: addrs,
    ...(kernel.length ? { kernelAddresses: kernel } : {}),
    ...(linkLocal.length ? { linkLocal } : {}),
    ...(l.inet6 ? { ipv6: l.inet6 } : {}),
  };
}

/** Reads links and addresses of one namespace. */
export function readNamespaceLinks(
  sockets: NamespaceSockets,
  ns: NamespaceName,
  keepLinkLocal: (cidr: Cidr) => boolean = () => false,
): LiveLink[] {
  const sock = sockets.route(ns);
  const byIndex = new Map<number, Cidr[]>();
  const linkLocal = new Map<number, Cidr[]>();
  const kernel = new Map<number, Cidr[]>();
  const add = (m: Map<number, Cidr[]>, index: number, cidr: Cidr) => m.set(index, [...(m.get(index) ?? []), cidr]);
  for (const a of dumpAddrs(sock)) {
    const cidr = `${a.address}/${a.prefixlen}`;
    if (isKernelLinkLocal(a.family, a.address) && !keepLinkLocal(cidr)) add(linkLocal, a.index, cidr);
    else if (a.family !== AF_INET6 || a.flags & IFA_F_PERMANENT) add(byIndex, a.index, cidr);
    else add(kernel, a.index, cidr);
  }
  const of = (m: Map<number, Cidr[]>, index: number) => m.get(index) ?? [];
  return dumpLinks(sock).map((l) =>
    toLiveLink(ns, l, of(byIndex, l.index), of(linkLocal, l.index), of(kernel, l.index)),
  );
}

/** The routes of one namespace but the kernel's own, with their interfaces' names from `links`. */
export function readNamespaceRoutes(sockets: NamespaceSockets, ns: NamespaceName, links: LiveLink[]): LiveRoute[] {
  const names = new Map(links.map((l) => [l.index, l.name]));
  return dumpRoutes(sockets.route(ns))
    .filter((r) => r.protocol !== RTPROT_KERNEL && names.has(r.oif))
    .map((r) => ({
      namespace: ns,
      link: names.get(r.oif)!,
      family: r.family,
      to: r.to,
      ...(r.via !== undefined ? { via: r.via } : {}),
      metric: r.metric,
      table: r.table,
      protocol: r.protocol,
    }));
}

/** netmgr's own routes among them. */
export const isOwnRoute = (r: LiveRoute): boolean => r.protocol === RTPROT_NETMGR;

/**
 * Reads the root namespace and each listed namespace that exists. `wantedLinkLocal` lists IPv6 link-local
 * addresses some unit declares, so they are read (and thus kept) rather than ignored.
 */
export function readLiveState(
  sockets: NamespaceSockets,
  namespaces: Iterable<string>,
  wantedLinkLocal: Set<Cidr> = new Set(),
): LiveState {
  const existing = listNamespaces();
  const present = new Set(existing);
  const links = new Map<string, LiveLink[]>();
  const routes = new Map<string, LiveRoute[]>();
  const keep = (c: Cidr) => wantedLinkLocal.has(c);
  for (const ns of [null, ...new Set(namespaces)]) {
    if (ns !== null && !present.has(ns)) continue;
    const nsLinks = readNamespaceLinks(sockets, ns, keep);
    links.set(nsKey(ns), nsLinks);
    routes.set(nsKey(ns), readNamespaceRoutes(sockets, ns, nsLinks));
  }
  return { namespaces: existing, links, routes, kernelDatapath: kernelDatapathAvailable() };
}

export function findLink(live: LiveState, ns: NamespaceName, name: string): LiveLink | undefined {
  return live.links.get(nsKey(ns))?.find((l) => l.name === name);
}
