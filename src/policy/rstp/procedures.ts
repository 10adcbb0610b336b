/**
 * 802.1D-2004 17.20 (state machine conditions and parameters) and 17.21 (procedures), except updtRolesTree, which
 * has its own file (roles.ts). Each function is named as the standard names it and does what its clause says.
 */
import type { Bpdu, RstBpdu } from './bpdu';
import { compareVectors, isSuperior, compareMessageVectors, sameTimes, type PriorityVector } from './priority';
import type { BridgeVars, InfoIs, PortVars, RcvdInfo } from './types';

// 17.20: conditions and parameters.
export const rstpVersion = (b: BridgeVars): boolean => b.ForceProtocolVersion >= 2;
export const stpVersion = (b: BridgeVars): boolean => b.ForceProtocolVersion < 2;
export const FwdDelay = (p: PortVars): number => p.designatedTimes.forwardDelay;
export const HelloTime = (p: PortVars): number => p.designatedTimes.helloTime;
export const MaxAge = (p: PortVars): number => p.designatedTimes.maxAge;
/** 17.20.5: the short delay while the neighbour speaks RSTP (it answers a proposal at once). */
export const forwardDelay = (p: PortVars): number => (p.sendRSTP ? HelloTime(p) : FwdDelay(p));
/** 17.20.4: how long to wait for a BPDU before declaring the port an edge. */
export const EdgeDelay = (b: BridgeVars, p: PortVars): number => (p.operPointToPointMAC ? b.MigrateTime : MaxAge(p));
/** 17.20.10: every other port's recent-root timer has expired (no old root port can still be forwarding). */
export const reRooted = (b: BridgeVars, p: PortVars): boolean =>
  b.ports.every((q) => q === p || q.timers.rrWhile === 0);
/** 17.20.3 (as OVS and 802.1Q read it): every port has its selected role and is synced, the Root Port excepted. */
export const allSynced = (b: BridgeVars): boolean =>
  b.ports.every((q) => q.selected && q.role === q.selectedRole && (q.role === 'RootPort' || q.synced));
/** 17.26's qualifier on every transmission: roles are settled and the port's information is up to date. */
export const allTransmitReady = (p: PortVars): boolean => p.selected && !p.updtInfo;

// 17.21: procedures.

/** 17.21.1: the new information is at least as good as what the port holds, from the same source kind. */
export function betterorsameInfo(p: PortVars, newInfoIs: InfoIs): boolean {
  if (newInfoIs === 'Received' && p.infoIs === 'Received') return compareVectors(p.msgPriority, p.portPriority) <= 0;
  if (newInfoIs === 'Mine' && p.infoIs === 'Mine') return compareVectors(p.designatedPriority, p.portPriority) <= 0;
  return false;
}

/** 17.21.2 */
export function clearReselectTree(b: BridgeVars): void {
  for (const q of b.ports) q.reselect = false;
}

/** 17.21.7: a topology change: tcWhile starts (one hello and a bit for RSTP, max age + forward delay for STP). */
export function newTcWhile(b: BridgeVars, p: PortVars): void {
  if (p.timers.tcWhile !== 0) return;
  if (p.sendRSTP) {
    p.timers.tcWhile = HelloTime(p) + 1;
    p.newInfo = true;
  } else {
    p.timers.tcWhile = b.rootTimes.maxAge + b.rootTimes.forwardDelay;
  }
}

/** The role a received BPDU conveys: a Configuration BPDU is always a Designated Port's (17.21.8). */
function conveyedRole(bpdu: Bpdu | undefined): 'Designated' | 'RootOrAlternate' | 'None' {
  if (bpdu === undefined || bpdu.type === 'TCN') return 'None';
  if (bpdu.type === 'Config' || bpdu.role === 'Designated') return 'Designated';
  return bpdu.role === 'Root' || bpdu.role === 'AlternateOrBackup' ? 'RootOrAlternate' : 'None';
}

/** 17.21.8: decodes the received BPDU into msgPriority and msgTimes and classifies it against the port's. */
export function rcvInfo(p: PortVars): RcvdInfo {
  const bpdu = p.rxBpdu;
  // A TCN conveys no role; 802.1D-2004 never sets rcvdTcn for it, 802.1Q-2005 does it here (as OVS does).
  if (bpdu?.type === 'TCN') p.rcvdTcn = true;
  if (bpdu === undefined || bpdu.type === 'TCN') return 'OtherInfo';
  p.msgPriority = {
    rootBridgeId: bpdu.rootId,
    rootPathCost: bpdu.rootPathCost,
    designatedBridgeId: bpdu.bridgeId,
    designatedPortId: bpdu.portId,
    bridgePortId: p.portId,
  };
  // 17.21.8 works in whole seconds; legacy bridges may send fractions of a second.
  p.msgTimes = {
    messageAge: Math.round(bpdu.messageAge),
    maxAge: Math.round(bpdu.maxAge),
    forwardDelay: Math.round(bpdu.forwardDelay),
    helloTime: Math.round(bpdu.helloTime),
  };
  const role = conveyedRole(bpdu);
  const cmp = compareMessageVectors(p.msgPriority, p.portPriority);
  if (role === 'Designated') {
    if (isSuperior(p.msgPriority, p.portPriority) && !(cmp === 0 && sameTimes(p.msgTimes, p.portTimes))) {
      return 'SuperiorDesignatedInfo';
    }
    if (cmp === 0 && sameTimes(p.msgTimes, p.portTimes)) return 'RepeatedDesignatedInfo';
    return 'InferiorDesignatedInfo';
  }
  if (role === 'RootOrAlternate' && cmp >= 0) return 'InferiorRootAlternateInfo';
  return 'OtherInfo';
}

