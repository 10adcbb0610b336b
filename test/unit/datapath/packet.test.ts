/** Frame surgery of the userspace datapath (pure): header checks, VLAN push/pop, field rewrites with checksums. */
import {
  frameMalformed,
  inetChecksum,
  popVlan,
  pushVlan,
  setEthernet,
  setIpv4,
  VNET_HDR_LEN,
  vnetHeaderValid,
} from '../../../src/datapath/userspace/packet';
import { MAC_EXACT } from '../../../src/flow';
import { prng as makePrng } from '../../helpers/prng';

const HEAD = 16;

/** A UDP/IPv4 frame 198.18.0.1:1000 -> 198.18.0.2:2000 with a zero virtio-net header, at offset HEAD. */
function udpFrame(payload = 32, partial = false): { b: Buffer; off: number; len: number } {
  const len = VNET_HDR_LEN + 14 + 20 + 8 + payload;
  const b = Buffer.alloc(HEAD + len + 16);
  const o = HEAD;
  const e = o + VNET_HDR_LEN;
  Buffer.from('02000000000202000000000108004500', 'hex').copy(b, e);
  const ip = e + 14;
  b.writeUInt16BE(20 + 8 + payload, ip + 2);
  b[ip + 8] = 64;
  b[ip + 9] = 17;
  b.writeUInt32BE(0xc6120001, ip + 12);
  b.writeUInt32BE(0xc6120002, ip + 16);
  b.writeUInt16BE(inetChecksum(b, ip, ip + 20), ip + 10);
  const u = ip + 20;
  b.writeUInt16BE(1000, u);
  b.writeUInt16BE(2000, u + 2);
  b.writeUInt16BE(8 + payload, u + 4);
  for (let i = 0; i < payload; i++) b[u + 8 + i] = i * 7;
  if (partial) {
    b[o] = 1; // NEEDS_CSUM
    b.writeUInt16LE(14 + 20, o + 6);
    b.writeUInt16LE(6, o + 8);
    b.writeUInt16BE(~inetChecksum(pseudo(b, ip, 8 + payload), 0, 12) & 0xffff, u + 6);
  } else {
    b.writeUInt16BE(udpChecksum(b, ip), u + 6);
  }
  return { b, off: o, len };
}

function pseudo(b: Buffer, ip: number, l4len: number): Buffer {
  const p = Buffer.alloc(12);
  b.copy(p, 0, ip + 12, ip + 20);
  p[9] = b[ip + 9];
  p.writeUInt16BE(l4len, 10);
  return p;
}

function udpChecksum(b: Buffer, ip: number): number {
  const l4len = b.readUInt16BE(ip + 2) - 20;
  const copy = Buffer.from(b.subarray(ip + 20, ip + 20 + l4len));
  copy.writeUInt16BE(0, 6);
  const c = inetChecksum(Buffer.concat([pseudo(b, ip, l4len), copy]), 0, 12 + l4len);
  return c === 0 ? 0xffff : c;
}

describe('vnetHeaderValid', () => {
  test('accepts what the kernel produces and refuses the impossible', () => {
    const { b, off, len } = udpFrame();
    expect(vnetHeaderValid(b, off, len)).toBe(true);
    expect(vnetHeaderValid(b, off, VNET_HDR_LEN + 13)).toBe(false);
    const bad = (patch: (x: Buffer) => void) => {
      const f = udpFrame();
      patch(f.b.subarray(f.off));
      return vnetHeaderValid(f.b, f.off, f.len);
    };
    expect(bad((h) => (h[0] = 0x80))).toBe(false); // unknown flag
    expect(bad((h) => (h[1] = 7))).toBe(false); // unknown GSO type
    expect(bad((h) => ((h[1] = 1), h.writeUInt16LE(0, 4)))).toBe(false); // GSO without a segment size
    expect(bad((h) => ((h[0] = 1), h.writeUInt16LE(60, 6), h.writeUInt16LE(16, 8)))).toBe(false); // checksum beyond the frame
    expect(bad((h) => h.writeUInt16LE(5000, 2))).toBe(false); // header length beyond the frame
    expect(bad((h) => ((h[0] = 1), h.writeUInt16LE(34, 6), h.writeUInt16LE(6, 8)))).toBe(true);
  });

  test('never throws or reads outside the buffer on random input', () => {
    const rnd = makePrng(7);
    for (let i = 0; i < 20000; i++) {
      const b = Buffer.alloc(Math.floor(rnd() * 100));
      for (let j = 0; j < b.length; j++) b[j] = Math.floor(rnd() * 256);
      const off = Math.floor(rnd() * 10);
      const len = Math.floor(rnd() * 120);
      expect(typeof vnetHeaderValid(b, off, len)).toBe('boolean');
      if (vnetHeaderValid(b, off, len)) expect(typeof frameMalformed(b, off, len)).toBe('boolean');
    }
  });
});

describe('VLAN push and pop', () => {
  test('push inserts the tag after the MACs, moves csum_start, and pop restores the frame exactly', () => {
    const { b, off, len } = udpFrame(32, true);
    const original = Buffer.from(b.subarray(off, off + len));
    const n = pushVlan(b, off, 0x8100, 0x1000 | 10);
    expect(n).toBe(off - 4);
    const e = n + VNET_HDR_LEN;
    expect(b.readUInt16BE(e + 12)).toBe(0x8100);
    expect(b.readUInt16BE(e + 14)).toBe(10); // CFI cleared on the wire
    expect(b.readUInt16BE(e + 16)).toBe(0x0800);
    expect(b.readUInt16LE(n + 6)).toBe(14 + 20 + 4);
    expect(frameMalformed(b, n, len + 4)).toBe(false);
    const back = popVlan(b, n, len + 4);
    expect(back).toBe(off);
    expect(Buffer.from(b.subarray(off, off + len))).toEqual(original);
  });

  test('pop on an untagged frame changes nothing', () => {
    const { b, off, len } = udpFrame();
    const copy = Buffer.from(b);
    expect(popVlan(b, off, len)).toBe(off);
    expect(b).toEqual(copy);
  });
});

