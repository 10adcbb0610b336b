/** What loop protection tells the forwarding decision (a gate per port) and reports (its view). */
import type { StpMode } from '../../model/bridges';
import type { PortRoleName, PortState, RstpView } from '../rstp';

/**
 * What the decision may do with a port: learn the sources of frames received on it, and forward (receive to
 * switch, send) through it (802.1D 17.10: learning in the learning and forwarding states, forwarding only in
 * forwarding). `why` says, for a trace, what holds a gate that is not fully open.
 */
export interface PortGate {
  learn: boolean;
  forward: boolean;
  why?: string;
}

export const OPEN: PortGate = { learn: true, forward: true };

/** The gate for a spanning-tree state and role, or for a port loop detection blocked. */
export function gateOf(state: PortState | 'blocked', role?: PortRoleName): PortGate {
  switch (state) {
    case 'forwarding':
      return OPEN;
    case 'learning':
      return { learn: true, forward: false, why: `learning (spanning tree, ${role} port)` };
    case 'discarding':
      return { learn: false, forward: false, why: `discarding (spanning tree, ${role} port)` };
    case 'blocked':
      return { learn: false, forward: false, why: 'blocked by loop detection (its own probe came back)' };
  }
}

/** What `netmgr stp unblock` lifted from a port: loop detection's block, BPDU guard's err-disable (empty: neither). */
export type LoopUnblocked = Array<'loop-detect' | 'bpdu-guard'>;

/** The data behind `netmgr stp show` (plain data: it crosses netmgrd's socket). */
export interface LoopProtectionView {
  bridge: string;
  stp: StpMode;
  /** The spanning tree as the engine sees it; absent with stp = "off". */
  rstp?: RstpView;
  /** Absent with loop-detect = false. */
  loopDetect?: {
    intervalS: number;
    recoveryS: number;
    /** Ports loop detection holds blocked now. */
    blocked: Array<{ no: number; name: string }>;
  };
}
