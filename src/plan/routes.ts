/**
 * Routes: what the units want on each interface against netmgr's own routes in the live state (pure). A route of
 * netmgr's on a unit's interface that no unit wants is removed; one whose interface this plan deletes is removed
 * first too, so that undo gives it back; a wanted route that is missing (or on an interface this plan re-creates) is
 * added. Routes on any other interface are left alone, whatever their protocol.
 */
import { isOwnRoute, type LiveRoute, type LiveState } from '../live/state';
import { nsKey } from '../live/namespaces';
import type { DesiredState, NamespaceName, RouteSpec } from '../model/types';
import type { Change, PlanRoute } from './types';

/** The routes a unit wants on one interface. */
interface WantedRoutes {
  unit: string;
  namespace: NamespaceName;
  link: string;
  routes: RouteSpec[];
}

/** Each unit's routes, on the interface its addresses go on (a veth's peer end; a system port has none). */
export function wantedRoutes(desired: DesiredState): WantedRoutes[] {
  const out: WantedRoutes[] = [];
  for (const b of desired.bridges.values()) out.push({ unit: b.name, namespace: null, link: b.name, routes: b.routes });
  for (const p of desired.ports.values()) {
    if (p.kind === 'system') continue;
    out.push({ unit: p.name, namespace: p.namespace, link: p.kind === 'veth' ? p.peer! : p.name, routes: p.routes });
  }
  return out;
}

const planRoute = (r: RouteSpec | LiveRoute): PlanRoute => ({
  family: r.family,
  to: r.to,
  ...(r.via !== undefined ? { via: r.via } : {}),
  metric: r.metric,
  table: r.table,
});

const routeKey = (ns: NamespaceName, link: string, r: PlanRoute) =>
  [nsKey(ns), link, r.family, r.to, r.via ?? '', r.metric, r.table].join('\0');
export const linkKey = (ns: NamespaceName, link: string) => `${nsKey(ns)}\0${link}`;

/** Interfaces the other changes of the plan delete (their routes go with them), with the unit that had each. */
export function deletedLinks(changes: readonly Change[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of changes) {
    if (c.action !== 'delete') continue;
    if (c.object === 'veth') for (const e of c.ends) out.set(linkKey(e.namespace, e.name), c.unit);
    if (c.object === 'port') out.set(linkKey(c.kind === 'internal' ? c.namespace : null, c.name), c.unit);
    if (c.object === 'bridge') out.set(linkKey(null, c.name), c.unit);
  }
  return out;
}

/** The route changes, given the plan's other changes (for the interfaces they delete and the units they had). */
export function planRouteChanges(desired: DesiredState, live: LiveState, others: readonly Change[]): Change[] {
  const changes: Change[] = [];
  const gone = deletedLinks(others);
  const wanted = new Map<string, { unit: string; namespace: NamespaceName; link: string; route: PlanRoute }>();
  const unitOfLink = new Map<string, string>();
  for (const w of wantedRoutes(desired)) {
    unitOfLink.set(linkKey(w.namespace, w.link), w.unit);
    for (const r of w.routes) wanted.set(routeKey(w.namespace, w.link, planRoute(r)), { ...w, route: planRoute(r) });
  }
  const present = new Set<string>();
  for (const routes of live.routes?.values() ?? []) {
    for (const r of routes.filter(isOwnRoute)) {
      const route = planRoute(r);
      const key = routeKey(r.namespace, r.link, route);
      const lk = linkKey(r.namespace, r.link);
      // Only routes through interfaces of this unit set (or deleted by this plan): a route marked as netmgr's on
      // any other interface is another netmgr's (another state directory) or stale, and never touched.
      if (!unitOfLink.has(lk) && !gone.has(lk)) continue;
      if (wanted.has(key) && !gone.has(lk)) {
        present.add(key);
        continue;
      }
      const unit = unitOfLink.get(lk) ?? gone.get(lk)!;
      changes.push({ action: 'delete', object: 'route', unit, namespace: r.namespace, link: r.link, route });
    }
  }
  for (const [key, w] of wanted)
    if (!present.has(key))
      changes.push({
        action: 'create',
        object: 'route',
        unit: w.unit,
        namespace: w.namespace,
        link: w.link,
        route: w.route,
      });
  return changes;
}
