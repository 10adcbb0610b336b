/** 17.22 Port Timers (PTI): once a second (`tick`), every timer of the port that is running counts down one. */
import type { BridgeVars, PortTimers, PortVars } from '../types';

const TIMERS: ReadonlyArray<keyof PortTimers> = [
  'helloWhen',
  'tcWhile',
  'fdWhile',
  'rcvdInfoWhile',
  'rrWhile',
  'rbWhile',
  'mdelayWhile',
  'edgeDelayWhile',
];

export function portTimersBegin(_b: BridgeVars, p: PortVars): void {
  p.sm.pti = 'ONE_SECOND';
  p.tick = false;
}

export function portTimers(_b: BridgeVars, p: PortVars): boolean {
  if (p.sm.pti === 'TICK') {
    p.sm.pti = 'ONE_SECOND';
    p.tick = false;
    return true;
  }
  if (!p.tick) return false;
  p.sm.pti = 'TICK';
  for (const t of TIMERS) if (p.timers[t] > 0) p.timers[t]--;
  // 17.22: txCount is decremented too, which makes TxHoldCount a rate (BPDUs per second).
  if (p.txCount > 0) p.txCount--;
  return true;
}
