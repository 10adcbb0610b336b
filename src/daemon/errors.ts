/**
 * How errors travel over netmgrd's socket: RequestError carries the protocol error body both ways (thrown by a
 * handler, rebuilt by the client), and errorBody maps any error to a body, for netmgrd and a local apply alike.
 */
import { ApplyFailedError, InvalidUnitsError } from '../apply/apply';
import { LockBusyError } from '../apply/lock';
import { NetmgrError, messageOf, type ErrorKind } from '../util/errors';
import type { ErrorBody } from './protocol';

/** The error vocabulary's kind for a protocol error kind. */
const KIND: Record<ErrorBody['kind'], ErrorKind> = {
  invalid: 'invalid',
  flow: 'invalid',
  busy: 'busy',
  failed: 'failed',
  error: 'failed',
};

/** A refusal with the protocol error body the client gets (its kind sets the CLI's exit code). */
export class RequestError extends NetmgrError {
  constructor(readonly body: ErrorBody) {
    super(KIND[body.kind], body.message);
  }
}

/** The body an error travels as: a refusal's own; apply's errors by kind; anything else is kind 'error'. */
export function errorBody(e: unknown): ErrorBody {
  if (e instanceof RequestError) return e.body;
  if (e instanceof InvalidUnitsError) return { kind: 'invalid', message: e.message, errors: e.errors };
  if (e instanceof LockBusyError) return { kind: 'busy', message: e.message };
  if (e instanceof ApplyFailedError) return { kind: 'failed', message: e.message };
  return { kind: 'error', message: messageOf(e) };
}
