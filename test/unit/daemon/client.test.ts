/**
 * The CLI's side of the socket when netmgrd accepts more slowly than connections arrive: the kernel refuses a
 * connect with EAGAIN once the listen backlog is full (the request never reached netmgrd). With real sockets: a
 * listener in a child process with a backlog of 1 that does not accept for a while (its event loop blocked), the
 * backlog filled first. The client sends again with growing pauses and gets its answer once the listener accepts;
 * when the backlog stays full it gives up with a `busy` error that says so.
 */
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { send } from '../../../src/daemon/client';
import { PingRequest } from '../../../src/daemon/protocol';
import { NetmgrError } from '../../../src/util/errors';

/** A listener with backlog 1 that blocks its event loop for holdMs after listening, then answers every line. */
const LISTENER = `
const net = require('net');
const [path, holdMs] = process.argv.slice(1);
const s = net.createServer((c) => c.on('data', () => c.end(JSON.stringify({ ok: true, result: { pid: 7 } }) + '\\n')));
s.listen({ path, backlog: 1 }, () => {
  process.stdout.write('listening\\n');
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(holdMs));
});`;

let dir: string;
let child: ChildProcess | undefined;
const fillers: net.Socket[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netmgr-client-'));
});

afterEach(() => {
  for (const f of fillers.splice(0)) f.destroy();
  child?.kill();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Starts the listener and fills its backlog: connects until the kernel answers EAGAIN. */
async function fullListener(holdMs: number): Promise<string> {
  const socket = path.join(dir, 'netmgrd.sock');
  const c = spawn(process.execPath, ['-e', LISTENER, socket, String(holdMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  child = c;
  await new Promise<void>((resolve) => c.stdout.once('data', () => resolve()));
  for (let k = 0; k < 64; k++) {
    const refused = await new Promise<boolean>((resolve) => {
      const f = net.createConnection(socket, () => resolve(false));
      f.on('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'EAGAIN'));
      fillers.push(f);
    });
    if (refused) return socket;
  }
  throw new Error('the listener never refused a connection for a full backlog');
}

test('a connect refused for a full backlog is sent again until netmgrd accepts it', async () => {
  const socket = await fullListener(800);
  const t0 = Date.now();
  await expect(send(socket, PingRequest, {})).resolves.toEqual({ pid: 7 });
  // Answered only once the listener's loop ran again, so the first tries were refused and tried again.
  expect(Date.now() - t0).toBeGreaterThanOrEqual(500);
});

test('a backlog that stays full ends in a busy error that says so', async () => {
  const socket = await fullListener(8_000);
  const t0 = Date.now();
  const e: unknown = await send(socket, PingRequest, {}).catch((x: unknown) => x);
  expect(e).toBeInstanceOf(NetmgrError);
  expect((e as NetmgrError).kind).toBe('busy');
  expect((e as NetmgrError).message).toMatch(/listen backlog full\); try again/);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(4_000);
}, 15_000);
