/** Carries out an ipv6.set step: sysctl values written in the link's namespace, then its fe80:: addresses. */
import { native } from '../native';
import { nsLabel, type NamespaceSockets } from '../live/namespaces';
import { isIPv6LinkLocal } from '../units/values';
import { AF_INET6, addAddress, deleteAddress, dumpAddrs } from '../netlink/rtnl';
import type { Ipv6Sysctls, Step } from '../plan/types';

/** The sysctl file names, in the order they are written (the generation mode last: it may form an address). */
const SYSCTLS = [
  ['acceptRa', 'accept_ra'],
  ['autoconf', 'autoconf'],
  ['addrGenMode', 'addr_gen_mode'],
] as const;

/** "accept_ra 2, addr_gen_mode 1, fe80:: addresses: none". */
export function describeIpv6(t: Ipv6Sysctls): string {
  const parts: string[] = SYSCTLS.filter(([k]) => t[k] !== undefined).map(([k, name]) => `${name} ${t[k]}`);
  if (t.linkLocal) parts.push(`fe80:: addresses: ${t.linkLocal.length ? t.linkLocal.join(', ') : 'none'}`);
  return parts.length ? parts.join(', ') : 'nothing (the interface is new: undo deletes it)';
}

/** A dotted interface name (a VLAN's eth0.10) is written with a slash in /proc/sys paths. */
const sysctlPath = (link: string, name: string) => `/proc/sys/net/ipv6/conf/${link.replace(/\./g, '/')}/${name}`;

export function setIpv6(sockets: NamespaceSockets, s: Extract<Step, { op: 'ipv6.set' }>, index: number): void {
  const nsFd = s.namespace === null ? -1 : sockets.nsFd(s.namespace);
  for (const [k, name] of SYSCTLS) {
    const v = s.to[k];
    if (v !== undefined) native().sysctlWrite(nsFd, sysctlPath(s.link, name), String(v));
  }
  const want = s.to.linkLocal;
  if (!want) return;
  const sock = sockets.route(s.namespace);
  const what = `${s.link} [${nsLabel(s.namespace)}]`;
  const have = dumpAddrs(sock)
    .filter((a) => a.index === index && a.family === AF_INET6 && isIPv6LinkLocal(a.address))
    .map((a) => `${a.address}/${a.prefixlen}`);
  for (const a of have) if (!want.includes(a)) deleteAddress(sock, index, a, what);
  for (const a of want) if (!have.includes(a)) addAddress(sock, index, a, what);
}
