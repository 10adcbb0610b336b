/**
 * Watches the unit directory (chokidar) and calls back once things have settled: an editor's save (often a
 * write to a temporary file renamed over the unit), `cp *.toml`, a `git checkout` of many files all end in one
 * call `delayMs` after the last event. The callback re-reads the whole directory, so how a file changed (in
 * place, renamed over, removed) never matters; only which names are relevant does.
 */
import * as path from 'path';
import { messageOf } from '../util/errors';
import { DAEMON_CONFIG_FILE } from './config';
import type { Logger } from './log';

/** Unit files (`*.toml`, not hidden: editors' lock and swap files start with a dot) and netmgrd.conf. */
export function isWatchedName(name: string): boolean {
  return !name.startsWith('.') && (name.endsWith('.toml') || name === DAEMON_CONFIG_FILE);
}

interface FsWatcher {
  on(event: string, cb: (...args: unknown[]) => void): FsWatcher;
  close(): Promise<void>;
}

export class UnitWatcher {
  private watcher: FsWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private changed = new Set<string>();

  constructor(
    private readonly dir: string,
    readonly delayMs: number,
    private readonly onSettled: (files: string[]) => void,
    private readonly onError: (message: string) => void,
  ) {}

  async start(): Promise<void> {
    // Loaded when watching starts: `netmgr` commands that never watch do not pay for chokidar.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: see the line above
    const chokidar = require('chokidar') as { watch(p: string, o: object): FsWatcher };
    const dir = this.dir;
    const w = chokidar.watch(dir, {
      ignoreInitial: true,
      depth: 0,
      // Paths other than the directory itself and its relevant files are not watched at all.
      ignored: (p: string) => p !== dir && !isWatchedName(path.basename(p)),
    });
    this.watcher = w;
    await new Promise<void>((resolve) => {
      w.on('ready', () => resolve());
      w.on('error', (e) => this.onError(`watching ${dir}: ${messageOf(e)}`));
      for (const ev of ['add', 'change', 'unlink']) w.on(ev, (p) => this.note(p as string));
    });
  }

  private note(p: string): void {
    this.changed.add(path.basename(p));
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const files = [...this.changed].sort();
      this.changed.clear();
      this.onSettled(files);
    }, this.delayMs);
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.watcher?.close();
    this.watcher = undefined;
  }
}

export interface WatchTarget {
  dir: string;
  /** Called with the names that changed, once edits have settled. */
  onSettled: (files: string[]) => void;
  log: Pick<Logger, 'info' | 'warning'>;
}

/**
 * Makes the watcher match the settings: started when `delayMs` is given and none runs, replaced when the delay
 * changed (events pending in the old one are re-read by the reload that got here anyway), stopped when `delayMs`
 * is undefined. Returns the watcher in force.
 */
export async function reconcileWatcher(
  current: UnitWatcher | undefined,
  delayMs: number | undefined,
  t: WatchTarget,
): Promise<UnitWatcher | undefined> {
  if (current && delayMs !== undefined && current.delayMs !== delayMs) {
    await current.close();
    current = undefined;
  }
  if (delayMs !== undefined && !current) {
    const w = new UnitWatcher(t.dir, delayMs, t.onSettled, (m) => t.log.warning(m));
    await w.start();
    t.log.info(`watching ${t.dir} (changes applied ${delayMs} ms after the last edit)`);
    return w;
  }
  if (delayMs === undefined && current) {
    await current.close();
    t.log.info(`stopped watching ${t.dir}`);
    return undefined;
  }
  return current;
}
