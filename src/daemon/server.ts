/**
 * netmgrd's socket server: a unix socket only root can open, one JSON line in and one out per connection, each
 * request dispatched by its `op` to the handler registered for its definition (./protocol). A handler returns
 * its result or throws; what it throws is answered as an error body (errorBody), so a client always gets a line.
 */
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { NetmgrError, isNotFound, messageOf } from '../util/errors';
import { errorBody } from './errors';
import type { ErrorBody, RequestType, Response, WireRequest } from './protocol';

/** A request line longer than this closes the connection (a unit set is far smaller). */
const MAX_REQUEST_BYTES = 64 * 1024 * 1024;

type Handler = (params: never) => unknown;

export class RequestServer {
  private readonly handlers = new Map<string, Handler>();
  private server: net.Server | undefined;
  private socketPath: string | undefined;

  /** @param debug logs each request's op */
  constructor(private readonly debug: (line: string) => void) {}

  /** Registers the handler of one request; its params and result types are the definition's. */
  handle<P, R>(type: RequestType<P, R>, handler: (params: P) => R | Promise<R>): void {
    this.handlers.set(type.method, handler as Handler);
  }

  /** Listens on socketPath (claimed first with claimSocket), created 0600 under a 0700 directory. */
  async listen(socketPath: string): Promise<void> {
    const server = net.createServer((c) => this.serve(c));
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
    this.socketPath = socketPath;
    fs.chmodSync(socketPath, 0o600);
  }

  /** Stops accepting connections and removes the socket. */
  close(): void {
    this.server?.close();
    if (this.socketPath === undefined) return;
    try {
      fs.unlinkSync(this.socketPath);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /** Reads one request line, answers it, closes the connection. */
  private serve(c: net.Socket): void {
    let buf = '';
    c.setEncoding('utf8');
    c.on('error', () => c.destroy());
    c.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) {
        if (buf.length > MAX_REQUEST_BYTES) c.destroy();
        return;
      }
      let req: WireRequest;
      try {
        req = JSON.parse(buf.slice(0, nl)) as WireRequest;
      } catch (e) {
        c.end(answerLine({ ok: false, error: { kind: 'error', message: `bad request: ${messageOf(e)}` } }));
        return;
      }
      buf = '';
      void this.dispatch(req).then((res) => c.end(answerLine(res)));
    });
  }

  /** The answer to one request: its handler's result, or the error body of what it threw. */
  private async dispatch(req: WireRequest): Promise<Response> {
    try {
      this.debug(`request: ${req.op}`);
      const handler = this.handlers.get(req.op);
      if (!handler)
        return { ok: false, error: { kind: 'invalid', message: `unknown request ${JSON.stringify(req.op)}` } };
      const { op: _op, ...params } = req;
      return { ok: true, result: await handler(params as never) };
    } catch (e) {
      // Also what a line that is JSON but no request object (null, a number) ends in.
      return { ok: false, error: errorBody(e) };
    }
  }
}

/** One answer line; a result that cannot be serialised is answered as an error, never a dropped connection. */
function answerLine(res: Response): string {
  try {
    return JSON.stringify(res) + '\n';
  } catch (e) {
    const error: ErrorBody = { kind: 'error', message: `netmgrd could not serialise its answer: ${messageOf(e)}` };
    return JSON.stringify({ ok: false, error }) + '\n';
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
