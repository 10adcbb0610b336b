/**
 * Routes of a unit: `gateway` in [ipv4]/[ipv6] (the default route) and [[ipv4.route]]/[[ipv6.route]] entries, on
 * the interface the unit's addresses go on. The rules: a next hop must be reachable on that interface (in the
 * subnet of one of its addresses, or IPv6 link-local), a switch port (kind = "system") has no routes, the link is
 * up, a route is listed once, and table 255 (the kernel's local table) is not netmgr's.
 */
import { MAIN_TABLE, type RouteSpec } from '../model/types';
import type { Loc } from './locate';
import type { ErrorSink } from './walker';
import { inSubnet, isIPv6LinkLocal, networkOf } from './values';
import type { ArrayElement, Values } from './unit-values';

/** The kernel's own table of local and broadcast addresses (RT_TABLE_LOCAL): never netmgr's to change. */
const LOCAL_TABLE = 255;
/** The kernel's default metrics when a route names none (IPv6: IP6_RT_PRIO_USER). */
export const DEFAULT_METRIC = { 4: 0, 6: 1024 } as const;

const FAMILIES = [4, 6] as const;

/** One route as written, with the positions its errors point at. */
interface WrittenRoute {
  route: Omit<RouteSpec, 'source'>;
  at: Loc;
  viaAt?: Loc;
  tableAt?: Loc;
  /** How the user wrote it, for messages: "gateway" or "[[ipv4.route]]". */
  what: string;
}

/** What routes are read from: a unit's values and its array elements (a FileUnit, without importing it). */
interface RouteSource {
  file: string;
  values: Values;
  arrays: ArrayElement[];
}

function written(u: RouteSource): WrittenRoute[] {
  const out: WrittenRoute[] = [];
  for (const f of FAMILIES) {
    const gw = u.values.given(`ipv${f}.gateway`);
    if (gw)
      out.push({
        route: {
          family: f,
          to: f === 4 ? '0.0.0.0/0' : '::/0',
          via: gw.value,
          metric: DEFAULT_METRIC[f],
          table: MAIN_TABLE,
        },
        at: gw.at,
        viaAt: gw.at,
        what: `\`gateway\` in [ipv${f}]`,
      });
    for (const e of u.arrays.filter((a) => a.section === `ipv${f}.route`)) {
      const v: Values = e.values;
      const to = v.given(`ipv${f}.route.to`);
      if (!to) continue;
      const via = v.given(`ipv${f}.route.via`);
      const table = v.given(`ipv${f}.route.table`);
      out.push({
        route: {
          family: f,
          to: to.value,
          ...(via ? { via: via.value } : {}),
          metric: v.given(`ipv${f}.route.metric`)?.value ?? DEFAULT_METRIC[f],
          table: table?.value ?? MAIN_TABLE,
        },
        at: to.at,
        viaAt: via?.at,
        tableAt: table?.at,
        what: `[[ipv${f}.route]]`,
      });
    }
  }
  return out;
}

/** The unit's routes for the model (from a unit that passed every check). */
export function unitRoutes(u: RouteSource): RouteSpec[] {
  return written(u).map((w) => ({ ...w.route, source: { file: u.file, ...w.at } }));
}

/** The per-unit rules on routes (see the file comment). `kind`: the port's kind; undefined for a bridge. */
export function routeRules(u: RouteSource, kind: string | undefined, report: ErrorSink): void {
  dhcpRules(u, kind, report);
  useDnsRule(u, report);
  ipv6Rules(u, report);
  const routes = written(u);
  if (kind === 'system') {
    for (const r of routes)
      report(
        r.at,
        `a system port cannot have routes (${r.what})`,
        'a switch port carries no host addresses or routes; put them on the bridge unit or on an internal port',
      );
    return;
  }
  if (routes.length && u.values.get('link.state') === 'down')
    report(
      routes[0].at,
      'routes need the link up: the kernel refuses a route through a link that is down',
      'remove state = "down" from [link], or the routes',
    );
  const seen = new Map<string, WrittenRoute>();
  for (const r of routes) {
    const { family: f, to, via, metric, table } = r.route;
    if (table === LOCAL_TABLE && r.tableAt)
      report(
        r.tableAt,
        "table 255 is the kernel's local table, which netmgr does not change",
        'use another table, or omit `table` for the main one (254)',
      );
    if (via !== undefined && !(f === 6 && isIPv6LinkLocal(via))) checkNextHop(u, r, via, report);
    const key = `${f} ${to} ${metric} ${table}`;
    const first = seen.get(key);
    if (first)
      report(
        r.at,
        `route to ${to} (metric ${metric}, table ${table}) is given twice: by ${first.what} at ${first.at.line}:${first.at.col} and by ${r.what}`,
        'keep one of them, or give them different metrics',
      );
    else seen.set(key, r);
  }
}

