/**
 * remote.test.ts's worker: netmgrd's real forwarding worker script, plus a way to make it fail as a bug in
 * forwarding would (an exception thrown from a callback of its event loop) when the test says so.
 */
import { BroadcastChannel } from 'worker_threads';
import '../../../src/bridge/worker';

export const CRASH_CHANNEL = 'netmgr-test-crash';

const crash = new BroadcastChannel(CRASH_CHANNEL);
crash.unref();
crash.onmessage = () => {
  setImmediate(() => {
    throw new Error('boom in a forwarding callback');
  });
};
