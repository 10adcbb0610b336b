/**
 * The C addon in worker threads (netmgrd's forwarding worker loads it beside the main thread): it loads in several
 * environments at once; a readiness watcher started in a worker runs on that worker's own event loop (its
 * callback fires while the main thread is blocked); terminating a worker with a watcher still running is clean
 * (the environment's cleanup hook closes it) and the addon keeps working in a new worker.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { native } from '../../../src/native';

const ADDON = path.resolve(__dirname, '..', '..', '..', 'build', 'Release', 'netmgr_native.node');

/** Watches a FIFO with pollStart; posts 'polling', then {text, at} per readable event; 'stop' ends the watch. */
const WORKER = `
const { parentPort, workerData } = require('worker_threads');
const fs = require('fs');
const addon = require(workerData.addon);
const fd = fs.openSync(workerData.fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
const h = addon.pollStart(fd, () => {
  const b = Buffer.alloc(256);
  const n = fs.readSync(fd, b);
  parentPort.postMessage({ text: b.subarray(0, n).toString(), at: Date.now() });
});
parentPort.on('message', (m) => {
  if (m !== 'stop') return;
  addon.pollStop(h);
  fs.closeSync(fd);
  parentPort.postMessage('stopped');
});
parentPort.postMessage('polling');
`;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netmgr-addon-worker-'));
const workers: Worker[] = [];

function fifo(name: string): string {
  const p = path.join(dir, name);
  const r = spawnSync('mkfifo', [p]);
  if (r.status !== 0) throw new Error(`mkfifo failed: ${String(r.stderr)}`);
  return p;
}

/** A worker watching its own FIFO, with a queue of what it posted. */
async function watcher(f: string): Promise<{ w: Worker; next(): Promise<unknown> }> {
  const w = new Worker(WORKER, { eval: true, workerData: { addon: ADDON, fifo: f } });
  workers.push(w);
  const queue: unknown[] = [];
  const waiting: Array<(m: unknown) => void> = [];
  w.on('message', (m) => (waiting.length ? waiting.shift()!(m) : queue.push(m)));
  const next = () => new Promise<unknown>((r) => (queue.length ? r(queue.shift()) : waiting.push(r)));
  expect(await next()).toBe('polling');
  return { w, next };
}

afterAll(async () => {
  await Promise.all(workers.map((w) => w.terminate()));
  fs.rmSync(dir, { recursive: true, force: true });
});

it('loads in the main thread and in two workers; each watcher fires on its own loop while the main thread is blocked', async () => {
  expect(typeof native().pollStart).toBe('function');
  const fa = fifo('a');
  const fb = fifo('b');
  const a = await watcher(fa);
  const b = await watcher(fb);
  const wa = fs.openSync(fa, fs.constants.O_RDWR);
  const wb = fs.openSync(fb, fs.constants.O_RDWR);
  fs.writeSync(wa, 'to a');
  fs.writeSync(wb, 'to b');
  const busyUntil = Date.now() + 300;
  while (Date.now() < busyUntil); // the main thread's loop cannot run callbacks now
  const [ma, mb] = (await Promise.all([a.next(), b.next()])) as Array<{ text: string; at: number }>;
  expect([ma.text, mb.text]).toEqual(['to a', 'to b']);
  expect(ma.at).toBeLessThan(busyUntil);
  expect(mb.at).toBeLessThan(busyUntil);
  a.w.postMessage('stop');
  expect(await a.next()).toBe('stopped');
  fs.closeSync(wa);
  fs.closeSync(wb);
});

it('a worker terminated with a watcher running goes away cleanly, and a new worker watches again', async () => {
  const f = fifo('c');
  const first = await watcher(f);
  expect(await first.w.terminate()).toBe(1);
  const second = await watcher(f);
  const wfd = fs.openSync(f, fs.constants.O_RDWR);
  fs.writeSync(wfd, 'again');
  expect(await second.next()).toMatchObject({ text: 'again' });
  fs.closeSync(wfd);
});
