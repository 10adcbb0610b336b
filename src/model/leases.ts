/**
 * DHCP leases in the desired state. netmgrd's DHCP client reports each lease; the state used for plan, apply,
 * verify and status is the units plus the leases of the interfaces whose unit still says `dhcp = true`: a lease adds
 * its address to the unit's addresses and, with a router option, a default route via the router. Pure.
 */
import { MAIN_TABLE, type DesiredState, type NamespaceName, type RouteSpec, type SourcePos } from './types';

/**
 * Metric of a lease's default route: above the kernel's default (0) and the usual static and distribution DHCP
 * metrics, so a lease never shadows a default route the box already has.
 */
export const DHCP_ROUTE_METRIC = 1024;

/** One interface's lease, as netmgrd's DHCP client last reported it. */
export interface DhcpLease {
  /** The unit with `dhcp = true` (a bridge unit or an internal port). */
  unit: string;
  namespace: NamespaceName;
  /** The interface the client runs on (the bridge's own port or the internal port). */
  link: string;
  /** The leased address in CIDR form with the subnet's prefix length, e.g. "198.18.154.57/24". */
  address: string;
  /** The first router of the router option, when the server sent one. */
  router?: string;
  /** The domain name servers it gives (option 6), when the server sent any. */
  dns?: string[];
  /** The server that granted it (DHCP server identifier). */
  server?: string;
  /** Lease time in seconds. */
  leaseSeconds: number;
  /** When it was last bound or renewed, and when it runs out (ms since the epoch). */
  boundAt: number;
  expiresAt: number;
  /** The client's last event: BOUND, RENEW, REBIND, REBOOT (dhcpcd's reasons). */
  event: string;
}

/** What a unit's `dhcp = true` looks like to the lease store: where its client runs. */
export interface DhcpInterface {
  unit: string;
  namespace: NamespaceName;
  link: string;
  source: SourcePos;
  /** `use-dns = true`: the lease's name servers go into netmgr's resolv.conf. */
  useDns: boolean;
}

export const leaseKey = (ns: NamespaceName, link: string) => `${ns ?? ''}/${link}`;

/** The interfaces the units want a DHCP client on: a bridge's own port (root namespace) and internal ports. */
export function dhcpInterfaces(desired: DesiredState): DhcpInterface[] {
  const out: DhcpInterface[] = [];
  for (const b of desired.bridges.values())
    if (b.dhcp4) out.push({ unit: b.name, namespace: null, link: b.name, source: b.dhcp4, useDns: b.useDns });
  for (const p of desired.ports.values())
    if (p.dhcp4 && p.kind === 'internal')
      out.push({ unit: p.name, namespace: p.namespace, link: p.name, source: p.dhcp4, useDns: p.useDns });
  return out;
}

/** The lease's default route, when it has a router. */
function leaseRoute(l: DhcpLease, source: SourcePos): RouteSpec[] {
  if (!l.router) return [];
  return [{ family: 4, to: '0.0.0.0/0', via: l.router, metric: DHCP_ROUTE_METRIC, table: MAIN_TABLE, source }];
}

/** The units plus the leases of the interfaces they still want DHCP on (a lease of any other is ignored). */
export function withLeases(desired: DesiredState, leases: readonly DhcpLease[]): DesiredState {
  if (!leases.length) return desired;
  const byKey = new Map(leases.map((l) => [leaseKey(l.namespace, l.link), l]));
  const bridges = new Map(desired.bridges);
  const ports = new Map(desired.ports);
  for (const i of dhcpInterfaces(desired)) {
    const l = byKey.get(leaseKey(i.namespace, i.link));
    if (!l || l.unit !== i.unit) continue;
    const spec = bridges.get(i.unit) ?? ports.get(i.unit)!;
    const merged = {
      ...spec,
      addresses: spec.addresses.includes(l.address) ? spec.addresses : [l.address, ...spec.addresses],
      routes: [...spec.routes, ...leaseRoute(l, i.source)],
    };
    if (merged.type === 'bridge') bridges.set(i.unit, merged);
    else ports.set(i.unit, merged);
  }
  const dns = dhcpInterfaces(desired)
    .filter((i) => i.useDns)
    .flatMap((i) => byKey.get(leaseKey(i.namespace, i.link))?.dns ?? []);
  return { ...desired, bridges, ports, ...(dns.length ? { dns: [...new Set(dns)] } : {}) };
}

/** Whether an address or route (on ns/link) is the lease's: for the plan's "(dhcp lease)" notes. */
export function fromLease(
  leases: readonly DhcpLease[],
  ns: NamespaceName,
  link: string,
  what: { address?: string; via?: string; to?: string; metric?: number },
): boolean {
  const l = leases.find((x) => x.namespace === ns && x.link === link);
  if (!l) return false;
  if (what.address !== undefined) return what.address === l.address;
  return what.to === '0.0.0.0/0' && what.via === l.router && what.metric === DHCP_ROUTE_METRIC;
}
