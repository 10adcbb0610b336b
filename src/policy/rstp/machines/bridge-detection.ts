/**
 * 17.25 Bridge Detection (BDM): an admin edge port is an edge from the start; an auto-edge port becomes one when no
 * BPDU has arrived for EdgeDelay while it proposes; any BPDU received (Port Receive clears operEdge) ends it.
 */
import type { BridgeVars, PortVars } from '../types';

function enter(p: PortVars, edge: boolean): true {
  p.sm.bdm = edge ? 'EDGE' : 'NOT_EDGE';
  p.operEdge = edge;
  return true;
}

export const bridgeDetectionBegin = (_b: BridgeVars, p: PortVars): void => void enter(p, p.AdminEdgePort);

export function bridgeDetection(_b: BridgeVars, p: PortVars): boolean {
  if (p.sm.bdm === 'EDGE') return ((!p.portEnabled && !p.AdminEdgePort) || !p.operEdge) && enter(p, false);
  const autoEdge = p.timers.edgeDelayWhile === 0 && p.AutoEdgePort && p.sendRSTP && p.proposing;
  return ((!p.portEnabled && p.AdminEdgePort) || autoEdge) && enter(p, true);
}
