/**
 * The one netlink attribute codec (src/netlink/attr.ts): round trips, host byte order, the nested-flag rule per
 * family, strict vs lenient parsing of a malformed tail, the C-string reader/writer.
 */
import { endianness } from 'os';
import {
  GENL_RULES,
  HOST_IS_LITTLE_ENDIAN,
  LENIENT,
  NLA_F_NESTED,
  NlAttrError,
  NlAttrWriter,
  RTNETLINK_RULES,
  attrTable,
  attrU32,
  encodeCString,
  getS32,
  getU16,
  getU32,
  optU32,
  readAttrs,
  readCString,
} from '../../../src/netlink/attr';
import { NetmgrError } from '../../../src/util/errors';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
/** A host-order u16 as hex. */
const h16 = (v: number): string => {
  const b = Buffer.alloc(2);
  if (HOST_IS_LITTLE_ENDIAN) b.writeUInt16LE(v);
  else b.writeUInt16BE(v);
  return hex(b);
};

describe('byte order', () => {
  test('host order comes from os.endianness()', () => {
    expect(HOST_IS_LITTLE_ENDIAN).toBe(endianness() === 'LE');
  });
  test('headers and u16/u32 are host order; be16/be32 network order', () => {
    const w = new NlAttrWriter().putU32(1, 0x01020304).putBe32(2, 0x01020304).putBe16(3, 0x0102);
    const u32 = HOST_IS_LITTLE_ENDIAN ? '04030201' : '01020304';
    expect(hex(w.finish())).toBe(`${h16(8)}${h16(1)}${u32}${h16(8)}${h16(2)}01020304${h16(6)}${h16(3)}01020000`);
  });
});

describe('round trips', () => {
  test('every integer width, string, flag and raw payload reads back', () => {
    const w = new NlAttrWriter()
      .putU8(1, 0xab)
      .putU16(2, 0xbeef)
      .putU32(3, 0xdeadbeef)
      .putS32(4, -2)
      .putString(5, 'eth0')
      .putFlag(6)
      .put(7, Uint8Array.of(9, 8, 7));
    const t = attrTable(w.finish());
    expect(t.get(1)![0]).toBe(0xab);
    expect(getU16(t.get(2)!)).toBe(0xbeef);
    expect(getU32(t.get(3)!)).toBe(0xdeadbeef);
    expect(getS32(t.get(4)!)).toBe(-2);
    expect(readCString(t.get(5)!)).toBe('eth0');
    expect(t.get(6)!.length).toBe(0);
    expect([...t.get(7)!]).toEqual([9, 8, 7]);
    expect(optU32(t.get(99), 7)).toBe(7);
  });
  test('payloads are padded to 4 bytes with zeros; a struct ahead of the attributes too', () => {
    const b = new NlAttrWriter()
      .putStruct(Uint8Array.of(1, 2, 3, 4, 5))
      .putU8(1, 0xff)
      .finish();
    expect(b.length).toBe(8 + 8);
    expect([...b.subarray(5, 8)]).toEqual([0, 0, 0]);
    expect([...b.subarray(13)]).toEqual([0, 0, 0]);
  });
  test('nested attributes by nested() and begin/endNested are the same bytes', () => {
    const a = new NlAttrWriter().nested(1, (w) => w.putU32(2, 5)).finish();
    const b = new NlAttrWriter();
    const t = b.beginNested(1);
    b.putU32(2, 5).endNested(t);
    expect(hex(b.finish())).toBe(hex(a));
    const [outer] = readAttrs(a);
    expect(outer.payload.length).toBe(8);
    expect(attrU32(readAttrs(outer.payload)[0])).toBe(5);
  });
  test('the last attribute of a type wins in attrTable; a Buffer parses into Buffer payloads', () => {
    const b = Buffer.from(new NlAttrWriter().putU32(3, 1).putU32(3, 2).finish());
    const t = attrTable(b);
    expect(getU32(t.get(3)!)).toBe(2);
    expect(Buffer.isBuffer(t.get(3))).toBe(true);
  });
  test('attrU32 wants exactly 4 bytes; the getters want at least their width', () => {
    const [a] = readAttrs(new NlAttrWriter().putU16(1, 1).finish());
    expect(() => attrU32(a)).toThrow(NlAttrError);
    expect(() => getU32(a.payload)).toThrow(/expected 4/);
  });
});

describe('nested-flag rule', () => {
  const nestedType = (w: NlAttrWriter): number => {
    const b = w.nested(1, (n) => n.nested(2, (m) => m.putU8(3, 0))).finish();
    return new DataView(b.buffer).getUint16(2, HOST_IS_LITTLE_ENDIAN);
  };
  test('genl (the default) writes nested attributes without NLA_F_NESTED', () => {
    expect(nestedType(new NlAttrWriter())).toBe(1);
    expect(nestedType(new NlAttrWriter(GENL_RULES))).toBe(1);
  });
  test('rtnetlink sets NLA_F_NESTED on every level; the reader strips it and reports it', () => {
    const b = new NlAttrWriter(RTNETLINK_RULES).nested(1, (n) => n.nested(2, (m) => m.putU8(3, 0))).finish();
    expect(nestedType(new NlAttrWriter(RTNETLINK_RULES))).toBe(1 | NLA_F_NESTED);
    const [outer] = readAttrs(b);
    const [inner] = readAttrs(outer.payload);
    expect([outer.type, outer.nestedFlag, inner.type, inner.nestedFlag]).toEqual([1, true, 2, true]);
    expect(readAttrs(inner.payload)[0].nestedFlag).toBe(false);
  });
});

describe('strict and lenient parsing of a malformed tail', () => {
  const good = new NlAttrWriter().putU32(1, 7).finish();
  const badLength = Uint8Array.from([...good, ...new NlAttrWriter().putU32(2, 8).finish().subarray(0, 6)]);
  const shortTail = Uint8Array.from([...good, 1, 2]);

  test('strict (the default) throws a typed error naming the problem', () => {
    expect(() => readAttrs(badLength)).toThrow(/offset 8 has bad length 8/);
    expect(() => readAttrs(shortTail)).toThrow(/2 unknown bytes/);
    try {
      readAttrs(shortTail);
    } catch (e) {
      expect(e).toBeInstanceOf(NlAttrError);
      expect(e).toBeInstanceOf(NetmgrError);
      expect((e as NetmgrError).kind).toBe('corrupt');
    }
  });
  test('lenient returns the attributes before the tail and reports it', () => {
    for (const buf of [badLength, shortTail]) {
      const problems: NlAttrError[] = [];
      const attrs = readAttrs(buf, { lenient: true, onMalformed: (p) => problems.push(p) });
      expect(attrs.map((a) => a.type)).toEqual([1]);
      expect(problems).toHaveLength(1);
      expect(attrTable(buf, LENIENT).size).toBe(1);
    }
  });
  test('a zero length does not loop: it is malformed', () => {
    expect(() => readAttrs(Uint8Array.of(0, 0, 1, 0))).toThrow(NlAttrError);
    expect(readAttrs(Uint8Array.of(0, 0, 1, 0), LENIENT)).toEqual([]);
  });
});

describe('C strings', () => {
  test('written with one NUL, read up to the first NUL or the end', () => {
    expect([...encodeCString('aé')]).toEqual([0x61, 0xc3, 0xa9, 0]);
    expect(readCString(encodeCString('ovs_datapath'))).toBe('ovs_datapath');
    expect(readCString(Uint8Array.of(0x61, 0x62))).toBe('ab');
    expect(readCString(Uint8Array.of(0x61, 0, 0x62))).toBe('a');
  });
});
