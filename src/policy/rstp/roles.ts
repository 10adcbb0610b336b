/**
 * 17.21.25 updtRolesTree: the root priority vector, the root port, and each port's designated priority vector,
 * designated times and selected role. Also netmgr's root guard (802.1Q restrictedRole: a guarded port is never a
 * Root Port) and OVS's MAC move (same root, the Alternate becomes the Root Port: its MACs follow, 17.21.25 adds no
 * flush for this case).
 */
import { compareVectors, sameBridgeId, sameTimes, type PriorityVector, type Times } from './priority';
import type { BridgeVars, PortVars, Role } from './types';

/** 17.6: the root path priority vector of a port: what it received, plus the cost of reaching it, via this port. */
function rootPathVector(p: PortVars): PriorityVector {
  return { ...p.portPriority, rootPathCost: p.portPriority.rootPathCost + p.PortPathCost, bridgePortId: p.portId };
}

/** A port whose received information names this very bridge (a loop back to itself) never gives a root path. */
const fromThisBridge = (b: BridgeVars, p: PortVars): boolean =>
  p.portPriority.designatedBridgeId.address === b.BridgeIdentifier.address;

export function updtRolesTree(b: BridgeVars): void {
  const oldRootPort = b.ports.find((q) => q.portId === b.rootPortId && b.rootPortId !== 0);
  const oldRoot = b.rootPriority.rootBridgeId;
  // a), b): the best of the bridge's own vector and every usable root path vector.
  let best = b.BridgePriority;
  let rootPort: PortVars | undefined;
  for (const p of b.ports) {
    if (p.infoIs !== 'Received' || fromThisBridge(b, p) || p.rootGuard) continue;
    const v = rootPathVector(p);
    if (compareVectors(v, best) < 0) {
      best = v;
      rootPort = p;
    }
  }
  b.rootPriority = best;
  b.rootPortId = rootPort?.portId ?? 0;
  // c): the root times come with the root port's information, one second older.
  b.rootTimes =
    rootPort === undefined ? b.BridgeTimes : { ...rootPort.portTimes, messageAge: rootPort.portTimes.messageAge + 1 };
  for (const p of b.ports) assignPort(b, p, rootPort);
  if (
    rootPort !== undefined &&
    oldRootPort !== undefined &&
    rootPort !== oldRootPort &&
    rootPort.role === 'AlternatePort' &&
    sameBridgeId(oldRoot, best.rootBridgeId)
  ) {
    b.effects.moveMacs(oldRootPort, rootPort);
  }
}

/** d)-f): one port's designated vector and times, selected role, and whether its own information must be updated. */
function assignPort(b: BridgeVars, p: PortVars, rootPort: PortVars | undefined): void {
  p.designatedPriority = {
    rootBridgeId: b.rootPriority.rootBridgeId,
    rootPathCost: b.rootPriority.rootPathCost,
    designatedBridgeId: b.BridgeIdentifier,
    designatedPortId: p.portId,
    bridgePortId: p.portId,
  };
  const times: Times = { ...b.rootTimes, helloTime: b.BridgeTimes.helloTime };
  p.designatedTimes = times;
  const guarded = p.rootGuard && p.infoIs === 'Received' && wouldBeRoot(b, p);
  p.rootGuardBlocked = guarded;
  const [role, updtInfo] = selectRole(b, p, rootPort);
  p.selectedRole = role;
  if (updtInfo !== undefined) p.updtInfo = updtInfo;
}

/** Root guard: the port's root path vector beats the root the bridge chose without it. */
const wouldBeRoot = (b: BridgeVars, p: PortVars): boolean =>
  !fromThisBridge(b, p) && compareVectors(rootPathVector(p), b.rootPriority) < 0;

/** f): the role, and the new updtInfo (undefined: unchanged). */
function selectRole(b: BridgeVars, p: PortVars, rootPort: PortVars | undefined): [Role, boolean | undefined] {
  switch (p.infoIs) {
    case 'Disabled':
      return ['DisabledPort', undefined];
    case 'Aged':
      return ['DesignatedPort', true];
    case 'Mine': {
      const stale =
        compareVectors(p.portPriority, p.designatedPriority) !== 0 || !sameTimes(p.portTimes, p.designatedTimes);
      return ['DesignatedPort', stale ? true : undefined];
    }
    case 'Received':
      if (p === rootPort) return ['RootPort', false];
      if (compareVectors(p.designatedPriority, p.portPriority) < 0) return ['DesignatedPort', true];
      return [fromThisBridge(b, p) ? 'BackupPort' : 'AlternatePort', false];
  }
}
