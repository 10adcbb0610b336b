/** NetlinkError speaks the shared error vocabulary: errno name in `code` and `errno`, a kind from the errno. */
import { NetlinkError } from '../../../src/netlink/socket';
import { NetmgrError, errnoOf, hasErrno, isAlreadyUndone, isNotFound } from '../../../src/util/errors';

describe('NetlinkError', () => {
  test('carries the errno name as code and errno, the number apart, and a kind', () => {
    const e = new NetlinkError('ENOENT', 2, 'no such family', 'resolving x');
    expect(e).toBeInstanceOf(NetmgrError);
    expect([e.code, e.errno, e.errnoNumber, e.kind]).toEqual(['ENOENT', 'ENOENT', 2, 'not-found']);
    expect(e.message).toBe('resolving x: ENOENT (kernel: no such family)');
    expect(errnoOf(e)).toBe('ENOENT');
    expect(isNotFound(e)).toBe(true);
  });
  test('kinds follow the errno', () => {
    const kind = (code: string): string => new NetlinkError(code, 0, undefined, 'op').kind;
    expect(['EEXIST', 'EBUSY', 'EOPNOTSUPP', 'EINVAL', 'ENODEV'].map(kind)).toEqual([
      'exists',
      'busy',
      'unsupported',
      'failed',
      'not-found',
    ]);
    expect(hasErrno(new NetlinkError('EEXIST', 17, undefined, 'op'), 'EEXIST')).toBe(true);
    expect(isAlreadyUndone(new NetlinkError('ENODEV', 19, undefined, 'op'))).toBe(true);
  });
});
