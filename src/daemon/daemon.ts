/**
 * netmgrd (`netmgr daemon`): hosts the userspace datapaths, applies unit sets handed over by `netmgr apply`, and
 * answers dpctl, fdb and trace requests, on a unix socket only root can open. It applies the unit directory once at
 * start-up (so a restarted daemon brings its bridges back). SIGTERM stops it cleanly: ports are detached and host
 * isolation removed; namespaces, veths and addresses stay (they are the units' and survive it); the TAP devices
 * of userspace bridges go away with the process, by design, and come back at the next start.
 */
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { applyDesired } from '../apply/apply';
import { BridgeManager } from '../datapath/manager';
import { formatUnitError } from '../model/types';
import { planToJson } from '../plan/format';
import { loadUnitDir, parseUnits, type ParseResult } from '../units';
import { runDpctl } from './dpctl';
import { errorBody } from './errors';
import { runFdb, runTrace } from './fdb';
import { RequestError } from './requests';
import type { ApplyRequest, Request, Response } from './protocol';

export interface DaemonOptions {
  socketPath: string;
  stateDir: string;
  unitDir: string;
  /** Apply the unit directory at start-up (default true). */
  applyOnStart: boolean;
  log: (line: string) => void;
}

export interface ApplyReply {
  plan: object;
  steps: number;
  recovered: number;
}

/** The answer to a dpctl, fdb or trace request: its result, or the refusal it threw. */
function answer(run: () => unknown): Response {
  try {
    return { ok: true, result: run() };
  } catch (e) {
    return { ok: false, error: e instanceof RequestError ? e.body : errorBody(e) };
  }
}

export class Daemon {
  readonly manager: BridgeManager;
  private server: net.Server | undefined;
  private stopping = false;

  constructor(private readonly opts: DaemonOptions) {
    this.manager = new BridgeManager(opts.stateDir, opts.log);
  }

  async start(): Promise<void> {
    await this.claimSocket();
    this.manager.releaseStaleIsolation();
    this.manager.adoptKernelBridges();
    const server = net.createServer((c) => this.serve(c));
    this.server = server;
    const dir = path.dirname(this.opts.socketPath);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    // The socket is created under a restrictive umask so it is never reachable by others, not even briefly.
    const oldMask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.opts.socketPath, () => resolve());
      });
    } finally {
      process.umask(oldMask);
    }
    fs.chmodSync(this.opts.socketPath, 0o600);
    if (this.opts.applyOnStart) this.applyUnitDir();
    this.opts.log(`ready: ${this.manager.names().length} bridge(s), socket ${this.opts.socketPath}`);
  }

  /** Refuses to start next to a live daemon; removes the socket a dead one left. */
  private async claimSocket(): Promise<void> {
    const p = this.opts.socketPath;
    if (!fs.existsSync(p)) return;
    const alive = await new Promise<boolean>((resolve) => {
      const s = net.createConnection(p);
      s.on('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (alive) throw new Error(`another netmgrd is already running (socket ${p} answers)`);
    fs.unlinkSync(p);
  }

  private applyUnitDir(): void {
    if (!fs.existsSync(this.opts.unitDir)) {
      this.opts.log(`unit directory ${this.opts.unitDir} does not exist; nothing to apply`);
      return;
    }
    const r = this.apply(loadUnitDir(this.opts.unitDir), {});
    if (r.ok) {
      const reply = r.result as ApplyReply;
      this.opts.log(`applied ${this.opts.unitDir}: ${reply.steps} step(s)`);
    } else {
      this.opts.log(`could not apply ${this.opts.unitDir}: ${r.error.message}`);
      for (const e of r.error.errors ?? []) this.opts.log(formatUnitError(e));
    }
  }

  private apply(parsed: ParseResult, req: Partial<ApplyRequest>): Response<ApplyReply> {
    if (!parsed.state) return { ok: false, error: { kind: 'invalid', message: `${parsed.errors.length} problem(s) in the units; nothing was applied`, errors: parsed.errors } };
    try {
      const r = applyDesired(parsed.state, {
        stateDir: this.opts.stateDir,
        wait: true,
        log: (l) => this.opts.log(l),
        datapaths: this.manager,
        failAtStep: req.failAtStep,
        killAfterStep: req.killAfterStep,
      });
      return { ok: true, result: { plan: planToJson(r.plan), steps: r.steps, recovered: r.recovered } };
    } catch (e) {
      return { ok: false, error: errorBody(e) };
    }
  }

  private handle(req: Request): Response {
    switch (req.op) {
      case 'ping':
        return { ok: true, result: { pid: process.pid } };
      case 'live':
        return { ok: true, result: this.manager.live() };
      case 'apply': {
        const r = this.apply(parseUnits(req.sources), req);
        this.opts.log(r.ok ? `apply from ${req.dir}: ${(r.result as ApplyReply).steps} step(s)` : `apply from ${req.dir} refused: ${r.error.message}`);
        return r;
      }
      case 'dpctl':
        return answer(() => runDpctl(this.manager, req));
      case 'fdb':
        return answer(() => runFdb(this.manager, req));
      case 'trace':
        return answer(() => runTrace(this.manager, req));
      default:
        return { ok: false, error: { kind: 'invalid', message: `unknown request ${JSON.stringify((req as { op?: unknown }).op)}` } };
    }
  }

  private serve(c: net.Socket): void {
    let buf = '';
    c.setEncoding('utf8');
    c.on('error', () => c.destroy());
    c.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) {
        if (buf.length > 64 * 1024 * 1024) c.destroy();
        return;
      }
      let res: Response;
      try {
        res = this.handle(JSON.parse(buf.slice(0, nl)) as Request);
      } catch (e) {
        res = { ok: false, error: { kind: 'error', message: `bad request: ${(e as Error).message}` } };
      }
      c.end(JSON.stringify(res) + '\n');
    });
  }

  /** Stops serving and takes the bridges down (ports detached, host isolation removed, TAPs closed). */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.server?.close();
    this.manager.shutdown();
    try {
      fs.unlinkSync(this.opts.socketPath);
    } catch {
      // already gone
    }
  }
}
