/**
 * LiveState: what the kernel has, read over rtnetlink from the root namespace and from the named namespaces
 * netmgr cares about. Reading is the only I/O; everything after it (plan) is pure.
 */
import { Cidr, NamespaceName } from '../model/types';
import { AF_INET6, dumpAddrs, dumpLinks, IFF_UP, LinkRecord } from '../netlink/rtnl';
import { listNamespaces, NamespaceSockets, nsKey } from './namespaces';
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
  /** Addresses as CIDR, kernel order; IPv6 link-local addresses the kernel generates are left out. */
  addresses: Cidr[];
}

export interface LiveState {
  /** Every named namespace on the system. */
  namespaces: string[];
  /** Links of each namespace that was read, keyed by nsKey(). Namespaces not read are absent. */
  links: Map<string, LiveLink[]>;
  /** The kernel has the openvswitch datapath (its generic netlink families resolve); what `auto` picks by. */
  kernelDatapath?: boolean;
}

/** fe80::/10 addresses come and go with the link; netmgr manages them only when a unit names one. */
/** fe80::/10, as an address or a CIDR. */
export const isIPv6LinkLocal = (address: string): boolean => /^fe[89ab][0-9a-f]:/i.test(address);

export const isKernelLinkLocal = (family: number, address: string): boolean =>
  family === AF_INET6 && isIPv6LinkLocal(address);

function toLiveLink(ns: NamespaceName, l: LinkRecord, addrs: Cidr[]): LiveLink {
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
  for (const a of dumpAddrs(sock)) {
    const cidr = `${a.address}/${a.prefixlen}`;
    if (isKernelLinkLocal(a.family, a.address) && !keepLinkLocal(cidr)) continue;
    const list = byIndex.get(a.index) ?? [];
    list.push(cidr);
    byIndex.set(a.index, list);
  }
  return dumpLinks(sock).map((l) => toLiveLink(ns, l, byIndex.get(l.index) ?? []));
}

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
  const keep = (c: Cidr) => wantedLinkLocal.has(c);
  links.set(nsKey(null), readNamespaceLinks(sockets, null, keep));
  for (const ns of new Set(namespaces)) {
    if (present.has(ns)) links.set(nsKey(ns), readNamespaceLinks(sockets, ns, keep));
  }
  return { namespaces: existing, links, kernelDatapath: kernelDatapathAvailable() };
}

export function findLink(live: LiveState, ns: NamespaceName, name: string): LiveLink | undefined {
  return live.links.get(nsKey(ns))?.find((l) => l.name === name);
}
