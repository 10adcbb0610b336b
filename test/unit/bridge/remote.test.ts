/**
 * RemoteBridgeManager against the real forwarding worker script (src/bridge/worker.ts in a worker thread, no
 * bridges, so no root needed): the manager's answers and errors come back through the proxy as they would
 * in-process (an unknown bridge is a DatapathError ENOENT, for a plan step too); the views refuse what only the
 * worker may do; a worker that fails is logged with its stack and reported once through onDeath (netmgrd then
 * exits for systemd to restart it); shutdown() stops the worker without calling it a death.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BroadcastChannel } from 'worker_threads';
import { RemoteBridgeManager } from '../../../src/bridge/remote';
import { DatapathError } from '../../../src/datapath/types';
import { hasErrno } from '../../../src/util/errors';

const CRASH_CHANNEL = 'netmgr-test-crash';
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'netmgr-remote-'));

function startRemote() {
  const lines: string[] = [];
  const deaths: string[] = [];
  const m = new RemoteBridgeManager({
    stateDir,
    log: {
      info: (l) => lines.push(`info ${l}`),
      warning: (l) => lines.push(`warning ${l}`),
      error: (l) => lines.push(`error ${l}`),
    },
    onDeath: (why) => deaths.push(why),
    workerFile: path.join(__dirname, 'crashing-worker.js'),
  });
  return { m, lines, deaths };
}

afterAll(() => {
  fs.rmSync(stateDir, { recursive: true, force: true });
});

it('answers as the manager would, errors included, and shuts down without a death', async () => {
  const { m, deaths } = startRemote();
  expect(m.names()).toEqual([]);
  expect(m.live()).toEqual([]);
  m.releaseStaleIsolation();
  for (const f of [
    () => m.datapath('nope'),
    () => m.policy('nope'),
    () => m.run({ op: 'flow.del', bridge: 'nope', flow: { match: 'in_port(1),eth()', actions: 'drop' } }),
  ]) {
    let e: unknown;
    try {
      f();
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(DatapathError);
    expect(hasErrno(e, 'ENOENT')).toBe(true);
    expect((e as Error).message).toBe('bridge nope does not exist');
  }
  m.shutdown();
  await new Promise((r) => setTimeout(r, 300));
  expect(deaths).toEqual([]);
  expect(() => m.names()).toThrow(expect.objectContaining({ kind: 'unavailable' }));
});

it('a worker that throws from its event loop is logged with its stack and reported once as a death', async () => {
  const { m, lines, deaths } = startRemote();
  expect(m.names()).toEqual([]); // the worker is up and serving
  const crash = new BroadcastChannel(CRASH_CHANNEL);
  crash.postMessage('now');
  for (let i = 0; i < 100 && deaths.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
  crash.close();
  expect(deaths).toEqual(['the forwarding worker exited (code 1)']);
  expect(lines.join('\n')).toMatch(/error the forwarding worker failed: Error: boom in a forwarding callback\n\s+at /);
  expect(() => m.names()).toThrow(/not running/);
});
