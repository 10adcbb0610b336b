/**
 * RemoteBridgeManager: netmgrd's main thread's handle on the bridges, which run in the forwarding worker
 * (worker.ts). It has BridgeManager's surface (BridgeControl), every member a synchronous call into the worker
 * (rpc.ts): the apply runner's datapath steps, dpctl, fdb, trace and the status counters keep their synchronous
 * shape, and an error comes back as the same NetmgrError (kind, errno, DatapathError code) the journal and the
 * handlers expect. The main thread waits for the worker; the worker never waits for the main thread, so a long
 * parse, plan or apply on the main thread never stalls a packet.
 *
 * The worker's log lines come as messages; those posted before an answer are logged before the call returns, so
 * the log reads in the order things happened.
 */
import * as fs from 'fs';
import * as path from 'path';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'worker_threads';
import type { Datapath } from '../datapath/types';
import type { LiveBridge } from '../model/bridges';
import type { DatapathStep } from '../plan/types';
import type { Policy } from '../policy';
import { NetmgrError, messageOf } from '../util/errors';
import { packageRoot } from '../util/paths';
import type { BridgeCall, BridgeDescription, ManagerMethod } from './calls';
import type { BridgeControl } from './control';
import { newSignal, SyncRpcClient } from './rpc';
import { RemoteDatapath, RemotePolicy } from './views';
import type { ForwardingWorkerData, WorkerEvent } from './worker';

/** Where the worker's log lines go (netmgrd's Logger has these). */
export interface WorkerLog {
  /** What the bridges report (ports failing, kernel bridges taken over, policy failures). */
  info(line: string): void;
  /** What a policy reports as a warning (a port blocked by a guard, a loop found). */
  warning(line: string): void;
  /** The worker's own failure (with its stack). */
  error(line: string): void;
}

export interface RemoteBridgeOptions {
  /** netmgrd's state directory, handed to the worker's BridgeManager. */
  stateDir: string;
  /** Where the worker's log lines go, in the order they happened. */
  log: WorkerLog;
  /**
   * The worker ended without being asked to (a bug in forwarding, out of memory) or stopped answering. Called
   * once, with the reason; the bridges are gone or unreachable, so the caller ends the process.
   */
  onDeath(reason: string): void;
  /** The worker script (tests); default: dist/netmgr-worker.js, the worker bundled by `npm run build`. */
  workerFile?: string;
}

/** A call waits this long for its answer; the worker's calls are short (one step, one dump), so this means hung. */
const CALL_TIMEOUT_MS = 60_000;
/** The worker's script loads the bridge layer and the addon before it starts. */
const START_TIMEOUT_MS = 15_000;

export class RemoteBridgeManager implements BridgeControl {
  private readonly worker: Worker;
  private readonly client: SyncRpcClient<BridgeCall>;
  private readonly events: MessagePort;
  private readonly rpcPort: MessagePort;
  /** Set by shutdown: the worker's exit is expected from then on. */
  private stopping = false;
  /** onDeath was called (it is called once). */
  private dead = false;

  constructor(private readonly opts: RemoteBridgeOptions) {
    const file = opts.workerFile ?? path.join(packageRoot(), 'dist', 'netmgr-worker.js');
    if (!fs.existsSync(file))
      throw new NetmgrError('unavailable', `the forwarding worker's script ${file} is missing (run npm run build)`);
    const rpc = new MessageChannel();
    const events = new MessageChannel();
    const signal = newSignal();
    const data: ForwardingWorkerData = { stateDir: opts.stateDir, signal, rpc: rpc.port2, events: events.port2 };
    this.worker = new Worker(file, { workerData: data, transferList: [rpc.port2, events.port2] });
    this.rpcPort = rpc.port1;
    this.events = events.port1;
    this.client = new SyncRpcClient(this.rpcPort, signal, {
      timeoutMs: CALL_TIMEOUT_MS,
      startTimeoutMs: START_TIMEOUT_MS,
      afterAnswer: () => this.drainEvents(),
    });
    this.events.on('message', (e: WorkerEvent) => this.onEvent(e));
    this.worker.on('error', (e) => opts.log.error(`the forwarding worker failed: ${e.stack ?? messageOf(e)}`));
    this.worker.on('exit', (code) => this.onExit(code));
  }

  private onEvent(e: WorkerEvent): void {
    if (e.type !== 'log') return;
    if (e.level === 'error') this.opts.log.error(e.line);
    else if (e.level === 'warning') this.opts.log.warning(e.line);
    else this.opts.log.info(e.line);
  }

  /** Logs the worker's lines posted so far (they precede the answer just read). */
  private drainEvents(): void {
    for (let m = receiveMessageOnPort(this.events); m !== undefined; m = receiveMessageOnPort(this.events))
      this.onEvent(m.message as WorkerEvent);
  }

  private onExit(code: number): void {
    this.drainEvents();
    this.client.close(`it exited with code ${code}`);
    this.events.close();
    this.rpcPort.close();
    this.died(`the forwarding worker exited (code ${code})`);
  }

  private died(reason: string): void {
    if (this.stopping || this.dead) return;
    this.dead = true;
    this.opts.onDeath(reason);
  }

  private call(call: BridgeCall, what: string): unknown {
    try {
      return this.client.call(call, what);
    } catch (e) {
      // A hung or dead worker is not a failed step: the bridges are unreachable, netmgrd cannot go on.
      // Reported from the event loop: the caller first gets its error (a failed step is still journaled).
      if (this.client.closedReason !== undefined)
        setImmediate(() => this.died(`the forwarding worker is unreachable: ${messageOf(e)}`));
      throw e;
    }
  }

  private manager(method: ManagerMethod, ...args: unknown[]): unknown {
    return this.call({ target: 'manager', method, args }, method);
  }

  releaseStaleIsolation(): void {
    this.manager('releaseStaleIsolation');
  }

  adoptKernelBridges(): void {
    this.manager('adoptKernelBridges');
  }

  names(): string[] {
    return this.manager('names') as string[];
  }

  live(): LiveBridge[] {
    return this.manager('live') as LiveBridge[];
  }

  run(step: DatapathStep): void {
    this.manager('run', step);
  }

  private describe(name: string): BridgeDescription {
    return this.call({ target: 'describe', bridge: name }, `bridge ${name}`) as BridgeDescription;
  }

  datapath(name: string): Datapath {
    return new RemoteDatapath(name, this.describe(name), (c, what) => this.call(c, what));
  }

  policy(name: string): Policy {
    return new RemotePolicy(name, this.describe(name).policy, (c, what) => this.call(c, what));
  }

  /** Stops the bridges in the worker (as BridgeManager.shutdown), then the worker itself. Never throws. */
  shutdown(): void {
    if (this.stopping) return;
    try {
      this.manager('shutdown');
    } catch (e) {
      this.opts.log.error(`stopping the bridges: ${messageOf(e)}`);
    } finally {
      this.stopping = true;
      this.client.close('netmgrd is stopping');
      void this.worker.terminate();
    }
  }
}
