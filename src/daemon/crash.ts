/**
 * netmgrd's last line of defence: process-wide handlers for an exception or a rejection that nothing caught.
 *
 * The decision, and why:
 * - Inside a request (the error escaped from work a request started, while that request is unanswered): log it
 *   at error priority with the request's op and keep running. Every request's handler is awaited inside the
 *   server's per-request try/catch and answered from there; what escapes is a callback or a forgotten promise of
 *   that one request. Changes to the system go through the applier's queue and its journal, which either finish
 *   a step list or undo it, so a request's stray error leaves netmgrd's own state consistent; killing netmgrd
 *   instead would take every userspace bridge down with it and let any client that can send one bad request
 *   stop forwarding.
 * - Outside any request (the forwarding loop, a watcher, a confirm timer, start-up): netmgrd cannot tell what the
 *   error left half done, so it logs at error priority (naming the requests in flight, if any) and exits with
 *   EXIT_UNCAUGHT. Under systemd (Restart=on-failure) a new netmgrd starts, recovers an interrupted apply from its
 *   journal and applies the units again: a known state instead of a guessed one.
 */
import { messageOf } from '../util/errors';
import type { Logger } from './log';
import { currentRequest, requestsInFlight } from './request-context';

/** EX_SOFTWARE (sysexits.h): an internal error. Non-zero, so systemd's Restart=on-failure starts netmgrd again. */
export const EXIT_UNCAUGHT = 70;

export type CrashEvent = 'uncaughtException' | 'unhandledRejection';

export type CrashVerdict = { action: 'keep-running'; op: string } | { action: 'exit'; code: number };

/** What to do about an escaped error, given the request it escaped from (pure: the rule above). */
export const crashVerdict = (op: string | undefined): CrashVerdict =>
  op !== undefined ? { action: 'keep-running', op } : { action: 'exit', code: EXIT_UNCAUGHT };

/** The error with its stack when it has one (the stack is what a bug report needs). */
function describe(e: unknown): string {
  try {
    return e instanceof Error && e.stack ? e.stack : messageOf(e);
  } catch {
    return 'an unprintable value';
  }
}

/** The log line of an escaped error and the verdict on it. */
export function crashLogLine(event: CrashEvent, e: unknown, verdict: CrashVerdict, inFlight: string[]): string {
  const what = event === 'uncaughtException' ? 'uncaught exception' : 'unhandled promise rejection';
  if (verdict.action === 'keep-running')
    return `${what} in request ${JSON.stringify(verdict.op)}: ${describe(e)}; netmgrd keeps running (the error is confined to that request)`;
  const serving = inFlight.length ? ` (requests in flight: ${inFlight.join(', ')})` : '';
  return `${what} outside any request${serving}: ${describe(e)}; netmgrd exits with status ${verdict.code} to be restarted in a known state`;
}

/** The process's event API the handlers are installed with (process itself, or a stand-in in tests). */
export interface CrashEventSource {
  /** Adds a listener of uncaughtException or unhandledRejection. */
  on(event: CrashEvent, listener: (e: unknown) => void): unknown;
  /** Removes a listener added with on. */
  off(event: CrashEvent, listener: (e: unknown) => void): unknown;
}

/**
 * Installs the handlers; returns their removal. exit ends the process (process.exit in netmgrd); it is called
 * after the log line is written (stderr is a pipe or the journal's socket: written synchronously).
 */
export function installCrashHandlers(source: CrashEventSource, log: Logger, exit: (code: number) => void): () => void {
  const handler = (event: CrashEvent) => (e: unknown) => {
    const verdict = crashVerdict(currentRequest()?.op);
    try {
      log.error(crashLogLine(event, e, verdict, requestsInFlight()));
    } finally {
      if (verdict.action === 'exit') exit(verdict.code);
    }
  };
  const onException = handler('uncaughtException');
  const onRejection = handler('unhandledRejection');
  source.on('uncaughtException', onException);
  source.on('unhandledRejection', onRejection);
  return () => {
    source.off('uncaughtException', onException);
    source.off('unhandledRejection', onRejection);
  };
}
