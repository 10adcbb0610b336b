/**
 * The one state-file helper: records round-trip; a durable record that is not JSON is 'corrupt', naming the file;
 * a record that is not durable (kernel state a reboot clears) is written without fsync and, when a power loss has
 * left it empty or torn, reads as none.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readStateFile, writeStateFile, type StateFileSpec } from '../../../src/util/state-file';

// fs's own functions cannot be spied on in place: the module under test gets fs with fsyncSync counted.
jest.mock('fs', () => {
  const real = jest.requireActual<typeof import('fs')>('fs');
  return { ...real, fsyncSync: jest.fn(real.fsyncSync) };
});
const fsync = fs.fsyncSync as jest.MockedFunction<typeof fs.fsyncSync>;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netmgr-state-file-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
afterEach(() => fsync.mockClear());

const DURABLE: StateFileSpec = { name: 'durable.json', version: 1 };
const VOLATILE: StateFileSpec = { name: 'volatile.json', durable: false };

test.each([
  ['durable', 2, DURABLE, { version: 1, items: [1, 2] }],
  ['not durable', 0, VOLATILE, [{ ifindex: 3, name: 'p1' }]],
])('a %s record round-trips and is fsynced %i times (the file, its directory)', (_kind, fsyncs, spec, value) => {
  writeStateFile(dir, spec, value);
  expect(fsync).toHaveBeenCalledTimes(fsyncs);
  expect(readStateFile(dir, spec)).toEqual(value);
  expect(fs.statSync(path.join(dir, spec.name)).mode & 0o777).toBe(0o600);
});

test.each([
  ['empty', ''],
  ['torn', '[{"ifindex": 3, "na'],
])('an %s record: corrupt when durable, none when not', (_what, text) => {
  fs.writeFileSync(path.join(dir, DURABLE.name), text);
  fs.writeFileSync(path.join(dir, VOLATILE.name), text);
  expect(() => readStateFile(dir, DURABLE)).toThrow(
    expect.objectContaining({ kind: 'corrupt', message: expect.stringContaining(DURABLE.name) }),
  );
  expect(readStateFile(dir, VOLATILE)).toBeUndefined();
});

test('a missing record reads as none; another version is corrupt', () => {
  expect(readStateFile(dir, { name: 'absent.json' })).toBeUndefined();
  writeStateFile(dir, DURABLE, { version: 2 });
  expect(() => readStateFile(dir, DURABLE)).toThrow(expect.objectContaining({ kind: 'corrupt' }));
});
