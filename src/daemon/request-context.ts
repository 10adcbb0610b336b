/**
 * Which request the code running now serves: each request's handler runs inside runInRequest, and the
 * asynchronous work it starts (timers, promises, callbacks) carries the context along (AsyncLocalStorage), so
 * netmgrd's process-wide error handlers (./crash) can name the request an escaped error came from.
 */
import { AsyncLocalStorage } from 'async_hooks';

/** One request being served. */
export interface RequestContext {
  /** The request's op. */
  readonly op: string;
  /**
   * False until the request has its answer. Work the request started that outlives it (a timer it armed, a
   * datapath it created) still carries the context; an error there is no longer the request's.
   */
  answered: boolean;
}

const storage = new AsyncLocalStorage<RequestContext>();
const inFlight = new Set<RequestContext>();

/** Runs fn as the handling of one request; the context is answered once fn's promise settles. */
export async function runInRequest<T>(op: string, fn: () => Promise<T>): Promise<T> {
  const context: RequestContext = { op, answered: false };
  inFlight.add(context);
  try {
    return await storage.run(context, fn);
  } finally {
    context.answered = true;
    inFlight.delete(context);
  }
}

/** The request the running code serves, while that request is unanswered; undefined outside any. */
export function currentRequest(): RequestContext | undefined {
  const context = storage.getStore();
  return context && !context.answered ? context : undefined;
}

/** The ops of the requests being served now, oldest first (for the log of an error that escaped all of them). */
export const requestsInFlight = (): string[] => [...inFlight].map((c) => c.op);
