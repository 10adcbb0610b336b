/**
 * netmgrd's control protocol: one JSON request per connection on a unix socket (mode 0600, root only), answered
 * by one JSON response, each terminated by a newline. Plain data only, so the CLI and the daemon share types.
 */
import type { LiveBridge } from '../live/bridges';
import type { UnitError } from '../model/types';
import type { UnitSource } from '../units';
import type { FdbEntry, FdbStats, TraceResult } from '../policy/learning/api';

export interface ApplyRequest {
  op: 'apply';
  /** The unit files as the CLI read them: the daemon applies exactly what was validated. */
  sources: UnitSource[];
  dir: string;
  failAtStep?: number;
  killAfterStep?: number;
  /** `apply --confirm SECONDS`: roll back unless `netmgr confirm` arrives within this many seconds. */
  confirmSeconds?: number;
}

/** SIGHUP's twin: re-read the daemon's unit directory (and netmgrd.conf), plan, apply and verify. */
export interface ReloadRequest {
  op: 'reload';
}

/** `netmgr status`: the report, with `unitDir` as the units on disk to compare (the CLI's --dir). */
export interface StatusRequest {
  op: 'status';
  unitDir: string;
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

export type FdbCommand = 'show' | 'flush' | 'stats';

/**
 * `netmgr fdb`: the MAC table of bridges with policy = "learning". Without `bridge`, every learning bridge (none is
 * not an error); naming a bridge that runs another policy is refused (kind 'invalid').
 */
export interface FdbRequest {
  op: 'fdb';
  command: FdbCommand;
  bridge?: string;
}

/** `netmgr trace`: what a learning bridge would do with one packet, explained, without learning from it. */
export interface TraceRequest {
  op: 'trace';
  bridge: string;
  /** ODP flow text (ovs-dpctl syntax, ports by name or number) with in_port(...) and eth(src=...,dst=...). */
  flow: string;
}

export type Request = ApplyRequest | ReloadRequest | StatusRequest | DpctlRequest | FdbRequest | TraceRequest | { op: 'confirm' } | { op: 'rollback' } | { op: 'live' } | { op: 'ping' };

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

/** fdb show: one element per bridge, in netmgrd's order; entries sorted by port, VLAN, MAC. */
export type FdbShowResult = { bridge: string; entries: FdbEntry[] }[];
export type FdbStatsResult = { bridge: string; stats: FdbStats }[];
/** fdb flush: how many learned entries each bridge dropped (static entries stay). */
export type FdbFlushResult = { bridge: string; flushed: number }[];
/** trace: the policy's TraceResult as is. */
export type TraceReply = TraceResult;
