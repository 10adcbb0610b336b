/** How a command's error that escaped its run is shown, and the exit code it gives: one place for main and plan. */
import { DaemonUnavailableError, START_HINT } from '../daemon/client';
import { NetmgrError } from '../util/errors';
import { CliIO, EXIT_BUSY, EXIT_FAILURE, EXIT_INVALID, UsageError } from './command';

/** Prints `e` as main always has (usage errors with the usage, a missing netmgrd with how to start it). */
export function reportError(io: CliIO, name: string, usage: string, e: unknown): number {
  if (e instanceof UsageError) {
    io.stderr(`netmgr ${name}: ${e.message}\nusage: ${usage}\n`);
    return EXIT_INVALID;
  }
  const err = e as Error & { code?: string };
  if (e instanceof DaemonUnavailableError) {
    io.stderr(`netmgr ${name}: ${err.message}\n  hint: ${START_HINT}\n`);
    return EXIT_FAILURE;
  }
  io.stderr(`netmgr ${name}: ${err.message}\n`);
  if (process.env.NETMGR_DEBUG) io.stderr(`${err.stack}\n`);
  // Busy (netmgrd's backlog stayed full, or a refusal that escaped): the exit code that says "try again".
  return e instanceof NetmgrError && e.kind === 'busy' ? EXIT_BUSY : EXIT_FAILURE;
}
