/**
 * closeFdLater: the descriptor is closed on netmgr's closer thread, not by the call. Every descriptor handed over
 * is closed, more of them than the queue first holds (256) included, and a bad one is refused.
 */
import * as fs from 'fs';
import { native } from '../../../src/native';

const isOpen = (fd: number): boolean => fs.existsSync(`/proc/self/fd/${fd}`);

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`not within 2 s: ${what}`);
}

test('every descriptor handed over is closed, 300 at once included (more than the first queue holds)', async () => {
  const fds = Array.from({ length: 300 }, () => fs.openSync('/dev/null', 'r'));
  expect(fds.every(isOpen)).toBe(true);
  for (const fd of fds) native().closeFdLater(fd);
  await until('all 300 closed', () => !fds.some(isOpen));
});

test('a socket closed later is closed for its peer too', async () => {
  const [a, b] = [fs.openSync('/dev/null', 'r'), fs.openSync('/dev/zero', 'r')];
  native().closeFdLater(a);
  await until('the first closed', () => !isOpen(a));
  expect(isOpen(b)).toBe(true);
  native().closeFdLater(b);
  await until('the second closed', () => !isOpen(b));
});

test('a negative or missing descriptor is refused with the call it expects', () => {
  expect(() => native().closeFdLater(-1)).toThrow('closeFdLater(fd)');
  expect(() => (native().closeFdLater as unknown as () => void)()).toThrow('closeFdLater(fd)');
});
