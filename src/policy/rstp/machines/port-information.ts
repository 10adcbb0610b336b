/**
 * 17.27 Port Information (PIM): keeps the port priority vector and times - its own (Mine), received from the
 * designated port of the attached LAN (Received, for 3 hellos), or Aged - and tells Port Role Selection when they
 * change (reselect). A received BPDU is classified by rcvInfo() into one of five cases.
 */
import {
  betterorsameInfo,
  rcvInfo,
  recordAgreement,
  recordDispute,
  recordPriority,
  recordProposal,
  recordTimes,
  setTcFlags,
  updtRcvdInfoWhile,
} from '../procedures';
import type { BridgeVars, PortVars } from '../types';

type State = PortVars['sm']['pim'];

function go(p: PortVars, s: State): true {
  p.sm.pim = s;
  return true;
}

function enterDisabled(p: PortVars): true {
  go(p, 'DISABLED');
  p.rcvdMsg = false;
  p.proposing = p.proposed = p.agree = p.agreed = false;
  p.timers.rcvdInfoWhile = 0;
  p.infoIs = 'Disabled';
  p.reselect = true;
  p.selected = false;
  return true;
}

function enterAged(p: PortVars): true {
  go(p, 'AGED');
  p.infoIs = 'Aged';
  p.reselect = true;
  p.selected = false;
  return true;
}

function enterUpdate(p: PortVars): true {
  go(p, 'UPDATE');
  p.proposing = p.proposed = false;
  p.agreed = p.agreed && betterorsameInfo(p, 'Mine');
  p.synced = p.synced && p.agreed;
  p.portPriority = p.designatedPriority;
  p.portTimes = p.designatedTimes;
  p.updtInfo = false;
  p.infoIs = 'Mine';
  p.newInfo = true;
  return true;
}

function enterSuperiorDesignated(p: PortVars): void {
  p.agreed = p.proposing = false;
  recordProposal(p);
  setTcFlags(p);
  // Evaluated before infoIs changes: agreement given to other information does not carry over.
  p.agree = p.agree && betterorsameInfo(p, 'Received');
  recordPriority(p);
  recordTimes(p);
  updtRcvdInfoWhile(p);
  p.infoIs = 'Received';
  p.reselect = true;
  p.selected = false;
}

/** RECEIVE and the state its rcvdInfo leads to, in one step (the standard's transitions out of RECEIVE are all UCT-like). */
function receive(b: BridgeVars, p: PortVars): true {
  p.rcvdInfo = rcvInfo(p);
  switch (p.rcvdInfo) {
    case 'SuperiorDesignatedInfo':
      go(p, 'SUPERIOR_DESIGNATED');
      enterSuperiorDesignated(p);
      break;
    case 'RepeatedDesignatedInfo':
      go(p, 'REPEATED_DESIGNATED');
      recordProposal(p);
      setTcFlags(p);
      updtRcvdInfoWhile(p);
      break;
    case 'InferiorDesignatedInfo':
      go(p, 'INFERIOR_DESIGNATED');
      recordDispute(p);
      break;
    case 'InferiorRootAlternateInfo':
      go(p, 'NOT_DESIGNATED');
      recordAgreement(b, p);
      setTcFlags(p);
      break;
    case 'OtherInfo':
      go(p, 'OTHER');
      break;
  }
  p.rcvdMsg = false;
  return true;
}

export const portInformationBegin = (_b: BridgeVars, p: PortVars): void => void enterDisabled(p);

export function portInformation(b: BridgeVars, p: PortVars): boolean {
  if (!p.portEnabled && p.infoIs !== 'Disabled') return enterDisabled(p);
  switch (p.sm.pim) {
    case 'DISABLED':
      if (p.rcvdMsg) return enterDisabled(p);
      return p.portEnabled && enterAged(p);
    case 'AGED':
      return p.selected && p.updtInfo && enterUpdate(p);
    case 'CURRENT':
      if (p.selected && p.updtInfo) return enterUpdate(p);
      if (p.infoIs === 'Received' && p.timers.rcvdInfoWhile === 0 && !p.updtInfo && !p.rcvdMsg) return enterAged(p);
      return p.rcvdMsg && !p.updtInfo && receive(b, p);
    default:
      // UPDATE and the five outcomes of RECEIVE go on unconditionally (UCT) to CURRENT.
      return go(p, 'CURRENT');
  }
}
