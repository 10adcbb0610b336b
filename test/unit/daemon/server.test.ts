import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { DaemonUnavailableError, send } from '../../../src/daemon/client';
import { RequestError } from '../../../src/daemon/errors';
import { defineRequest, FdbRequest, NoParams, PingRequest } from '../../../src/daemon/protocol';
import { claimSocket, RequestServer } from '../../../src/daemon/server';

/** Sends one raw line and returns the raw answer line. */
function rawExchange(socket: string, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.createConnection(socket, () => c.write(line));
    let data = '';
    c.setEncoding('utf8');
    c.on('data', (d: string) => (data += d));
    c.on('end', () => resolve(data));
    c.on('error', reject);
  });
}

describe('the request server and client', () => {
  let dir: string;
  let socket: string;
  let server: RequestServer;
  const seen: unknown[] = [];

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netmgr-server-'));
    socket = path.join(dir, 'run', 'netmgrd.sock');
    server = new RequestServer(() => undefined);
    server.handle(PingRequest, () => ({ pid: 42 }));
    server.handle(FdbRequest, (params) => {
      seen.push(params);
      if (params.bridge === 'nope') throw new RequestError({ kind: 'invalid', message: 'no bridge named nope' });
      return [{ bridge: params.bridge ?? 'br0', flushed: 3 }];
    });
    server.handle(defineRequest<NoParams, bigint>('unserialisable', NoParams), () => 1n);
    await server.listen(socket);
    seen.length = 0;
  });

  afterEach(() => {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the socket is 0600', () => {
    expect(fs.statSync(socket).mode & 0o777).toBe(0o600);
  });

  test('a request travels as one line {op, ...params}; its handler gets the params and the client the result', async () => {
    await expect(send(socket, FdbRequest, { command: 'flush', bridge: 'br1' })).resolves.toEqual([
      { bridge: 'br1', flushed: 3 },
    ]);
    expect(seen).toEqual([{ command: 'flush', bridge: 'br1' }]);
    expect(JSON.parse(await rawExchange(socket, '{"op":"ping"}\n'))).toEqual({ ok: true, result: { pid: 42 } });
  });

  test('a refusal reaches the client as a RequestError with the body the handler threw', async () => {
    const e = await send(socket, FdbRequest, { command: 'show', bridge: 'nope' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RequestError);
    expect((e as RequestError).body).toEqual({ kind: 'invalid', message: 'no bridge named nope' });
    expect((e as RequestError).kind).toBe('invalid');
  });

  test('unknown requests, bad JSON and unserialisable results are answered with an error, never a dropped line', async () => {
    expect(JSON.parse(await rawExchange(socket, '{"op":"frobnicate"}\n'))).toEqual({
      ok: false,
      error: { kind: 'invalid', message: 'unknown request "frobnicate"' },
    });
    expect(JSON.parse(await rawExchange(socket, '{op\n')).error.message).toMatch(/^bad request: /);
    expect(JSON.parse(await rawExchange(socket, 'null\n')).ok).toBe(false);
    expect(JSON.parse(await rawExchange(socket, '{"op":"unserialisable"}\n')).error.message).toMatch(
      /could not serialise/,
    );
  });

  test('no socket: DaemonUnavailableError; a live socket cannot be claimed twice', async () => {
    await expect(send(path.join(dir, 'none.sock'), PingRequest, {})).rejects.toBeInstanceOf(DaemonUnavailableError);
    await expect(claimSocket(socket)).rejects.toThrow(/another netmgrd is already running/);
  });
});
