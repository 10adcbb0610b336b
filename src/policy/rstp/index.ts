/** IEEE 802.1D-2004 clause 17 Rapid Spanning Tree (with STP compatibility) and a loop-detection probe, both pure. */
export { RstpBridge, type Transmit } from './bridge';
export type { RstpBridgeConfig, RstpPortConfig, ProtocolVersion } from './config';
export type { RstpEvent, PortRoleName } from './events';
export { formatRstpView, type RstpView, type RstpPortView } from './show';
export type { PortState, BlockedReason } from './types';
export { decodeBpduFrame, encodeBpduFrame, decodeBpdu, encodeBpdu, type Bpdu } from './bpdu';
export { BRIDGE_GROUP_ADDRESS, pathCostForSpeed } from './constants';
export {
  LoopDetector,
  parseProbe,
  LOOP_PROBE_DST,
  LOOP_PROBE_ETHERTYPE,
  type LoopDetectConfig,
  type LoopEvent,
  type ProbeVerdict,
} from './loop-detect';
