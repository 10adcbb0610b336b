/**
 * observe: read the world -> preflight -> plan, written once for everyone who needs to know what apply would do
 * (apply itself, `netmgr plan`, `netmgr show`, netmgrd's status and post-apply verification). It reads the live
 * system and the ownership record, so it lives here and not in src/plan, which stays pure.
 */
import { NamespaceSockets } from '../live/namespaces';
import { LiveState, readLiveState } from '../live/state';
import { isIPv6LinkLocal } from '../units/values';
import type { LiveBridge } from '../model/bridges';
import type { Ownership } from '../model/ownership';
import type { DesiredState, UnitError } from '../model/types';
import { findConflicts, planChanges } from '../plan/diff';
import { checkSupported } from '../plan/support';
import { uplinkProblems } from '../plan/takeover';
import type { Plan } from '../plan/types';
import { checkAgainstSystem } from '../units';
import { loadOwnership } from './ownership';
import { loadPortNumbers } from './port-numbers';
import type { PortNumberRecord } from '../model/ports';
import { loadLeases } from './leases';
import { withLeases } from '../model/leases';
import { markLeaseChanges } from '../plan/leases';
import { readResolvConf } from './resolv';

/** What is there, as far as the units and netmgr's records reach. */
export interface World {
  live: LiveState;
  owned: Ownership;
  /** The bridges netmgrd runs (empty outside netmgrd when it is not running). */
  bridges: LiveBridge[];
  /** Port numbers of netmgrd's bridges at its last settled apply: for those not running (port-numbers.ts). */
  portNumbers: PortNumberRecord;
}

export interface Observation {
  world: World;
  /** What keeps the units from being applied on this system (preflight); when any, plan is null. */
  problems: UnitError[];
  /** What apply would change now; null when there are problems. */
  plan: Plan | null;
}

export interface ObserveOptions {
  stateDir: string;
  /** The bridges netmgrd runs: its own in netmgrd, read over its socket in the CLI, none when it is not running. */
  bridges?: LiveBridge[];
  /** Sockets to read with (apply shares them with its step runner); opened and closed here when absent. */
  sockets?: NamespaceSockets;
}

/** Namespaces whose links matter: those the units name and those netmgr owns or put links or ports in. */
export function namespacesOfInterest(desired: DesiredState, owned: Ownership, bridges: LiveBridge[] = []): string[] {
  const s = new Set<string>([...desired.namespaces, ...owned.namespaces]);
  for (const v of owned.veths) for (const ns of [v.namespace, v.peerNamespace]) if (ns !== null) s.add(ns);
  for (const b of bridges) for (const p of b.ports) if (p.namespace !== null) s.add(p.namespace);
  return [...s].sort();
}

export function readWorld(
  desired: DesiredState,
  stateDir: string,
  sockets: NamespaceSockets,
  bridges: LiveBridge[] = [],
): World {
  const owned = loadOwnership(stateDir);
  const wantedLL = new Set<string>();
  for (const p of desired.ports.values())
    for (const a of [...p.addresses, ...p.localAddresses]) if (isIPv6LinkLocal(a)) wantedLL.add(a);
  for (const b of desired.bridges.values()) for (const a of b.addresses) if (isIPv6LinkLocal(a)) wantedLL.add(a);
  const live = readLiveState(sockets, namespacesOfInterest(desired, owned, bridges), wantedLL);
  const resolvConf = readResolvConf(stateDir);
  return { live: resolvConf ? { ...live, resolvConf } : live, owned, bridges, portNumbers: loadPortNumbers(stateDir) };
}

/** Checks that need the live system: system ports exist, wanted names are free or already netmgr's. */
export function preflight(desired: DesiredState, world: World): UnitError[] {
  const { live } = world;
  const facts = {
    namespaceExists: (ns: string) => live.namespaces.includes(ns),
    interfaceExists: (ns: string | null, name: string) => !!live.links.get(ns ?? '')?.some((l) => l.name === name),
  };
  return [
    ...checkSupported(desired, live),
    ...checkAgainstSystem(desired, facts),
    ...uplinkProblems(desired, live, world.bridges),
    ...findConflicts(desired, live, world.owned),
  ];
}

/**
 * Reads the world, checks the units against it and plans them: the world, the problems, and the plan. The state
 * planned is the units plus netmgrd's DHCP leases (dhcp-leases.json), so that everyone plans the same thing.
 */
export function observe(units: DesiredState, opts: ObserveOptions): Observation {
  const sockets = opts.sockets ?? new NamespaceSockets();
  try {
    const leases = loadLeases(opts.stateDir);
    const desired = withLeases(units, leases);
    const world = readWorld(desired, opts.stateDir, sockets, opts.bridges);
    const problems = preflight(desired, world);
    const plan = problems.length
      ? null
      : planChanges(desired, world.live, world.owned, world.bridges, world.portNumbers);
    if (plan) markLeaseChanges(plan.changes, leases);
    return { world, problems, plan };
  } finally {
    if (!opts.sockets) sockets.close();
  }
}
