/**
 * planChanges: the pure diff of desired state against live state, restricted to what netmgr owns (the ownership
 * record) or is told to manage (the units). Anything else on the system is invisible to it, so it can never
 * plan a change to an interface netmgr did not create.
 */
import { DesiredState, NamespaceName, UnitError } from '../model/types';
import { findLink, LiveLink, LiveState } from '../live/state';
import { nsKey, nsLabel } from '../live/namespaces';
import type { Ownership, OwnedVeth } from '../model/ownership';
import { wantedVeths, WantedVeth } from './desired-links';
import { Change, LiveVethEnd, Plan } from './types';
import { diffEnd } from './link-diff';
import { planBridgeChanges } from './bridges';
import { planIpv6Changes } from './ipv6';
import { planRouteChanges } from './routes';
import { tunnelMtuNotes } from './tunnel-mtu';
import { planTakeovers, takeoversInForce, withTakeovers } from './takeover';
import type { PortNumberRecord } from '../model/ports';
import type { LiveBridge } from '../model/bridges';

const endKey = (ns: NamespaceName, name: string) => `${nsKey(ns)}\0${name}`;

/** The live pair behind an owned veth record, or undefined if it is gone (deleted behind netmgr's back). */
function liveOwnedPair(live: LiveState, o: OwnedVeth): [LiveLink, LiveLink] | undefined {
  const a = findLink(live, o.namespace, o.name);
  const b = findLink(live, o.peerNamespace, o.peer);
  if (!a || !b || a.kind !== 'veth' || b.kind !== 'veth') return undefined;
  return [a, b];
}

const toLiveEnd = (l: LiveLink): LiveVethEnd => ({
  namespace: l.namespace,
  name: l.name,
  index: l.index,
  mtu: l.mtu,
  mac: l.mac,
  state: l.up ? 'up' : 'down',
  addresses: [...l.addresses],
});

/**
 * Interfaces the units want to create whose names are taken by something netmgr does not own. netmgr never
 * adopts or replaces such an interface; the user must rename the unit or remove the interface.
 */
export function findConflicts(desired: DesiredState, live: LiveState, owned: Ownership): UnitError[] {
  const ownedEnds = new Set<string>();
  for (const o of owned.veths) {
    ownedEnds.add(endKey(o.namespace, o.name));
    ownedEnds.add(endKey(o.peerNamespace, o.peer));
  }
  const errors: UnitError[] = [];
  for (const w of wantedVeths(desired)) {
    const port = desired.ports.get(w.unit)!;
    for (const end of [w.a, w.b]) {
      const l = findLink(live, end.namespace, end.name);
      if (l && !ownedEnds.has(endKey(end.namespace, end.name))) {
        errors.push({
          file: port.source.file,
          line: port.source.line,
          col: port.source.col,
          message: `interface \`${end.name}\` already exists in namespace ${nsLabel(end.namespace)} and netmgr did not create it`,
          hint: `netmgr never takes over or replaces existing interfaces: rename the ${end === w.a ? 'unit' : '`peer`'} or delete the interface (ip ${end.namespace ? `-n ${end.namespace} ` : ''}link del ${end.name})`,
        });
      }
    }
  }
  return errors;
}

function createVethChanges(w: WantedVeth, out: Change[]): void {
  out.push({ action: 'create', object: 'veth', unit: w.unit, ends: [w.a, w.b] });
  for (const end of [w.a, w.b]) {
    for (const address of end.addresses)
      out.push({
        action: 'create',
        object: 'address',
        unit: w.unit,
        namespace: end.namespace,
        link: end.name,
        address,
      });
  }
}

/** Display and execution order: create containers first, delete them last. */
const PHASE: Record<string, number> = {
  'create namespace': 0,
  'delete route': 0.5,
  'delete takeover': 0.6,
  'create takeover': 0.7,
  'delete flow': 1,
  'delete port': 2,
  'delete bridge': 3,
  'delete address': 4,
  'delete veth': 5,
  'create veth': 6,
  'create bridge': 7,
  'create port': 8,
  'modify port': 9,
  'modify bridge': 10,
  'modify link': 11,
  'modify ipv6': 11.5,
  'modify dns': 14.5,
  'create address': 12,
  'create flow': 13,
  'create route': 14,
  'delete namespace': 15,
};

/**
 * `bridges`: what netmgrd runs (empty when it is not running: every bridge is then to be created). Uplinks taken
 * over (take-over = true) are planned first: the rest of the plan sees their addresses and MAC as their bridge's.
 */
