/** A stand-in for netmgrd's socket: answers every request with a canned response and records what it was asked. */
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import type { Command } from '../../../src/cli/command';
import type { Response, WireRequest } from '../../../src/daemon/protocol';

export interface FakeDaemon {
  socket: string;
  requests: WireRequest[];
  answer: Response;
  close(): Promise<void>;
}

export async function fakeDaemon(): Promise<FakeDaemon> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netmgr-fake-'));
  const fake: FakeDaemon = {
    socket: path.join(dir, 'netmgrd.sock'),
    requests: [],
    answer: { ok: true, result: null },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        fs.rmSync(dir, { recursive: true, force: true });
      }),
  };
  const server = net.createServer((c) => {
    let buf = '';
    c.setEncoding('utf8');
    c.on('data', (d: string) => {
      buf += d;
      if (!buf.includes('\n')) return;
      fake.requests.push(JSON.parse(buf) as WireRequest);
      c.end(JSON.stringify(fake.answer) + '\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(fake.socket, resolve));
  return fake;
}

export interface CommandRun {
  code: number;
  out: string;
  err: string;
}

/**
 * Per-test setup for a CLI command against the fake daemon (as root): `h.fake` is the test's daemon, `h.run(...)`
 * runs the command with NETMGR_SOCKET pointing at it.
 */
export function commandHarness(cmd: Command): {
  readonly fake: FakeDaemon;
  run: (...args: string[]) => Promise<CommandRun>;
} {
  let current: FakeDaemon | undefined;
  beforeEach(async () => {
    current = await fakeDaemon();
    jest.spyOn(process, 'getuid').mockReturnValue(0);
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await current?.close();
  });
  return {
    get fake() {
      return current as FakeDaemon;
    },
    run: async (...args: string[]) => {
      let out = '';
      let err = '';
      const code = await cmd.run({
        args,
        env: { NETMGR_SOCKET: (current as FakeDaemon).socket },
        stdout: (t) => (out += t),
        stderr: (t) => (err += t),
      });
      return { code, out, err };
    },
  };
}
