/**
 * From the clause-17 variables to what the caller sees: the role and state names, the events that a run of the
 * machines produced (a diff of two snapshots, so that transient states inside one run are not reported), and the
 * show() view.
 */
import type { PortRoleName, RstpEvent } from './events';
import { formatBridgeId, formatPortId } from './priority';
import type { RstpView } from './show';
import type { BlockedReason, BridgeVars, PortState, PortVars, Role } from './types';

const ROLE_NAMES: Readonly<Record<Role, PortRoleName>> = {
  DisabledPort: 'disabled',
  RootPort: 'root',
  DesignatedPort: 'designated',
  AlternatePort: 'alternate',
  BackupPort: 'backup',
};

export const roleName = (r: Role): PortRoleName => ROLE_NAMES[r];

const stateOf = (p: PortVars): PortState => (p.forwarding ? 'forwarding' : p.learning ? 'learning' : 'discarding');

interface PortSnapshot {
  name: string;
  role: PortRoleName;
  state: PortState;
  rootGuardBlocked: boolean;
}

export interface Snapshot {
  root: string;
  rootPort?: number;
  rootPathCost: number;
  ports: Map<number, PortSnapshot>;
}

export function snapshot(b: BridgeVars): Snapshot {
  const rootPort = b.ports.find((p) => b.rootPortId !== 0 && p.portId === b.rootPortId);
  return {
    root: formatBridgeId(b.rootPriority.rootBridgeId),
    rootPort: rootPort?.no,
    rootPathCost: b.rootPriority.rootPathCost,
    ports: new Map(
      b.ports.map((p) => [
        p.no,
        { name: p.name, role: roleName(p.role), state: stateOf(p), rootGuardBlocked: p.rootGuardBlocked },
      ]),
    ),
  };
}

/** The events between two snapshots: root first, then per port (by number) role, guard, then state. */
export function diffSnapshots(a: Snapshot, b: Snapshot): RstpEvent[] {
  const out: RstpEvent[] = [];
  if (a.root !== b.root || a.rootPort !== b.rootPort || a.rootPathCost !== b.rootPathCost) {
    out.push({ kind: 'root-changed', root: b.root, rootPort: b.rootPort, rootPathCost: b.rootPathCost });
  }
  for (const [no, now] of b.ports) {
    const before = a.ports.get(no) ?? {
      name: now.name,
      role: 'disabled',
      state: 'discarding',
      rootGuardBlocked: false,
    };
    const port = { port: no, name: now.name };
    if (before.role !== now.role) out.push({ kind: 'port-role', ...port, from: before.role, to: now.role });
    if (before.rootGuardBlocked !== now.rootGuardBlocked) {
      out.push({ kind: 'root-guard', ...port, blocked: now.rootGuardBlocked });
    }
    if (before.state !== now.state) out.push({ kind: 'port-state', ...port, from: before.state, to: now.state });
  }
  return out;
}

function blockedReason(p: PortVars): BlockedReason | undefined {
  if (p.errDisabled) return 'bpdu-guard';
  if (!p.macOperational) return 'link-down';
  if (p.rootGuardBlocked) return 'root-guard';
  return undefined;
}

function portView(p: PortVars): RstpView['ports'][number] {
  const guards = [p.bpduGuard && 'bpdu-guard', p.rootGuard && 'root-guard', p.bpduFilter && 'bpdu-filter'];
  return {
    no: p.no,
    name: p.name,
    portId: formatPortId(p.portId),
    role: roleName(p.role),
    state: stateOf(p),
    pathCost: p.PortPathCost,
    priority: p.PortPriority,
    edge: p.operEdge,
    pointToPoint: p.operPointToPointMAC,
    protocol: p.sendRSTP ? 'rstp' : 'stp',
    designatedBridge: formatBridgeId(p.portPriority.designatedBridgeId),
    designatedPort: formatPortId(p.portPriority.designatedPortId),
    bpduIn: p.counters.bpduIn,
    bpduOut: p.counters.bpduOut,
    invalidIn: p.counters.invalidIn,
    filteredIn: p.counters.filteredIn,
    blockedReason: blockedReason(p),
    guards: guards.filter((g): g is string => typeof g === 'string'),
  };
}

export function view(b: BridgeVars, protocol: 'rstp' | 'stp', topologyChanges: number): RstpView {
  const rootPort = b.ports.find((p) => b.rootPortId !== 0 && p.portId === b.rootPortId);
  return {
    bridgeId: formatBridgeId(b.BridgeIdentifier),
    rootId: formatBridgeId(b.rootPriority.rootBridgeId),
    isRoot: rootPort === undefined,
    rootPathCost: b.rootPriority.rootPathCost,
    rootPort: rootPort && { no: rootPort.no, name: rootPort.name },
    protocol,
    helloTime: b.rootTimes.helloTime,
    maxAge: b.rootTimes.maxAge,
    forwardDelay: b.rootTimes.forwardDelay,
    txHoldCount: b.TxHoldCount,
    topologyChanges,
    ports: b.ports.map(portView),
  };
}
