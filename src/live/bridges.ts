/**
 * Transitional: the bridge and port configuration types live in src/model/bridges.ts. This re-export keeps
 * imports of the old path compiling until every importer names the model directly.
 */
export { sameVlans } from '../model/bridges';
export type {
  BridgeConfig,
  EffectiveDatapath,
  FlowText,
  LearningConfig,
  LinkConfig,
  LiveBridge,
  PortConfig,
  PortVlanConfig,
  StaticMacConfig,
} from '../model/bridges';
