/**
 * netmgrd's process-wide error handlers: an error escaping from a request that is still being served is logged
 * with its op and netmgrd keeps running; one escaping outside any request (or from work of a request already
 * answered) is logged and netmgrd exits non-zero for systemd to restart it.
 */
import { EventEmitter } from 'events';
import { crashLogLine, crashVerdict, EXIT_UNCAUGHT, installCrashHandlers } from '../../../src/daemon/crash';
import type { Logger } from '../../../src/daemon/log';
import { currentRequest, requestsInFlight, runInRequest } from '../../../src/daemon/request-context';
import { testHooksFromEnv, describeTestHooks } from '../../../src/daemon/test-hooks';

const nextTick = () => new Promise((r) => setImmediate(r));

function harness() {
  const source = new EventEmitter();
  const errors: string[] = [];
  const exits: number[] = [];
  const log: Logger = {
    error: (l) => errors.push(l),
    warning: () => undefined,
    notice: () => undefined,
    info: () => undefined,
    debug: () => undefined,
  };
  const remove = installCrashHandlers(source, log, (code) => exits.push(code));
  return { source, errors, exits, remove };
}

test('the verdict: keep running inside a request, exit 70 outside', () => {
  expect(crashVerdict('apply')).toEqual({ action: 'keep-running', op: 'apply' });
  expect(crashVerdict(undefined)).toEqual({ action: 'exit', code: EXIT_UNCAUGHT });
  expect(EXIT_UNCAUGHT).not.toBe(0);
  expect(crashLogLine('unhandledRejection', new Error('boom'), crashVerdict(undefined), ['status'])).toMatch(
    /^unhandled promise rejection outside any request \(requests in flight: status\): Error: boom\n/,
  );
});

test('an error raised while a request is served is logged with its op, and netmgrd keeps running', async () => {
  const h = harness();
  await runInRequest('dpctl', async () => {
    await nextTick();
    expect(currentRequest()?.op).toBe('dpctl');
    expect(requestsInFlight()).toEqual(['dpctl']);
    h.source.emit('uncaughtException', new RangeError('Invalid string length'));
    h.source.emit('unhandledRejection', 'a string, not an Error');
  });
  expect(h.exits).toEqual([]);
  expect(h.errors).toHaveLength(2);
  expect(h.errors[0]).toMatch(/^uncaught exception in request "dpctl": RangeError: Invalid string length/);
  expect(h.errors[0]).toMatch(/netmgrd keeps running/);
  expect(h.errors[1]).toMatch(/^unhandled promise rejection in request "dpctl": a string, not an Error/);
  h.remove();
  expect(h.source.listenerCount('uncaughtException') + h.source.listenerCount('unhandledRejection')).toBe(0);
});

test('outside any request, and from a request already answered, the error ends netmgrd with 70', async () => {
  const h = harness();
  h.source.emit('uncaughtException', new Error('forwarding loop'));
  // A timer a request armed fires after its answer: no longer that request's error.
  let late: (() => void) | undefined;
  await runInRequest('apply', async () => {
    late = () => h.source.emit('uncaughtException', new Error('late'));
  });
  await new Promise<void>((resolve) =>
    setTimeout(() => {
      late!();
      resolve();
    }, 1),
  );
  expect(h.exits).toEqual([EXIT_UNCAUGHT, EXIT_UNCAUGHT]);
  expect(h.errors[0]).toMatch(/^uncaught exception outside any request: Error: forwarding loop/);
  expect(h.errors[1]).toMatch(/outside any request: Error: late/);
  h.remove();
});

test('a thrown value that cannot even be printed is still logged and decided', () => {
  const h = harness();
  const evil = {
    toString() {
      throw new Error('no');
    },
  };
  h.source.emit('uncaughtException', evil);
  expect(h.errors).toEqual([
    expect.stringMatching(/^uncaught exception outside any request: an unprintable value; netmgrd exits/),
  ]);
  expect(h.exits).toEqual([EXIT_UNCAUGHT]);
  h.remove();
});

describe('test hooks come from the environment only', () => {
  test.each([
    [{}, {}],
    [{ NETMGR_TEST_FAIL_STEP: '3' }, { failAtStep: 3 }],
    [{ NETMGR_TEST_KILL_STEP: '12' }, { killAfterStep: 12 }],
    [{ NETMGR_TEST_FAIL_STEP: '0', NETMGR_TEST_KILL_STEP: 'x' }, {}],
    [{ NETMGR_TEST_FAIL_STEP: '' }, {}],
  ])('%j -> %j', (env, hooks) => {
    expect(testHooksFromEnv(env)).toEqual(hooks);
  });
  test('described for the log at start', () => {
    expect(describeTestHooks({ failAtStep: 2, killAfterStep: 5 })).toBe(
      'NETMGR_TEST_FAIL_STEP=2, NETMGR_TEST_KILL_STEP=5',
    );
    expect(describeTestHooks({})).toBe('');
  });
});
