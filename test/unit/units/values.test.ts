import {
  formatIPv6,
  parseCidr,
  parseIPv4,
  parseIPv6,
  parseIfName,
  parseMac,
  parseNsName,
} from '../../../src/units/values';

const ok = <T>(r: { ok: boolean; value?: T }): T | undefined => (r.ok ? r.value : undefined);
const msg = (r: { ok: boolean; message?: string }): string => (r.ok ? '' : (r.message as string));

describe('IPv4', () => {
  test.each([
    ['198.18.0.1', [198, 18, 0, 1]],
    ['0.0.0.0', [0, 0, 0, 0]],
    ['255.255.255.255', [255, 255, 255, 255]],
    ['010.001.000.009', [10, 1, 0, 9]],
  ])('%s', (text, octets) => expect(parseIPv4(text)).toEqual(octets));
  test.each([
    '256.0.0.1',
    '1.2.3',
    '1.2.3.4.5',
    '1.2.3.4 ',
    ' 1.2.3.4',
    '1..2.3',
    '0x1.2.3.4',
    '1.2.3.1000',
    '١.٢.٣.٤',
  ])('rejects %j', (text) => expect(parseIPv4(text)).toBeNull());
});

describe('IPv6', () => {
  // RFC 5952 section 4 examples plus edge cases.
  test.each([
    ['2001:db8:0:0:0:0:2:1', '2001:db8::2:1'],
    ['2001:0db8::0001', '2001:db8::1'],
    ['2001:db8::0:1', '2001:db8::1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:DB8::ABCD', '2001:db8::abcd'],
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
    ['::ffff:c000:0201', '::ffff:192.0.2.1'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
  ])('%s -> %s', (text, norm) => {
    const g = parseIPv6(text);
    expect(g).not.toBeNull();
    expect(formatIPv6(g as number[])).toBe(norm);
  });
  test.each([
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    ':1::',
    '1:::2',
    '12345::',
    'g::1',
    'fe80::1%eth0',
    '::1.2.3',
    '1.2.3.4::',
    '',
  ])('rejects %j', (text) => expect(parseIPv6(text)).toBeNull());
});

describe('parseCidr', () => {
  test('normalises and keeps host bits', () => {
    expect(ok(parseCidr('198.018.0.1/24'))).toEqual({
      family: 4,
      address: '198.18.0.1',
      prefix: 24,
      cidr: '198.18.0.1/24',
    });
    expect(ok(parseCidr('2001:DB8:0::1/064'))).toEqual({
      family: 6,
      address: '2001:db8::1',
      prefix: 64,
      cidr: '2001:db8::1/64',
    });
    expect(ok(parseCidr('10.0.0.1/32'))?.cidr).toBe('10.0.0.1/32');
    expect(ok(parseCidr('::1/128'))?.cidr).toBe('::1/128');
  });
  test('errors say what is wrong', () => {
    expect(msg(parseCidr('198.18.0.1'))).toMatch(/no prefix length/);
    expect(msg(parseCidr('198.18.0.1/0'))).toMatch(/out of range for IPv4/);
    expect(msg(parseCidr('198.18.0.1/33'))).toMatch(/out of range for IPv4/);
    expect(msg(parseCidr('::1/129'))).toMatch(/out of range for IPv6/);
    expect(msg(parseCidr('::1/x'))).toMatch(/not a number/);
    expect(msg(parseCidr('::1/'))).toMatch(/not a number/);
    expect(msg(parseCidr('1.2.3.256/8'))).toMatch(/not a valid IPv4 address/);
    expect(msg(parseCidr('fe80::zz/64'))).toMatch(/not a valid IPv6 address/);
    expect(msg(parseCidr('fe80::1%eth0/64'))).toMatch(/zone index/);
    expect(msg(parseCidr('host/24'))).toMatch(/not a valid IPv4 or IPv6 address/);
    expect(msg(parseCidr(''))).toMatch(/not a valid/);
  });
});

describe('parseMac', () => {
  test.each([
    ['02:00:00:00:00:FE', '02:00:00:00:00:fe'],
    ['02-AB-cd-EF-00-01', '02:ab:cd:ef:00:01'],
    ['00:11:22:33:44:55', '00:11:22:33:44:55'],
  ])('%s -> %s', (text, norm) => expect(ok(parseMac(text))).toBe(norm));
  test('rejects malformed, multicast and zero addresses', () => {
    expect(msg(parseMac('02:00:00:00:00'))).toMatch(/not a MAC address/);
    expect(msg(parseMac('02:00-00:00:00:01'))).toMatch(/not a MAC address/);
    expect(msg(parseMac('0200.0000.0001'))).toMatch(/not a MAC address/);
    expect(msg(parseMac('2:0:0:0:0:1'))).toMatch(/not a MAC address/);
    expect(msg(parseMac('01:00:5e:00:00:01'))).toMatch(/multicast/);
    expect(msg(parseMac('ff:ff:ff:ff:ff:ff'))).toMatch(/multicast/);
    expect(msg(parseMac('03:00:00:00:00:01'))).toMatch(/multicast/);
    expect(msg(parseMac('00-00-00-00-00-00'))).toMatch(/all-zero/);
    const r = parseMac('01:00:00:00:00:00');
    expect(r.ok ? '' : r.hint).toMatch(/02:00:00:00:00:01/);
  });
});

describe('names', () => {
  test('interface names follow dev_valid_name and IFNAMSIZ', () => {
    expect(ok(parseIfName('a'))).toBe('a');
    expect(ok(parseIfName('fifteen-chars-x'))).toBe('fifteen-chars-x');
    expect(msg(parseIfName('sixteen-chars-xx'))).toMatch(
      /16 bytes; Linux limits interface names to 15 bytes \(IFNAMSIZ/,
    );
    expect(msg(parseIfName('ééééééééé'))).toMatch(/18 bytes/); // bytes, not characters
    expect(msg(parseIfName(''))).toMatch(/empty/);
    expect(msg(parseIfName('.'))).toMatch(/not a valid/);
    expect(msg(parseIfName('..'))).toMatch(/not a valid/);
    expect(ok(parseIfName('...'))).toBe('...');
    expect(msg(parseIfName('a/b'))).toMatch(/`\/`/);
    expect(msg(parseIfName('eth0:1'))).toMatch(/`:`/);
    expect(msg(parseIfName('a b'))).toMatch(/whitespace/);
    expect(msg(parseIfName('a\u0001'))).toMatch(/control/);
  });
  test('namespace names are file names of at most 64 bytes', () => {
    expect(ok(parseNsName('x'.repeat(64)))).toBe('x'.repeat(64));
    expect(msg(parseNsName('x'.repeat(65)))).toMatch(/65 bytes/);
    expect(ok(parseNsName('a:b'))).toBe('a:b');
    expect(msg(parseNsName('a/b'))).toMatch(/`\/`/);
    expect(msg(parseNsName('a\tb'))).toMatch(/whitespace/);
    expect(msg(parseNsName('..'))).toMatch(/not a valid/);
    expect(msg(parseNsName(''))).toMatch(/empty/);
  });
});
