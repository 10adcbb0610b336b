/**
 * The one netlink attribute codec (struct nlattr: u16 nla_len, u16 nla_type, payload padded to 4 bytes), shared by
 * rtnetlink, tc, generic netlink, the ovs genl messages and the flow model's key/action codec. Modelled on OVS's
 * lib/netlink.h: put* appends (nl_msg_put_*), get* reads a payload (nl_attr_get_*), readAttrs splits a buffer.
 *
 * Byte order: nlattr headers and integer attributes are in host order (HOST_IS_LITTLE_ENDIAN, read once from
 * os.endianness()); the be* variants are for the fields the kernel keeps in network order.
 *
 * The nested-flag rule: a writer sets NLA_F_NESTED on every nested attribute it opens or on none, chosen once per
 * family with its NlAttrRules. rtnetlink and tc (RTNETLINK_RULES) set it: newer kernels validate nested attributes
 * strictly there. The ovs genl families and the flow key/action attributes (GENL_RULES, the default) do not, as
 * ovs-vswitchd's nl_msg_start_nested does not; the kernel's flow parser accepts either, and the golden bytes pin it.
 */
import { endianness } from 'os';
import { NetmgrError } from '../util/errors';

export const NLA_HDRLEN = 4;
export const NLA_ALIGNTO = 4;
export const NLA_F_NESTED = 0x8000;
export const NLA_F_NET_BYTEORDER = 0x4000;
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

/** Host byte order: the order of nlattr headers and of every integer the kernel does not mark as network order. */
export const HOST_IS_LITTLE_ENDIAN = endianness() === 'LE';

export const nlaAlign = (n: number): number => (n + NLA_ALIGNTO - 1) & ~(NLA_ALIGNTO - 1);

/** A malformed attribute stream or payload (a bad length, a short tail): the peer or our own encoder is wrong. */
export class NlAttrError extends NetmgrError {
  constructor(message: string) {
    super('corrupt', message);
  }
}

/** Per-family writing rules. */
export interface NlAttrRules {
  /** Whether nested attributes carry NLA_F_NESTED in their type. */
  nestedFlag: boolean;
}

/** rtnetlink and tc: nested attributes carry NLA_F_NESTED. */
export const RTNETLINK_RULES: NlAttrRules = { nestedFlag: true };
/** Generic netlink (nlctrl, the ovs families, flow keys and actions): nested attributes without NLA_F_NESTED. */
export const GENL_RULES: NlAttrRules = { nestedFlag: false };

const dataView = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** Appends attributes to a growing buffer; nested attributes are opened and closed around their children. */
export class NlAttrWriter {
  private buf: Uint8Array;
  private view: DataView;
  private len = 0;

