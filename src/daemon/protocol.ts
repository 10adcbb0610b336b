/**
 * netmgrd's control protocol: one JSON request per connection on a unix socket (mode 0600, root only), answered
 * by one JSON response, each terminated by a newline. A request on the wire is `{"op": METHOD, ...params}`; the
 * answer is `{"ok": true, "result": ...}` or `{"ok": false, "error": ErrorBody}`.
 *
 * Every request is defined once below (as vscode-languageserver-node's `new ProtocolRequestType<P, R>(method)`):
 * its method (the wire `op`), its params and its result type. The params are a TypeBox schema, and the params
 * type is derived from it (`type ApplyParams = Static<typeof ApplyParams>`), so the one definition is both what
 * the server validates every request against (./request-line) and what the client's `send` and the server's
 * `handle` are typed with; neither side picks a type with a cast, and there is no hand-written twin to drift.
 *
 * Why TypeBox (@sinclair/typebox, pinned at 0.34.52): its schemas are plain JSON Schema objects whose static type
 * TypeScript infers (one definition, no generated code, no duplicate interface); its TypeCompiler turns a schema
 * into one checking function, fast enough to run on every request; its errors carry the JSON pointer of the
 * offending field (`/sources/0/file`), which is what an `invalid` answer names. It has no dependencies and no
 * `engines` limit, and runs on Node 18. (zod derives types as well, but its v4 needs a newer TypeScript setup and
 * its paths are arrays to format; ajv validates but would need the types written a second time or generated.)
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { LiveBridge } from '../model/bridges';
import type { FdbEntry, FdbStats, TraceResult } from '../policy/learning/api';
import type { LoopProtectionView, LoopUnblocked } from '../policy/learning/loop-view';
import type { DpPortInfo, DpStats } from '../datapath/types';
import {
  MAX_APPLY_LINE_BYTES,
  MAX_CONFIRM_SECONDS,
  MAX_FLOW_TEXT_LENGTH,
  MAX_LINE_BYTES,
  MAX_NAME_LENGTH,
  MAX_PATH_LENGTH,
  MAX_UNIT_FILES,
  MAX_UNIT_TEXT_LENGTH,
} from './limits';
import type { ApplyOutcome } from './records';
import type { StatusReport } from './status';

/**
 * One request: its wire name, its params schema (what the server validates with) and the longest request line
 * it may come in; its result as a phantom type.
 */
export class RequestType<P, R> {
  /** Never set: carries P and R so send() and handle() infer them from the definition. */
  declare readonly _types?: { params: P; result: R };
  /**
   * @param method the wire `op` of the request
   * @param params the schema of the params (the request's members besides `op`); P is its static type
   * @param maxLineBytes the longest request line of this op, newline excluded; a longer one is refused
   */
  constructor(
    readonly method: string,
    readonly params: TSchema,
    readonly maxLineBytes: number,
  ) {}
}

/**
 * Defines a request: `defineRequest<ApplyParams, ApplyResult>('apply', ApplyParams, MAX_APPLY_LINE_BYTES)`, where
 * the params type is the schema's static type (a P that the schema does not produce does not compile).
 */
export const defineRequest = <P, R>(
  method: string,
  params: TSchema & { static: P },
  maxLineBytes: number = MAX_LINE_BYTES,
): RequestType<P, R> => new RequestType<P, R>(method, params, maxLineBytes);

/** A request as it travels: the method as `op`, the params beside it. */
export type WireRequest<P = Record<string, unknown>> = { op: string } & P;

/** The params objects: members not in the schema are refused (a misspelt or retired field is not ignored). */
const Params = <T extends Parameters<typeof Type.Object>[0]>(properties: T) =>
  Type.Object(properties, { additionalProperties: false });

/** No params. */
export const NoParams = Params({});
export type NoParams = Static<typeof NoParams>;

