/** How apply's errors travel: one mapping to protocol error bodies, used by netmgrd and by a local apply alike. */
import { ApplyFailedError, InvalidUnitsError } from '../apply/apply';
import { LockBusyError } from '../apply/lock';
import type { ErrorBody } from './protocol';

export function errorBody(e: unknown): ErrorBody {
  if (e instanceof InvalidUnitsError) return { kind: 'invalid', message: e.message, errors: e.errors };
  if (e instanceof LockBusyError) return { kind: 'busy', message: e.message };
  if (e instanceof ApplyFailedError) return { kind: 'failed', message: e.message };
  return { kind: 'error', message: (e as Error).message };
}
