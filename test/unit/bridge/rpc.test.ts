/**
 * The synchronous RPC between netmgrd's main thread and the forwarding worker (src/bridge/rpc.ts), with a real
 * worker thread serving: answers and binary data cross intact; errors come back as the same kind of error
 * (DatapathError with its code, NetmgrError with kind and errno, a system error's code); log lines posted before
 * an answer are readable when the call returns; a dead, hung or never-started worker fails the call promptly
 * instead of blocking the main thread for good; the worker's event loop runs while the main thread waits.
 */
import * as path from 'path';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'worker_threads';
import { decodeError, encodeError, newSignal, SyncRpcClient } from '../../../src/bridge/rpc';
import { DatapathError } from '../../../src/datapath/types';
import { hasErrno, NetmgrError } from '../../../src/util/errors';
import type { TestCall, TestWorkerData } from './rpc-worker';

const RUNNER = path.join(__dirname, '..', '..', 'helpers', 'ts-worker.js');
const SCRIPT = path.join(__dirname, 'rpc-worker.ts');

interface Harness {
  /** The main thread's side, under test. */
  client: SyncRpcClient<TestCall>;
  /** The serving thread. */
  worker: Worker;
  /** The worker's log lines. */
  events: MessagePort;
  /** Lines drained by afterAnswer, in order. */
  drained: string[];
}

const running: Worker[] = [];

function start(opts: { neverStart?: boolean; timeoutMs?: number; startTimeoutMs?: number } = {}): Harness {
  const rpc = new MessageChannel();
  const events = new MessageChannel();
  const signal = newSignal();
  const data: TestWorkerData = { signal, rpc: rpc.port2, events: events.port2, neverStart: opts.neverStart };
  const worker = new Worker(RUNNER, {
    workerData: { ...data, script: SCRIPT },
    transferList: [rpc.port2, events.port2],
  });
  running.push(worker);
  const drained: string[] = [];
  const client = new SyncRpcClient<TestCall>(rpc.port1, signal, {
    timeoutMs: opts.timeoutMs ?? 30_000,
    startTimeoutMs: opts.startTimeoutMs ?? 30_000,
    afterAnswer: () => {
      for (let m = receiveMessageOnPort(events.port1); m; m = receiveMessageOnPort(events.port1))
        drained.push(m.message as string);
    },
  });
  return { client, worker, events: events.port1, drained };
}

afterAll(async () => {
  await Promise.all(running.map((w) => w.terminate()));
});

describe('a call into a live worker', () => {
  let h: Harness;
  beforeAll(() => {
    h = start();
  });

  it('returns the result, binary data included, and calls in a row get their own answers', () => {
    const value = { ufid: new Uint8Array([1, 2, 3]), n: 7, nested: [{ a: 'b' }] };
    expect(h.client.call({ op: 'echo', value }, 'echo')).toEqual(value);
    for (let i = 0; i < 50; i++) expect(h.client.call({ op: 'echo', value: i }, 'echo')).toBe(i);
  });

  it('a DatapathError comes back as a DatapathError with its code and kind', () => {
    let e: unknown;
    try {
      h.client.call({ op: 'datapath-error' }, 'put');
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(DatapathError);
    expect(e).toMatchObject({ code: 'EEXIST', kind: 'exists', errno: 'EEXIST', message: 'the flow exists' });
    expect(hasErrno(e, 'EEXIST')).toBe(true);
    expect((e as Error).stack).toContain('in the forwarding worker');
  });

  it('a NetmgrError keeps kind and errno; a system error keeps its code; a thrown string becomes an Error', () => {
    expect(() => h.client.call({ op: 'netmgr-error' }, 'x')).toThrow(
      expect.objectContaining({ kind: 'busy', errno: 'EAGAIN', name: 'NetmgrError', message: 'locked' }),
    );
    let e: unknown;
    try {
      h.client.call({ op: 'system-error' }, 'x');
    } catch (x) {
      e = x;
    }
    expect(e).toMatchObject({ code: 'ENODEV', message: 'ENODEV: no such device' });
    expect(hasErrno(e, 'ENODEV')).toBe(true);
    expect(() => h.client.call({ op: 'throw-string' }, 'x')).toThrow('a string');
  });

  it('log lines the worker posted before answering are drained before the call returns, in order', () => {
    expect(h.client.call({ op: 'log-then-answer', lines: ['one', 'two', 'three'] }, 'log')).toBe(3);
    expect(h.drained).toEqual(['one', 'two', 'three']);
  });

  it('a result that cannot cross is an error, not a hang', () => {
    expect(() => h.client.call({ op: 'uncloneable' }, 'x')).toThrow(/could not be cloned/);
    expect(h.client.call({ op: 'echo', value: 'still serving' }, 'x')).toBe('still serving');
  });

  it("the worker's event loop runs while the main thread is blocked", () => {
    const before = h.client.call({ op: 'ticks' }, 'ticks') as number;
    const end = Date.now() + 200;
    while (Date.now() < end); // the main thread busy, as while parsing units
    expect(h.client.call({ op: 'ticks' }, 'ticks') as number).toBeGreaterThan(before + 10);
  });
});

describe('a worker that fails', () => {
  it('dies during a call: the call fails at once with "unavailable", and so does every later call', () => {
    const h = start();
    const t = Date.now();
    expect(() => h.client.call({ op: 'die' }, 'step')).toThrow(
      expect.objectContaining({ kind: 'unavailable', message: expect.stringContaining('died') }),
    );
    expect(Date.now() - t).toBeLessThan(5000);
    expect(() => h.client.call({ op: 'echo', value: 1 }, 'names')).toThrow(/not running/);
  });

  it('stalls past the deadline: the call gives up', () => {
    const h = start({ timeoutMs: 300 });
    expect(h.client.call({ op: 'echo', value: 'warm' }, 'x')).toBe('warm');
    expect(() => h.client.call({ op: 'stall', ms: 1500 }, 'dump-flows')).toThrow(
      expect.objectContaining({ kind: 'unavailable', message: expect.stringContaining('did not answer within') }),
    );
    expect(h.client.closedReason).toContain('did not answer');
  });

  it('never starts: the call gives up after the start deadline', () => {
    const h = start({ neverStart: true, startTimeoutMs: 300 });
    expect(() => h.client.call({ op: 'echo', value: 1 }, 'names')).toThrow(/did not start within/);
  });
});

describe('errors as data', () => {
  it('round-trips without a thread: classes, kinds, codes', () => {
    const d = decodeError(encodeError(new DatapathError('ENOENT', 'no such port')));
    expect(d).toBeInstanceOf(DatapathError);
    expect(d).toMatchObject({ code: 'ENOENT', kind: 'not-found' });
    const n = decodeError(encodeError(new NetmgrError('failed', 'kernel said no', 'EPERM')));
    expect(n).toBeInstanceOf(NetmgrError);
    expect(n).toMatchObject({ kind: 'failed', errno: 'EPERM' });
    expect(decodeError(encodeError(42))).toMatchObject({ name: 'Error', message: '42' });
  });
});
