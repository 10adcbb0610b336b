/**
 * Uplink takeover (pure): a NIC the host is reached through (it carries addresses or routes) stops delivering to the
 * host once a bridge attaches it. Without `take-over = true` such a port is refused; with it, the NIC's addresses
 * and routes move onto the bridge's own port in the same apply, which also takes the NIC's MAC so that neighbours'
 * ARP caches stay valid. The move is recorded (OwnedTakeover): the bridge keeps them while the port keeps the key,
 * and they go back to the NIC when it stops (the unit removed, or the key).
 */
import { findLink, type LiveState } from '../live/state';
import { isIPv6LinkLocal } from '../units/values';
import type { LiveBridge } from '../model/bridges';
import type { MovedRoute, OwnedTakeover, Ownership } from '../model/ownership';
import type { BridgeSpec, DesiredState, PortSpec, UnitError } from '../model/types';
import type { Change, PlanRoute, Step } from './types';

/** What a NIC in the root namespace carries that a takeover moves: addresses (not link-local) and routes. */
export function carried(live: LiveState, nic: string): { addresses: string[]; routes: MovedRoute[] } {
  const link = findLink(live, null, nic);
  const addresses = (link?.addresses ?? []).filter((a) => !isIPv6LinkLocal(a));
  const routes = (live.routes?.get('') ?? [])
    .filter((r) => r.link === nic)
    .map(({ family, to, via, metric, table, protocol }) => ({
      family,
      to,
      ...(via !== undefined ? { via } : {}),
      metric,
      table,
      protocol,
    }));
  return { addresses, routes };
}

const isUplinkPort = (p: PortSpec) => p.kind === 'system' && p.bridge !== undefined && p.namespace === null;

/** The port is attached to its live bridge already (its NIC went through this check when it was attached). */
const attached = (p: PortSpec, bridges: readonly LiveBridge[]) =>
  bridges.some((b) => b.name === p.bridge && b.ports.some((q) => q.name === p.name));

/** `0.0.0.0/0 via 198.18.0.1` as a user reads it: "the default route via 198.18.0.1". */
export function describeRoute(r: PlanRoute): string {
  const dst = r.to === '0.0.0.0/0' || r.to === '::/0' ? 'the default route' : `the route to ${r.to}`;
  return `${dst}${r.via !== undefined ? ` via ${r.via}` : ''}`;
}

export function describeCarried(c: { addresses: string[]; routes: PlanRoute[] }): string {
  const parts = [...c.addresses, ...c.routes.map(describeRoute)];
  return parts.length <= 1 ? parts.join('') : `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
}

/** Preflight: a NIC about to join a bridge while the host is reached through it, without take-over. */
export function uplinkProblems(desired: DesiredState, live: LiveState, bridges: readonly LiveBridge[]): UnitError[] {
  const errors: UnitError[] = [];
  for (const p of desired.ports.values()) {
    if (!isUplinkPort(p) || p.takeOver || attached(p, bridges)) continue;
    // Addresses the kernel formed from router advertisements are not moved (the bridge's own port, with the NIC's
    // MAC, forms the same), but the host may be reached through them: they count here.
    const c = carried(live, p.name);
    const kernelAddresses = findLink(live, null, p.name)?.kernelAddresses ?? [];
    if (!c.addresses.length && !c.routes.length && !kernelAddresses.length) continue;
    const shown = { addresses: [...c.addresses, ...kernelAddresses], routes: c.routes };
    const at = p.kindSource ?? p.source;
    errors.push({
      file: at.file,
      line: at.line,
      col: at.col,
      message:
        `${p.name} carries ${describeCarried(shown)}; attached to bridge ${p.bridge}, the host stops receiving on it ` +
        '(a connection through it, SSH included, would be cut)',
      hint:
        `either remove them from ${p.name} first (ip addr flush dev ${p.name}), or set take-over = true in [port] to ` +
        `move them onto ${p.bridge}'s own port in the same apply, and apply with --confirm (e.g. netmgr apply ` +
        '--confirm 120: it is rolled back unless confirmed)',
    });
  }
  return errors;
}

/** Records the plan keeps: the port unit still exists, still has take-over, on the same bridge. */
function stillWanted(t: OwnedTakeover, desired: DesiredState): boolean {
  const p = desired.ports.get(t.unit);
  return p !== undefined && isUplinkPort(p) && p.takeOver && p.bridge === t.bridge;
}

