/**
 * The worker side of rpc.test.ts: serves test calls with the real serveSync (run through test/helpers/ts-worker.js).
 * Each call's op says what the worker does: answer, throw one kind of error, log first, stall, or die.
 */
import { workerData, type MessagePort } from 'worker_threads';
import { markDead, markStarted, serveSync } from '../../../src/bridge/rpc';
import { DatapathError } from '../../../src/datapath/types';
import { NetmgrError } from '../../../src/util/errors';

export type TestCall =
  | { op: 'echo'; value: unknown }
  | { op: 'datapath-error' }
  | { op: 'netmgr-error' }
  | { op: 'system-error' }
  | { op: 'throw-string' }
  | { op: 'log-then-answer'; lines: string[] }
  | { op: 'stall'; ms: number }
  | { op: 'uncloneable' }
  | { op: 'die' }
  | { op: 'ticks' };

export interface TestWorkerData {
  /** The shared slots (newSignal). */
  signal: Int32Array;
  /** Calls in, answers out. */
  rpc: MessagePort;
  /** Log lines out, posted before an answer. */
  events: MessagePort;
  /** Never mark the script started nor serve: a worker that cannot load. */
  neverStart?: boolean;
}

const data = workerData as TestWorkerData;
/** Timer ticks of this worker's own event loop (it runs while the main thread waits). */
let ticks = 0;

function handle(c: TestCall): unknown {
  switch (c.op) {
    case 'echo':
      return c.value;
    case 'datapath-error':
      throw new DatapathError('EEXIST', 'the flow exists');
    case 'netmgr-error':
      throw new NetmgrError('busy', 'locked', 'EAGAIN');
    case 'system-error':
      throw Object.assign(new Error('ENODEV: no such device'), { code: 'ENODEV', errno: -19, syscall: 'ioctl' });
    case 'throw-string':
      throw 'a string'; // eslint-disable-line @typescript-eslint/only-throw-error -- what a careless callee may do
    case 'log-then-answer':
      for (const l of c.lines) data.events.postMessage(l);
      return c.lines.length;
    case 'stall': {
      const end = Date.now() + c.ms;
      while (Date.now() < end);
      return 'late';
    }
    case 'uncloneable':
      return () => 1;
    case 'die':
      markDead(data.signal);
      process.exit(1);
      return undefined;
    case 'ticks':
      return ticks;
  }
}

if (!data.neverStart) {
  markStarted(data.signal);
  setInterval(() => ticks++, 5).unref();
  serveSync<TestCall>(data.rpc, data.signal, handle);
}
