/**
 * The apply journal: every step is written before it runs and marked after, so a crash (even SIGKILL) in the
 * middle of an apply can be undone by the next run. JSON lines in the state directory.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Step } from '../plan/types';

export const JOURNAL_FILE = 'journal.jsonl';

type Entry = { t: 'start'; pid: number; time: string } | { t: 'step'; n: number; step: Step } | { t: 'done'; n: number };

export class Journal {
  private fd: number;

  private constructor(readonly file: string) {
    this.fd = fs.openSync(file, 'w', 0o600);
    this.write({ t: 'start', pid: process.pid, time: new Date().toISOString() });
  }

  static start(stateDir: string): Journal {
    fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    return new Journal(path.join(stateDir, JOURNAL_FILE));
  }

  private write(e: Entry): void {
    fs.writeSync(this.fd, JSON.stringify(e) + '\n');
  }

  begin(n: number, step: Step): void {
    this.write({ t: 'step', n, step });
  }

  done(n: number): void {
    this.write({ t: 'done', n });
  }

  /** The apply finished (or was fully rolled back): nothing left to recover. */
  finish(): void {
    fs.closeSync(this.fd);
    fs.unlinkSync(this.file);
  }
}

/**
 * Steps of an interrupted apply that may have taken effect, in the order they were begun. A step that was begun
 * but not marked done may or may not have run; undo treats "already undone" as success.
 */
export function readInterrupted(stateDir: string): { pid: number; steps: Step[] } | undefined {
  const file = path.join(stateDir, JOURNAL_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
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
  fs.rmSync(path.join(stateDir, JOURNAL_FILE), { force: true });
}
