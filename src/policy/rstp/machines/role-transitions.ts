/**
 * 17.29 Port Role Transitions (PRT): moves a port to the role Port Role Selection chose and, within the role, towards
 * forwarding (learn, forward) or discarding. The rapid part: a Designated Port proposes, the neighbour's Root Port
 * syncs its own bridge (every other port discarding or agreed) and agrees, and both forward without waiting for the
 * forward delay. Every transition but BEGIN's is qualified by `selected && !updtInfo`.
 */
import {
  allSynced,
  EdgeDelay,
  forwardDelay,
  FwdDelay,
  HelloTime,
  MaxAge,
  reRooted,
  rstpVersion,
  setReRootTree,
  setSyncTree,
} from '../procedures';
import type { BridgeVars, PortVars } from '../types';

function go(p: PortVars, s: string): true {
  p.sm.prt = s;
  return true;
}

function initPort(p: PortVars): void {
  go(p, 'INIT_PORT');
  p.role = 'DisabledPort';
  p.learn = p.forward = false;
  p.synced = false;
  p.sync = p.reRoot = true;
  p.timers.rrWhile = FwdDelay(p);
  p.timers.fdWhile = MaxAge(p);
  p.timers.rbWhile = 0;
}

/** The global transitions into each role (from any state, when the selected role differs from the current one). */
function enterRole(b: BridgeVars, p: PortVars): boolean {
  switch (p.selectedRole) {
    case 'DisabledPort':
      go(p, 'DISABLE_PORT');
      p.role = 'DisabledPort';
      p.learn = p.forward = false;
      return true;
    case 'RootPort':
      return enterRootPort(p);
    case 'DesignatedPort':
      go(p, 'DESIGNATED_PORT');
      p.role = 'DesignatedPort';
      return true;
    default:
      go(p, 'BLOCK_PORT');
      p.role = p.selectedRole;
      p.learn = p.forward = false;
      return true;
  }
}

function enterRootPort(p: PortVars): true {
  go(p, 'ROOT_PORT');
  p.role = 'RootPort';
  p.timers.rrWhile = FwdDelay(p);
  return true;
}

function disabledRole(p: PortVars): boolean {
  if (p.sm.prt === 'DISABLE_PORT') return !p.learning && !p.forwarding && enterDisabledPort(p);
  const t = p.timers;
  return (t.fdWhile !== MaxAge(p) || p.sync || p.reRoot || !p.synced) && enterDisabledPort(p);
}

function enterDisabledPort(p: PortVars): true {
  go(p, 'DISABLED_PORT');
  p.timers.fdWhile = MaxAge(p);
  p.synced = true;
  p.timers.rrWhile = 0;
  p.sync = p.reRoot = false;
  return true;
}

/** The sub-states of the Root Port role, each returning (UCT) to ROOT_PORT. */
function rootRole(b: BridgeVars, p: PortVars): boolean {
  if (p.sm.prt !== 'ROOT_PORT') return enterRootPort(p);
  const t = p.timers;
  if (p.proposed && !p.agree) {
    go(p, 'ROOT_PROPOSED');
    setSyncTree(b);
    p.proposed = false;
    return true;
  }
  if ((allSynced(b) && !p.agree) || (p.proposed && p.agree)) {
    go(p, 'ROOT_AGREED');
    p.proposed = p.sync = false;
    p.agree = true;
    p.newInfo = true;
    return true;
  }
  if (!p.forward && !p.reRoot) {
    go(p, 'REROOT');
    setReRootTree(b);
    return true;
  }
  const mayAdvance = t.fdWhile === 0 || (reRooted(b, p) && t.rbWhile === 0 && rstpVersion(b));
  if (mayAdvance && p.learn && !p.forward) {
    go(p, 'ROOT_FORWARD');
    t.fdWhile = 0;
    p.forward = true;
    return true;
  }
  if (mayAdvance && !p.learn) {
    go(p, 'ROOT_LEARN');
    t.fdWhile = forwardDelay(p);
    p.learn = true;
    return true;
  }
  if (p.reRoot && p.forward) {
    go(p, 'REROOTED');
    p.reRoot = false;
    return true;
  }
  return t.rrWhile !== FwdDelay(p) && enterRootPort(p);
}

