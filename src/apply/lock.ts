/** One apply at a time: an flock on a file in the state directory, released by the kernel even on a crash. */
import * as fs from 'fs';
import * as path from 'path';
import { native } from '../native';
import { NetmgrError } from '../util/errors';

export const LOCK_FILE = 'apply.lock';

/** Another process holds the apply lock and the caller asked not to wait. */
export class LockBusyError extends NetmgrError {
  constructor(message: string) {
    super('busy', message);
  }
}

export class ApplyLock {
  private constructor(private readonly fd: number) {}

  /**
   * Takes the lock. When another process holds it: with wait, waits for it (calling onWait once with the holder's
   * pid); without, throws LockBusyError.
   */
  static acquire(stateDir: string, wait: boolean, onWait: (holderPid: string) => void): ApplyLock {
    fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const file = path.join(stateDir, LOCK_FILE);
    const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
    if (!native().flockExclusive(fd, false)) {
      const holder = fs.readFileSync(file, 'utf8').trim() || 'unknown';
      if (!wait) {
        fs.closeSync(fd);
        throw new LockBusyError(
          `another netmgr apply is running (pid ${holder}); try again when it has finished, or drop --no-wait to wait for it`,
        );
      }
      onWait(holder);
      native().flockExclusive(fd, true);
    }
    fs.ftruncateSync(fd, 0);
    fs.writeSync(fd, `${process.pid}\n`, 0);
    return new ApplyLock(fd);
  }

  release(): void {
    fs.ftruncateSync(this.fd, 0);
    fs.closeSync(this.fd); // closing the last fd releases the flock
  }
}
