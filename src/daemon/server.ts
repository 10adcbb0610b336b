/**
 * netmgrd's socket server: a unix socket only root can open, one JSON line in and one out per connection, each
 * request validated against its definition's schema (./request-line) and dispatched by its `op` to the handler
 * registered for that definition. Nothing a client sends or does can stop the server: every line is answered
 * (`invalid` for a malformed one, naming the member), every handler's throw becomes an error body, an answer that
 * cannot be serialised becomes a `failed` answer, and the limits of ./limits bound what a connection may cost.
 */
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { NetmgrError, isNotFound, messageOf } from '../util/errors';
import { errorBody } from './errors';
import { ANSWER_LINGER_MS, MAX_ANY_LINE_BYTES, MAX_CONNECTIONS, REQUEST_READ_TIMEOUT_MS } from './limits';
import type { ErrorBody, RequestType, Response } from './protocol';
import { invalidAt, parseRequestLine, type AnyRequestType, type ParsedRequest } from './request-line';
import { runInRequest } from './request-context';

type Handler = (params: never) => unknown;

/** How much of a line's start is read for its op while the line is still arriving: `{"op":"` and 32 letters fit. */
const OP_SNIFF_BYTES = 64;

/** An error message quoted in a `failed` answer is cut here: it is for a human, and must not be the next problem. */
const MAX_QUOTED_MESSAGE_LENGTH = 1000;

/** What a connection needs from the server: read a line into a request, run it. */
interface RequestRunner {
  /** The request a line holds, or the refusal to answer (never throws). */
  parse(line: string, lineBytes: number): ParsedRequest;
  /** The answer to a valid request (never rejects). */
  run(type: AnyRequestType, params: Record<string, unknown>): Promise<Response>;
  /** The longest line allowed for the request whose line starts with head (MAX_ANY_LINE_BYTES when unknown). */
  lineLimit(head: string): number;
}

export class RequestServer implements RequestRunner {
  private readonly handlers = new Map<string, { type: AnyRequestType; handler: Handler }>();
  private readonly connections = new Set<net.Socket>();
  private server: net.Server | undefined;
  private socketPath: string | undefined;

  /**
   * @param debug logs each request's op
   * @param warn logs what goes wrong with the socket itself once it listens (accept failing for want of file
   *   descriptors, EMFILE): logged, and the server goes on, never an exception on the event loop
   */
  constructor(
    private readonly debug: (line: string) => void,
    private readonly warn: (line: string) => void = debug,
  ) {}

  /** Registers the handler of one request; its params and result types are the definition's. */
  handle<P, R>(type: RequestType<P, R>, handler: (params: P) => R | Promise<R>): void {
    this.handlers.set(type.method, { type: type as AnyRequestType, handler: handler as Handler });
  }

