/**
 * segmentTcp: a TCP GSO super-frame (virtio-net header first) cut into gso_size segments whose IP and TCP headers
 * are each whole: lengths, IPv4 identification and header checksum, sequence numbers, FIN/PSH on the last segment
 * only, CWR on the first only, and a TCP checksum that verifies over the pseudo-header; the payloads add up to the
 * original. IPv4 and IPv6; UDP GSO is not cut.
 */
import { inetChecksum, VNET_HDR_LEN } from '../../../src/datapath/userspace/packet';
import { segmentTcp } from '../../../src/datapath/userspace/segment';

const MSS = 1000;
const payload = Uint8Array.from({ length: 2500 }, (_, i) => (i * 7) & 0xff);

/** A super-frame: virtio-net header (GSO type, gso_size), Ethernet, IPv4 or IPv6, a 20-byte TCP header, payload. */
function superFrame(v6: boolean, gsoType: number, flags: number): Uint8Array {
  const l3Len = v6 ? 40 : 20;
  const f = new Uint8Array(VNET_HDR_LEN + 14 + l3Len + 20 + payload.length);
  const dv = new DataView(f.buffer);
  f[1] = gsoType;
  dv.setUint16(4, MSS, true);
  const e = VNET_HDR_LEN;
  dv.setUint16(e + 12, v6 ? 0x86dd : 0x0800);
  const l3 = e + 14;
  if (v6) {
    f[l3] = 0x60;
    f[l3 + 6] = 6;
    f[l3 + 7] = 64;
    f[l3 + 23] = 1;
    f[l3 + 39] = 2;
  } else {
    f[l3] = 0x45;
    dv.setUint16(l3 + 4, 0x1234);
    f[l3 + 8] = 64;
    f[l3 + 9] = 6;
    dv.setUint32(l3 + 12, 0xc612cc01);
    dv.setUint32(l3 + 16, 0xc612cc02);
  }
  const l4 = l3 + l3Len;
  dv.setUint16(l4, 40000);
  dv.setUint16(l4 + 2, 5001);
  dv.setUint32(l4 + 4, 0xfffffc00); // wraps past 2^32 within the frame
  f[l4 + 12] = 0x50;
  f[l4 + 13] = flags;
  f.set(payload, l4 + 20);
  return f;
}

/** The TCP checksum verifies: the sum over pseudo-header and segment is all ones. */
function tcpChecksumOk(s: Uint8Array, v6: boolean): boolean {
  const l3 = 14;
  const l4 = l3 + (v6 ? 40 : 20);
  let pseudo = 6 + (s.length - l4);
  const [from, to] = v6 ? [l3 + 8, l3 + 40] : [l3 + 12, l3 + 20];
  for (let i = from; i < to; i += 2) pseudo += (s[i] << 8) | s[i + 1];
  return inetChecksum(s, l4, s.length, pseudo) === 0;
}

describe.each([false, true])('segmentTcp, IPv6 %s', (v6) => {
  const l4 = 14 + (v6 ? 40 : 20);
  const FIN_PSH_ACK_CWR = 0x01 | 0x08 | 0x10 | 0x80;
  const f = superFrame(v6, v6 ? 4 : 1, FIN_PSH_ACK_CWR);
  const segs = segmentTcp(f, 0, f.length)!;

  test('cuts the payload into gso_size pieces that add up to it', () => {
    expect(segs.map((s) => s.length - l4 - 20)).toEqual([1000, 1000, 500]);
    const joined = Buffer.concat(segs.map((s) => s.subarray(l4 + 20)));
    expect(joined.equals(Buffer.from(payload))).toBe(true);
  });

  test('sequence numbers advance by gso_size (mod 2^32); FIN/PSH last only, CWR first only; ACK on all', () => {
    const seq = (s: Uint8Array) => new DataView(s.buffer, s.byteOffset).getUint32(l4 + 4);
    expect(segs.map(seq)).toEqual([0xfffffc00, 0xffffffe8, 0x3d0]);
    expect(segs.map((s) => s[l4 + 13])).toEqual([0x10 | 0x80, 0x10, 0x10 | 0x01 | 0x08]);
  });

  test('every segment has correct lengths and checksums', () => {
    for (const s of segs) {
      const dv = new DataView(s.buffer, s.byteOffset);
      if (v6) expect(dv.getUint16(14 + 4)).toBe(s.length - 14 - 40);
      else {
        expect(dv.getUint16(14 + 2)).toBe(s.length - 14);
        expect(inetChecksum(s, 14, 34)).toBe(0);
      }
      expect(tcpChecksumOk(s, v6)).toBe(true);
    }
    if (!v6)
      expect(segs.map((s) => new DataView(s.buffer, s.byteOffset).getUint16(14 + 4))).toEqual([0x1234, 0x1235, 0x1236]);
  });
});

test('UDP GSO is not cut', () => {
  const f = superFrame(false, 3, 0);
  expect(segmentTcp(f, 0, f.length)).toBeUndefined();
});