describe('set eth / ipv4', () => {
  test('masked MAC rewrite touches only masked bits', () => {
    const { b, off } = udpFrame();
    setEthernet(b, off, 0x0a0b0c0d0e0f, MAC_EXACT, 0xffffffffffff, 0x0000000000ff);
    const e = off + VNET_HDR_LEN;
    expect(b.subarray(e, e + 6).toString('hex')).toBe('0200000000ff');
    expect(b.subarray(e + 6, e + 12).toString('hex')).toBe('0a0b0c0d0e0f');
  });

  test('rewriting addresses, TOS and TTL keeps the IPv4 and a complete UDP checksum valid', () => {
    const { b, off, len } = udpFrame(45);
    const ip = off + VNET_HDR_LEN + 14;
    expect(
      setIpv4(b, off, len, {
        src: 0xc6130005,
        srcMask: 0xffffffff,
        dst: 0,
        dstMask: 0,
        tos: 0xb8,
        tosMask: 0xfc,
        ttl: 9,
        ttlMask: 0xff,
      }),
    ).toBe(true);
    expect(b.readUInt32BE(ip + 12)).toBe(0xc6130005);
    expect(b[ip + 1]).toBe(0xb8);
    expect(b[ip + 8]).toBe(9);
    expect(inetChecksum(b, ip, ip + 20)).toBe(0);
    expect(b.readUInt16BE(ip + 20 + 6)).toBe(udpChecksum(b, ip));
  });

  test('with a partial checksum (NEEDS_CSUM) the pseudo-header sum is updated instead', () => {
    const { b, off, len } = udpFrame(20, true);
    const ip = off + VNET_HDR_LEN + 14;
    setIpv4(b, off, len, {
      src: 0,
      srcMask: 0,
      dst: 0xc6120063,
      dstMask: 0xffffffff,
      tos: 0,
      tosMask: 0,
      ttl: 0,
      ttlMask: 0,
    });
    const expected = ~inetChecksum(pseudo(b, ip, 28), 0, 12) & 0xffff;
    expect(b.readUInt16BE(ip + 20 + 6)).toBe(expected);
    expect(inetChecksum(b, ip, ip + 20)).toBe(0);
  });

  test('a UDP checksum of 0 (none) stays 0; a non-IPv4 frame is left alone', () => {
    const { b, off, len } = udpFrame();
    const ip = off + VNET_HDR_LEN + 14;
    b.writeUInt16BE(0, ip + 26);
    setIpv4(b, off, len, { src: 1, srcMask: 0xffffffff, dst: 0, dstMask: 0, tos: 0, tosMask: 0, ttl: 0, ttlMask: 0 });
    expect(b.readUInt16BE(ip + 26)).toBe(0);
    b.writeUInt16BE(0x0806, off + VNET_HDR_LEN + 12);
    expect(
      setIpv4(b, off, len, { src: 2, srcMask: 0xffffffff, dst: 0, dstMask: 0, tos: 0, tosMask: 0, ttl: 0, ttlMask: 0 }),
    ).toBe(false);
  });
});

describe('frameMalformed', () => {
  const frame = (hex: string) => {
    const b = Buffer.concat([Buffer.alloc(VNET_HDR_LEN), Buffer.from(hex.replace(/ /g, ''), 'hex')]);
    return frameMalformed(b, 0, b.length);
  };
  const MACS = '020000000002 020000000001';
  test.each([
    ['a well-formed UDP/IPv4 frame', null, false],
    ['ARP and other EtherTypes are not inspected', `${MACS} 0806 0001`, false],
    ['a VLAN tag cut off', `${MACS} 8100 00`, true],
    ['an IPv4 header cut off', `${MACS} 0800 4500 0014`, true],
    ['an IPv4 header length below 20', `${MACS} 0800 4400 0014 0000 0000 4011 0000 c6120001 c6120002`, true],
    [
      'an IPv4 total length beyond the frame',
      `${MACS} 0800 4500 0100 0000 0000 4011 0000 c6120001 c6120002 03e8 07d0 0008 0000`,
      true,
    ],
    ['a UDP header cut off', `${MACS} 0800 4500 0018 0000 0000 4011 0000 c6120001 c6120002 03e8 07d0`, true],
    [
      'a TCP header cut off',
      `${MACS} 0800 4500 0020 0000 0000 4006 0000 c6120001 c6120002 0050 1f90 00000000 00000000`,
      true,
    ],
    [
      'a later fragment carries no L4 header',
      `${MACS} 0800 4500 0018 0000 0010 4006 0000 c6120001 c6120002 0050 1f90`,
      false,
    ],
    ['an IPv6 header cut off', `${MACS} 86dd 6000 0000 0000 3b40`, true],
  ])('%s', (_what, hex, bad) => {
    if (hex === null) {
      const { b, off, len } = udpFrame();
      expect(frameMalformed(b, off, len)).toBe(bad);
    } else {
      expect(frame(hex)).toBe(bad);
    }
  });
});
