/** VXLAN (RFC 7348) and Geneve (RFC 8926) headers: golden bytes both ways, and every reason to drop a datagram. */
import { decapsulate, encapsulate } from '../../../src/datapath/userspace/tunnel-header';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const frame = Uint8Array.from(Buffer.from('ffffffffffff020000000002' + '0806' + '0001', 'hex'));

describe('encapsulate', () => {
  test('VXLAN: flags 0x08 (I), 24 reserved bits, VNI 100, 8 reserved bits, then the frame', () => {
    expect(hex(encapsulate('vxlan', 100, frame))).toBe('08000000' + '00006400' + hex(frame));
  });
  test('Geneve: version 0, no options, O and C clear, protocol 0x6558, VNI 0xabcdef', () => {
    expect(hex(encapsulate('geneve', 0xabcdef, frame))).toBe('00006558' + 'abcdef00' + hex(frame));
  });
  test('a VNI outside 24 bits is refused', () => {
    expect(() => encapsulate('vxlan', 0x1000000, frame)).toThrow('VNI 16777216 is not 0..16777215');
  });
});

describe('decapsulate', () => {
  test('reads back what encapsulate wrote', () => {
    for (const kind of ['vxlan', 'geneve'] as const) {
      const d = encapsulate(kind, 16777215, frame);
      expect(decapsulate(kind, d)).toEqual({ vni: 16777215, offset: 8, oam: false });
    }
  });
  test('Geneve options are skipped (length in 4-byte words) and the OAM bit is reported', () => {
    const opts = '0102030405060708';
    const d = Buffer.from('02' + '80' + '6558' + '00006400' + opts + hex(frame), 'hex');
    expect(decapsulate('geneve', d)).toEqual({ vni: 100, offset: 16, oam: true });
  });
  test.each([
    ['vxlan', '00000000' + '00006400', 'VXLAN header without the I flag (no valid VNI)'],
    ['geneve', '40006558' + '00006400', 'Geneve version 1 (only 0 is defined)'],
    ['geneve', '00000800' + '00006400', 'Geneve protocol 0x800 is not Ethernet (0x6558)'],
    ['geneve', '00406558' + '00006400', 'Geneve critical options (C bit), which netmgr does not understand'],
    ['geneve', '3f006558' + '00006400', 'Geneve options run past the datagram'],
  ] as const)('%s %s is dropped: %s', (kind, header, why) => {
    expect(decapsulate(kind, Buffer.from(header + hex(frame), 'hex'))).toEqual({ drop: why });
  });
  test('a datagram shorter than header and Ethernet header is dropped', () => {
    expect(decapsulate('vxlan', new Uint8Array(21))).toEqual({
      drop: '21 bytes: shorter than a vxlan header and an Ethernet header',
    });
  });
});
