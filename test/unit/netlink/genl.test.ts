/**
 * Generic netlink framing and family resolution (src/netlink/genl.ts) against hand-written golden bytes in
 * test/golden/genl/ (see test/helpers/golden-hex.ts for the format).
 */
import {
  CTRL_ATTR,
  CTRL_ATTR_MCAST_GRP,
  CTRL_CMD,
  GENL_HDRLEN,
  GENL_ID_CTRL,
  decodeFamily,
  encodeGetFamily,
  genlPayload,
  isDump,
  parseGenl,
} from '../../../src/netlink/genl';
import {
  NLMSG_HDRLEN,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  parseMessages,
  writeHeader,
} from '../../../src/netlink/socket';
import { NlAttrWriter, RTNETLINK_RULES, readAttrs } from '../../../src/netlink/attr';
import { HOST_IS_LITTLE_ENDIAN } from '../../../src/flow/constants';
import { hexWords, loadGenlGolden, parseAnnotatedHex } from '../../helpers/golden-hex';

/** The goldens spell host-order fields little-endian. */
const le = HOST_IS_LITTLE_ENDIAN ? test : test.skip;

function nlmsg(type: number, flags: number, seq: number, body: Uint8Array): Buffer {
  const b = Buffer.alloc(NLMSG_HDRLEN + body.length);
  writeHeader(b, b.length, type, flags, seq);
  b.set(body, NLMSG_HDRLEN);
  return b;
}

describe('annotated hex loader', () => {
  test('strips comments and whitespace', () => {
    expect([...parseAnnotatedHex('# header\n08 00 # len\n 02 00\t# type\n\n2a00 0000 # u32 42\n')]).toEqual([
      8, 0, 2, 0, 0x2a, 0, 0, 0,
    ]);
  });
  test('rejects stray characters and odd digit counts', () => {
    expect(() => parseAnnotatedHex('08 0g')).toThrow(/non-hex/);
    expect(() => parseAnnotatedHex('08 0')).toThrow(/odd/);
  });
});

describe('genlmsghdr framing', () => {
  test('cmd, version, zero reserved word, then family header and attributes', () => {
    const b = genlPayload(7, 3, Uint8Array.of(0xaa, 0xbb, 0xcc, 0xdd), Uint8Array.of(1, 2, 3, 4));
    expect(GENL_HDRLEN).toBe(4);
    expect([...b]).toEqual([7, 3, 0, 0, 0xaa, 0xbb, 0xcc, 0xdd, 1, 2, 3, 4]);
  });
  test('parseGenl splits the header from the body', () => {
    const m = parseGenl(Uint8Array.of(5, 1, 0, 0, 9, 9));
    expect(m.cmd).toBe(5);
    expect(m.version).toBe(1);
    expect([...m.body]).toEqual([9, 9]);
  });
  test('a payload shorter than genlmsghdr is an error', () => {
    expect(() => parseGenl(Uint8Array.of(1, 2, 0))).toThrow(/no genlmsghdr/);
  });
  test('isDump needs both NLM_F_ROOT and NLM_F_MATCH', () => {
    expect(isDump(NLM_F_REQUEST | NLM_F_DUMP)).toBe(true);
    expect(isDump(NLM_F_REQUEST | 0x100)).toBe(false);
    expect(isDump(NLM_F_REQUEST | NLM_F_ACK)).toBe(false);
  });
});

describe('CTRL_CMD_GETFAMILY request', () => {
  const golden = loadGenlGolden('ctrl-getfamily-ovs_datapath.hex');

  le('body for "ovs_datapath" matches the golden bytes', () => {
    expect(hexWords(encodeGetFamily('ovs_datapath'))).toBe(hexWords(golden.subarray(NLMSG_HDRLEN)));
  });
  le('full netlink message (nlmsghdr from writeHeader, seq 1)', () => {
    const msg = nlmsg(GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK, 1, encodeGetFamily('ovs_datapath'));
    expect(hexWords(msg)).toBe(hexWords(golden));
  });
  le('parseMessages reads the golden header back', () => {
    const [m] = parseMessages(golden, golden.length);
    expect(m).toMatchObject({ type: GENL_ID_CTRL, flags: NLM_F_REQUEST | NLM_F_ACK, seq: 1, pid: 0 });
    const g = parseGenl(m.payload);
    expect(g.cmd).toBe(CTRL_CMD.GETFAMILY);
    const [name] = readAttrs(g.body);
    expect(name.type).toBe(CTRL_ATTR.FAMILY_NAME);
    expect(Buffer.from(name.payload).toString('latin1')).toBe('ovs_datapath\0');
  });
});

describe('CTRL_CMD_NEWFAMILY reply', () => {
  const golden = loadGenlGolden('ctrl-newfamily-ovs_datapath.hex');

  le('decodeFamily: id, name, version and multicast groups; HDRSIZE, MAXATTR and OPS are ignored', () => {
    const fam = decodeFamily(golden);
    expect(fam.name).toBe('ovs_datapath');
    expect(fam.id).toBe(0x1c);
    expect(fam.version).toBe(2);
    expect([...fam.mcastGroups]).toEqual([['ovs_datapath', 11]]);
  });

  le('FAMILY_ID is a u16: both bytes are read', () => {
    const b = Buffer.from(golden);
    const at = GENL_HDRLEN + readAttrs(b.subarray(GENL_HDRLEN)).find((a) => a.type === CTRL_ATTR.FAMILY_ID)!.offset;
    expect([...b.subarray(at, at + 6)]).toEqual([6, 0, CTRL_ATTR.FAMILY_ID, 0, 0x1c, 0]);
    b[at + 4] = 0x23;
    b[at + 5] = 0x01;
    expect(decodeFamily(b).id).toBe(0x0123);
  });

  test('several groups, nested with NLA_F_NESTED (as newer kernels may send), u32 group ids', () => {
    const w = new NlAttrWriter(RTNETLINK_RULES)
      .putU16(CTRL_ATTR.FAMILY_ID, 0x2a)
      .putString(CTRL_ATTR.FAMILY_NAME, 'ovs_vport')
      .putU32(CTRL_ATTR.VERSION, 1);
    const groups = w.beginNested(CTRL_ATTR.MCAST_GROUPS);
    [
      ['ovs_vport', 0x10001],
      ['other', 12],
    ].forEach(([name, id], i) => {
      const g = w.beginNested(i + 1);
      w.putString(CTRL_ATTR_MCAST_GRP.NAME, name as string).putU32(CTRL_ATTR_MCAST_GRP.ID, id as number);
      w.endNested(g);
    });
    w.endNested(groups);
    const fam = decodeFamily(genlPayload(1, 2, new Uint8Array(0), w.finish()));
    expect(fam).toEqual({
      name: 'ovs_vport',
      id: 0x2a,
      version: 1,
      mcastGroups: new Map([
        ['ovs_vport', 0x10001],
        ['other', 12],
      ]),
    });
  });

  test('a reply without CTRL_ATTR_FAMILY_ID is an error', () => {
    const attrs = new NlAttrWriter().putString(CTRL_ATTR.FAMILY_NAME, 'ovs_flow').finish();
    expect(() => decodeFamily(genlPayload(1, 2, new Uint8Array(0), attrs))).toThrow(/FAMILY_ID/);
  });
});
