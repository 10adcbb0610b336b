/**
 * The apply journal: every step is written before it runs and marked after, so a crash (even SIGKILL or a power
 * loss) in the middle of an apply can be undone by the next run. JSON lines in the state directory, appended
 * rather than replaced (one record per step would rewrite the whole journal per step); removed through the
 * state-file helper when the apply is over.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Step } from '../plan/types';
import { isNotFound } from '../util/errors';
import { removeStateFile, type StateFileSpec } from '../util/state-file';

export const JOURNAL_FILE = 'journal.jsonl';

const JOURNAL_RECORD: StateFileSpec = { name: JOURNAL_FILE };

type Entry =
  { t: 'start'; pid: number; time: string } | { t: 'step'; n: number; step: Step } | { t: 'done'; n: number };

export class Journal {
  private fd: number;

  private constructor(private readonly stateDir: string) {
    this.fd = fs.openSync(path.join(stateDir, JOURNAL_FILE), 'w', 0o600);
    this.write({ t: 'start', pid: process.pid, time: new Date().toISOString() });
    fs.fsyncSync(this.fd);
    syncDir(stateDir);
  }

  static start(stateDir: string): Journal {
    fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    return new Journal(stateDir);
  }

  private write(e: Entry | Entry[]): void {
    fs.writeSync(this.fd, (Array.isArray(e) ? e : [e]).map((x) => JSON.stringify(x) + '\n').join(''));
  }

  /**
   * Write-ahead: the steps are on disk before any of them runs, with one fdatasync for all (the caller passes
   * steps whose undo is harmless if they never ran: see stepBatches). first is the number of the first.
   */
  begin(first: number, steps: readonly Step[]): void {
    this.write(steps.map((step, i) => ({ t: 'step', n: first + i, step }) as const));
    fs.fdatasyncSync(this.fd);
  }

  /** Not synced: a step whose mark is lost is undone, and undo treats "already undone" as success. */
  done(n: number): void {
    this.write({ t: 'done', n });
  }

  /** The apply finished (or was fully rolled back): nothing left to recover. */
  finish(): void {
    fs.closeSync(this.fd);
    removeStateFile(this.stateDir, JOURNAL_RECORD);
  }
}

/** Makes the journal's directory entry durable, so that a power loss cannot lose a journal whose steps ran. */
function syncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on a directory; the entry is then as durable as they make it.
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Steps of an interrupted apply that may have taken effect, in the order they were begun. A step that was begun
 * but not marked done may or may not have run; undo treats "already undone" as success.
 */
export function readInterrupted(stateDir: string): { pid: number; steps: Step[] } | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(stateDir, JOURNAL_FILE), 'utf8');
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
  let pid = 0;
  const steps: Step[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let e: Entry;
    try {
      e = JSON.parse(line) as Entry;
    } catch {
      break; // a line cut short by the crash
    }
    if (e.t === 'start') pid = e.pid;
    if (e.t === 'step') steps.push(e.step);
  }
  return { pid, steps };
}

export function clearJournal(stateDir: string): void {
  removeStateFile(stateDir, JOURNAL_RECORD);
}
