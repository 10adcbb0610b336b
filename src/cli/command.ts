/** The contract every `netmgr` subcommand implements: one file per command under src/cli/. */
import { NetmgrError } from '../util/errors';

/** Output of a command; the members are plain functions (no `this`), so commands may pass them around unbound. */
export interface CliIO {
  /** Writes text to standard output as is (the caller adds newlines). */
  stdout: (text: string) => void;
  /** Writes text to standard error as is (the caller adds newlines). */
  stderr: (text: string) => void;
}

export interface CliContext extends CliIO {
  /** Arguments after the subcommand name. */
  args: string[];
  env: NodeJS.ProcessEnv;
}

/** Exit codes, documented in netmgr(8). */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
/** Invalid input: bad units, bad flow syntax, bad command line. */
export const EXIT_INVALID = 2;
/** Another apply holds the lock. */
export const EXIT_BUSY = 3;

/** Thrown for a bad command line; main prints it with the command's usage and exits EXIT_INVALID. */
export class UsageError extends NetmgrError {
  constructor(message: string) {
    super('invalid', message);
  }
}

export interface Command {
  name: string;
  /** One line for `netmgr help`. */
  summary: string;
  /** Usage synopsis, e.g. "netmgr plan [--json] [--dir DIR]". */
  usage: string;
  run(ctx: CliContext): Promise<number>;
}