  /** Listens on socketPath (claimed first with claimSocket), created 0600 under a 0700 directory. */
  async listen(socketPath: string): Promise<void> {
    // Half-open allowed: a client may send its line and shut down its side (`socat`), and still read the answer.
    const server = net.createServer({ allowHalfOpen: true }, (c) => this.accept(c));
    this.server = server;
    fs.mkdirSync(path.dirname(socketPath), { recursive: true, mode: 0o700 });
    // The socket is created under a restrictive umask so it is never reachable by others, not even briefly.
    const oldMask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(socketPath, () => resolve());
      });
    } finally {
      process.umask(oldMask);
    }
    server.on('error', (e) => this.warn(`control socket ${socketPath}: ${safeMessage(e)}`));
    this.socketPath = socketPath;
    fs.chmodSync(socketPath, 0o600);
  }

  /** Stops accepting connections, closes the open ones and removes the socket. */
  close(): void {
    this.server?.close();
    for (const c of this.connections) c.destroy();
    if (this.socketPath === undefined) return;
    try {
      fs.unlinkSync(this.socketPath);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  parse(line: string, lineBytes: number): ParsedRequest {
    return parseRequestLine(line, lineBytes, (op) => this.handlers.get(op)?.type);
  }

  lineLimit(head: string): number {
    // JSON.stringify({op, ...params}) (the client's send) puts the op first; a line that does not is held to
    // the largest limit while it is read, and to its op's after it is parsed.
    const op = /^\s*\{\s*"op"\s*:\s*"([a-z-]{1,32})"/.exec(head)?.[1];
    return (op !== undefined && this.handlers.get(op)?.type.maxLineBytes) || MAX_ANY_LINE_BYTES;
  }

  /** The handler's result, or the error body of what it threw; inside the request's context (./crash). */
  run(type: AnyRequestType, params: Record<string, unknown>): Promise<Response> {
    const handler = this.handlers.get(type.method)!.handler;
    return runInRequest(type.method, async (): Promise<Response> => {
      try {
        this.debug(`request: ${type.method}`);
        return { ok: true, result: (await handler(params as never)) ?? null };
      } catch (e) {
        return { ok: false, error: safeErrorBody(e) };
      }
    });
  }

  /** A new connection: served, or answered `busy` when MAX_CONNECTIONS are open already. */
  private accept(c: net.Socket): void {
    c.on('error', () => c.destroy());
    if (this.connections.size >= MAX_CONNECTIONS) {
      endWithAnswer(c, {
        ok: false,
        error: { kind: 'busy', message: `netmgrd is serving ${MAX_CONNECTIONS} connections already; try again` },
      });
      return;
    }
    this.connections.add(c);
    c.on('close', () => this.connections.delete(c));
    serveConnection(c, this);
  }
}

/**
 * Writes the one answer line and ends the connection; one that neither reads nor closes is cut off later. What the
 * client still sends is discarded: the socket must flow for its 'end' to be seen, so a client that closes frees the
 * descriptor at once. (Unread, a `busy` connection stayed open for the whole linger: a flood of them ran netmgrd out
 * of descriptors, and libuv then accepts and closes pending connections unanswered, reporting nothing.)
 */
function endWithAnswer(c: net.Socket, res: Response): void {
  if (c.destroyed || c.writableEnded) return;
  c.resume();
  c.end(answerLine(res));
  const linger = setTimeout(() => c.destroy(), ANSWER_LINGER_MS);
  linger.unref();
  c.once('close', () => clearTimeout(linger));
}

const refusal = (error: ErrorBody): Response => ({ ok: false, error });

/**
 * One connection's life: read bytes until the first newline (within REQUEST_READ_TIMEOUT_MS and the line limit),
 * parse and run that one request, answer once, end. A second line, before or while the first runs, is answered
 * `invalid` (a request already running goes on; its answer is not sent).
 */
function serveConnection(c: net.Socket, runner: RequestRunner): void {
  let phase: 'reading' | 'running' | 'answered' = 'reading';
  let chunks: Buffer[] = [];
  let bytes = 0;
  let op = '';
  const answer = (res: Response) => {
    if (phase === 'answered') return;
    phase = 'answered';
    clearTimeout(readTimer);
    endWithAnswer(c, res);
  };
  const readTimer = setTimeout(
    () => answer(refusal(invalidAt('', `no complete request line within ${REQUEST_READ_TIMEOUT_MS / 1000} s`))),
    REQUEST_READ_TIMEOUT_MS,
  );
  c.once('close', () => clearTimeout(readTimer));
  const start = (line: Buffer) => {
    phase = 'running';
    clearTimeout(readTimer);
    const parsed = runner.parse(line.toString('utf8'), line.length);
    if (!parsed.ok) return answer(refusal(parsed.error));
    op = parsed.type.method;
    runner
      .run(parsed.type, parsed.params)
      .then(answer, (e: unknown) =>
        answer(refusal({ kind: 'failed', message: `netmgrd could not answer: ${safeMessage(e)}` })),
      );
  };
  c.on('data', (d: Buffer) => {
    if (phase === 'answered') return;
    if (phase === 'running')
      return answer(refusal(invalidAt('', `one request per connection: a second line arrived while ${op} ran`)));
    const nl = d.indexOf(0x0a);
    chunks.push(nl < 0 ? d : d.subarray(0, nl));
    bytes += nl < 0 ? d.length : nl;
    const limit = runner.lineLimit(chunks[0].subarray(0, OP_SNIFF_BYTES).toString('latin1'));
    if (bytes > limit) return answer(refusal(invalidAt('', `request line longer than ${limit} bytes`)));
    if (nl < 0) return;
    if (nl + 1 < d.length)
      return answer(refusal(invalidAt('', 'one request per connection: a second line follows the first; none ran')));
    const line = Buffer.concat(chunks, bytes);
    chunks = [];
    start(line);
  });
  c.on('end', () => {
    if (phase === 'reading' && bytes > 0)
      answer(refusal(invalidAt('', `request line not ended by a newline (closed after ${bytes} bytes)`)));
    else if (phase === 'reading') answer(refusal(invalidAt('', 'no request line (closed without one)')));
  });
}

/** The error's message, whatever was thrown, even a value whose conversion to text throws. */
function safeMessage(e: unknown): string {
  try {
    return messageOf(e);
  } catch {
    return 'an unprintable value was thrown';
  }
}

/** errorBody, for anything a handler may throw (a value whose message getter throws included). */
function safeErrorBody(e: unknown): ErrorBody {
  try {
    return errorBody(e);
  } catch {
    return { kind: 'failed', message: `the request failed: ${safeMessage(e)}` };
  }
}

/** The last resort: an answer line built from constants only. */
const UNSERIALISABLE_LINE =
  JSON.stringify({ ok: false, error: { kind: 'failed', message: 'netmgrd could not serialise its answer' } }) + '\n';

/**
 * One answer line. A result that cannot be serialised (a BigInt, a cycle, a getter that throws, nesting that
 * exhausts the stack: JSON.stringify throws a TypeError or RangeError) is answered `failed`, never a dropped
 * connection or an exception on the event loop.
 */
export function answerLine(res: Response): string {
  try {
    return JSON.stringify(res) + '\n';
  } catch (e) {
    try {
      const message = `netmgrd could not serialise its answer: ${safeMessage(e)}`.slice(0, MAX_QUOTED_MESSAGE_LENGTH);
      return JSON.stringify({ ok: false, error: { kind: 'failed', message } }) + '\n';
    } catch {
      return UNSERIALISABLE_LINE;
    }
  }
}

/** Refuses to start next to a live daemon (kind 'busy'); removes the socket a dead one left. */
export async function claimSocket(p: string): Promise<void> {
  if (!fs.existsSync(p)) return;
  const alive = await new Promise<boolean>((resolve) => {
    const s = net.createConnection(p);
    s.on('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
  if (alive) throw new NetmgrError('busy', `another netmgrd is already running (socket ${p} answers)`);
  fs.unlinkSync(p);
}