const rst = (p: PortVars): RstBpdu | undefined => (p.rxBpdu?.type === 'RST' ? p.rxBpdu : undefined);

/** 17.21.9: the neighbour agrees to our proposal (RSTP, point-to-point only). */
export function recordAgreement(b: BridgeVars, p: PortVars): void {
  if (rstpVersion(b) && p.operPointToPointMAC && rst(p)?.agreement === true) {
    p.agreed = true;
    p.proposing = false;
  } else {
    p.agreed = false;
  }
}

/**
 * 17.21.10, as 802.1Q-2005 corrected it (and OVS does): an inferior designated BPDU with the Learning flag means the
 * neighbour's designated port is learning towards us too - a unidirectional link or a mismatch - so our designated
 * port goes back to discarding (`disputed`).
 */
export function recordDispute(p: PortVars): void {
  if (rst(p)?.learning === true) {
    p.disputed = true;
    p.agreed = false;
  }
}

/** 17.21.11 */
export function recordProposal(p: PortVars): void {
  if (conveyedRole(p.rxBpdu) === 'Designated' && rst(p)?.proposal === true) p.proposed = true;
}

/** 17.21.12 */
export function recordPriority(p: PortVars): void {
  p.portPriority = p.msgPriority;
}

/** 17.21.13: Hello Time no less than the compatibility range's minimum of 1 s. */
export function recordTimes(p: PortVars): void {
  p.portTimes = { ...p.msgTimes, helloTime: Math.max(1, p.msgTimes.helloTime) };
}

/** 17.21.14 */
export function setSelectedTree(b: BridgeVars): void {
  if (b.ports.some((q) => q.reselect)) return;
  for (const q of b.ports) q.selected = true;
}

/** 17.21.15 */
export function setSyncTree(b: BridgeVars): void {
  for (const q of b.ports) q.sync = true;
}

/** 17.21.16 */
export function setReRootTree(b: BridgeVars): void {
  for (const q of b.ports) q.reRoot = true;
}

/** 17.21.17 */
export function setTcFlags(p: PortVars): void {
  const bpdu = p.rxBpdu;
  if (bpdu === undefined) return;
  if (bpdu.type === 'TCN') {
    p.rcvdTcn = true;
    return;
  }
  if (bpdu.tc) p.rcvdTc = true;
  if (bpdu.tca) p.rcvdTcAck = true;
}

/** 17.21.18: every port but this one propagates the topology change. */
export function setTcPropTree(b: BridgeVars, p: PortVars): void {
  for (const q of b.ports) if (q !== p) q.tcProp = true;
}

/** 17.21.19: a Configuration BPDU from the designated priority vector and times. */
export function txConfig(b: BridgeVars, p: PortVars): void {
  b.effects.transmit(p, {
    type: 'Config',
    version: 0,
    tc: p.timers.tcWhile !== 0,
    tca: p.tcAck,
    ...vectorFields(p.designatedPriority, p),
  });
}

/** 17.21.20: an RST BPDU; the role, the agreement and proposal, the port's learning and forwarding state. */
export function txRstp(b: BridgeVars, p: PortVars): void {
  const role =
    p.role === 'RootPort'
      ? 'Root'
      : p.role === 'DesignatedPort'
        ? 'Designated'
        : p.role === 'AlternatePort' || p.role === 'BackupPort'
          ? 'AlternateOrBackup'
          : 'Unknown';
  b.effects.transmit(p, {
    type: 'RST',
    version: 2,
    tc: p.timers.tcWhile !== 0,
    proposal: p.proposing,
    role,
    learning: p.learning,
    forwarding: p.forwarding,
    agreement: p.agree,
    tca: false,
    ...vectorFields(p.designatedPriority, p),
  });
}

function vectorFields(v: PriorityVector, p: PortVars) {
  const t = p.designatedTimes;
  return {
    rootId: v.rootBridgeId,
    rootPathCost: v.rootPathCost,
    bridgeId: v.designatedBridgeId,
    portId: v.designatedPortId,
    messageAge: t.messageAge,
    maxAge: t.maxAge,
    helloTime: t.helloTime,
    forwardDelay: t.forwardDelay,
  };
}

/** 17.21.21 */
export function txTcn(b: BridgeVars, p: PortVars): void {
  b.effects.transmit(p, { type: 'TCN', version: 0 });
}

/** 17.21.22: rcvdRSTP for an RST BPDU, rcvdSTP for a Configuration or TCN BPDU. */
export function updtBPDUVersion(p: PortVars): void {
  if (p.rxBpdu?.type === 'RST') p.rcvdRSTP = true;
  else if (p.rxBpdu !== undefined) p.rcvdSTP = true;
}

/** 17.21.23: three hellos to hear from the designated port again, unless the information is already too old. */
export function updtRcvdInfoWhile(p: PortVars): void {
  const t = p.portTimes;
  p.timers.rcvdInfoWhile = t.messageAge + 1 <= t.maxAge ? 3 * t.helloTime : 0;
}

/** 17.21.24 */
export function updtRoleDisabledTree(b: BridgeVars): void {
  for (const q of b.ports) q.selectedRole = 'DisabledPort';
}
