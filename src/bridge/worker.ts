/**
 * The forwarding worker's script (a worker_threads Worker started by remote.ts): the whole bridge runtime lives
 * here - the BridgeManager with every bridge's datapath, policy and upcall pipeline - so its event loop does
 * nothing but forwarding (userspace datapath receive batches, kernel upcall reading, policy decisions, flow
 * installs) and the short control calls the main thread sends (plan steps, dpctl, fdb, counters), each between
 * two forwarding callbacks. Parsing, planning, applying links and answering requests stay on the main thread, as
 * ovs-vswitchd keeps its PMD and handler threads apart from its main thread.
 *
 * It never waits for the main thread: calls come in as messages, answers and log lines go out as messages.
 */
import { workerData, type MessagePort } from 'worker_threads';
import { messageOf } from '../util/errors';
import { dispatchCall, type BridgeCall } from './calls';
import { BridgeManager } from './manager';
import { raiseForwardingPriority } from './priority';
import { markDead, markStarted, serveSync } from './rpc';

/** What remote.ts hands the worker (workerData). */
export interface ForwardingWorkerData {
  /** netmgrd's state directory (kernel bridge records, host isolation records). */
  stateDir: string;
  /** The shared slots of the synchronous calls (rpc.ts). */
  signal: Int32Array;
  /** Calls in, answers out. */
  rpc: MessagePort;
  /** Log lines out (WorkerEvent). */
  events: MessagePort;
}

/** What the worker tells the main thread besides answers. */
export interface WorkerEvent {
  /** The only event so far: a log line (answers go on the rpc port). */
  type: 'log';
  /**
   * 'error' for the worker's own failure; 'warning' for what a policy reports as one (a line it starts with
   * WARNING_PREFIX: guards, loops), without the prefix; 'info' for everything else the bridges report.
   */
  level: 'info' | 'warning' | 'error';
  /** One line, without the priority prefix (the main thread's Logger adds it). */
  line: string;
}

/** How a policy marks a log line as a warning (loop protection's guards and blocked loops). */
export const WARNING_PREFIX = 'warning: ';

function run(data: ForwardingWorkerData): void {
  const { signal, rpc, events } = data;
  const post = (level: WorkerEvent['level'], line: string) =>
    events.postMessage({ type: 'log', level, line } satisfies WorkerEvent);
  // A bug in forwarding (a throw from a receive callback, a timer) ends the worker: it is logged with its stack and
  // any waiting call is released at once; the main thread then exits netmgrd so systemd restarts it (remote.ts).
  process.on('uncaughtException', (e) => {
    post('error', `the forwarding worker failed: ${e instanceof Error ? (e.stack ?? e.message) : messageOf(e)}`);
    markDead(signal);
    process.exit(1);
  });
  const refused = raiseForwardingPriority();
  if (refused !== undefined) post('info', refused);
  markStarted(signal);
  const manager = new BridgeManager(data.stateDir, (line) =>
    line.startsWith(WARNING_PREFIX) ? post('warning', line.slice(WARNING_PREFIX.length)) : post('info', line),
  );
  serveSync<BridgeCall>(rpc, signal, (call) => dispatchCall(manager, call));
}

run(workerData as ForwardingWorkerData);
