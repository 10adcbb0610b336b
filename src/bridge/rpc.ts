/**
 * Synchronous calls from netmgrd's main thread into the forwarding worker (worker.ts), so the existing synchronous
 * call sites (the apply runner's steps, dpctl, fdb, status) keep their shape while the bridges live in another
 * thread. The main thread posts the call on a MessagePort and sleeps in Atomics.wait on a shared slot; the worker,
 * whose event loop takes the call between two forwarding callbacks, posts the answer and bumps the slot; the main
 * thread wakes and reads the answer with receiveMessageOnPort (no event loop turn needed). Only the main thread
 * ever waits, never the worker: forwarding cannot be held up by the control side.
 *
 * Errors cross as data (structured clone would keep only name and message) and are rebuilt as the same kind of
 * error: a DatapathError with its code, a NetmgrError with its kind and errno, a system error with its code.
 */
import { receiveMessageOnPort, type MessagePort } from 'worker_threads';
import { DatapathError } from '../datapath/types';
import { NetmgrError, type ErrorKind } from '../util/errors';

/** Slots of the shared Int32Array both threads see. */
export const SLOT_ANSWERED = 0;
/** Set to 1 by the worker as its script starts: from then on a dead worker is reported through SLOT_DEAD. */
export const SLOT_STARTED = 1;
/** Set to 1 by the worker when it is about to die (an uncaught exception): a waiting call gives up at once. */
export const SLOT_DEAD = 2;
const SLOTS = 3;

/** The shared memory of one client/worker pair. */
export const newSignal = (): Int32Array => new Int32Array(new SharedArrayBuffer(SLOTS * Int32Array.BYTES_PER_ELEMENT));

/** An error as it crosses the thread boundary. */
export interface WireError {
  /** The class name (DatapathError, NetlinkError, Error, ...): rebuilt errors keep it as `name`. */
  name: string;
  message: string;
  /** NetmgrError's kind, when it was one. */
  kind?: ErrorKind;
  /** NetmgrError's errno name. */
  errno?: string;
  /** A system error's `code` (also DatapathError's). */
  code?: string;
  /** The worker-side stack, kept for the log of an unexpected error. */
  stack?: string;
}

export interface RpcRequest<C> {
  /** Increasing per client; the answer carries it back. */
  id: number;
  /** What to run (calls.ts's BridgeCall for the forwarding worker). */
  call: C;
}

/** The answer to request `id`: its result, or the error it threw, as data. */
export type RpcAnswer = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: WireError };

export function encodeError(e: unknown): WireError {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e) };
  const out: WireError = { name: e.name, message: e.message, stack: e.stack };
  if (e instanceof NetmgrError) {
    out.kind = e.kind;
    if (e.errno !== undefined) out.errno = e.errno;
  }
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string') out.code = code;
  return out;
}

const DATAPATH_CODES = new Set(['EEXIST', 'ENOENT', 'EINVAL', 'EBUSY', 'EOPNOTSUPP']);

/** The error a caller in this thread sees: the same class where the call sites test for it, the same fields. */
export function decodeError(w: WireError): Error {
  let e: Error;
  if (w.name === 'DatapathError' && w.code !== undefined && DATAPATH_CODES.has(w.code)) {
    e = new DatapathError(w.code as DatapathError['code'], w.message);
  } else if (w.kind !== undefined) {
    e = new NetmgrError(w.kind, w.message, w.errno);
    e.name = w.name;
  } else {
    e = new Error(w.message);
    e.name = w.name;
    if (w.code !== undefined) (e as Error & { code: string }).code = w.code;
  }
  if (w.stack !== undefined) e.stack = `${e.stack ?? ''}\n    --- in the forwarding worker ---\n${w.stack}`;
  return e;
}

export interface SyncClientOptions {
  /** Longest wait for one answer before the worker is declared hung (ms). */
  timeoutMs: number;
  /** Longest wait for the worker's script to start at all (ms): a worker that cannot load never sets SLOT_STARTED. */
  startTimeoutMs: number;
  /** Called with each answer before it is returned (the worker's log lines posted before it are drained here). */
  afterAnswer?: () => void;
}

/** How long one Atomics.wait lasts before the dead flag and the deadlines are looked at again. */
const WAIT_SLICE_MS = 50;

