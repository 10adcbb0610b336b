/**
 * Netlink attribute (TLV) helpers: `struct nlattr { u16 nla_len; u16 nla_type; }` in host order, payload padded
 * to 4 bytes. Shared with the kernel datapath's genl code. Pure: works on Uint8Arrays, no sockets.
 */
import { HOST_IS_LITTLE_ENDIAN } from './constants';

export const NLA_HDRLEN = 4;
export const NLA_ALIGNTO = 4;
export const NLA_F_NESTED = 0x8000;
export const NLA_F_NET_BYTEORDER = 0x4000;
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

export const nlaAlign = (n: number): number => (n + NLA_ALIGNTO - 1) & ~(NLA_ALIGNTO - 1);

/** Appends attributes to a growing buffer; nested attributes are opened and closed around their children. */
export class NlAttrWriter {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  private len = 0;

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** Writes header + payload + zero padding. */
  put(type: number, payload: Uint8Array): this {
    const total = NLA_HDRLEN + payload.length;
    this.reserve(nlaAlign(total));
    this.view.setUint16(this.len, total, HOST_IS_LITTLE_ENDIAN);
    this.view.setUint16(this.len + 2, type, HOST_IS_LITTLE_ENDIAN);
    this.buf.set(payload, this.len + NLA_HDRLEN);
    this.buf.fill(0, this.len + total, this.len + nlaAlign(total));
    this.len += nlaAlign(total);
    return this;
  }
  putFlag(type: number): this { return this.put(type, new Uint8Array(0)); }
  putU8(type: number, v: number): this { return this.put(type, Uint8Array.of(v & 0xff)); }
  /** Host order. */
  putU16(type: number, v: number): this {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setUint16(0, v, HOST_IS_LITTLE_ENDIAN);
    return this.put(type, b);
  }
  /** Host order. */
  putU32(type: number, v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, HOST_IS_LITTLE_ENDIAN);
    return this.put(type, b);
  }
  putBe16(type: number, v: number): this {
    return this.put(type, Uint8Array.of((v >> 8) & 0xff, v & 0xff));
  }
  putBe32(type: number, v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, false);
    return this.put(type, b);
  }
  putString(type: number, s: string): this {
    const enc = new TextEncoder().encode(s);
    const b = new Uint8Array(enc.length + 1);
    b.set(enc);
    return this.put(type, b);
  }
  /** Opens a nested attribute; returns a token for endNested. OVS userspace does not set NLA_F_NESTED. */
  beginNested(type: number, nestedFlag = false): number {
    const start = this.len;
    this.reserve(NLA_HDRLEN);
    this.view.setUint16(start + 2, type | (nestedFlag ? NLA_F_NESTED : 0), HOST_IS_LITTLE_ENDIAN);
    this.len += NLA_HDRLEN;
    return start;
  }
  endNested(start: number): this {
    this.view.setUint16(start, this.len - start, HOST_IS_LITTLE_ENDIAN);
    return this;
  }
  /** Raw bytes (already aligned attributes). */
  putRaw(bytes: Uint8Array): this {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
    return this;
  }
  get length(): number { return this.len; }
  finish(): Uint8Array { return this.buf.slice(0, this.len); }
}

export interface NlAttr {
  /** Type without NLA_F_NESTED / NLA_F_NET_BYTEORDER. */
  type: number;
  nestedFlag: boolean;
  payload: Uint8Array;
  /** Offset of the header within the parsed buffer. */
  offset: number;
}

export class NlAttrError extends Error {}

/** Splits a buffer into attributes. Throws on a bad length; trailing bytes shorter than a header are an error. */
export function readAttrs(buf: Uint8Array): NlAttr[] {
  const out: NlAttr[] = [];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  while (off < buf.length) {
    if (buf.length - off < NLA_HDRLEN) throw new NlAttrError(`Message has ${buf.length - off} unknown bytes.`);
    const len = view.getUint16(off, HOST_IS_LITTLE_ENDIAN);
    const rawType = view.getUint16(off + 2, HOST_IS_LITTLE_ENDIAN);
    if (len < NLA_HDRLEN || off + len > buf.length) throw new NlAttrError(`attribute at offset ${off} has bad length ${len}`);
    out.push({ type: rawType & NLA_TYPE_MASK, nestedFlag: (rawType & NLA_F_NESTED) !== 0, payload: buf.subarray(off + NLA_HDRLEN, off + len), offset: off });
    off += nlaAlign(len);
  }
  return out;
}

export function attrU32(a: NlAttr): number {
  if (a.payload.length !== 4) throw new NlAttrError(`attribute ${a.type} has length ${a.payload.length}, expected 4`);
  return new DataView(a.payload.buffer, a.payload.byteOffset, 4).getUint32(0, HOST_IS_LITTLE_ENDIAN);
}
