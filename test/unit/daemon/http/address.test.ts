/** netmgrd.conf's http-listen and http-allow-remote, and the port rates of the status page (pure parts). */
import { parseDaemonConfig, DEFAULT_DAEMON_CONFIG } from '../../../../src/daemon/config';
import { isLoopback, parseListenAddress, formatListenAddress } from '../../../../src/daemon/http/address';
import { RateTracker, ratesBetween } from '../../../../src/daemon/http/rates';
import type { StatusReport } from '../../../../src/daemon/status';
import { snapshotFixture } from './fixture';

describe('http-listen', () => {
  test('off by default; an empty string is off too', () => {
    expect(DEFAULT_DAEMON_CONFIG.httpListen).toBeNull();
    expect(parseDaemonConfig('c', 'http-listen = ""\n').config?.httpListen).toBeNull();
  });

  test.each([
    ['127.0.0.1:9477', { host: '127.0.0.1', port: 9477 }],
    ['127.1.2.3:1', { host: '127.1.2.3', port: 1 }],
    ['[::1]:9477', { host: '::1', port: 9477 }],
  ])('%s is a loopback address', (text, address) => {
    const r = parseDaemonConfig('c', `http-listen = "${text}"\n`);
    expect(r.errors).toEqual([]);
    expect(r.config?.httpListen).toEqual(address);
    expect(formatListenAddress(address)).toBe(text);
  });

  test('a non-loopback address is refused, saying why, unless http-allow-remote = true', () => {
    const r = parseDaemonConfig('/etc/netmgr/netmgrd.conf', 'http-listen = "0.0.0.0:9477"\n');
    expect(r.config).toBeNull();
    expect(r.errors[0]).toMatchObject({ line: 1, col: 15 });
    expect(r.errors[0].message).toBe(
      "`http-listen` 0.0.0.0 is not a loopback address: the status listener has no authentication and its counters reveal the network's shape",
    );
    expect(r.errors[0].hint).toContain('http-allow-remote = true');
    const allowed = parseDaemonConfig('c', 'http-listen = "198.18.0.1:9477"\nhttp-allow-remote = true\n');
    expect(allowed.errors).toEqual([]);
    expect(allowed.config).toMatchObject({ httpListen: { host: '198.18.0.1', port: 9477 }, httpAllowRemote: true });
  });

  test.each([
    ['localhost:9477', 'is not an IP address'],
    ['127.0.0.1', 'must be ADDRESS:PORT'],
    ['127.0.0.1:0', 'port 0 is not in 1..65535'],
    ['127.0.0.1:65536', 'port 65536 is not in 1..65535'],
    ['::1:9477', 'must be ADDRESS:PORT'],
  ])('%j is refused: %s', (text, message) => {
    const r = parseDaemonConfig('c', `http-listen = "${text}"\n`);
    expect(r.config).toBeNull();
    expect(r.errors[0].message).toContain(message);
    expect(typeof parseListenAddress(text)).toBe('string');
  });

  test('a value that is not a string is refused', () => {
    expect(parseDaemonConfig('c', 'http-listen = 9477\n').errors[0].message).toBe(
      '`http-listen` must be a string: "ADDRESS:PORT", or "" for off',
    );
  });

  test.each([
    ['127.0.0.1', true],
    ['127.255.0.9', true],
    ['::1', true],
    ['0:0:0:0:0:0:0:1', true],
    ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['198.18.0.1', false],
    ['::ffff:198.18.0.1', false],
    ['fe80::1', false],
  ])('isLoopback(%s) is %s', (host, loopback) => {
    expect(isLoopback(host)).toBe(loopback);
  });
});

describe('port rates', () => {
  const status = (rx: number): StatusReport => {
    const s = snapshotFixture().status;
    s.bridges[0].ports[1].stats.rxPackets = rx;
    s.bridges[0].ports[1].stats.rxBytes = rx * 100;
    return s;
  };

  test('per second over a window of at least a second; a counter that went down reads 0', () => {
    const t = new RateTracker(1000);
    expect(t.update(status(100), 0).size).toBe(0);
    expect(t.update(status(150), 500).size).toBe(0);
    const r = t.update(status(300), 2000);
    expect(r.get('sw0/p1')).toEqual({ rxPackets: 100, rxBytes: 10_000, txPackets: 0, txBytes: 0 });
    expect(t.update(status(10), 2100)).toBe(r);
    expect(t.update(status(10), 3000).get('sw0/p1')?.rxPackets).toBe(0);
  });

  test('a port new in the later sample has no rate', () => {
    const before = { at: 0, counters: new Map() };
    const after = { at: 1000, counters: new Map([['b/p', { rxPackets: 1, rxBytes: 1, txPackets: 1, txBytes: 1 }]]) };
    expect(ratesBetween(before, after).size).toBe(0);
  });
});
