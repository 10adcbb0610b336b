/**
 * Gathers `netmgr status`: plans the unit set in force and the units on disk against the live state, and adds
 * the records and counters. netmgrd answers with it; without netmgrd the CLI builds it itself (bridges are then
 * the recorded kernel ones, userspace bridges being down with netmgrd).
 */
import { planAgainstLive } from '../apply/apply';
import type { LiveBridge } from '../live/bridges';
import { formatUnitError, type DesiredState } from '../model/types';
import { parseUnits, readUnitDir, type UnitSource } from '../units';
import type { AppliedRecord, PendingConfirm } from './records';
import { hashSources } from './records';
import { objectStates, type BridgeCounters, type DaemonStatus, type StatusReport } from './status';

/** The changes that would make the live state match desired, or null (with the problems) when it cannot be planned. */
function planned(desired: DesiredState | null, stateDir: string, bridges: LiveBridge[], problems: string[]) {
  if (!desired) return null;
  const r = planAgainstLive(desired, stateDir, bridges);
  // Preflight problems (a system NIC gone, a name taken by someone else) are what keeps the units from applying.
  problems.push(...r.problems.map(formatUnitError));
  return r.plan ? r.plan.changes : null;
}

export interface StatusSources {
  unitDir: string;
  stateDir: string;
  bridges: LiveBridge[];
  record: AppliedRecord;
  pending: PendingConfirm | undefined;
  daemon: DaemonStatus | null;
  counters: BridgeCounters[];
  now?: number;
}

export function buildStatus(s: StatusSources): StatusReport {
  let sources: UnitSource[] | null = null;
  let readError = false;
  try {
    sources = readUnitDir(s.unitDir);
  } catch {
    readError = true;
  }
  const disk = sources ? parseUnits(sources) : null;
  const applied = s.record.sources ? parseUnits(s.record.sources).state : null;
  const problems: string[] = [];
  const appliedChanges = planned(applied, s.stateDir, s.bridges, []);
  const objects = objectStates({
    applied,
    appliedChanges,
    disk: disk?.state ?? null,
    diskChanges: planned(disk?.state ?? null, s.stateDir, s.bridges, problems),
    lastFailed: s.record.last?.result === 'failed',
  });
  const now = s.now ?? Date.now();
  return {
    schema: 'netmgr.status/1',
    daemon: s.daemon,
    unitDir: s.unitDir,
    unitsValid: !readError && !!disk?.state,
    unitErrors: readError ? 1 : disk?.errors.length ?? 0,
    problems,
    objects,
    lastApply: s.record.last,
    appliedAt: s.record.appliedAt,
    counters: s.record.counters,
    confirm: s.pending ? { appliedAt: s.pending.appliedAt, deadline: new Date(s.pending.deadline).toISOString(), secondsLeft: Math.max(0, Math.ceil((s.pending.deadline - now) / 1000)) } : null,
    rolledBack: s.record.rolledBack ? { time: s.record.rolledBack.time, onDisk: !!sources && hashSources(sources) === s.record.rolledBack.hash } : null,
    bridges: s.counters,
  };
}
