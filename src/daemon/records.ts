/**
 * What netmgrd remembers across restarts, in the state directory (JSON, replaced atomically and durably):
 * - applied.json: the unit set in force (last applied successfully), the last attempt's outcome, the unit set
 *   last rolled back for want of a confirm (start and watch do not apply it again until it changes), counters;
 * - confirm.json: an apply waiting for `netmgr confirm`: its steps (undone in reverse on timeout), its deadline,
 *   the unit set it applied and the one it replaced. Written before that apply's journal is closed, so a crash
 *   at any point leaves either the journal (undo the apply) or this record (the rollback stays armed).
 */
import { createHash } from 'crypto';
import * as path from 'path';
import type { Ownership } from '../model/ownership';
import type { UnitError } from '../model/types';
import type { Step } from '../plan/types';
import type { UnitSource } from '../units';
import { readStateFile, removeStateFile, writeStateFile, type StateFileSpec } from '../util/state-file';

/** What started an apply: netmgrd's start, the watcher, SIGHUP / `netmgr reload`, `netmgr apply`, a confirm, a rollback. */
/** `dhcp`: a DHCP lease was obtained, changed or lost, and the unit set in force was applied again with it. */
export type ApplyTrigger = 'start' | 'watch' | 'reload' | 'apply' | 'confirm' | 'rollback' | 'confirm-timeout' | 'dhcp';

export type ApplyResultKind =
  'applied' | 'unchanged' | 'invalid' | 'failed' | 'deferred' | 'skipped' | 'confirmed' | 'rolled-back';

export interface ApplyOutcome {
  time: string;
  trigger: ApplyTrigger;
  result: ApplyResultKind;
  /** One line for people: what happened and why. */
  message: string;
  steps: number;
  unitDir: string;
  /** The units' problems (result 'invalid'), located. */
  errors?: UnitError[];
  /** Verification after the apply: what still differs between the units and the re-read live state. */
  differences?: string[];
  /** Seconds left to `netmgr confirm` (an apply with --confirm). */
  confirmSeconds?: number;
}

export interface ApplyCounters {
  applies: number;
  unchanged: number;
  failed: number;
  invalid: number;
  rollbacks: number;
}

export interface AppliedRecord {
  version: 1;
  /** The unit set in force, or null before the first apply. */
  sources: UnitSource[] | null;
  hash: string | null;
  unitDir: string | null;
  appliedAt: string | null;
  last: ApplyOutcome | null;
  rolledBack: { hash: string; time: string } | null;
  counters: ApplyCounters;
}

export interface PendingConfirm {
  version: 1;
  appliedAt: string;
  /** Epoch milliseconds: roll back when this passes without a confirm. */
  deadline: number;
  timeoutSeconds: number;
  /** The steps the apply ran, in order. */
  steps: Step[];
  sources: UnitSource[];
  hash: string;
  unitDir: string;
  /** The ownership record before the apply, put back by the rollback. */
  ownedBefore: Ownership;
  /** The unit set in force before the apply, in force again after a rollback. */
  previous: { sources: UnitSource[] | null; hash: string | null; unitDir: string | null; appliedAt: string | null };
}

export const emptyCounters = (): ApplyCounters => ({ applies: 0, unchanged: 0, failed: 0, invalid: 0, rollbacks: 0 });

export const emptyApplied = (): AppliedRecord => ({
  version: 1,
  sources: null,
  hash: null,
  unitDir: null,
  appliedAt: null,
  last: null,
  rolledBack: null,
  counters: emptyCounters(),
});

/** A unit set's identity: file names (not the directory) and contents, so moving the directory changes nothing. */
export function hashSources(sources: readonly UnitSource[]): string {
  const h = createHash('sha256');
  for (const s of [...sources].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0))) {
    h.update(`${path.basename(s.file)}\0${s.text}\0`);
  }
  return h.digest('hex').slice(0, 16);
}

/** The file names are *_FILE constants: netmgr(8)'s FILES section is checked against them. */
const APPLIED_FILE = 'applied.json';
const CONFIRM_FILE = 'confirm.json';
const APPLIED: StateFileSpec = { name: APPLIED_FILE, version: 1 };
const CONFIRM: StateFileSpec = { name: CONFIRM_FILE, version: 1 };

export function loadApplied(stateDir: string): AppliedRecord {
  const r = readStateFile<AppliedRecord>(stateDir, APPLIED);
  if (!r) return emptyApplied();
  return { ...emptyApplied(), ...r, counters: { ...emptyCounters(), ...r.counters } };
}

/** Durable before it returns (fsync): a rollback record must survive power loss as well as a crash. */
export const saveApplied = (stateDir: string, r: AppliedRecord): void => writeStateFile(stateDir, APPLIED, r);

export const loadPendingConfirm = (stateDir: string): PendingConfirm | undefined =>
  readStateFile<PendingConfirm>(stateDir, CONFIRM);

export const savePendingConfirm = (stateDir: string, r: PendingConfirm): void => writeStateFile(stateDir, CONFIRM, r);

export const clearPendingConfirm = (stateDir: string): void => removeStateFile(stateDir, CONFIRM);
