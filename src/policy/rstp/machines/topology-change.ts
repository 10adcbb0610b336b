/**
 * 17.31 Topology Change (TCM): a non-edge port that starts forwarding is a topology change (DETECTED); a TC flag or
 * TCN received is propagated to every other port (tcProp), each of which flushes its learned MACs (fdbFlush) and
 * announces the change for tcWhile. A port that stops being Root or Designated flushes on its way to INACTIVE.
 */
import { newTcWhile, setTcPropTree } from '../procedures';
import type { BridgeVars, PortVars } from '../types';

type State = PortVars['sm']['tcm'];

function go(p: PortVars, s: State): true {
  p.sm.tcm = s;
  return true;
}

function enterInactive(p: PortVars): true {
  go(p, 'INACTIVE');
  p.fdbFlush = true;
  p.timers.tcWhile = 0;
  p.tcAck = false;
  return true;
}

function enterLearning(p: PortVars): true {
  go(p, 'LEARNING');
  p.rcvdTc = p.rcvdTcn = p.rcvdTcAck = false;
  p.tcProp = false;
  return true;
}

/** A TC flag or TCN came in: acknowledge it (Designated Port, legacy neighbour) and propagate it. */
function enterNotifiedTc(b: BridgeVars, p: PortVars): true {
  go(p, 'NOTIFIED_TC');
  p.rcvdTcn = p.rcvdTc = false;
  if (p.role === 'DesignatedPort') p.tcAck = true;
  setTcPropTree(b, p);
  b.effects.topologyChange(p, 'received');
  return true;
}

function fromActive(b: BridgeVars, p: PortVars): boolean {
  if ((p.role !== 'RootPort' && p.role !== 'DesignatedPort') || p.operEdge) return enterLearning(p);
  if (p.rcvdTcn) {
    go(p, 'NOTIFIED_TCN');
    newTcWhile(b, p);
    return true;
  }
  if (p.rcvdTc) return enterNotifiedTc(b, p);
  if (p.tcProp && !p.operEdge) {
    go(p, 'PROPAGATING');
    newTcWhile(b, p);
    p.fdbFlush = true;
    p.tcProp = false;
    return true;
  }
  if (p.rcvdTcAck) {
    go(p, 'ACKNOWLEDGED');
    p.timers.tcWhile = 0;
    p.rcvdTcAck = false;
    return true;
  }
  return false;
}

export const topologyChangeBegin = (_b: BridgeVars, p: PortVars): void => void enterInactive(p);

export function topologyChange(b: BridgeVars, p: PortVars): boolean {
  const rootOrDesignated = p.role === 'RootPort' || p.role === 'DesignatedPort';
  switch (p.sm.tcm) {
    case 'INACTIVE':
      return p.learn && !p.fdbFlush && enterLearning(p);
    case 'LEARNING': {
      if (rootOrDesignated && p.forward && !p.operEdge) {
        go(p, 'DETECTED');
        newTcWhile(b, p);
        setTcPropTree(b, p);
        p.newInfo = true;
        b.effects.topologyChange(p, 'detected');
        return true;
      }
      const pending = p.rcvdTc || p.rcvdTcn || p.rcvdTcAck || p.tcProp;
      if (!rootOrDesignated && !(p.learn || p.learning) && !pending) return enterInactive(p);
      return pending && enterLearning(p);
    }
    case 'ACTIVE':
      return fromActive(b, p);
    case 'NOTIFIED_TCN':
      return enterNotifiedTc(b, p); // UCT
    default:
      // DETECTED, NOTIFIED_TC, PROPAGATING and ACKNOWLEDGED go on unconditionally to ACTIVE.
      return go(p, 'ACTIVE');
  }
}