/** `portNumbers`: netmgrd's record of its bridges' port numbers, kept for a bridge not running (model/ports.ts). */
export function planChanges(
  units: DesiredState,
  live: LiveState,
  owned: Ownership,
  bridges: LiveBridge[] = [],
  portNumbers: PortNumberRecord = {},
): Plan {
  const takeovers = planTakeovers(units, live, owned, bridges);
  const desired = withTakeovers(units, takeoversInForce(owned, units, takeovers));
  const changes: Change[] = [...takeovers];
  const notes: string[] = [];
  const liveNs = new Set(live.namespaces);

  for (const ns of desired.namespaces)
    if (!liveNs.has(ns)) changes.push({ action: 'create', object: 'namespace', name: ns });

  const ownedByEnd = new Map<string, OwnedVeth>();
  for (const o of owned.veths) ownedByEnd.set(endKey(o.namespace, o.name), o);
  const kept = new Set<OwnedVeth>();

  for (const w of wantedVeths(desired)) {
    const o = ownedByEnd.get(endKey(w.a.namespace, w.a.name));
    const pair = o && liveOwnedPair(live, o);
    if (!o || !pair) {
      createVethChanges(w, changes);
      continue;
    }
    if (o.peer !== w.b.name || o.peerNamespace !== w.b.namespace) {
      const reason =
        o.peer !== w.b.name
          ? `peer renamed ${o.peer} -> ${w.b.name}`
          : `peer moves from namespace ${nsLabel(o.peerNamespace)} to ${nsLabel(w.b.namespace)}`;
      changes.push({
        action: 'delete',
        object: 'veth',
        unit: w.unit,
        ends: [toLiveEnd(pair[0]), toLiveEnd(pair[1])],
        reason: `replaced: ${reason}`,
      });
      createVethChanges(w, changes);
      kept.add(o);
      continue;
    }
    kept.add(o);
    diffEnd(w.unit, w.a, pair[0], changes);
    diffEnd(w.unit, w.b, pair[1], changes);
  }

  const deletedEnds = new Set<string>();
  for (const o of owned.veths) {
    if (kept.has(o)) continue;
    const pair = liveOwnedPair(live, o);
    if (!pair) continue;
    changes.push({
      action: 'delete',
      object: 'veth',
      unit: o.unit,
      ends: [toLiveEnd(pair[0]), toLiveEnd(pair[1])],
      reason: 'no unit declares it any more',
    });
    deletedEnds.add(endKey(o.namespace, o.name));
    deletedEnds.add(endKey(o.peerNamespace, o.peer));
  }
  // Bridges before namespaces: the TAP of an internal port deleted by this plan does not keep its namespace alive.
  const vethsCreated = new Set<string>();
  for (const c of changes) if (c.object === 'veth' && c.action === 'create') vethsCreated.add(c.unit);
  changes.push(...planBridgeChanges({ desired, live, bridges, portNumbers, vethsCreated }));
  for (const c of changes) {
    if (c.object !== 'bridge' || c.action !== 'create' || desired.bridges.get(c.name)?.datapath !== 'auto') continue;
    notes.push(
      c.datapath === 'kernel'
        ? `bridge ${c.name}: datapath = "auto" is the kernel datapath here (the openvswitch module is loaded)`
        : `bridge ${c.name}: datapath = "auto" is the userspace datapath here (no openvswitch kernel module; \`modprobe openvswitch\` before the bridge is created to use the kernel's)`,
    );
  }
  changes.push(...planRouteChanges(desired, live, changes));
  changes.push(...planIpv6Changes(desired, live, changes));
  const dns = { from: live.resolvConf ?? [], to: desired.dns ?? [] };
  if (dns.from.join() !== dns.to.join()) changes.push({ action: 'modify', object: 'dns', ...dns });
  notes.push(...spanningTreeNotes(changes), ...tunnelMtuNotes(desired, live));
  for (const c of changes) {
    if (c.action === 'delete' && c.object === 'veth')
      for (const e of c.ends) deletedEnds.add(endKey(e.namespace, e.name));
    if (c.action === 'delete' && c.object === 'port' && c.namespace !== null)
      deletedEnds.add(endKey(c.namespace, c.name));
  }

  const wantedNs = new Set(desired.namespaces);
  for (const ns of owned.namespaces) {
    if (wantedNs.has(ns) || !liveNs.has(ns)) continue;
    const links = live.links.get(nsKey(ns));
    if (!links) continue;
    const foreign = links.filter((l) => l.name !== 'lo' && !deletedEnds.has(endKey(ns, l.name)));
    if (foreign.length) {
      notes.push(
        `namespace ${ns} is kept although no unit names it: it holds interfaces netmgr did not create (${foreign
          .map((l) => l.name)
          .sort()
          .join(', ')})`,
      );
      continue;
    }
    changes.push({ action: 'delete', object: 'namespace', name: ns });
  }

  const order = (c: Change) => PHASE[`${c.action} ${c.object}`] ?? 99;
  // Stable sort keeps unit order inside a phase.
  const sorted = changes
    .map((c, i) => [c, i] as const)
    .sort((x, y) => order(x[0]) - order(y[0]) || x[1] - y[1])
    .map(([c]) => c);
  return { changes: sorted, notes };
}

/** Changes only netmgrd can carry out (it owns the datapaths). */
export const datapathChanges = (plan: Plan): Change[] =>
  plan.changes.filter((c) => c.object === 'bridge' || c.object === 'port' || c.object === 'flow');

/**
 * A bridge that starts a spanning tree (created with one, or turned on in place): its ports do not forward at once,
 * and toward legacy 802.1D neighbours a change waits for the forward-delay timer twice (listening, learning). An
 * apply guarded by --confirm must leave the user that long to see the network settle before confirming.
 */
function spanningTreeNotes(changes: readonly Change[]): string[] {
  const notes: string[] = [];
  for (const c of changes) {
    if (c.object !== 'bridge' || (c.action !== 'create' && c.action !== 'modify')) continue;
    const to = c.action === 'create' ? c.learning?.stp : c.learning?.to.stp;
    const from = c.action === 'modify' ? c.learning?.from.stp : undefined;
    if (to === undefined || to.mode === 'off' || (from !== undefined && from.mode !== 'off')) continue;
    notes.push(
      `bridge ${c.name}: stp = "${to.mode}" starts a spanning tree: with legacy (802.1D) neighbours a topology ` +
        `change may take up to 2 x forward-delay (${2 * to.forwardDelay} s) before ports forward; with --confirm, ` +
        'allow for it',
    );
  }
  return notes;
}
