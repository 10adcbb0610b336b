/**
 * Gathers `netmgr status`: plans the unit set in force and the units on disk against the live state, and adds
 * the records and counters. netmgrd answers with it; without netmgrd the CLI builds it itself (bridges are then
 * the recorded kernel ones, userspace bridges being down with netmgrd).
 */
import { observe } from '../apply/observe';
import type { BridgeControl } from '../bridge';
import type { LiveBridge } from '../model/bridges';
import type { LoopProtectionView } from '../policy/learning/loop-view';
import { formatUnitError, type DesiredState } from '../model/types';
import { parseUnits, type LoadedUnits } from '../units';
import { readUnits } from './config';
import type { AppliedRecord, PendingConfirm } from './records';
import { hashSources } from './records';
import { isLearning } from './fdb';
import { kernelDatapathAvailable } from '../live/kernel';
import {
  datapathReason,
  objectStates,
  type BridgeCounters,
  type DaemonStatus,
  type HeldPort,
  type StatusReport,
} from './status';

/** The changes that would make the live state match desired, or null (with the problems) when it cannot be planned. */
function planned(desired: DesiredState | null, stateDir: string, bridges: LiveBridge[], problems: string[]) {
  if (!desired) return null;
  const r = observe(desired, { stateDir, bridges });
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
  let disk: LoadedUnits | null = null;
  try {
    disk = readUnits(s.unitDir);
  } catch {
    // Reported as one unit error: the directory is missing or unreadable.
  }
  const diskHash = disk ? hashSources(disk.sources) : null;
  const problems: string[] = [];
  const diskChanges = planned(disk?.state ?? null, s.stateDir, s.bridges, problems);
  // Usually the units on disk are the set in force: then one read of the live state serves both plans.
  const same = diskHash !== null && diskHash === s.record.hash;
  const applied = same ? disk!.state : s.record.sources ? parseUnits(s.record.sources).state : null;
  const appliedChanges = same ? diskChanges : planned(applied, s.stateDir, s.bridges, []);
  const objects = objectStates({
    applied,
    appliedChanges,
    disk: disk?.state ?? null,
    diskChanges,
    lastFailed: s.record.last?.result === 'failed',
  });
  const now = s.now ?? Date.now();
  const kernelNow = s.counters.length > 0 && kernelDatapathAvailable();
  const bridges = s.counters.map((b) => ({
    ...b,
    datapathWhy: datapathReason(applied?.bridges.get(b.name)?.datapath, b.datapath, kernelNow),
  }));
  return {
    schema: 'netmgr.status/1',
    daemon: s.daemon,
    unitDir: s.unitDir,
    unitsValid: !!disk?.state,
    unitErrors: disk ? disk.errors.length : 1,
    problems,
    objects,
    lastApply: s.record.last,
    appliedAt: s.record.appliedAt,
    counters: s.record.counters,
    confirm: s.pending
      ? {
          appliedAt: s.pending.appliedAt,
          deadline: new Date(s.pending.deadline).toISOString(),
          secondsLeft: Math.max(0, Math.ceil((s.pending.deadline - now) / 1000)),
        }
      : null,
    rolledBack: s.record.rolledBack
      ? { time: s.record.rolledBack.time, onDisk: diskHash === s.record.rolledBack.hash }
      : null,
    bridges,
  };
}

/** Each bridge's datapath and port counters, for `netmgr status`. */
export function bridgeCounters(manager: BridgeControl, bridges: LiveBridge[]): BridgeCounters[] {
  return bridges.map((b) => {
    const dp = manager.datapath(b.name);
    const policy = manager.policy(b.name);
    return {
      name: b.name,
      datapath: b.datapath,
      policy: b.policy,
      stats: dp.stats(),
      ports: dp.ports().map((p) => ({
        no: p.no,
        name: p.name,
        stats: p.stats,
        ...(p.tunnelStats ? { tunnel: p.tunnelStats } : {}),
      })),
      ...(isLearning(policy) ? { held: heldPorts(policy.loopProtectionView()) } : {}),
    };
  });
}

/** The ports loop protection keeps from forwarding: loop detection's blocks, then the spanning tree's. */
export function heldPorts(v: LoopProtectionView): HeldPort[] {
  const held: HeldPort[] = (v.loopDetect?.blocked ?? []).map((p) => ({
    ...p,
    why: 'blocked by loop detection (its own probe came back)',
  }));
  for (const p of v.rstp?.ports ?? []) {
    if (p.state === 'forwarding' || held.some((h) => h.no === p.no)) continue;
    const why = p.blockedReason ? `${p.state} (${p.blockedReason})` : `${p.state} (spanning tree, ${p.role} port)`;
    held.push({ no: p.no, name: p.name, why });
  }
  return held.sort((a, b) => a.no - b.no);
}
