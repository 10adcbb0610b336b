/** Creating a port's clause-17 variables, and applying its settings to them (17.13's effects of a change). */
import type { PortSettings } from './config';
import { bridgeVector, makePortId } from './priority';
import type { BridgeVars, PortVars } from './types';

/** A new port's variables; the machines' BEGIN (engine.ts) then gives them their initial values. */
export function newPortVars(b: BridgeVars, no: number, s: PortSettings, up: boolean): PortVars {
  const vector = bridgeVector(b.BridgeIdentifier);
  const times = b.BridgeTimes;
  const p: PortVars = {
    no,
    name: s.name,
    mac: s.mac,
    portId: makePortId(s.priority, no),
    PortPathCost: s.pathCost,
    PortPriority: s.priority,
    AdminEdgePort: s.adminEdge,
    AutoEdgePort: s.autoEdge,
    operPointToPointMAC: s.pointToPoint,
    bpduGuard: s.bpduGuard,
    rootGuard: s.rootGuard,
    bpduFilter: s.bpduFilter,
    ...{ agree: false, agreed: false, disputed: false, fdbFlush: false, forward: false, forwarding: false },
    ...{ learn: false, learning: false, mcheck: false, newInfo: false, operEdge: false, portEnabled: false },
    ...{ proposed: false, proposing: false, rcvdBpdu: false, rcvdMsg: false, rcvdRSTP: false, rcvdSTP: false },
    ...{ rcvdTc: false, rcvdTcAck: false, rcvdTcn: false, reRoot: false, reselect: false, selected: false },
    ...{ sendRSTP: false, sync: false, synced: false, tcAck: false, tcProp: false, tick: false, txCount: 0 },
    updtInfo: false,
    designatedPriority: vector,
    designatedTimes: times,
    msgPriority: vector,
    msgTimes: times,
    portPriority: vector,
    portTimes: times,
    infoIs: 'Disabled',
    rcvdInfo: 'OtherInfo',
    role: 'DisabledPort',
    selectedRole: 'DisabledPort',
    timers: {
      ...{ edgeDelayWhile: 0, fdWhile: 0, helloWhen: 0, mdelayWhile: 0 },
      ...{ rbWhile: 0, rcvdInfoWhile: 0, rrWhile: 0, tcWhile: 0 },
    },
    sm: {
      ...{ pti: 'ONE_SECOND', prx: 'DISCARD', ppm: 'CHECKING_RSTP', bdm: 'NOT_EDGE', ptx: 'TRANSMIT_INIT' },
      ...{ pim: 'DISABLED', prt: 'INIT_PORT', pst: 'DISCARDING', tcm: 'INACTIVE' },
    },
    macOperational: up,
    errDisabled: false,
    rootGuardBlocked: false,
    mayHoldMacs: false,
    counters: { bpduIn: 0, bpduOut: 0, invalidIn: 0, filteredIn: 0 },
  };
  updatePortEnabled(p);
  return p;
}

/** 6.4.2: portEnabled is the port's MAC_Operational and AdminState, and netmgr's BPDU guard. */
export function updatePortEnabled(p: PortVars): void {
  p.portEnabled = p.macOperational && !p.errDisabled;
}

/**
 * A changed setting takes effect as 17.13 says: a new cost, priority or guard makes the bridge reselect roles
 * (selected = false, reselect = true); admin edge restarts Bridge Detection for the port (the caller does that).
 */
export function applyPortSettings(p: PortVars, s: PortSettings): { reselect: boolean; edgeChanged: boolean } {
  const portId = makePortId(s.priority, p.no);
  const reselect = p.PortPathCost !== s.pathCost || p.portId !== portId || p.rootGuard !== s.rootGuard;
  const edgeChanged = p.AdminEdgePort !== s.adminEdge;
  p.name = s.name;
  p.mac = s.mac;
  p.portId = portId;
  p.PortPathCost = s.pathCost;
  p.PortPriority = s.priority;
  p.AdminEdgePort = s.adminEdge;
  p.AutoEdgePort = s.autoEdge;
  p.operPointToPointMAC = s.pointToPoint;
  p.bpduGuard = s.bpduGuard;
  p.rootGuard = s.rootGuard;
  p.bpduFilter = s.bpduFilter;
  if (reselect) {
    p.reselect = true;
    p.selected = false;
  }
  return { reselect, edgeChanged };
}
