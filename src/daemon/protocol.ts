/**
 * netmgrd's control protocol: one JSON request per connection on a unix socket (mode 0600, root only), answered
 * by one JSON response, each terminated by a newline. A request on the wire is `{"op": METHOD, ...params}`; the
 * answer is `{"ok": true, "result": ...}` or `{"ok": false, "error": ErrorBody}`.
 *
 * Every request is defined once below (as vscode-languageserver-node's `new ProtocolRequestType<P, R>(method)`):
 * its method (the wire `op`), its params type and its result type. The client sends with a definition
 * (`send(socket, ApplyRequest, params)` resolves to an ApplyResult), the server registers a handler for it
 * (`server.handle(ApplyRequest, (params) => ...)`), so neither side picks a type with a cast.
 */
import type { LiveBridge } from '../model/bridges';
import type { UnitError } from '../model/types';
import type { UnitSource } from '../units';
import type { FdbEntry, FdbStats, TraceResult } from '../policy/learning/api';
import type { DpPortInfo, DpStats } from '../datapath/types';
import type { ApplyOutcome } from './records';
import type { StatusReport } from './status';

/**
 * One request: its wire name, and (as phantom types) what it takes and what it answers. The definition object is
 * where a request's runtime description belongs: a params schema attached here is what the server validates with.
 */
export class RequestType<P, R> {
  /** Never set: carries P and R so send() and handle() infer them from the definition. */
  declare readonly _types?: { params: P; result: R };
  /** @param method the wire `op` of the request */
  constructor(readonly method: string) {}
}

/** Defines a request: `defineRequest<ApplyParams, ApplyResult>('apply')`. */
export const defineRequest = <P, R>(method: string): RequestType<P, R> => new RequestType<P, R>(method);

/** A request as it travels: the method as `op`, the params beside it. */
export type WireRequest<P = Record<string, unknown>> = { op: string } & P;

/** No params. */
export type NoParams = Record<string, never>;

export interface ApplyParams {
  /** The unit files as the CLI read them: the daemon applies exactly what was validated. */
  sources: UnitSource[];
  dir: string;
  /** Test hook: the apply fails at this step (1-based). */
  failAtStep?: number;
  /** Test hook: the daemon is killed after this step (crash safety). */
  killAfterStep?: number;
  /** `apply --confirm SECONDS`: roll back unless `netmgr confirm` arrives within this many seconds. */
  confirmSeconds?: number;
}

export interface ApplyResult {
  plan: object;
  steps: number;
  recovered: number;
  /** Verification: what still differs between the units and the live state re-read after the apply. */
  differences: string[];
  /** With --confirm: when the rollback happens unless confirmed (absent when nothing changed). */
  confirmDeadline?: string;
}

/** `netmgr status`: the report, with `unitDir` as the units on disk to compare (the CLI's --dir). */
export interface StatusParams {
  unitDir: string;
}

export type DpctlCommand = 'show' | 'dump-flows' | 'add-flow' | 'mod-flow' | 'del-flow' | 'del-flows';

export interface DpctlParams {
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

/** `dpctl show`: one bridge's datapath, counters and ports. */
export interface DpctlShowBridge {
  name: string;
  type: string;
  stats: DpStats;
  ports: DpPortInfo[];
}

/** `dpctl dump-flows`: one flow as text and counters. */
export interface DpctlFlow {
  ufid: string;
  match: string;
  actions: string;
  packets: number;
  bytes: number;
  /** Milliseconds since the last hit, or null when never hit. */
  usedMsAgo: number | null;
  tcpFlags: number;
  /** The `dump-flows` line (with -m: every field, masks and the UFID). */
  line: string;
}

/** show: the bridges; dump-flows: one bridge's flows; the others: what changed (printed with --json only). */
export type DpctlResult =
  | DpctlShowBridge[]
  | { bridge: string; flows: DpctlFlow[] }
  | { bridge: string; ufid: string; match: string; actions: string }
  | { bridge: string; deleted: number; ufid?: string };

export type FdbCommand = 'show' | 'flush' | 'stats';

/**
 * `netmgr fdb`: the MAC table of bridges with policy = "learning". Without `bridge`, every learning bridge (none is
 * not an error); naming a bridge that runs another policy is refused (kind 'invalid').
 */
export interface FdbParams {
  command: FdbCommand;
  bridge?: string;
}

/** fdb show: one element per bridge, in netmgrd's order; entries sorted by port, VLAN, MAC. */
export type FdbShowResult = { bridge: string; entries: FdbEntry[] }[];
export type FdbStatsResult = { bridge: string; stats: FdbStats }[];
/** fdb flush: how many learned entries each bridge dropped (static entries stay). */
export type FdbFlushResult = { bridge: string; flushed: number }[];
export type FdbResult = FdbShowResult | FdbStatsResult | FdbFlushResult;

/** `netmgr trace`: what a learning bridge would do with one packet, explained, without learning from it. */
export interface TraceParams {
  bridge: string;
  /** ODP flow text (ovs-dpctl syntax, ports by name or number) with in_port(...) and eth(src=...,dst=...). */
  flow: string;
}

/** Is netmgrd there: its pid. */
export const PingRequest = defineRequest<NoParams, { pid: number }>('ping');
/** The bridges netmgrd runs, as the planner reads them. */
export const LiveRequest = defineRequest<NoParams, LiveBridge[]>('live');
/** `netmgr apply` with netmgrd running: apply (and verify) this unit set. */
export const ApplyRequest = defineRequest<ApplyParams, ApplyResult>('apply');
/** SIGHUP's twin: re-read the daemon's unit directory (and netmgrd.conf), plan, apply and verify. */
export const ReloadRequest = defineRequest<NoParams, ApplyOutcome>('reload');
/** Keep the apply that awaits confirmation. */
export const ConfirmRequest = defineRequest<NoParams, ApplyOutcome>('confirm');
/** Undo the apply that awaits confirmation now. */
export const RollbackRequest = defineRequest<NoParams, ApplyOutcome>('rollback');
export const StatusRequest = defineRequest<StatusParams, StatusReport>('status');
/** `netmgr dpctl`: ovs-dpctl's commands against netmgrd's datapaths. */
export const DpctlRequest = defineRequest<DpctlParams, DpctlResult>('dpctl');
export const FdbRequest = defineRequest<FdbParams, FdbResult>('fdb');
export const TraceRequest = defineRequest<TraceParams, TraceResult>('trace');

/** Error kinds map to CLI exit codes: invalid -> 2, busy -> 3, failed/error -> 1. */
export interface ErrorBody {
  kind: 'invalid' | 'busy' | 'failed' | 'error' | 'flow';
  message: string;
  errors?: UnitError[];
  /** kind 'flow': where in which text the problem is (rendered with a caret by the CLI). */
  flowErrors?: { message: string; column: number; token: string; source: 'flow' | 'actions' }[];
}

export type Response<T = unknown> = { ok: true; result: T } | { ok: false; error: ErrorBody };