/** A unit file as the CLI read it: its path and text, or why it could not be read. */
export const UnitSourceSchema = Type.Object(
  {
    file: Type.String({ minLength: 1, maxLength: MAX_PATH_LENGTH }),
    text: Type.String({ maxLength: MAX_UNIT_TEXT_LENGTH }),
    readError: Type.Optional(Type.String({ maxLength: MAX_LINE_BYTES })),
  },
  { additionalProperties: false },
);

export const ApplyParams = Params({
  /** The unit files as the CLI read them: the daemon applies exactly what was validated. */
  sources: Type.Array(UnitSourceSchema, { maxItems: MAX_UNIT_FILES }),
  /** The directory they were read from (recorded with the unit set in force). */
  dir: Type.String({ minLength: 1, maxLength: MAX_PATH_LENGTH }),
  /** `apply --confirm SECONDS`: roll back unless `netmgr confirm` arrives within this many seconds. */
  confirmSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_CONFIRM_SECONDS })),
});
export type ApplyParams = Static<typeof ApplyParams>;

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
export const StatusParams = Params({ unitDir: Type.String({ minLength: 1, maxLength: MAX_PATH_LENGTH }) });
export type StatusParams = Static<typeof StatusParams>;

const literals = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)));
const BridgeName = Type.String({ minLength: 1, maxLength: MAX_NAME_LENGTH });
const FlowText = Type.String({ maxLength: MAX_FLOW_TEXT_LENGTH });

export const DpctlCommand = literals(['show', 'dump-flows', 'add-flow', 'mod-flow', 'del-flow', 'del-flows'] as const);
export type DpctlCommand = Static<typeof DpctlCommand>;

export const DpctlParams = Params({
  command: DpctlCommand,
  /** The bridge; may be left out when netmgrd runs exactly one. */
  bridge: Type.Optional(BridgeName),
  /** add-flow, mod-flow, del-flow: the flow's match (ODP syntax, ports by name or number). */
  flow: Type.Optional(FlowText),
  /** add-flow, mod-flow: the flow's actions. */
  actions: Type.Optional(FlowText),
  /** mod-flow: zero the flow's statistics. */
  clear: Type.Optional(Type.Boolean()),
  /** mod-flow: create the flow when absent. */
  mayCreate: Type.Optional(Type.Boolean()),
  /** dump-flows -m: every field with its mask, and the UFID. */
  more: Type.Optional(Type.Boolean()),
});
export type DpctlParams = Static<typeof DpctlParams>;

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

/** fdb show: one element per bridge, in netmgrd's order; entries sorted by port, VLAN, MAC. */
export type FdbShowResult = { bridge: string; entries: FdbEntry[] }[];
export type FdbStatsResult = { bridge: string; stats: FdbStats }[];
/** fdb flush: how many learned entries each bridge dropped (static entries stay). */
export type FdbFlushResult = { bridge: string; flushed: number }[];
export type FdbResult = FdbShowResult | FdbStatsResult | FdbFlushResult;

export const FdbCommand = literals(['show', 'flush', 'stats'] as const);
export type FdbCommand = Static<typeof FdbCommand>;

/**
 * `netmgr fdb`: the MAC table of bridges with policy = "learning". Without `bridge`, every learning bridge (none is
 * not an error); naming a bridge that runs another policy is refused (kind 'invalid').
 */
export const FdbParams = Params({ command: FdbCommand, bridge: Type.Optional(BridgeName) });
export type FdbParams = Static<typeof FdbParams>;

/** stp show: one element per learning bridge, in netmgrd's order. */
export type StpShowResult = LoopProtectionView[];
/** stp unblock: the port and what was lifted from it (empty: loop protection held it by neither). */
export type StpUnblockResult = { bridge: string; port: string; portNo: number; lifted: LoopUnblocked };
export type StpResult = StpShowResult | StpUnblockResult;

export const StpCommand = literals(['show', 'unblock'] as const);
export type StpCommand = Static<typeof StpCommand>;

/**
 * `netmgr stp`: loop protection of bridges with policy = "learning". show: without `bridge`, every learning bridge;
 * unblock: `bridge` and `port` (a name or a number) are required.
 */
export const StpParams = Params({
  command: StpCommand,
  bridge: Type.Optional(BridgeName),
  port: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_NAME_LENGTH })),
});
export type StpParams = Static<typeof StpParams>;

