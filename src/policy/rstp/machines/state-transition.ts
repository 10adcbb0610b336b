/**
 * 17.30 Port State Transition (PST): the port's actual state follows learn and forward from Port Role Transitions.
 * enableLearning()/enableForwarding() take effect at once here (17.21.3-6 allow a delay; netmgr's datapath reads
 * the state when it decides, so there is none).
 */
import type { BridgeVars, PortVars } from '../types';

function go(p: PortVars, s: PortVars['sm']['pst']): true {
  p.sm.pst = s;
  p.learning = s !== 'DISCARDING';
  p.forwarding = s === 'FORWARDING';
  if (p.learning) p.mayHoldMacs = true;
  return true;
}

export const stateTransitionBegin = (_b: BridgeVars, p: PortVars): void => void go(p, 'DISCARDING');

export function stateTransition(_b: BridgeVars, p: PortVars): boolean {
  switch (p.sm.pst) {
    case 'DISCARDING':
      return p.learn && go(p, 'LEARNING');
    case 'LEARNING':
      if (p.forward) return go(p, 'FORWARDING');
      return !p.learn && go(p, 'DISCARDING');
    case 'FORWARDING':
      return !p.forward && go(p, 'DISCARDING');
  }
}