/** The sub-states of the Designated Port role, each returning (UCT) to DESIGNATED_PORT. */
function designatedRole(b: BridgeVars, p: PortVars): boolean {
  if (p.sm.prt !== 'DESIGNATED_PORT') return go(p, 'DESIGNATED_PORT');
  const t = p.timers;
  if (!p.forward && !p.agreed && !p.proposing && !p.operEdge) {
    go(p, 'DESIGNATED_PROPOSE');
    p.proposing = true;
    t.edgeDelayWhile = EdgeDelay(b, p);
    p.newInfo = true;
    return true;
  }
  if (
    (!p.learning && !p.forwarding && !p.synced) ||
    (p.agreed && !p.synced) ||
    (p.operEdge && !p.synced) ||
    (p.sync && p.synced)
  ) {
    go(p, 'DESIGNATED_SYNCED');
    t.rrWhile = 0;
    p.synced = true;
    p.sync = false;
    return true;
  }
  if (t.rrWhile === 0 && p.reRoot) {
    go(p, 'DESIGNATED_RETIRED');
    p.reRoot = false;
    return true;
  }
  if (((p.sync && !p.synced) || (p.reRoot && t.rrWhile !== 0) || p.disputed) && !p.operEdge && (p.learn || p.forward)) {
    go(p, 'DESIGNATED_DISCARDING');
    p.learn = p.forward = p.disputed = false;
    t.fdWhile = forwardDelay(p);
    return true;
  }
  const mayAdvance = (t.fdWhile === 0 || p.agreed || p.operEdge) && (t.rrWhile === 0 || !p.reRoot) && !p.sync;
  if (mayAdvance && !p.learn) {
    go(p, 'DESIGNATED_LEARN');
    p.learn = true;
    t.fdWhile = forwardDelay(p);
    return true;
  }
  if (mayAdvance && p.learn && !p.forward) {
    go(p, 'DESIGNATED_FORWARD');
    p.forward = true;
    t.fdWhile = 0;
    p.agreed = p.sendRSTP;
    return true;
  }
  return false;
}

/** The Alternate and Backup roles (BLOCK_PORT, then ALTERNATE_PORT and its sub-states). */
function alternateRole(b: BridgeVars, p: PortVars): boolean {
  if (p.sm.prt === 'BLOCK_PORT') return !p.learning && !p.forwarding && enterAlternatePort(p);
  if (p.sm.prt !== 'ALTERNATE_PORT') return enterAlternatePort(p);
  const t = p.timers;
  if (p.proposed && !p.agree) {
    go(p, 'ALTERNATE_PROPOSED');
    setSyncTree(b);
    p.proposed = false;
    return true;
  }
  if ((allSynced(b) && !p.agree) || (p.proposed && p.agree)) {
    go(p, 'ALTERNATE_AGREED');
    p.proposed = false;
    p.agree = true;
    p.newInfo = true;
    return true;
  }
  if (t.rbWhile !== 2 * HelloTime(p) && p.role === 'BackupPort') {
    go(p, 'BACKUP_PORT');
    t.rbWhile = 2 * HelloTime(p);
    return true;
  }
  return (t.fdWhile !== FwdDelay(p) || p.sync || p.reRoot || !p.synced) && enterAlternatePort(p);
}

/**
 * ALTERNATE_PORT sets fdWhile to FwdDelay and tests it against the same value (the 2004 diagram mixes FwdDelay and
 * forwardDelay, which never settles while sendRSTP), and clears rrWhile as 802.1Q-2005 does.
 */
function enterAlternatePort(p: PortVars): true {
  go(p, 'ALTERNATE_PORT');
  p.timers.fdWhile = FwdDelay(p);
  p.synced = true;
  p.timers.rrWhile = 0;
  p.sync = p.reRoot = false;
  return true;
}

export const roleTransitionsBegin = (_b: BridgeVars, p: PortVars): void => initPort(p);

export function roleTransitions(b: BridgeVars, p: PortVars): boolean {
  if (p.sm.prt === 'INIT_PORT') {
    // UCT to DISABLE_PORT.
    go(p, 'DISABLE_PORT');
    p.role = 'DisabledPort';
    p.learn = p.forward = false;
    return true;
  }
  if (!p.selected || p.updtInfo) return false;
  if (p.role !== p.selectedRole) return enterRole(b, p);
  switch (p.role) {
    case 'DisabledPort':
      return disabledRole(p);
    case 'RootPort':
      return rootRole(b, p);
    case 'DesignatedPort':
      return designatedRole(b, p);
    default:
      return alternateRole(b, p);
  }
}
