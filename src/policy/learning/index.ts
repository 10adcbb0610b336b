/** The learning switch policy: MAC table, VLAN rules, decisions and the slow path over the datapath interface. */
export { LearningPolicy, FLOW_IDLE_MS, REVALIDATE_MS, FLOW_LIMIT, type LearningPolicyOptions } from './policy';
export { MacTable, type MacEntry, type LearnOutcome } from './mac-table';
export { decide, vlanActions, type Decision, type SwitchView } from './decide';
export type { FdbEntry, FdbStats, TraceResult, TracePort, TraceDecision } from './api';
