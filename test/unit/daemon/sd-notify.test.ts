/**
 * sdNotify against a real AF_UNIX datagram socket, bound by a python3 helper (node cannot bind unix datagram
 * sockets): the bytes systemd would read must be exactly the state string, for a path and an abstract name.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { sdNotify } from '../../../src/daemon/sd-notify';
import { haveTool } from '../../helpers/sys';

const hasPython = haveTool('python3', ['-c', 'import socket'], 'python3');

/**
 * Binds a datagram socket at address ('@name' = abstract) and prints "ready"; then prints each datagram it receives,
 * hex-encoded, one per line, until it has `count` or 5 s pass without one.
 */
const RECEIVER = `
import socket, sys
addr, count = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind('\\0' + addr[1:] if addr.startswith('@') else addr)
s.settimeout(5)
print('ready', flush=True)
for _ in range(count):
    try:
        print(s.recv(65536).hex(), flush=True)
    except socket.timeout:
        break
`;

/** Starts the receiver, runs send() once it is bound, and resolves with the datagrams it got. */
function receive(address: string, count: number, send: () => void): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const p = spawn('python3', ['-c', RECEIVER, address, String(count)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let sent = false;
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!sent && out.startsWith('ready\n')) {
        sent = true;
        try {
          send();
        } catch (e) {
          p.kill();
          reject(e instanceof Error ? e : new Error(String(e)));
        }
      }
    });
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) return reject(new Error(`receiver exited ${code}: ${err}`));
      const lines = out.split('\n').filter((l) => l && l !== 'ready');
      resolve(lines.map((l) => Buffer.from(l, 'hex')));
    });
  });
}

const describeIf = hasPython ? describe : describe.skip;

describeIf('sdNotify (python3 receiver)', () => {
  const saved = process.env.NOTIFY_SOCKET;
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netmgr-notify-'));
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.NOTIFY_SOCKET;
    else process.env.NOTIFY_SOCKET = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('NOTIFY_SOCKET unset or empty: nothing is sent, false', () => {
    delete process.env.NOTIFY_SOCKET;
    expect(sdNotify('READY=1')).toBe(false);
    process.env.NOTIFY_SOCKET = '';
    expect(sdNotify('READY=1')).toBe(false);
  });

  test('a path socket receives each state as one datagram, byte for byte', async () => {
    const sock = path.join(dir, 'notify');
    process.env.NOTIFY_SOCKET = sock;
    const states = ['READY=1\nSTATUS=2 bridge(s), 5 unit(s) applied', 'RELOADING=1', 'STOPPING=1'];
    const got = await receive(sock, states.length, () => {
      for (const s of states) expect(sdNotify(s)).toBe(true);
    });
    expect(got.map((b) => b.toString('utf8'))).toEqual(states);
  });

  test('an abstract socket (@name) receives the datagram; UTF-8 is kept', async () => {
    const name = `@netmgr-test-notify-${process.pid}-${Math.random().toString(36).slice(2)}`;
    process.env.NOTIFY_SOCKET = name;
    const state = 'STATUS=vérifié: ready';
    const got = await receive(name, 1, () => expect(sdNotify(state)).toBe(true));
    expect(got).toEqual([Buffer.from(state, 'utf8')]);
  });

  test('a socket nobody listens on throws the errno error', () => {
    process.env.NOTIFY_SOCKET = path.join(dir, 'absent');
    expect(() => sdNotify('READY=1')).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'sendto' }));
    process.env.NOTIFY_SOCKET = `@netmgr-test-nobody-${process.pid}-${Math.random().toString(36).slice(2)}`;
    expect(() => sdNotify('READY=1')).toThrow(expect.objectContaining({ code: 'ECONNREFUSED' }));
  });

  test('a NOTIFY_SOCKET that is neither a path nor @name, too long or empty is refused', () => {
    process.env.NOTIFY_SOCKET = 'relative/notify';
    expect(() => sdNotify('READY=1')).toThrow(expect.objectContaining({ code: 'EAFNOSUPPORT' }));
    process.env.NOTIFY_SOCKET = '/' + 'x'.repeat(120);
    expect(() => sdNotify('READY=1')).toThrow(expect.objectContaining({ code: 'ENAMETOOLONG' }));
    process.env.NOTIFY_SOCKET = '@';
    expect(() => sdNotify('READY=1')).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });
});
