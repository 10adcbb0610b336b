/**
 * 17.28 Port Role Selection (PRS), the one per-bridge machine: whenever a port asks (reselect), recompute every
 * port's role from the priority vectors (updtRolesTree), then let the ports act on it (setSelectedTree).
 */
import { clearReselectTree, setSelectedTree, updtRoleDisabledTree } from '../procedures';
import { updtRolesTree } from '../roles';
import type { BridgeVars } from '../types';

function enterRoleSelection(b: BridgeVars): true {
  b.prs = 'ROLE_SELECTION';
  clearReselectTree(b);
  updtRolesTree(b);
  setSelectedTree(b);
  return true;
}

/** INIT_BRIDGE, then (UCT) ROLE_SELECTION. */
export function roleSelectionBegin(b: BridgeVars): void {
  b.prs = 'INIT_BRIDGE';
  updtRoleDisabledTree(b);
  enterRoleSelection(b);
}

export function roleSelection(b: BridgeVars): boolean {
  return b.ports.some((q) => q.reselect) && enterRoleSelection(b);
}
