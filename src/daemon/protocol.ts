/**
 * netmgrd's control protocol: one JSON request per connection on a unix socket (mode 0600, root only), answered
 * by one JSON response, each terminated by a newline. Plain data only, so the CLI and the daemon share types.
 */
import type { LiveBridge } from '../live/bridges';
import type { UnitError } from '../model/types';
import type { UnitSource } from '../units';

export interface ApplyRequest {
  op: 'apply';
  /** The unit files as the CLI read them: the daemon applies exactly what was validated. */
  sources: UnitSource[];
  dir: string;
  failAtStep?: number;
  killAfterStep?: number;
}

export type DpctlCommand = 'show' | 'dump-flows' | 'add-flow' | 'mod-flow' | 'del-flow' | 'del-flows';

export interface DpctlRequest {
  op: 'dpctl';
  command: DpctlCommand;
  bridge?: string;
  flow?: string;
  actions?: string;
  /** mod-flow: zero the flow's statistics; create it when absent. */
  clear?: boolean;
  mayCreate?: boolean;
  /** dump-flows -m: every field with its mask, and the UFID. */
  more?: boolean;
}

export type Request = ApplyRequest | DpctlRequest | { op: 'live' } | { op: 'ping' };

/** Error kinds map to CLI exit codes: invalid -> 2, busy -> 3, failed/error -> 1. */
export interface ErrorBody {
  kind: 'invalid' | 'busy' | 'failed' | 'error' | 'flow';
  message: string;
  errors?: UnitError[];
  /** kind 'flow': where in which text the problem is (rendered with a caret by the CLI). */
  flowErrors?: { message: string; column: number; token: string; source: 'flow' | 'actions' }[];
}

export type Response<T = unknown> = { ok: true; result: T } | { ok: false; error: ErrorBody };

export type LiveResult = LiveBridge[];
