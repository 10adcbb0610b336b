/** The BPDU codec: golden bytes for each kind (encode -> exact bytes -> decode round trip) and 9.3.4's rejections. */
import {
  decodeBpdu,
  decodeBpduFrame,
  encodeBpdu,
  encodeBpduFrame,
  isLoopedBack,
  type Bpdu,
} from '../../../../src/policy/rstp/bpdu';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

const root = { priority: 0x8000, address: 0x001122334455 };
const bridge = { priority: 0x9000, address: 0x0a0b0c0d0e0f };
const vector = {
  rootId: root,
  rootPathCost: 20000,
  bridgeId: bridge,
  portId: 0x8003,
  messageAge: 1,
  maxAge: 20,
  helloTime: 2,
  forwardDelay: 15,
};
// The 31 octets after the flags, shared by Configuration and RST BPDUs.
const VECTOR_HEX = '8000001122334455' + '00004e20' + '90000a0b0c0d0e0f' + '8003' + '0100' + '1400' + '0200' + '0f00';

const config: Bpdu = { type: 'Config', version: 0, tc: true, tca: true, ...vector };
const rst: Bpdu = {
  type: 'RST',
  version: 2,
  tc: false,
  proposal: true,
  role: 'Designated',
  learning: true,
  forwarding: false,
  agreement: true,
  tca: false,
  ...vector,
};

describe('BPDU codec (802.1D-2004 9.3)', () => {
  test('Configuration BPDU (9.3.1): 35 octets, TC and TCA flags', () => {
    const b = encodeBpdu(config);
    expect(hex(b)).toBe('0000' + '00' + '00' + '81' + VECTOR_HEX);
    expect(decodeBpdu(b)).toEqual({ bpdu: config });
  });

  test('TCN BPDU (9.3.2): 4 octets', () => {
    const b = encodeBpdu({ type: 'TCN', version: 0 });
    expect(hex(b)).toBe('00000080');
    expect(decodeBpdu(b)).toEqual({ bpdu: { type: 'TCN', version: 0 } });
  });

  test('RST BPDU (9.3.3): 36 octets, role in bits 3-4, Version 1 Length 0', () => {
    const b = encodeBpdu(rst);
    // proposal 0x02 | designated 0x0c | learning 0x10 | agreement 0x40 = 0x5e
    expect(hex(b)).toBe('0000' + '02' + '02' + '5e' + VECTOR_HEX + '00');
    expect(decodeBpdu(b)).toEqual({ bpdu: rst });
  });

  test.each([
    ['Unknown', 0x00],
    ['AlternateOrBackup', 0x04],
    ['Root', 0x08],
    ['Designated', 0x0c],
  ] as const)('role %s is encoded as %d in the flags', (role, bits) => {
    const b = encodeBpdu({
      ...rst,
      role,
      proposal: false,
      learning: false,
      agreement: false,
      forwarding: true,
      tc: true,
      tca: true,
    });
    expect(b[4]).toBe(bits | 0x20 | 0x01 | 0x80);
    expect(decodeBpdu(b).bpdu).toMatchObject({ role, forwarding: true, tc: true, tca: true, proposal: false });
  });

  test('the frame: Bridge Group Address, source, 802.3 length, LLC 42 42 03, padding to 60 octets', () => {
    const f = encodeBpduFrame({ type: 'TCN', version: 0 }, 0x020000000001);
    expect(hex(f)).toBe('0180c2000000' + '020000000001' + '0007' + '424203' + '00000080' + '00'.repeat(39));
    expect(decodeBpduFrame(f)).toEqual({ bpdu: { type: 'TCN', version: 0 } });
    const r = encodeBpduFrame(rst, 0x020000000001);
    expect(r.length).toBe(60);
    expect(hex(r.subarray(12, 17))).toBe('0027424203'); // length 39 = 3 + 36
    expect(decodeBpduFrame(r)).toEqual({ bpdu: rst });
  });

  test('times travel in 1/256 s and fractions survive the round trip', () => {
    const b = encodeBpdu({ ...config, messageAge: 1.5 });
    expect(hex(b.subarray(27, 29))).toBe('0180');
    expect(decodeBpdu(b).bpdu).toMatchObject({ messageAge: 1.5 });
  });

  test('an unpadded Configuration BPDU frame (as the Linux bridge sends them) decodes', () => {
    const linux = bytes(
      '0180c2000000 52540012 3456 0026 424203 0000 00 00 00 8000525400123456 00000000 8000525400123456 8001 0000 1400 0200 0f00',
    );
    expect(decodeBpduFrame(linux).bpdu).toMatchObject({ type: 'Config', rootPathCost: 0, portId: 0x8001, maxAge: 20 });
  });

  test.each([
    ['too short', '0000', /too short/],
    ['protocol identifier not 0', '00010000' + '00'.repeat(31), /protocol identifier/],
    ['Configuration BPDU under 35 octets', '00000000' + '00'.repeat(30), /Config BPDU of 34 octets/],
    ['RST BPDU under 36 octets', '00000202' + '00'.repeat(31), /RST BPDU of 35 octets/],
    ['RST type with version 0', '00000002' + '00'.repeat(32), /type 0x2 with protocol version 0/],
    ['unknown type', '00000042' + '00'.repeat(32), /type 0x42/],
  ])('rejects %s (9.3.4)', (_what, h, why) => {
    expect(decodeBpdu(bytes(h)).error).toMatch(why);
  });

  test('a version 3 RST BPDU of 35 octets is accepted (9.3.4 d)', () => {
    const b = encodeBpdu({ ...rst, version: 3 }).subarray(0, 35);
    expect(decodeBpdu(b).bpdu).toMatchObject({ type: 'RST', version: 3 });
  });

  test('rejects a Configuration BPDU whose message age reached max age (9.3.4 a)', () => {
    expect(decodeBpdu(encodeBpdu({ ...config, messageAge: 20 })).error).toMatch(/message age 20 >= max age 20/);
  });

  test('a Configuration BPDU with this port own identifiers is its own, looped back (9.3.4 a)', () => {
    const bpdu = decodeBpdu(encodeBpdu(config)).bpdu!;
    expect(isLoopedBack(bpdu, bridge, 0x8003)).toBe(true);
    expect(isLoopedBack(bpdu, bridge, 0x8004)).toBe(false);
    expect(isLoopedBack(bpdu, root, 0x8003)).toBe(false);
  });

  test.each([
    ['another destination', (f: Uint8Array) => (f[5] = 0x01), /Bridge Group Address/],
    ['an EtherType instead of a length', (f: Uint8Array) => f.set([0x88, 0xcc], 12), /EtherType 0x88cc/],
    ['a length beyond the frame', (f: Uint8Array) => f.set([0x00, 0x40], 12), /beyond the frame/],
    ['another LLC header', (f: Uint8Array) => (f[15] = 0xaa), /LLC header/],
    ['a length shorter than LLC', (f: Uint8Array) => f.set([0x00, 0x02], 12), /LLC header|shorter/],
  ])('rejects a frame with %s', (_what, spoil, why) => {
    const f = encodeBpduFrame(rst, 0x020000000001);
    spoil(f);
    expect(decodeBpduFrame(f).error).toMatch(why);
  });

  test('rejects a truncated frame', () => {
    expect(decodeBpduFrame(new Uint8Array(10)).error).toMatch(/frame of 10 octets/);
  });
});
