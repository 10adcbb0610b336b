/**
 * The test hooks are not part of the protocol: `netmgr apply` with netmgrd running sends the unit set and the
 * confirm time only, whatever NETMGR_TEST_FAIL_STEP / NETMGR_TEST_KILL_STEP say in its environment (netmgrd takes
 * them from its own environment at start).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { applyCommand } from '../../../src/cli/apply';
import { EXIT_OK } from '../../../src/cli/command';
import { ApplyParams } from '../../../src/daemon/protocol';
import { schemaProblem } from '../../../src/daemon/request-line';
import { fakeDaemon, type FakeDaemon } from './fake-daemon';

let fake: FakeDaemon;
let dir: string;

beforeEach(async () => {
  fake = await fakeDaemon();
  // One answer for both requests: ping's pid, and an apply that changed nothing.
  fake.answer = { ok: true, result: { pid: 1, plan: { changes: [] }, steps: 0, recovered: 0, differences: [] } };
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netmgr-apply-hooks-'));
  fs.mkdirSync(path.join(dir, 'units'));
  fs.copyFileSync(
    path.join(__dirname, '..', '..', '..', 'examples', 'veth-pair', 'demo-a.toml'),
    path.join(dir, 'units', 'demo-a.toml'),
  );
  jest.spyOn(process, 'getuid').mockReturnValue(0);
});

afterEach(async () => {
  jest.restoreAllMocks();
  await fake.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the apply request carries no test hook, and is what the apply schema accepts', async () => {
  let err = '';
  const code = await applyCommand.run({
    args: ['--dir', path.join(dir, 'units'), '--confirm', '30'],
    env: {
      NETMGR_SOCKET: fake.socket,
      NETMGR_STATE_DIR: path.join(dir, 'state'),
      NETMGR_TEST_FAIL_STEP: '2',
      NETMGR_TEST_KILL_STEP: '3',
    },
    stdout: () => undefined,
    stderr: (t) => (err += t),
  });
  expect({ code, err }).toEqual({ code: EXIT_OK, err: '' });
  expect(fake.requests.map((r) => r.op)).toEqual(['ping', 'apply']);
  const { op: _op, ...params } = fake.requests[1];
  expect(Object.keys(params).sort()).toEqual(['confirmSeconds', 'dir', 'sources']);
  expect(schemaProblem(ApplyParams, params)).toBeUndefined();
});