/** `netmgr trace`: what a learning bridge would do with one packet, explained, without learning from it. */
export const TraceParams = Params({
  bridge: BridgeName,
  /** ODP flow text (ovs-dpctl syntax, ports by name or number) with in_port(...) and eth(src=...,dst=...). */
  flow: FlowText,
});
export type TraceParams = Static<typeof TraceParams>;

/** Is netmgrd there: its pid. */
export const PingRequest = defineRequest<NoParams, { pid: number }>('ping', NoParams);
/** The bridges netmgrd runs, as the planner reads them. */
export const LiveRequest = defineRequest<NoParams, LiveBridge[]>('live', NoParams);
/** `netmgr apply` with netmgrd running: apply (and verify) this unit set. */
export const ApplyRequest = defineRequest<ApplyParams, ApplyResult>('apply', ApplyParams, MAX_APPLY_LINE_BYTES);
/** SIGHUP's twin: re-read the daemon's unit directory (and netmgrd.conf), plan, apply and verify. */
export const ReloadRequest = defineRequest<NoParams, ApplyOutcome>('reload', NoParams);
/** Keep the apply that awaits confirmation. */
export const ConfirmRequest = defineRequest<NoParams, ApplyOutcome>('confirm', NoParams);
/** Undo the apply that awaits confirmation now. */
export const RollbackRequest = defineRequest<NoParams, ApplyOutcome>('rollback', NoParams);
export const StatusRequest = defineRequest<StatusParams, StatusReport>('status', StatusParams);
/** `netmgr dpctl`: ovs-dpctl's commands against netmgrd's datapaths. */
export const DpctlRequest = defineRequest<DpctlParams, DpctlResult>('dpctl', DpctlParams);
export const FdbRequest = defineRequest<FdbParams, FdbResult>('fdb', FdbParams);
export const TraceRequest = defineRequest<TraceParams, TraceResult>('trace', TraceParams);
export const StpRequest = defineRequest<StpParams, StpResult>('stp', StpParams);

/** Every request netmgrd answers (what the fuzz test and the documentation enumerate). */
export const REQUESTS = [
  PingRequest,
  LiveRequest,
  ApplyRequest,
  ReloadRequest,
  ConfirmRequest,
  RollbackRequest,
  StatusRequest,
  DpctlRequest,
  FdbRequest,
  TraceRequest,
  StpRequest,
] as const;

/** A unit file's problem, located (the model's UnitError on the wire). */
const UnitErrorSchema = Type.Object({
  file: Type.String(),
  line: Type.Integer(),
  col: Type.Integer(),
  message: Type.String(),
  hint: Type.Optional(Type.String()),
});

/** Error kinds map to CLI exit codes: invalid -> 2, busy -> 3, failed/error -> 1. */
export const ErrorBodySchema = Type.Object({
  kind: literals(['invalid', 'busy', 'failed', 'error', 'flow'] as const),
  message: Type.String(),
  /** kind 'invalid' for a malformed request: the JSON pointer of the offending member ('' for the whole line). */
  path: Type.Optional(Type.String()),
  /** Unit files' problems, located. */
  errors: Type.Optional(Type.Array(UnitErrorSchema)),
  /** kind 'flow': where in which text the problem is (rendered with a caret by the CLI). */
  flowErrors: Type.Optional(
    Type.Array(
      Type.Object({
        message: Type.String(),
        column: Type.Integer(),
        token: Type.String(),
        source: literals(['flow', 'actions'] as const),
      }),
    ),
  ),
});
export type ErrorBody = Static<typeof ErrorBodySchema>;

/** Every answer line's shape (what the client checks an answer against before it believes it). */
export const ResponseSchema = Type.Union([
  Type.Object({ ok: Type.Literal(true), result: Type.Unknown() }),
  Type.Object({ ok: Type.Literal(false), error: ErrorBodySchema }),
]);

export type Response<T = unknown> = { ok: true; result: T } | { ok: false; error: ErrorBody };
