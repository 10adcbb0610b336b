/**
 * Netlink attributes (struct nlattr: u16 len, u16 type, payload, padded to 4 bytes). Shared by rtnetlink and
 * generic netlink codecs. Integers are host order (little-endian on every platform netmgr supports) unless a
 * field is marked network order by the kernel.
 */

export const NLA_F_NESTED = 1 << 15;
export const NLA_F_NET_BYTEORDER = 1 << 14;
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;
export const NLA_HDRLEN = 4;

export const align4 = (n: number): number => (n + 3) & ~3;

/** Appends attributes into a growing buffer. */
export class AttrWriter {
  buf: Buffer;
  len = 0;

  constructor(initial = 256) {
    this.buf = Buffer.alloc(initial);
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  /** Raw bytes (a fixed struct such as ifinfomsg), padded to 4. */
  raw(bytes: Uint8Array): this {
    const padded = align4(bytes.length);
    this.reserve(padded);
    this.buf.set(bytes, this.len);
    this.buf.fill(0, this.len + bytes.length, this.len + padded);
    this.len += padded;
    return this;
  }

  bytes(type: number, payload: Uint8Array): this {
    const total = NLA_HDRLEN + payload.length;
    const padded = align4(total);
    this.reserve(padded);
    this.buf.writeUInt16LE(total, this.len);
    this.buf.writeUInt16LE(type, this.len + 2);
    this.buf.set(payload, this.len + NLA_HDRLEN);
    this.buf.fill(0, this.len + total, this.len + padded);
    this.len += padded;
    return this;
  }

  u8(type: number, v: number): this {
    return this.bytes(type, Uint8Array.of(v & 0xff));
  }

  u16(type: number, v: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(v);
    return this.bytes(type, b);
  }

  be16(type: number, v: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(v);
    return this.bytes(type, b);
  }

  u32(type: number, v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    return this.bytes(type, b);
  }

  s32(type: number, v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    return this.bytes(type, b);
  }

  /** NUL-terminated string, as the kernel's NLA_NUL_STRING / NLA_STRING policies accept. */
  str(type: number, s: string): this {
    return this.bytes(type, Buffer.from(s + '\0', 'utf8'));
  }

  flag(type: number): this {
    return this.bytes(type, new Uint8Array(0));
  }

  /** A nested attribute whose payload is written by fill(). */
  nested(type: number, fill: (w: AttrWriter) => void, flagNested = true): this {
    const start = this.len;
    this.reserve(NLA_HDRLEN);
    this.len += NLA_HDRLEN;
    fill(this);
    const total = this.len - start;
    this.buf.writeUInt16LE(total, start);
    this.buf.writeUInt16LE(type | (flagNested ? NLA_F_NESTED : 0), start + 2);
    return this;
  }

  result(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

export interface Attr {
  type: number;
  nested: boolean;
  /** Payload, a view into the message buffer (copy it if it must outlive the buffer). */
  data: Buffer;
}

/** Parses the attributes in buf[start, end); stops quietly at a malformed tail (the kernel never sends one). */
export function parseAttrs(buf: Buffer, start = 0, end = buf.length): Attr[] {
  const out: Attr[] = [];
  let off = start;
  while (off + NLA_HDRLEN <= end) {
    const len = buf.readUInt16LE(off);
    const rawType = buf.readUInt16LE(off + 2);
    if (len < NLA_HDRLEN || off + len > end) break;
    out.push({ type: rawType & NLA_TYPE_MASK, nested: (rawType & NLA_F_NESTED) !== 0, data: buf.subarray(off + NLA_HDRLEN, off + len) });
    off += align4(len);
  }
  return out;
}

/** Last attribute of each type wins, as in the kernel's nla_parse. */
export function attrTable(buf: Buffer, start = 0, end = buf.length): Map<number, Buffer> {
  const m = new Map<number, Buffer>();
  for (const a of parseAttrs(buf, start, end)) m.set(a.type, a.data);
  return m;
}

export const readStr = (b: Buffer): string => {
  const nul = b.indexOf(0);
  return b.toString('utf8', 0, nul < 0 ? b.length : nul);
};
