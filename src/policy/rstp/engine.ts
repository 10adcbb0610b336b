/**
 * Runs the clause-17 machines of one bridge: BEGIN for a bridge or a port, and `settle`, which lets every machine
 * take transitions until none can (the standard's machines run concurrently; evaluating them in a fixed order until
 * nothing changes gives the same end state, and the fixed order - ports by number - makes runs reproducible).
 * Port Transmit runs only once the others are settled, so that a BPDU carries the bridge's final word.
 */
import { bridgeDetection, bridgeDetectionBegin } from './machines/bridge-detection';
import { portInformation, portInformationBegin } from './machines/port-information';
import { portReceive, portReceiveBegin, protocolMigration, protocolMigrationBegin } from './machines/port-receive';
import { portTimers, portTimersBegin } from './machines/port-timers';
import { portTransmit, portTransmitBegin } from './machines/port-transmit';
import { roleSelection, roleSelectionBegin } from './machines/role-selection';
import { roleTransitions, roleTransitionsBegin } from './machines/role-transitions';
import { stateTransition, stateTransitionBegin } from './machines/state-transition';
import { topologyChange, topologyChangeBegin } from './machines/topology-change';
import { FwdDelay, rstpVersion } from './procedures';
import type { BridgeVars, PortVars } from './types';

type PortMachine = (b: BridgeVars, p: PortVars) => boolean;

/** 17.15: the per-port machines, in the order the standard lists them (PRS, per bridge, runs after them). */
const PORT_MACHINES: ReadonlyArray<readonly [PortMachine, (b: BridgeVars, p: PortVars) => void]> = [
  [portTimers, portTimersBegin],
  [portReceive, portReceiveBegin],
  [protocolMigration, protocolMigrationBegin],
  [bridgeDetection, bridgeDetectionBegin],
  [portInformation, portInformationBegin],
  [roleTransitions, roleTransitionsBegin],
  [stateTransition, stateTransitionBegin],
  [topologyChange, topologyChangeBegin],
];

/** A bound that no correct run comes near (a few hundred transitions per event): reaching it is a bug. */
const MAX_TRANSITIONS = 100_000;

/** BEGIN for one port: every per-port machine enters its initial state. */
export function beginPort(b: BridgeVars, p: PortVars): void {
  for (const [, begin] of PORT_MACHINES) begin(b, p);
  portTransmitBegin(b, p);
}

/** BEGIN for the bridge: the Port Role Selection machine and every port. */
export function beginBridge(b: BridgeVars): void {
  for (const p of b.ports) beginPort(b, p);
  roleSelectionBegin(b);
}

/** 17.19.7: fdbFlush takes effect (a flush of a port that has not learned since the last one is not reported). */
function flushes(b: BridgeVars): boolean {
  let changed = false;
  for (const p of b.ports) {
    if (!p.fdbFlush) continue;
    // RSTP removes the entries at once; STP ages them out within FwdDelay instead.
    if (p.mayHoldMacs) b.effects.flush(p, rstpVersion(b) ? 'immediate' : 'age', FwdDelay(p));
    p.mayHoldMacs = p.learning;
    p.fdbFlush = false;
    changed = true;
  }
  return changed;
}

/** Runs every machine until no transition is enabled. */
export function settle(b: BridgeVars): void {
  let budget = MAX_TRANSITIONS;
  const run = (m: () => boolean): boolean => {
    let any = false;
    while (m()) {
      any = true;
      if (--budget === 0) throw new Error('rstp: the state machines do not settle (a bug)');
    }
    return any;
  };
  for (;;) {
    let changed = false;
    for (const p of b.ports) for (const [m] of PORT_MACHINES) changed = run(() => m(b, p)) || changed;
    changed = run(() => roleSelection(b)) || changed;
    changed = flushes(b) || changed;
    if (changed) continue;
    for (const p of b.ports) changed = run(() => portTransmit(b, p)) || changed;
    if (!changed) return;
  }
}
