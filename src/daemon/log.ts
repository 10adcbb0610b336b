/**
 * netmgrd's log: one line per event on stderr. Under systemd (JOURNAL_STREAM names stderr) each line starts with
 * the syslog priority in sd-daemon(3) form, `<3>`, so the journal files it as err, warning, notice, info or debug
 * and `journalctl -p warning -u netmgr` shows only what needs attention. Elsewhere lines read `netmgrd: ...`, with
 * the level spelled out for warnings and errors.
 */
import * as fs from 'fs';

/** syslog(3) priorities, as the journal numbers them. */
export const LOG_ERR = 3;
export const LOG_WARNING = 4;
export const LOG_NOTICE = 5;
export const LOG_INFO = 6;
export const LOG_DEBUG = 7;

export type LogPriority = typeof LOG_ERR | typeof LOG_WARNING | typeof LOG_NOTICE | typeof LOG_INFO | typeof LOG_DEBUG;

export interface Logger {
  error(line: string): void;
  warning(line: string): void;
  notice(line: string): void;
  info(line: string): void;
  debug(line: string): void;
}

const WORD: Record<LogPriority, string> = { 3: 'error: ', 4: 'warning: ', 5: '', 6: '', 7: 'debug: ' };

/** One log line as written: pure, so the format is tested without a journal. */
export function formatLogLine(priority: LogPriority, line: string, journal: boolean): string {
  // Multi-line messages (a unit error with its hint) keep the priority on every line, as the journal reads lines.
  return (
    line
      .split('\n')
      .map((l) => (journal ? `<${priority}>${l}` : `netmgrd: ${WORD[priority]}${l}`))
      .join('\n') + '\n'
  );
}

/**
 * Whether stderr is the journal: systemd sets JOURNAL_STREAM to "DEVICE:INODE" of the stream it connected, which
 * must match stderr's (a child that inherited the variable but not the stream must not prefix).
 */
export function stderrIsJournal(env: NodeJS.ProcessEnv = process.env): boolean {
  const js = env.JOURNAL_STREAM;
  if (!js) return false;
  try {
    const st = fs.fstatSync(2);
    return js === `${st.dev}:${st.ino}`;
  } catch {
    return false;
  }
}

export function createLogger(write: (text: string) => void, journal: boolean, verbose = false): Logger {
  const at = (p: LogPriority) => (line: string) => write(formatLogLine(p, line, journal));
  return {
    error: at(LOG_ERR),
    warning: at(LOG_WARNING),
    notice: at(LOG_NOTICE),
    info: at(LOG_INFO),
    debug: verbose ? at(LOG_DEBUG) : () => undefined,
  };
}