/** A next hop the interface cannot reach is refused by the kernel ("Nexthop has invalid gateway"): said here. */
function checkNextHop(u: RouteSource, r: WrittenRoute, via: string, report: ErrorSink): void {
  const f = r.route.family;
  const addresses = u.values.get(`ipv${f}.addresses`);
  if (addresses.some((a) => inSubnet(via, a))) return;
  const subnets = addresses;
  report(
    r.viaAt ?? r.at,
    `${r.what === `\`gateway\` in [ipv${f}]` ? 'gateway' : 'via'} ${via} is outside every subnet of this unit's [ipv${f}] addresses` +
      (subnets.length ? ` (${subnets.join(', ')})` : ' (it has none)'),
    subnets.length
      ? `use a router in one of those subnets, or add an address in ${via}'s subnet to [ipv${f}] addresses`
      : `add an address in ${via}'s subnet, e.g. addresses = ["${exampleAddress(via, f)}"]`,
  );
}

/** An example address next to `via` in a /24 (IPv4) or /64 (IPv6), for hints. */
function exampleAddress(via: string, f: 4 | 6): string {
  if (f === 4) {
    const o = via.split('.').map(Number);
    return `${o[0]}.${o[1]}.${o[2]}.${o[3] === 254 ? 253 : 254}/24`;
  }
  const net = networkOf(via, 64);
  return `${net}${net.endsWith('::') ? '' : '::'}${via === `${net}2` ? 3 : 2}/64`.replace(':::', '::');
}

/**
 * `dhcp = true` in [ipv4]: only where netmgr puts host addresses on an interface of its own making that a DHCP
 * server can reach through the bridge (a bridge's own port or an internal port; a veth's peer end is a host of
 * another namespace, a system port is the switch's), and not with a static `gateway`: the lease's router is the
 * default route, and two default routes from two sources would be a guess about which one wins.
 */
function dhcpRules(u: RouteSource, kind: string | undefined, report: ErrorSink): void {
  const d = u.values.given('ipv4.dhcp');
  if (!d?.value) return;
  if (kind !== undefined && kind !== 'internal')
    report(
      d.at,
      `\`dhcp\` in [ipv4] needs a bridge unit or an internal port; this port is of kind "${kind}"`,
      'take the address by DHCP on the bridge unit itself or on an internal port of it, or remove `dhcp`',
    );
  const gw = u.values.given('ipv4.gateway');
  if (gw)
    report(
      gw.at,
      '`gateway` and `dhcp = true` cannot both be set in [ipv4]: the lease gives the default route',
      "remove `gateway` (the DHCP server's router option gives it), or `dhcp` and give a static address",
    );
  if (u.values.get('link.state') === 'down')
    report(d.at, 'DHCP needs the link up', 'remove state = "down" from [link], or `dhcp`');
}

/** `use-dns` takes the name servers of a lease: only beside `dhcp = true`. */
function useDnsRule(u: RouteSource, report: ErrorSink): void {
  const dns = u.values.given('ipv4.use-dns');
  if (dns?.value && !u.values.given('ipv4.dhcp')?.value)
    report(
      dns.at,
      '`use-dns` takes the name servers of a DHCP lease, and this unit has no `dhcp = true`',
      'add dhcp = true to [ipv4], or remove `use-dns`',
    );
}

/**
 * [ipv6] accept-ra, slaac, link-local: SLAAC forms addresses from router advertisements, so it cannot work where they
 * are ignored; a link-local next hop is reached from the interface's own fe80:: address, which link-local = false
 * takes away.
 */
function ipv6Rules(u: RouteSource, report: ErrorSink): void {
  const slaac = u.values.given('ipv6.slaac');
  const acceptRa = u.values.given('ipv6.accept-ra');
  if (slaac?.value && acceptRa?.value === false)
    report(
      slaac.at,
      'slaac = true needs router advertisements, and accept-ra = false ignores them',
      'remove `slaac`, or set accept-ra = true',
    );
  const linkLocal = u.values.given('ipv6.link-local');
  if (linkLocal?.value !== false) return;
  const hop = written(u).find((r) => r.route.family === 6 && r.route.via !== undefined && isIPv6LinkLocal(r.route.via));
  if (hop)
    report(
      hop.viaAt ?? hop.at,
      `${hop.what} goes via the link-local ${hop.route.via}, which needs an fe80:: address of this interface's own, and link-local = false removes it`,
      'remove `link-local = false`, or use a router address in the subnet of an [ipv6] address',
    );
}