/** The main thread's side: one call at a time, each waited for. */
export class SyncRpcClient<C> {
  private seq = 0;
  /** Why calls fail at once (the worker died, hung or was stopped). */
  private broken: string | undefined;
  /** The worker's script was seen started (SLOT_STARTED): its boot no longer counts against a call's deadline. */
  private started = false;

  constructor(
    private readonly port: MessagePort,
    private readonly signal: Int32Array,
    private readonly opts: SyncClientOptions,
  ) {}

  /** The worker is gone (or going): every later call throws 'unavailable' with this reason. */
  close(reason: string): void {
    this.broken ??= reason;
  }

  /** Why calls fail, once they do. */
  get closedReason(): string | undefined {
    return this.broken;
  }

  /** Runs `call` in the worker and returns its result, or throws its error rebuilt (decodeError). */
  call(call: C, what: string): unknown {
    if (this.broken !== undefined)
      throw new NetmgrError('unavailable', `${what}: the forwarding worker is not running (${this.broken})`);
    const id = ++this.seq;
    this.port.postMessage({ id, call } satisfies RpcRequest<C>);
    const answer = this.await(id, what);
    this.opts.afterAnswer?.();
    if (answer.ok) return answer.result;
    throw decodeError(answer.error);
  }

  private await(id: number, what: string): RpcAnswer {
    let start = Date.now();
    for (;;) {
      const seen = Atomics.load(this.signal, SLOT_ANSWERED);
      const m = receiveMessageOnPort(this.port);
      if (m !== undefined) {
        const a = m.message as RpcAnswer;
        if (a.id === id) return a;
        continue; // an answer to an earlier call that gave up waiting
      }
      if (!this.started && Atomics.load(this.signal, SLOT_STARTED) !== 0) {
        this.started = true;
        start = Date.now(); // the call's deadline runs from the moment the worker can serve it
      }
      const why = this.failure(start);
      if (why !== undefined) {
        this.close(why);
        throw new NetmgrError('unavailable', `${what}: ${why}`);
      }
      // Sleeps until the worker bumps the slot past what was seen (or the slice ends); a bump between the load
      // above and this wait makes it return at once, so no answer is missed.
      Atomics.wait(this.signal, SLOT_ANSWERED, seen, WAIT_SLICE_MS);
    }
  }

  /** Why waiting is pointless, or undefined while the answer may still come. */
  private failure(start: number): string | undefined {
    if (Atomics.load(this.signal, SLOT_DEAD) !== 0) return 'the forwarding worker died (see the log)';
    const waited = Date.now() - start;
    if (!this.started)
      return waited > this.opts.startTimeoutMs
        ? `the forwarding worker did not start within ${this.opts.startTimeoutMs / 1000} s`
        : undefined;
    if (waited > this.opts.timeoutMs)
      return `the forwarding worker did not answer within ${this.opts.timeoutMs / 1000} s`;
    return undefined;
  }
}

/**
 * The worker's side: answers each call posted on `port` with handle()'s result or error, then wakes the waiting
 * client. Runs on the worker's event loop, between forwarding callbacks.
 */
export function serveSync<C>(port: MessagePort, signal: Int32Array, handle: (call: C) => unknown): void {
  port.on('message', (req: RpcRequest<C>) => {
    let answer: RpcAnswer;
    try {
      answer = { id: req.id, ok: true, result: handle(req.call) };
    } catch (e) {
      answer = { id: req.id, ok: false, error: encodeError(e) };
    }
    try {
      port.postMessage(answer);
    } catch (e) {
      // A result that cannot be cloned (a function): a bug, reported to the caller instead of leaving it waiting.
      port.postMessage({ id: req.id, ok: false, error: encodeError(e) } satisfies RpcAnswer);
    }
    Atomics.store(signal, SLOT_ANSWERED, req.id);
    Atomics.notify(signal, SLOT_ANSWERED);
  });
}

/** The worker's script started: from now on its death is signalled (markDead), not just timed out. */
export function markStarted(signal: Int32Array): void {
  Atomics.store(signal, SLOT_STARTED, 1);
}

/** The worker is dying: a call waiting now, or made later, fails at once instead of at its deadline. */
export function markDead(signal: Int32Array): void {
  Atomics.store(signal, SLOT_DEAD, 1);
  Atomics.notify(signal, SLOT_ANSWERED);
}