  /** rules: the family's nested-flag rule (GENL_RULES unless said); initial: first buffer size in bytes. */
  constructor(
    private readonly rules: NlAttrRules = GENL_RULES,
    initial = 256,
  ) {
    this.buf = new Uint8Array(initial);
    this.view = new DataView(this.buf.buffer);
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** Writes header + payload + zero padding (nl_msg_put_unspec). */
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
  putFlag(type: number): this {
    return this.put(type, new Uint8Array(0));
  }
  putU8(type: number, v: number): this {
    return this.put(type, Uint8Array.of(v & 0xff));
  }
  /** Host order. */
  putU16(type: number, v: number): this {
    return this.putInt(type, 2, (d) => d.setUint16(0, v, HOST_IS_LITTLE_ENDIAN));
  }
  /** Host order. */
  putU32(type: number, v: number): this {
    return this.putInt(type, 4, (d) => d.setUint32(0, v >>> 0, HOST_IS_LITTLE_ENDIAN));
  }
  /** Host order. */
  putS32(type: number, v: number): this {
    return this.putInt(type, 4, (d) => d.setInt32(0, v, HOST_IS_LITTLE_ENDIAN));
  }
  /** Network order. */
  putBe16(type: number, v: number): this {
    return this.putInt(type, 2, (d) => d.setUint16(0, v, false));
  }
  /** Network order. */
  putBe32(type: number, v: number): this {
    return this.putInt(type, 4, (d) => d.setUint32(0, v >>> 0, false));
  }
  /** NUL-terminated UTF-8 string, as the kernel's NLA_NUL_STRING / NLA_STRING policies accept. */
  putString(type: number, s: string): this {
    return this.put(type, encodeCString(s));
  }

  private putInt(type: number, size: number, set: (d: DataView) => void): this {
    const b = new Uint8Array(size);
    set(dataView(b));
    return this.put(type, b);
  }

  /** Opens a nested attribute (flagged per the family's rule); returns the token endNested needs. */
  beginNested(type: number): number {
    const start = this.len;
    this.reserve(NLA_HDRLEN);
    this.view.setUint16(start + 2, type | (this.rules.nestedFlag ? NLA_F_NESTED : 0), HOST_IS_LITTLE_ENDIAN);
    this.len += NLA_HDRLEN;
    return start;
  }
  /** Closes the nested attribute opened at start: writes its length. */
  endNested(start: number): this {
    this.view.setUint16(start, this.len - start, HOST_IS_LITTLE_ENDIAN);
    return this;
  }
  /** A nested attribute whose children fill() writes. */
  nested(type: number, fill: (w: this) => void): this {
    const start = this.beginNested(type);
    fill(this);
    return this.endNested(start);
  }
  /** A fixed struct ahead of the attributes (ifinfomsg, tcmsg), zero-padded to 4 bytes. */
  putStruct(bytes: Uint8Array): this {
    const padded = nlaAlign(bytes.length);
    this.reserve(padded);
    this.buf.set(bytes, this.len);
    this.buf.fill(0, this.len + bytes.length, this.len + padded);
    this.len += padded;
    return this;
  }
  /** Raw bytes that are already aligned attributes. */
  putRaw(bytes: Uint8Array): this {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
    return this;
  }
  /** Bytes written so far. */
  get length(): number {
    return this.len;
  }
  /** A copy of the bytes written. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** One attribute; B is the buffer type parsed (a Buffer's payloads are Buffers). */
export interface NlAttr<B extends Uint8Array = Uint8Array> {
  /** Type without NLA_F_NESTED / NLA_F_NET_BYTEORDER. */
  type: number;
  /** Whether the sender set NLA_F_NESTED. */
  nestedFlag: boolean;
  /** Payload: a view into the parsed buffer (copy it if it must outlive the buffer). */
  payload: B;
  /** Offset of the header within the parsed buffer. */
  offset: number;
}

/** How readAttrs treats a malformed tail (a bad length, or bytes too few for a header). */
export interface ReadAttrsOptions {
  /** Stop at a malformed tail and return what came before, instead of throwing NlAttrError (the default). */
  lenient?: boolean;
  /** Lenient only: told about the malformed tail that parsing stopped at. */
  onMalformed?: (problem: NlAttrError) => void;
}

/** Splits buf into attributes; a malformed tail throws NlAttrError, or with `lenient` ends the list. */
export function readAttrs<B extends Uint8Array>(buf: B, options: ReadAttrsOptions = {}): NlAttr<B>[] {
  const out: NlAttr<B>[] = [];
  const view = dataView(buf);
  let off = 0;
  while (off < buf.length) {
    const problem = malformedAt(view, off);
    if (problem) {
      if (!options.lenient) throw problem;
      options.onMalformed?.(problem);
      break;
    }
    const len = view.getUint16(off, HOST_IS_LITTLE_ENDIAN);
    const rawType = view.getUint16(off + 2, HOST_IS_LITTLE_ENDIAN);
    // subarray keeps the subclass: a Buffer's payloads are Buffers.
    const payload = buf.subarray(off + NLA_HDRLEN, off + len) as B;
    out.push({ type: rawType & NLA_TYPE_MASK, nestedFlag: (rawType & NLA_F_NESTED) !== 0, payload, offset: off });
    off += nlaAlign(len);
  }
  return out;
}

function malformedAt(view: DataView, off: number): NlAttrError | undefined {
  const left = view.byteLength - off;
  if (left < NLA_HDRLEN) return new NlAttrError(`Message has ${left} unknown bytes.`);
  const len = view.getUint16(off, HOST_IS_LITTLE_ENDIAN);
  if (len < NLA_HDRLEN || len > left) return new NlAttrError(`attribute at offset ${off} has bad length ${len}`);
  return undefined;
}

/** Type -> payload; the last attribute of each type wins, as in the kernel's nla_parse. */
export function attrTable<B extends Uint8Array>(buf: B, options?: ReadAttrsOptions): Map<number, B> {
  const m = new Map<number, B>();
  for (const a of readAttrs(buf, options)) m.set(a.type, a.payload);
  return m;
}

function sized(p: Uint8Array, size: number, what: string): DataView {
  if (p.length < size) throw new NlAttrError(`${what} attribute of ${p.length} bytes, expected ${size}`);
  return dataView(p);
}
/** Host-order u16 payload (nl_attr_get_u16). */
export const getU16 = (p: Uint8Array): number => sized(p, 2, 'u16').getUint16(0, HOST_IS_LITTLE_ENDIAN);
/** Host-order u32 payload (nl_attr_get_u32). */
export const getU32 = (p: Uint8Array): number => sized(p, 4, 'u32').getUint32(0, HOST_IS_LITTLE_ENDIAN);
/** Host-order u32 payload, or `absent` when the attribute was not sent. */
export const optU32 = (p: Uint8Array | undefined, absent = 0): number => (p ? getU32(p) : absent);
/** Host-order s32 payload. */
export const getS32 = (p: Uint8Array): number => sized(p, 4, 's32').getInt32(0, HOST_IS_LITTLE_ENDIAN);

/** An attribute's u32 payload, which must be exactly 4 bytes. */
export function attrU32(a: NlAttr): number {
  if (a.payload.length !== 4) throw new NlAttrError(`attribute ${a.type} has length ${a.payload.length}, expected 4`);
  return getU32(a.payload);
}

/** The C string in b: up to the first NUL, or all of b when there is none (nl_attr_get_string, tolerant). */
export function readCString(b: Uint8Array): string {
  const nul = b.indexOf(0);
  return Buffer.from(b.buffer, b.byteOffset, nul < 0 ? b.length : nul).toString('utf8');
}

/** s as UTF-8 with a terminating NUL. */
export function encodeCString(s: string): Uint8Array {
  const enc = new TextEncoder().encode(s);
  const b = new Uint8Array(enc.length + 1);
  b.set(enc);
  return b;
}

/** Lenient parsing, for replies of families whose decoders skip what they do not know (rtnetlink, tc, acks). */
export const LENIENT: ReadAttrsOptions = { lenient: true };
