/** The CLI side of netmgrd's socket: send one request, read one response. */
import * as net from 'net';
import type { Request, Response } from './protocol';

export class DaemonUnavailableError extends Error {
  constructor(readonly socketPath: string, readonly reason: string) {
    super(`netmgrd is not running (${socketPath}: ${reason})`);
  }
}

/** How to start the daemon, for error messages. */
export const START_HINT = 'start it with `netmgr daemon` (in the foreground) or `systemctl start netmgr`';

export function request<T>(socketPath: string, req: Request, timeoutMs = 120_000): Promise<Response<T>> {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection(socketPath);
    let data = '';
    let connected = false;
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`netmgrd did not answer within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => {
      connected = true;
      sock.write(JSON.stringify(req) + '\n');
    });
    sock.on('data', (d: string) => (data += d));
    sock.on('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(data) as Response<T>);
      } catch {
        reject(new Error(`netmgrd sent an unreadable answer (${data.length} bytes)`));
      }
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (!connected && ['ENOENT', 'ECONNREFUSED', 'ENOTSOCK'].includes(e.code ?? '')) reject(new DaemonUnavailableError(socketPath, e.code === 'ENOENT' ? 'no socket' : e.code ?? e.message));
      else if (e.code === 'EACCES') reject(new Error(`cannot talk to netmgrd (${socketPath}): permission denied; it accepts root only`));
      else reject(e);
    });
  });
}

/** The daemon's answer, or undefined when it is not running. */
export async function requestIfRunning<T>(socketPath: string, req: Request): Promise<Response<T> | undefined> {
  try {
    return await request<T>(socketPath, req);
  } catch (e) {
    if (e instanceof DaemonUnavailableError) return undefined;
    throw e;
  }
}