/** The takeovers this plan makes (a NIC about to be attached that carries something) and gives back. */
export function planTakeovers(
  desired: DesiredState,
  live: LiveState,
  owned: Ownership,
  bridges: readonly LiveBridge[],
): Change[] {
  const records = owned.takeovers ?? [];
  const changes: Change[] = [];
  for (const t of records)
    if (!stillWanted(t, desired))
      changes.push({ action: 'delete', object: 'takeover', unit: t.unit, bridge: t.bridge, record: t });
  for (const t of records) if (stillWanted(t, desired)) changes.push(...missingMovedRoutes(t, live));
  for (const p of desired.ports.values()) {
    if (!isUplinkPort(p) || !p.takeOver || attached(p, bridges) || records.some((t) => t.unit === p.name)) continue;
    const c = carried(live, p.name);
    if (!c.addresses.length && !c.routes.length) continue;
    const mac = findLink(live, null, p.name)?.mac;
    const record: OwnedTakeover = { unit: p.name, bridge: p.bridge!, ...(mac ? { mac } : {}), ...c };
    changes.push({ action: 'create', object: 'takeover', unit: p.name, bridge: p.bridge!, record });
  }
  return changes;
}

/**
 * Routes a kept takeover moved that its bridge's own port no longer has: a userspace bridge's own port (a TAP)
 * goes with netmgrd and comes back without them. Put back with their own protocol.
 */
function missingMovedRoutes(t: OwnedTakeover, live: LiveState): Change[] {
  const have = (live.routes?.get('') ?? []).filter((r) => r.link === t.bridge);
  const same = (a: MovedRoute, b: MovedRoute) =>
    a.family === b.family && a.to === b.to && a.via === b.via && a.metric === b.metric && a.table === b.table;
  return t.routes
    .filter((r) => !have.some((h) => same(h, r) && h.protocol === r.protocol))
    .map((route) => ({ action: 'create', object: 'route', unit: t.unit, namespace: null, link: t.bridge, route }));
}

/**
 * The units as the rest of the plan sees them: a bridge keeps the addresses of the NICs taken over onto it (kept
 * records and this plan's new ones) and, unless its unit sets one, the MAC of the first of them.
 */
export function withTakeovers(desired: DesiredState, kept: readonly OwnedTakeover[]): DesiredState {
  if (!kept.length) return desired;
  const bridges = new Map<string, BridgeSpec>();
  for (const [name, b] of desired.bridges) {
    const mine = kept.filter((t) => t.bridge === name).sort((x, y) => x.unit.localeCompare(y.unit));
    if (!mine.length) {
      bridges.set(name, b);
      continue;
    }
    const addresses = [...b.addresses];
    for (const a of mine.flatMap((t) => t.addresses)) if (!addresses.includes(a)) addresses.push(a);
    const mac = b.link.mac ?? mine.find((t) => t.mac !== undefined)?.mac;
    bridges.set(name, { ...b, addresses, link: { ...b.link, ...(mac !== undefined ? { mac } : {}) } });
  }
  return { ...desired, bridges };
}

/** The records in force after the plan: those kept and those it creates. */
export function takeoversInForce(owned: Ownership, desired: DesiredState, changes: readonly Change[]): OwnedTakeover[] {
  const kept = (owned.takeovers ?? []).filter((t) => stillWanted(t, desired));
  for (const c of changes) if (c.object === 'takeover' && c.action === 'create') kept.push(c.record);
  return kept;
}

/**
 * Steps of a takeover, the NIC's side and the routes (the bridge's addresses and MAC are planned as its own):
 * taking over removes the routes and addresses from the NIC and adds the routes to the bridge once it is up;
 * giving back does the reverse. Routes keep their protocol, so they go back exactly as they were.
 */
export function takeoverSteps(
  c: Extract<Change, { object: 'takeover' }>,
  push: (phase: 'routeDel' | 'addrDel' | 'addrAdd' | 'routeAdd', s: Step) => void,
): void {
  const { unit: nic, bridge, record } = c;
  const [from, to] = c.action === 'create' ? [nic, bridge] : [bridge, nic];
  for (const route of record.routes) {
    push('routeDel', { op: 'route.del', namespace: null, link: from, route });
    push('routeAdd', { op: 'route.add', namespace: null, link: to, route });
  }
  for (const address of record.addresses)
    push(
      c.action === 'create' ? 'addrDel' : 'addrAdd',
      c.action === 'create'
        ? { op: 'addr.del', namespace: null, link: nic, address }
        : { op: 'addr.add', namespace: null, link: nic, address },
    );
}
