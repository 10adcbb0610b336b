/**
 * One error vocabulary for every layer (as nmstate's ErrorKind): a closed set of kinds, the kernel's errno name
 * where the error came from a system call or netlink, and predicates instead of scattered `code === '...'` checks.
 * Every error netmgr throws on purpose is a NetmgrError (or a subclass that fixes its kind); anything else is a bug.
 */

/** What went wrong, in the terms a caller acts on. */
export type ErrorKind =
  /** The input (units, a request, a flow) is wrong; fixing it is the user's move. */
  | 'invalid'
  /** The thing named does not exist. */
  | 'not-found'
  /** The thing to create exists already. */
  | 'exists'
  /** Someone else holds it (lock, pending confirm); retry later. */
  | 'busy'
  /** The kernel or system refused a change that was well formed. */
  | 'failed'
  /** This kernel, datapath or build cannot do it. */
  | 'unsupported'
  /** A service netmgr needs (netmgrd, a socket, a module) is not there. */
  | 'unavailable'
  /** A record, message or answer that netmgr itself wrote or read is malformed: a bug or a corrupted file. */
  | 'corrupt';

export class NetmgrError extends Error {
  /**
   * @param kind  what went wrong (see ErrorKind)
   * @param errno the errno name (`ENOENT`, `EEXIST`, ...) when a system call or netlink said so
   */
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly errno?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The errno name of any error: NetmgrError.errno, Node's `code` on system errors, or undefined. */
export function errnoOf(e: unknown): string | undefined {
  if (e instanceof NetmgrError) return e.errno;
  if (typeof e === 'object' && e !== null) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) return code;
  }
  return undefined;
}

/** True when the error carries one of these errno names. */
export const hasErrno = (e: unknown, ...codes: string[]): boolean => {
  const code = errnoOf(e);
  return code !== undefined && codes.includes(code);
};

/** A missing file or directory (ENOENT): the usual "no record yet". */
export const isNotFound = (e: unknown): boolean =>
  hasErrno(e, 'ENOENT') || (e instanceof NetmgrError && e.kind === 'not-found');

/** An undo whose target is already gone (the device, namespace, address or filter vanished): the undo is done. */
export const isAlreadyUndone = (e: unknown): boolean => hasErrno(e, 'ENOENT', 'ENODEV', 'ESRCH', 'EADDRNOTAVAIL');

/** The error's message, whatever was thrown. */
export const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));
