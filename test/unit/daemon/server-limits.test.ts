/**
 * The socket server under abuse, with real sockets: a second line on a connection, a line that never ends, an
 * over-long line, a connection past MAX_CONNECTIONS, a half-closed client, handlers that throw odd values or
 * answer what cannot be serialised. Each gets one well-formed answer and the server keeps serving.
 */
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { MAX_CONNECTIONS, MAX_LINE_BYTES, REQUEST_READ_TIMEOUT_MS } from '../../../src/daemon/limits';
import { defineRequest, NoParams, PingRequest, ResponseSchema, StatusRequest } from '../../../src/daemon/protocol';
import { schemaProblem } from '../../../src/daemon/request-line';
import { answerLine, RequestServer } from '../../../src/daemon/server';

/** Connects, writes the chunks (half-closing after them when asked), resolves with everything read until close. */
function converse(socket: string, chunks: string[], opts: { halfClose?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.createConnection({ path: socket, allowHalfOpen: true }, () => {
      for (const ch of chunks) c.write(ch);
      if (opts.halfClose) c.end();
    });
    let data = '';
    c.setEncoding('utf8');
    c.on('data', (d: string) => (data += d));
    c.on('end', () => {
      c.end();
      resolve(data);
    });
    c.on('error', reject);
  });
}

/** n connections that send nothing: they hold the server's slots until destroyed. */
function openIdle(socket: string, n: number): Promise<net.Socket[]> {
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Socket>((resolve) => {
          const c = net.createConnection(socket, () => resolve(c));
          c.on('error', () => undefined);
        }),
    ),
  );
}

/** The one answer line of a conversation, checked against the protocol's answer shape. */
function answerOf(raw: string): { ok: boolean; error?: { kind: string; message: string; path?: string } } {
  expect(raw.endsWith('\n')).toBe(true);
  expect(raw.indexOf('\n')).toBe(raw.length - 1);
  const a = JSON.parse(raw);
  expect(schemaProblem(ResponseSchema, a)).toBeUndefined();
  return a;
}

