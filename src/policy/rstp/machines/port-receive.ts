/**
 * 17.23 Port Receive (PRX) and 17.24 Port Protocol Migration (PPM): a received BPDU becomes rcvdMsg for the Port
 * Information machine, and its version decides whether the port talks RSTP or falls back to STP for a neighbour that
 * only knows Configuration and TCN BPDUs (after mdelayWhile, so that a neighbour that has just changed version can
 * still be heard; `mcheck` forces a new try with RSTP).
 */
import { rstpVersion, updtBPDUVersion } from '../procedures';
import type { BridgeVars, PortVars } from '../types';

function enterDiscard(b: BridgeVars, p: PortVars): true {
  p.sm.prx = 'DISCARD';
  p.rcvdBpdu = p.rcvdRSTP = p.rcvdSTP = false;
  p.rcvdMsg = false; // clearAllRcvdMsgs()
  p.timers.edgeDelayWhile = b.MigrateTime;
  return true;
}

function enterReceive(b: BridgeVars, p: PortVars): true {
  p.sm.prx = 'RECEIVE';
  updtBPDUVersion(p);
  p.operEdge = p.rcvdBpdu = false;
  p.rcvdMsg = true; // setRcvdMsgs()
  p.timers.edgeDelayWhile = b.MigrateTime;
  return true;
}

export const portReceiveBegin = (b: BridgeVars, p: PortVars): void => void enterDiscard(b, p);

export function portReceive(b: BridgeVars, p: PortVars): boolean {
  if ((p.rcvdBpdu || p.timers.edgeDelayWhile !== b.MigrateTime) && !p.portEnabled) return enterDiscard(b, p);
  if (p.sm.prx === 'DISCARD' && p.rcvdBpdu && p.portEnabled) return enterReceive(b, p);
  if (p.sm.prx === 'RECEIVE' && p.rcvdBpdu && p.portEnabled && !p.rcvdMsg) return enterReceive(b, p);
  return false;
}

function enterCheckingRstp(b: BridgeVars, p: PortVars): true {
  p.sm.ppm = 'CHECKING_RSTP';
  p.mcheck = false;
  p.sendRSTP = rstpVersion(b);
  p.timers.mdelayWhile = b.MigrateTime;
  return true;
}

function enterSelectingStp(b: BridgeVars, p: PortVars): true {
  p.sm.ppm = 'SELECTING_STP';
  p.sendRSTP = false;
  p.timers.mdelayWhile = b.MigrateTime;
  return true;
}

function enterSensing(p: PortVars): true {
  p.sm.ppm = 'SENSING';
  p.rcvdRSTP = p.rcvdSTP = false;
  return true;
}

export const protocolMigrationBegin = (b: BridgeVars, p: PortVars): void => void enterCheckingRstp(b, p);

export function protocolMigration(b: BridgeVars, p: PortVars): boolean {
  const t = p.timers;
  switch (p.sm.ppm) {
    case 'CHECKING_RSTP':
      if (t.mdelayWhile !== b.MigrateTime && !p.portEnabled) return enterCheckingRstp(b, p);
      return t.mdelayWhile === 0 && enterSensing(p);
    case 'SELECTING_STP':
      return (t.mdelayWhile === 0 || !p.portEnabled || p.mcheck) && enterSensing(p);
    case 'SENSING':
      if (!p.portEnabled || p.mcheck || (rstpVersion(b) && !p.sendRSTP && p.rcvdRSTP)) return enterCheckingRstp(b, p);
      return p.sendRSTP && p.rcvdSTP && enterSelectingStp(b, p);
  }
}
