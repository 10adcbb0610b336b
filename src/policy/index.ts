/** Policies above the datapath interface: `flows` (static flows) now; `learning` (MAC-learning switch) to come. */
import { DatapathError } from '../datapath/types';
import type { PolicyType } from '../model/types';
import { StaticFlowsPolicy } from './flows';
import type { Policy } from './types';

export type { Policy } from './types';

export function createPolicy(kind: PolicyType): Policy {
  if (kind === 'flows') return new StaticFlowsPolicy();
  throw new DatapathError('EOPNOTSUPP', `policy "${kind}" is not implemented in this version of netmgr; use policy = "flows"`);
}
