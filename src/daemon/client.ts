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
      if (!connected && hasErrno(e, 'ENOENT', 'ECONNREFUSED', 'ENOTSOCK'))
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

/**
 * Sends a request and resolves to its result. Rejects with a RequestError (its body as netmgrd sent it) when
 * netmgrd refuses, a DaemonUnavailableError when it is not running.
 */
export async function send<P, R>(
  socketPath: string,
  type: RequestType<P, R>,
  params: P,
  timeoutMs = 120_000,
): Promise<R> {
  const answer = await exchange(socketPath, requestLine(type, params), timeoutMs);
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
