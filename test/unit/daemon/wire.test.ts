/**
 * Golden wire examples (test/golden/protocol/wire.txt): request lines exactly as `netmgr` sends them, and
 * netmgrd's answer lines, byte for byte, for valid and malformed requests. Each handler here answers
 * {"op": ..., "params": ...} so the golden shows what reached it. UPDATE_GOLDEN=1 rewrites the answers.
 */
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { requestLine } from '../../../src/daemon/client';
import {
  ApplyRequest,
  DpctlRequest,
  FdbRequest,
  PingRequest,
  REQUESTS,
  StatusRequest,
  TraceRequest,
  type RequestType,
} from '../../../src/daemon/protocol';
import { RequestServer } from '../../../src/daemon/server';

const GOLDEN = path.join(__dirname, '..', '..', 'golden', 'protocol', 'wire.txt');

/** What the CLI sends for typical commands: the golden's first request lines must be exactly these. */
const CLIENT_LINES: string[] = [
  requestLine(PingRequest, {}),
  requestLine(StatusRequest, { unitDir: '/etc/netmgr' }),
  requestLine(ApplyRequest, {
    sources: [{ file: '/etc/netmgr/ns.toml', text: '[unit]\ntype = "namespace"\n' }],
    dir: '/etc/netmgr',
    confirmSeconds: 60,
  }),
  requestLine(DpctlRequest, { command: 'add-flow', bridge: 'br0', flow: 'in_port(1),eth()', actions: '2' }),
  requestLine(FdbRequest, { command: 'show' }),
  requestLine(TraceRequest, { bridge: 'sw0', flow: 'in_port(1),eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02)' }),
];

function exchange(socket: string, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.createConnection(socket, () => c.write(line));
    let data = '';
    c.setEncoding('utf8');
    c.on('data', (d: string) => (data += d));
    c.on('end', () => resolve(data));
    c.on('error', reject);
  });
}

/** The golden as pairs: `> request line` then `< answer line`; `#` lines are comments. */
function readGolden(): { comments: string[]; pairs: { request: string; answer: string }[] } {
  const lines = fs.readFileSync(GOLDEN, 'utf8').split('\n');
  const comments = lines.filter((l) => l.startsWith('#'));
  const pairs: { request: string; answer: string }[] = [];
  for (let i = 0; i < lines.length; i++)
    if (lines[i].startsWith('> ')) pairs.push({ request: lines[i].slice(2), answer: (lines[i + 1] ?? '').slice(2) });
  return { comments, pairs };
}

test('the client sends the golden request lines', () => {
  const golden = readGolden().pairs.map((p) => p.request);
  const sent = CLIENT_LINES.map((l) => l.trimEnd());
  expect(golden.slice(0, sent.length)).toEqual(sent);
});

test('netmgrd answers each golden request line with its golden answer line', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netmgr-wire-'));
  const socket = path.join(dir, 'netmgrd.sock');
  const server = new RequestServer(() => undefined);
  for (const type of REQUESTS)
    server.handle(type as RequestType<object, unknown>, (params) => ({ op: type.method, params }));
  await server.listen(socket);
  try {
    const { comments, pairs } = readGolden();
    const answers: string[] = [];
    for (const p of pairs) answers.push((await exchange(socket, p.request + '\n')).trimEnd());
    if (process.env.UPDATE_GOLDEN) {
      const text = pairs.map((p, i) => `> ${p.request}\n< ${answers[i]}\n`).join('');
      fs.writeFileSync(GOLDEN, comments.join('\n') + '\n' + text);
    }
    expect(answers).toEqual(pairs.map((p) => p.answer));
  } finally {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
