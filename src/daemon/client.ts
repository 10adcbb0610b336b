/** The CLI side of netmgrd's socket: send one request (a definition from ./protocol and its params), read one answer. */
import * as net from 'net';
import { hasErrno, NetmgrError } from '../util/errors';
import { RequestError } from './errors';
import { ResponseSchema, type RequestType, type Response } from './protocol';
import { schemaProblem } from './request-line';

export class DaemonUnavailableError extends NetmgrError {
  constructor(
    readonly socketPath: string,
    readonly reason: string,
  ) {
    super('unavailable', `netmgrd is not running (${socketPath}: ${reason})`);
  }
}

/**
 * The kernel refused the connection because netmgrd's listen backlog is full (EAGAIN on a unix socket's connect:
 * netmgrd is accepting more slowly than connections arrive, e.g. under a flood from a script). The request never
 * reached netmgrd, so it is safe to send again.
 */
class BacklogFullError extends NetmgrError {
  constructor(socketPath: string) {
    super('busy', `netmgrd is not accepting connections fast enough (${socketPath}: listen backlog full); try again`);
  }
}

/**
 * How long a request is tried again while netmgrd's backlog stays full, and the pauses between tries: a slot
 * frees within netmgrd's read timeout (5 s), and a person at the command line waits that long without wondering.
 */
const BACKLOG_RETRY_MS = 5_000;
const BACKLOG_PAUSE_MS = { first: 10, max: 500 };

/** How to start the daemon, for error messages. */
export const START_HINT = 'start it with `netmgr daemon` (in the foreground) or `systemctl start netmgr`';

/** One exchange on the socket: the request line out, the answer line back, parsed. */
function exchange(socketPath: string, line: string, timeoutMs: number): Promise<Response> {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection(socketPath);
    let data = '';
    let connected = false;
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new NetmgrError('unavailable', `netmgrd did not answer within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => {
      connected = true;
      sock.write(line);
    });
    sock.on('data', (d: string) => (data += d));
    sock.on('end', () => {
      clearTimeout(timer);
      let answer: unknown;
      try {
        answer = JSON.parse(data);
      } catch {
        reject(new NetmgrError('corrupt', `netmgrd sent an unreadable answer (${data.length} bytes)`));
        return;
      }
      const problem = schemaProblem(ResponseSchema, answer);
      if (problem) reject(new NetmgrError('corrupt', `netmgrd sent a malformed answer: ${problem.message}`));
      else resolve(answer as Response);
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (!connected && hasErrno(e, 'EAGAIN')) reject(new BacklogFullError(socketPath));
      else if (!connected && hasErrno(e, 'ENOENT', 'ECONNREFUSED', 'ENOTSOCK'))
        reject(new DaemonUnavailableError(socketPath, e.code === 'ENOENT' ? 'no socket' : (e.code ?? e.message)));
      else if (hasErrno(e, 'EACCES'))
        reject(
          new NetmgrError(
            'failed',
            `cannot talk to netmgrd (${socketPath}): permission denied; it accepts root only`,
            'EACCES',
          ),
        );
      else reject(e);
    });
  });
}

/** A request as it travels: `{"op": METHOD, ...params}` and a newline, the op first (netmgrd reads it early). */
export const requestLine = <P, R>(type: RequestType<P, R>, params: P): string =>
  JSON.stringify({ op: type.method, ...params }) + '\n';

/** exchange, sent again with growing pauses while the kernel refuses the connection for a full backlog. */
async function exchangeWhenAccepted(socketPath: string, line: string, timeoutMs: number): Promise<Response> {
  const giveUpAt = Date.now() + BACKLOG_RETRY_MS;
  for (let pause = BACKLOG_PAUSE_MS.first; ; pause = Math.min(2 * pause, BACKLOG_PAUSE_MS.max)) {
    try {
      return await exchange(socketPath, line, timeoutMs);
    } catch (e) {
      if (!(e instanceof BacklogFullError) || Date.now() + pause > giveUpAt) throw e;
      await new Promise((r) => setTimeout(r, pause));
    }
  }
}

/**
 * Sends a request and resolves to its result. Rejects with a RequestError (its body as netmgrd sent it) when
 * netmgrd refuses, a DaemonUnavailableError when it is not running, a `busy` NetmgrError when its listen backlog
 * stayed full for BACKLOG_RETRY_MS.
 */
export async function send<P, R>(
  socketPath: string,
  type: RequestType<P, R>,
  params: P,
  timeoutMs = 120_000,
): Promise<R> {
  const answer = await exchangeWhenAccepted(socketPath, requestLine(type, params), timeoutMs);
  if (!answer.ok) throw new RequestError(answer.error);
  return answer.result as R;
}

/** send, but undefined when netmgrd is not running. */
export async function sendIfRunning<P, R>(
  socketPath: string,
  type: RequestType<P, R>,
  params: P,
): Promise<R | undefined> {
  try {
    return await send(socketPath, type, params);
  } catch (e) {
    if (e instanceof DaemonUnavailableError) return undefined;
    throw e;
  }
}