describe('the request server under abuse', () => {
  let dir: string;
  let socket: string;
  let server: RequestServer;
  let release: () => void = () => undefined;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netmgr-limits-'));
    socket = path.join(dir, 'netmgrd.sock');
    server = new RequestServer(() => undefined);
    server.handle(PingRequest, () => ({ pid: 42 }));
    server.handle(StatusRequest, () => new Promise<never>((resolve) => (release = () => resolve(null as never))));
    server.handle(defineRequest<NoParams, unknown>('throws-null', NoParams), () => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- the test: a handler (or a library) throwing a non-Error
      throw null;
    });
    server.handle(defineRequest<NoParams, unknown>('throws-unprintable', NoParams), () => {
      throw Object.create(null);
    });
    server.handle(defineRequest<NoParams, unknown>('deep-result', NoParams), () => {
      let deep: unknown[] = [];
      for (let i = 0; i < 200_000; i++) deep = [deep];
      return deep;
    });
    server.handle(defineRequest<NoParams, unknown>('cyclic-result', NoParams), () => {
      const o: Record<string, unknown> = {};
      o.self = o;
      return o;
    });
    await server.listen(socket);
  });

  afterEach(() => {
    release();
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('two lines in one write: invalid, and neither runs', async () => {
    const a = answerOf(await converse(socket, ['{"op":"ping"}\n{"op":"ping"}\n']));
    expect(a.error).toMatchObject({ kind: 'invalid', path: '' });
    expect(a.error!.message).toMatch(/one request per connection/);
  });

  test('a second line while the first runs: invalid at once, the connection closed', async () => {
    const raw = await new Promise<string>((resolve) => {
      const c = net.createConnection(socket, () => c.write(`{"op":"status","unitDir":"/u"}\n`));
      let data = '';
      c.setEncoding('utf8');
      c.on('data', (d: string) => (data += d));
      c.on('end', () => resolve(data));
      setTimeout(() => c.write('{"op":"ping"}\n'), 50);
    });
    expect(answerOf(raw).error!.message).toMatch(/a second line arrived while status ran/);
  });

  test('a line sent and the sending side shut: answered', async () => {
    expect(answerOf(await converse(socket, ['{"op":"ping"}\n'], { halfClose: true }))).toEqual({
      ok: true,
      result: { pid: 42 },
    });
    const cut = answerOf(await converse(socket, ['{"op":"pi'], { halfClose: true }));
    expect(cut.error!.message).toMatch(/not ended by a newline \(closed after 9 bytes\)/);
  });

  test('an over-long line is refused as soon as it passes its op limit, before the newline', async () => {
    const head = '{"op":"ping","x":"';
    const a = answerOf(await converse(socket, [head + 'y'.repeat(MAX_LINE_BYTES)]));
    expect(a.error).toMatchObject({
      kind: 'invalid',
      message: `the request: request line longer than ${MAX_LINE_BYTES} bytes`,
    });
  });

  test('100,000 levels of nesting: invalid, and the server goes on', async () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const a = answerOf(await converse(socket, [`{"op":"apply","sources":${deep}}\n`]));
    expect(a.error!.message).toMatch(/nested deeper than 16 levels/);
    expect(answerOf(await converse(socket, ['{"op":"ping"}\n'])).ok).toBe(true);
  });

  test('handlers that throw null or an unprintable object, or answer what JSON cannot hold', async () => {
    const ask = async (op: string) => answerOf(await converse(socket, [`{"op":"${op}"}\n`])).error;
    expect(await ask('throws-null')).toEqual({ kind: 'error', message: 'null' });
    expect(await ask('throws-unprintable')).toEqual({
      kind: 'failed',
      message: 'the request failed: an unprintable value was thrown',
    });
    expect(await ask('deep-result')).toMatchObject({
      kind: 'failed',
      message: expect.stringMatching(/could not serialise/),
    });
    expect(await ask('cyclic-result')).toMatchObject({ kind: 'failed', message: expect.stringMatching(/circular/) });
  });

  test(`connection ${MAX_CONNECTIONS + 1} is answered busy; the slots free up as connections close`, async () => {
    const idle = await openIdle(socket, MAX_CONNECTIONS);
    const busy = answerOf(await converse(socket, ['{"op":"ping"}\n']));
    expect(busy.error).toMatchObject({ kind: 'busy' });
    for (const c of idle) c.destroy();
    await new Promise((r) => setTimeout(r, 100));
    expect(answerOf(await converse(socket, ['{"op":"ping"}\n'])).ok).toBe(true);
  });

  test('a busy connection frees its descriptor as soon as its client closes, not after the linger', async () => {
    // Left open for ANSWER_LINGER_MS, a flood of busy connections once ran netmgrd out of descriptors, and libuv
    // then closed pending connections without an answer. Counted in this process's descriptor table.
    const idle = await openIdle(socket, MAX_CONNECTIONS);
    const openFds = () => fs.readdirSync('/proc/self/fd').length;
    // One busy answer first: the server has accepted the idle connections by then, and they are in `before`.
    expect(answerOf(await converse(socket, ['{"op":"ping"}\n'])).error).toMatchObject({ kind: 'busy' });
    await new Promise((r) => setTimeout(r, 200));
    const before = openFds();
    for (let i = 0; i < 200; i++)
      expect(answerOf(await converse(socket, ['{"op":"ping"}\n'])).error).toMatchObject({ kind: 'busy' });
    await new Promise((r) => setTimeout(r, 200));
    expect(openFds() - before).toBeLessThan(10);
    for (const c of idle) c.destroy();
  });

  test(
    'a connection that sends no complete line is answered and closed after the read timeout',
    async () => {
      const t0 = Date.now();
      const a = answerOf(await converse(socket, ['{"op":"pi']));
      const ms = Date.now() - t0;
      expect(a.error!.message).toBe(`the request: no complete request line within ${REQUEST_READ_TIMEOUT_MS / 1000} s`);
      expect(ms).toBeGreaterThanOrEqual(REQUEST_READ_TIMEOUT_MS - 50);
      expect(ms).toBeLessThan(REQUEST_READ_TIMEOUT_MS + 2000);
    },
    REQUEST_READ_TIMEOUT_MS + 5000,
  );
});

test('answerLine: one line whatever the result; a BigInt is a failed answer', () => {
  expect(answerLine({ ok: true, result: { a: 'x\ny' } })).toBe('{"ok":true,"result":{"a":"x\\ny"}}\n');
  const line = answerLine({ ok: true, result: 1n });
  expect(JSON.parse(line)).toEqual({
    ok: false,
    error: { kind: 'failed', message: 'netmgrd could not serialise its answer: Do not know how to serialize a BigInt' },
  });
});
