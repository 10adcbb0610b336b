/**
 * Unique flow identifiers (OVS_FLOW_ATTR_UFID, 16 bytes). OVS generates one by hashing the netlink key when the
 * caller gives none; we do the same, deterministically (MurmurHash3 x86_128 of the encoded key and mask), so the
 * same flow always gets the same UFID across runs.
 */
import { encodeKey, encodeMask } from './codec';
import { KEY_WORDS, packMatch } from './packed';
import { formatUuid, parseUuid } from './text';
import type { FlowKey, FlowMask } from './types';

function rotl(x: number, r: number): number {
  return ((x << r) | (x >>> (32 - r))) >>> 0;
}
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** MurmurHash3_x86_128 over `data`. */
export function murmur3x86x128(data: Uint8Array, seed = 0): Uint8Array {
  let h1 = seed >>> 0,
    h2 = seed >>> 0,
    h3 = seed >>> 0,
    h4 = seed >>> 0;
  const c1 = 0x239b961b,
    c2 = 0xab0e9789,
    c3 = 0x38b34ae5,
    c4 = 0xa1e38b93;
  const nblocks = data.length >>> 4;
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < nblocks; i++) {
    let k1 = dv.getUint32(i * 16, true),
      k2 = dv.getUint32(i * 16 + 4, true);
    let k3 = dv.getUint32(i * 16 + 8, true),
      k4 = dv.getUint32(i * 16 + 12, true);
    k1 = Math.imul(rotl(Math.imul(k1, c1), 15), c2);
    h1 ^= k1;
    h1 = (Math.imul(rotl(h1, 19) + h2, 5) + 0x561ccd1b) >>> 0;
    k2 = Math.imul(rotl(Math.imul(k2, c2), 16), c3);
    h2 ^= k2;
    h2 = (Math.imul(rotl(h2, 17) + h3, 5) + 0x0bcaa747) >>> 0;
    k3 = Math.imul(rotl(Math.imul(k3, c3), 17), c4);
    h3 ^= k3;
    h3 = (Math.imul(rotl(h3, 15) + h4, 5) + 0x96cd1c35) >>> 0;
    k4 = Math.imul(rotl(Math.imul(k4, c4), 18), c1);
    h4 ^= k4;
    h4 = (Math.imul(rotl(h4, 13) + h1, 5) + 0x32ac3b17) >>> 0;
  }
  const tail = nblocks * 16;
  let k1 = 0,
    k2 = 0,
    k3 = 0,
    k4 = 0;
  const rem = data.length & 15;
  for (let i = rem - 1; i >= 0; i--) {
    const b = data[tail + i];
    if (i >= 12) k4 |= b << (8 * (i - 12));
    else if (i >= 8) k3 |= b << (8 * (i - 8));
    else if (i >= 4) k2 |= b << (8 * (i - 4));
    else k1 |= b << (8 * i);
  }
  if (rem > 12) {
    k4 = Math.imul(rotl(Math.imul(k4, c4), 18), c1);
    h4 ^= k4;
  }
  if (rem > 8) {
    k3 = Math.imul(rotl(Math.imul(k3, c3), 17), c4);
    h3 ^= k3;
  }
  if (rem > 4) {
    k2 = Math.imul(rotl(Math.imul(k2, c2), 16), c3);
    h2 ^= k2;
  }
  if (rem > 0) {
    k1 = Math.imul(rotl(Math.imul(k1, c1), 15), c2);
    h1 ^= k1;
  }
  const len = data.length;
  h1 = (h1 ^ len) >>> 0;
  h2 = (h2 ^ len) >>> 0;
  h3 = (h3 ^ len) >>> 0;
  h4 = (h4 ^ len) >>> 0;
  h1 = (h1 + h2 + h3 + h4) >>> 0;
  h2 = (h2 + h1) >>> 0;
  h3 = (h3 + h1) >>> 0;
  h4 = (h4 + h1) >>> 0;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h3 = fmix(h3);
  h4 = fmix(h4);
  h1 = (h1 + h2 + h3 + h4) >>> 0;
  h2 = (h2 + h1) >>> 0;
  h3 = (h3 + h1) >>> 0;
  h4 = (h4 + h1) >>> 0;
  const out = new Uint8Array(16);
  const ov = new DataView(out.buffer);
  ov.setUint32(0, h1, true);
  ov.setUint32(4, h2, true);
  ov.setUint32(8, h3, true);
  ov.setUint32(12, h4, true);
  return out;
}

/** A UFID for a flow that has none: a hash of its key and mask attributes. */
export function generateUfid(key: FlowKey, mask?: FlowMask): Uint8Array {
  const k = encodeKey(key);
  const m = mask ? encodeMask(key, mask) : new Uint8Array(0);
  const both = new Uint8Array(k.length + m.length);
  both.set(k);
  both.set(m, k.length);
  return murmur3x86x128(both);
}

/**
 * A UFID for a megaflow a policy installs on a miss: MurmurHash3 of the packed masked key and mask (the classifier's
 * flat layout), about three times cheaper than generateUfid's netlink encoding, and as deterministic: the same
 * megaflow always gets the same UFID, so a second upcall for it finds the first install (EEXIST in the kernel)
 * instead of adding a duplicate. Not comparable with generateUfid's UFIDs: use one scheme per flow's lifetime.
 */
export function megaflowUfid(key: FlowKey, mask: FlowMask): Uint8Array {
  const packed = packMatch(key, mask);
  const words = new Uint32Array(2 * KEY_WORDS);
  words.set(packed.value);
  words.set(packed.mask, KEY_WORDS);
  return murmur3x86x128(new Uint8Array(words.buffer));
}

export const formatUfid = (u: Uint8Array): string => formatUuid(u);

/**
 * A UFID as a Map key: its 16 bytes as 8 UTF-16 code units. Flow setup and removal look flows up by UFID at the
 * rate of new MACs; formatting the UUID text for that was ~3 % of the forwarding thread under a new-MAC storm.
 */
export function ufidMapKey(u: Uint8Array): string {
  return String.fromCharCode(
    u[0] | (u[1] << 8),
    u[2] | (u[3] << 8),
    u[4] | (u[5] << 8),
    u[6] | (u[7] << 8),
    u[8] | (u[9] << 8),
    u[10] | (u[11] << 8),
    u[12] | (u[13] << 8),
    u[14] | (u[15] << 8),
  );
}
export const parseUfid = (s: string): Uint8Array | undefined => parseUuid(s.startsWith('ufid:') ? s.slice(5) : s);
