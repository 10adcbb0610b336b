/**
 * Test hooks: fault injection into an apply, for the tests of rollback and crash recovery. They are not part of
 * the control protocol (a request cannot ask netmgrd to fail or kill itself): netmgrd reads them from its own
 * environment when it starts, and the CLI from its environment for an apply it runs itself.
 */

/** The environment variables, as man/netmgr.8 documents them. */
export const TEST_FAIL_STEP_ENV = 'NETMGR_TEST_FAIL_STEP';
export const TEST_KILL_STEP_ENV = 'NETMGR_TEST_KILL_STEP';

export interface TestHooks {
  /** The apply fails at this step (1-based), to exercise rollback. */
  failAtStep?: number;
  /** The applying process is killed (SIGKILL) just after this step (1-based) ran, to exercise recovery. */
  killAfterStep?: number;
}

/** A step number: a positive whole number; anything else (unset, empty, "x", "0") is no hook. */
const stepOf = (v: string | undefined): number | undefined => (v && /^[1-9]\d{0,8}$/.test(v) ? Number(v) : undefined);

/** The hooks an environment asks for (none in production, where neither variable is set). */
export function testHooksFromEnv(env: Record<string, string | undefined>): TestHooks {
  const hooks: TestHooks = {};
  const failAtStep = stepOf(env[TEST_FAIL_STEP_ENV]);
  const killAfterStep = stepOf(env[TEST_KILL_STEP_ENV]);
  if (failAtStep !== undefined) hooks.failAtStep = failAtStep;
  if (killAfterStep !== undefined) hooks.killAfterStep = killAfterStep;
  return hooks;
}

/** How hooks in force read in netmgrd's log at start ('' when there are none). */
export function describeTestHooks(h: TestHooks): string {
  const parts = [
    h.failAtStep !== undefined ? `${TEST_FAIL_STEP_ENV}=${h.failAtStep}` : '',
    h.killAfterStep !== undefined ? `${TEST_KILL_STEP_ENV}=${h.killAfterStep}` : '',
  ].filter((p) => p !== '');
  return parts.join(', ');
}
