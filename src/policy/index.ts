/** Policies above the datapath interface: `learning` (the MAC-learning switch, default) and `flows` (static flows). */
import type { PolicyType } from '../model/types';
import { StaticFlowsPolicy } from './flows';
import { LearningPolicy } from './learning';
import type { Policy } from './types';

export type { LearnedMac, Policy } from './types';
export { LearningPolicy } from './learning';

export function createPolicy(kind: PolicyType, log: (line: string) => void): Policy {
  return kind === 'flows' ? new StaticFlowsPolicy() : new LearningPolicy({ log });
}
