/** Policies above the datapath interface: `learning` (the MAC-learning switch, default) and `flows` (static flows). */
import type { BridgeConfig } from '../live/bridges';
import { StaticFlowsPolicy } from './flows';
import { LearningPolicy } from './learning';
import type { Policy } from './types';

export type { Policy } from './types';
export { LearningPolicy } from './learning';

export function createPolicy(cfg: BridgeConfig, log: (line: string) => void): Policy {
  return cfg.policy === 'flows' ? new StaticFlowsPolicy() : new LearningPolicy({ log });
}
