/**
 * 17.26 Port Transmit (PTX): at most TxHoldCount BPDUs per second per port; RST BPDUs while the port talks RSTP,
 * otherwise Configuration BPDUs from a Designated Port and TCNs from the Root Port; a periodic one every Hello Time.
 * netmgr also sends nothing while the port is disabled or filtered, and starts again as after BEGIN.
 */
import { allTransmitReady, HelloTime, txConfig, txRstp, txTcn } from '../procedures';
import type { BridgeVars, PortVars } from '../types';

function enterInit(p: PortVars): true {
  p.sm.ptx = 'TRANSMIT_INIT';
  p.newInfo = true;
  p.txCount = 0;
  return true;
}

function enterIdle(p: PortVars): true {
  p.sm.ptx = 'IDLE';
  p.timers.helloWhen = HelloTime(p);
  return true;
}

function transmit(b: BridgeVars, p: PortVars, state: 'TRANSMIT_CONFIG' | 'TRANSMIT_TCN' | 'TRANSMIT_RSTP'): true {
  p.sm.ptx = state;
  p.newInfo = false;
  if (state === 'TRANSMIT_CONFIG') txConfig(b, p);
  else if (state === 'TRANSMIT_TCN') txTcn(b, p);
  else txRstp(b, p);
  p.txCount += 1;
  if (state !== 'TRANSMIT_TCN') p.tcAck = false;
  return true;
}

export const portTransmitBegin = (_b: BridgeVars, p: PortVars): void => void enterInit(p);

export function portTransmit(b: BridgeVars, p: PortVars): boolean {
  const quiet = !p.portEnabled || p.bpduFilter;
  if (quiet) return p.sm.ptx !== 'TRANSMIT_INIT' && enterInit(p);
  if (p.sm.ptx !== 'IDLE') return enterIdle(p); // every other state leaves unconditionally (UCT) to IDLE
  if (!allTransmitReady(p)) return false;
  if (p.timers.helloWhen === 0) {
    p.sm.ptx = 'TRANSMIT_PERIODIC';
    p.newInfo = p.newInfo || p.role === 'DesignatedPort' || (p.role === 'RootPort' && p.timers.tcWhile !== 0);
    return true;
  }
  if (!p.newInfo || p.txCount >= b.TxHoldCount) return false;
  if (p.sendRSTP) return transmit(b, p, 'TRANSMIT_RSTP');
  // A TCN only while tcWhile runs: 17.26 would also send one for a newInfo left over from BEGIN or from ROOT_AGREED,
  // and a legacy designated bridge takes every TCN for a topology change (802.1D-1998 sends TCNs only then, too).
  if (p.role === 'RootPort') return p.timers.tcWhile !== 0 && transmit(b, p, 'TRANSMIT_TCN');
  if (p.role === 'DesignatedPort') return transmit(b, p, 'TRANSMIT_CONFIG');
  return false;
}
