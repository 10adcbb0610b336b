/**
 * Host-side tests of the openvswitch genl message codecs (src/datapath/kernel/messages.ts) against hand-written
 * golden bytes in test/golden/genl/*.hex. The goldens are derived from the uAPI layouts
 * (include/uapi/linux/openvswitch.h struct offsets; nlattr = u16 len + u16 type in host order, payload padded to
 * 4) and from the order in which the kernel's fill functions write replies; they are never encoder output.
 */
import {
  KernelMessageError,
  decodeDatapath,
  decodeFlow,
  decodeUpcall,
  decodeVport,
  encodeDatapathAttrs,
  encodeExecuteAttrs,
  encodeFlowAttrs,
  encodeVportAttrs,
  normalizeDumpedMatch,
  ovsHeader,
  ovsRequest,
} from '../../../src/datapath/kernel/messages';
import {
  OVS_DATAPATH_VERSION,
  OVS_DP_ATTR,
  OVS_DP_CMD,
  OVS_DP_F,
  OVS_FLOW_CMD,
  OVS_FLOW_VERSION,
  OVS_PACKET_ATTR,
  OVS_PACKET_CMD,
  OVS_PACKET_VERSION,
  OVS_UFID_F,
  OVS_VPORT_CMD,
  OVS_VPORT_TYPE,
  OVS_VPORT_VERSION,
  VPORT_TYPE_NAMES,
} from '../../../src/datapath/kernel/abi';
import {
  FlowDecodeError,
  HOST_IS_LITTLE_ENDIAN,
  OVS_FLOW_ATTR,
  OVS_KEY_ATTR,
  decodeKey,
  decodeMask,
  encodeKey,
  extractFlowKey,
  formatFlowText,
  parseActions,
  parseFlow,
  type FlowActions,
  type FlowKey,
} from '../../../src/flow';
import { NlAttrWriter, readAttrs } from '../../../src/netlink/attr';
import { parseGenl } from '../../../src/netlink/genl';
import {
  NLMSG_HDRLEN,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REQUEST,
  parseMessages,
  writeHeader,
} from '../../../src/netlink/socket';
import { hexWords, loadGenlGolden } from '../../helpers/golden-hex';

/** The goldens spell host-order fields little-endian. */
const le = HOST_IS_LITTLE_ENDIAN ? test : test.skip;

const golden = loadGenlGolden;
const same = (actual: Uint8Array, expected: Uint8Array): void => expect(hexWords(actual)).toBe(hexWords(expected));
const bodyOf = (genlPayload: Uint8Array): Uint8Array => parseGenl(genlPayload).body;

function nlmsg(type: number, flags: number, seq: number, body: Uint8Array): Buffer {
  const b = Buffer.alloc(NLMSG_HDRLEN + body.length);
  writeHeader(b, b.length, type, flags, seq);
  b.set(body, NLMSG_HDRLEN);
  return b;
}

/** Family ids as a resolver would have found them (the goldens' nlmsg_type). */
const DP_FAMILY_ID = 0x1c;
const FLOW_FAMILY_ID = 0x1e;
const DP_IFINDEX = 7;
const UFID = Uint8Array.from(Buffer.from('1b2c3d4e000040008000000000000001', 'hex'));
const output = (port: number): FlowActions => [{ type: 'output', port }];

/** A 42-byte ARP request 10.0.0.1 (02:00:00:00:00:01) -> who-has 10.0.0.2, broadcast. */
const ARP_FRAME = Uint8Array.from(
  Buffer.from(
    'ffffffffffff' +
      '020000000001' +
      '0806' +
      '0001' +
      '0800' +
      '06' +
      '04' +
      '0001' +
      '020000000001' +
      '0a000001' +
      '000000000000' +
      '0a000002',
    'hex',
  ),
);

const SEED_FLOW = 'in_port(1),eth(),eth_type(0x806),arp()';

describe('ovs_header and request bodies', () => {
  le('ovs_header is dp_ifindex as a host-order int', () => {
    expect([...ovsHeader(7)]).toEqual([7, 0, 0, 0]);
    expect([...ovsHeader(0x01020304)]).toEqual([4, 3, 2, 1]);
    expect([...ovsHeader(-1)]).toEqual([0xff, 0xff, 0xff, 0xff]);
  });
  test('ovsRequest: genlmsghdr, ovs_header, attributes', () => {
    const b = ovsRequest(9, 2, 0, Uint8Array.of(0xaa, 0xbb, 0xcc, 0xdd));
    expect(b.length).toBe(12);
    expect([...b.subarray(0, 4)]).toEqual([9, 2, 0, 0]);
    expect([...b.subarray(8)]).toEqual([0xaa, 0xbb, 0xcc, 0xdd]);
  });
  test('a reply body shorter than ovs_header is refused by every decoder', () => {
    const short = Uint8Array.of(7, 0);
    for (const decode of [decodeDatapath, decodeVport, decodeFlow, decodeUpcall]) {
      expect(() => decode(short)).toThrow(KernelMessageError);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('ovs_datapath', () => {
  const request = () =>
    ovsRequest(
      OVS_DP_CMD.NEW,
      OVS_DATAPATH_VERSION,
      0,
      encodeDatapathAttrs({ name: 'nm0', upcallPid: 0x1234, userFeatures: OVS_DP_F.UNALIGNED | OVS_DP_F.VPORT_PIDS }),
    );

  le('NEW: body matches the golden bytes', () => {
    same(request(), golden('dp-new.hex').subarray(NLMSG_HDRLEN));
  });
  le('NEW: full netlink message with nlmsghdr (seq 0x01020304)', () => {
    const g = golden('dp-new.hex');
    same(nlmsg(DP_FAMILY_ID, NLM_F_REQUEST | NLM_F_ACK, 0x01020304, request()), g);
    const [m] = parseMessages(g, g.length);
    expect(m).toMatchObject({ type: DP_FAMILY_ID, flags: NLM_F_REQUEST | NLM_F_ACK, seq: 0x01020304 });
  });
  test('absent fields are left out; an empty request is just the headers', () => {
    expect(encodeDatapathAttrs({}).length).toBe(0);
    const attrs = readAttrs(encodeDatapathAttrs({ name: 'x' }));
    expect(attrs.map((a) => a.type)).toEqual([OVS_DP_ATTR.NAME]);
  });

  le('decodeDatapath: name, both stats structs (u64 halves), features, cache size; PAD and unknown skipped', () => {
    const g = golden('dp-reply.hex');
    expect(parseGenl(g)).toMatchObject({ cmd: OVS_DP_CMD.GET, version: 2 });
    expect(decodeDatapath(bodyOf(g))).toEqual({
      dpIfindex: DP_IFINDEX,
      name: 'nm0',
      stats: { nHit: 0x123456789, nMissed: 0x200000003, nLost: 5, nFlows: 0x100000000 },
      megaflowStats: { nMaskHit: 0xa0000000b, nMasks: 3, nCacheHit: 0xc0000000d },
      userFeatures: OVS_DP_F.UNALIGNED | OVS_DP_F.VPORT_PIDS,
      masksCacheSize: 256,
    });
  });
  test('a truncated STATS attribute is an error', () => {
    const attrs = new NlAttrWriter()
      .putString(OVS_DP_ATTR.NAME, 'nm0')
      .put(OVS_DP_ATTR.STATS, new Uint8Array(24))
      .finish();
    expect(() => decodeDatapath(bodyOf(ovsRequest(OVS_DP_CMD.GET, 2, 7, attrs)))).toThrow(
      /OVS_DP_ATTR_STATS.*24 bytes, expected 32/,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('ovs_vport', () => {
  le('NEW netdev port with one upcall pid', () => {
    const body = ovsRequest(
      OVS_VPORT_CMD.NEW,
      OVS_VPORT_VERSION,
      DP_IFINDEX,
      encodeVportAttrs({ portNo: 1, type: OVS_VPORT_TYPE.NETDEV, name: 'veth0a', upcallPids: [0x1234] }),
    );
    same(body, golden('vport-new-netdev.hex'));
  });
  le('NEW internal port with several upcall pids (u32, high bit kept)', () => {
    const body = ovsRequest(
      OVS_VPORT_CMD.NEW,
      OVS_VPORT_VERSION,
      DP_IFINDEX,
      encodeVportAttrs({
        portNo: 2,
        type: OVS_VPORT_TYPE.INTERNAL,
        name: 'nm0-int',
        upcallPids: [100, 200, 0x80000001],
      }),
    );
    same(body, golden('vport-new-internal.hex'));
  });
  le('DEL by dp_ifindex + PORT_NO', () => {
    same(
      ovsRequest(OVS_VPORT_CMD.DEL, OVS_VPORT_VERSION, DP_IFINDEX, encodeVportAttrs({ portNo: 2 })),
      golden('vport-del.hex'),
    );
  });
  le('GET by dp_ifindex + PORT_NO', () => {
    same(
      ovsRequest(OVS_VPORT_CMD.GET, OVS_VPORT_VERSION, DP_IFINDEX, encodeVportAttrs({ portNo: 1 })),
      golden('vport-get.hex'),
    );
  });

  le('decodeVport: stats in struct order, ifindex, negative NETNSID, pid array; UPCALL_STATS ignored', () => {
    expect(decodeVport(bodyOf(golden('vport-reply.hex')))).toEqual({
      dpIfindex: DP_IFINDEX,
      portNo: 1,
      type: OVS_VPORT_TYPE.NETDEV,
      name: 'veth0a',
      upcallPids: [1000, 1001],
      stats: {
        rxPackets: 0x100000011,
        txPackets: 0x200000022,
        rxBytes: 0x300000033,
        txBytes: 0x400000044,
        rxErrors: 0x55,
        txErrors: 0x66,
        rxDropped: 0x700000077,
        txDropped: 0x88,
      },
      ifindex: 300,
      netnsid: -1,
    });
  });
  le('decodeVport: local port 0, positive NETNSID, one pid, PAD skipped', () => {
    const v = decodeVport(bodyOf(golden('vport-reply-local.hex')));
    expect(v).toEqual({
      dpIfindex: DP_IFINDEX,
      portNo: 0,
      type: OVS_VPORT_TYPE.INTERNAL,
      name: 'nm0',
      upcallPids: [0x1234],
      stats: {
        rxPackets: 0,
        txPackets: 0,
        rxBytes: 0,
        txBytes: 0,
        rxErrors: 0,
        txErrors: 0,
        rxDropped: 0,
        txDropped: 0,
      },
      ifindex: 7,
      netnsid: 3,
    });
    expect(VPORT_TYPE_NAMES[v.type]).toBe('internal');
  });
  le('decodeVport: a reply without PORT_NO is an error', () => {
    expect(() => decodeVport(bodyOf(golden('vport-reply-no-port-no.hex')))).toThrow(KernelMessageError);
    expect(() => decodeVport(bodyOf(golden('vport-reply-no-port-no.hex')))).toThrow(/OVS_VPORT_ATTR_PORT_NO/);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('ovs_flow requests', () => {
  const seed = parseFlow(SEED_FLOW);
  const seedRequest = () =>
    ovsRequest(
      OVS_FLOW_CMD.NEW,
      OVS_FLOW_VERSION,
      DP_IFINDEX,
      encodeFlowAttrs({ key: seed.key, mask: seed.mask, actions: output(2), ufid: UFID }),
    );

  le('NEW seed ARP flow: KEY, MASK, ACTIONS, UFID (body)', () => {
    same(seedRequest(), golden('flow-new-arp.hex').subarray(NLMSG_HDRLEN));
  });
  le('NEW seed ARP flow: full netlink message with nlmsghdr (seq 0x01020305)', () => {
    const flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE;
    same(nlmsg(FLOW_FAMILY_ID, flags, 0x01020305, seedRequest()), golden('flow-new-arp.hex'));
  });
  le('NEW seed ARP flow decodes back to the parsed key, mask, actions and UFID', () => {
    const f = decodeFlow(bodyOf(golden('flow-new-arp.hex').subarray(NLMSG_HDRLEN)));
    expect(f.key).toEqual(seed.key);
    expect(f.mask).toEqual(seed.mask);
    expect(f.actions).toEqual(output(2));
    expect([...f.ufid!]).toEqual([...UFID]);
  });

  const TCP_FLOW = 'in_port(1),eth(),eth_type(0x0800),ipv4(src=10.0.0.1,proto=6),tcp(dst=80),tcp_flags(+syn-ack)';
  le('NEW TCP flow with tcp_flags value and mask', () => {
    const f = parseFlow(TCP_FLOW);
    const body = ovsRequest(
      OVS_FLOW_CMD.NEW,
      OVS_FLOW_VERSION,
      DP_IFINDEX,
      encodeFlowAttrs({ key: f.key, mask: f.mask, actions: output(3) }),
    );
    same(body, golden('flow-new-tcp.hex'));
    const back = decodeFlow(bodyOf(body));
    expect(back.key).toEqual(f.key);
    expect(back.mask).toEqual(f.mask);
  });

  const TUNNEL_FLOW = 'tunnel(tun_id=0x64,src=198.18.0.2,dst=198.18.0.1,ttl=64,flags(df|key)),in_port(2),eth()';
  const TUNNEL_ACTIONS = 'set(tunnel(tun_id=0x64,dst=198.18.0.2,ttl=64,flags(df|key))),3';
  le('NEW tunnel flow: nested OVS_KEY_ATTR_TUNNEL in key and mask, set(tunnel) as an unmasked SET', () => {
    const f = parseFlow(TUNNEL_FLOW);
    const actions = parseActions(TUNNEL_ACTIONS).actions;
    const body = ovsRequest(
      OVS_FLOW_CMD.NEW,
      OVS_FLOW_VERSION,
      DP_IFINDEX,
      encodeFlowAttrs({ key: f.key, mask: f.mask, actions }),
    );
    same(body, golden('flow-new-tunnel.hex'));
    const back = decodeFlow(bodyOf(body));
    expect(back.key).toEqual(f.key);
    expect(back.mask).toEqual(f.mask);
    expect(back.actions).toEqual(actions);
  });

  const VLAN_FLOW =
    'in_port(1),eth(src=00:11:22:33:44:55,dst=66:77:88:99:aa:bb),eth_type(0x8100),vlan(vid=10),' +
    'encap(eth_type(0x0800),ipv4(proto=17),udp(dst=53))';
  le('NEW VLAN flow: eth src before dst, TPID + TCI, nested ENCAP in key and mask', () => {
    const f = parseFlow(VLAN_FLOW);
    const actions = parseActions('pop_vlan,2').actions;
    const body = ovsRequest(
      OVS_FLOW_CMD.NEW,
      OVS_FLOW_VERSION,
      DP_IFINDEX,
      encodeFlowAttrs({ key: f.key, mask: f.mask, actions }),
    );
    same(body, golden('flow-new-vlan.hex'));
    const back = decodeFlow(bodyOf(body));
    expect(back.key).toEqual(f.key);
    expect(back.mask).toEqual(f.mask);
    expect(back.actions).toEqual(actions);
  });

  le('SET by UFID with new actions and CLEAR', () => {
    const body = ovsRequest(
      OVS_FLOW_CMD.SET,
      OVS_FLOW_VERSION,
      DP_IFINDEX,
      encodeFlowAttrs({ actions: output(3), clear: true, ufid: UFID }),
    );
    same(body, golden('flow-set-clear.hex'));
  });
  le('DEL by UFID only', () => {
    same(
      ovsRequest(OVS_FLOW_CMD.DEL, OVS_FLOW_VERSION, DP_IFINDEX, encodeFlowAttrs({ ufid: UFID })),
      golden('flow-del-ufid.hex'),
    );
  });
  le('GET by UFID with UFID_FLAGS', () => {
    const flags = OVS_UFID_F.OMIT_KEY | OVS_UFID_F.OMIT_MASK | OVS_UFID_F.OMIT_ACTIONS;
    same(
      ovsRequest(OVS_FLOW_CMD.GET, OVS_FLOW_VERSION, DP_IFINDEX, encodeFlowAttrs({ ufid: UFID, ufidFlags: flags })),
      golden('flow-get-ufid-flags.hex'),
    );
  });
  le('DEL with nothing: flush', () => {
    same(ovsRequest(OVS_FLOW_CMD.DEL, OVS_FLOW_VERSION, DP_IFINDEX, encodeFlowAttrs({})), golden('flow-del-flush.hex'));
  });
  test('a mask without a key is not sent; clear: false sends no flag', () => {
    const seedMask = parseFlow(SEED_FLOW).mask;
    expect(encodeFlowAttrs({ mask: seedMask, clear: false }).length).toBe(0);
  });
  test('an empty action list is sent as an empty ACTIONS attribute (drop)', () => {
    const attrs = readAttrs(encodeFlowAttrs({ actions: [] }));
    expect(attrs.map((a) => [a.type, a.payload.length])).toEqual([[OVS_FLOW_ATTR.ACTIONS, 0]]);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('ovs_flow dump replies', () => {
  const seed = parseFlow(SEED_FLOW);

  le('ARP flow: metadata dropped, conntrack and the zero tunnel mask skipped, stats/used as u64', () => {
    const g = golden('flow-dump-arp.hex');
    expect(parseGenl(g)).toMatchObject({ cmd: OVS_FLOW_CMD.GET, version: 1 });
    const f = decodeFlow(bodyOf(g));
    expect(f.dpIfindex).toBe(DP_IFINDEX);
    expect([...f.ufid!]).toEqual([...UFID]);
    expect(f.packets).toBe(0x100000002);
    expect(f.bytes).toBe(0x200000100);
    expect(f.usedMonotonicMs).toBe(0x123456789);
    expect(f.tcpFlags).toBe(0);
    expect(f.actions).toEqual(output(2));
    // normalizeDumpedMatch removed RECIRC_ID, DP_HASH, PRIORITY and SKB_MARK (all wildcarded).
    expect(f.key).toEqual({
      inPort: 1,
      eth: { src: 0, dst: 0 },
      ethType: 0x0806,
      arp: { sip: 0, tip: 0, op: 0, sha: 0, tha: 0 },
    });
    expect(f.mask).toEqual(seed.mask);
    expect(formatFlowText(f.key!, f.mask!, f.actions!)).toEqual(formatFlowText(seed.key, seed.mask, output(2)));
    expect(formatFlowText(f.key!, f.mask!, f.actions!)).toEqual({
      match: 'in_port(1),eth(),eth_type(0x0806),arp()',
      actions: '2',
    });
  });

  le('the dumped KEY really carries conntrack attributes (strict decoding refuses them)', () => {
    const key = readAttrs(bodyOf(golden('flow-dump-arp.hex')).subarray(4)).find((a) => a.type === OVS_FLOW_ATTR.KEY)!;
    const types = readAttrs(key.payload).map((a) => a.type);
    expect(types).toEqual(
      expect.arrayContaining([
        OVS_KEY_ATTR.CT_STATE,
        OVS_KEY_ATTR.CT_ZONE,
        OVS_KEY_ATTR.CT_MARK,
        OVS_KEY_ATTR.CT_LABELS,
      ]),
    );
    expect(() => decodeKey(key.payload)).toThrow(FlowDecodeError);
    const lenient = decodeKey(key.payload, { lenient: true });
    expect(lenient).toMatchObject({ recircId: 0, dpHash: 0, priority: 0, skbMark: 0, inPort: 1 });
  });

  le('TCP flow without UFID: the unmasked key, masked on formatting; TCP_FLAGS u8', () => {
    const text = 'in_port(1),eth(),eth_type(0x0800),ipv4(src=10.0.0.1,proto=6),tcp(dst=80),tcp_flags(+syn-ack)';
    const orig = parseFlow(text);
    const f = decodeFlow(bodyOf(golden('flow-dump-tcp.hex')));
    expect(f.ufid).toBeUndefined();
    expect(f.packets).toBe(3);
    expect(f.bytes).toBe(182);
    expect(f.usedMonotonicMs).toBe(1000);
    expect(f.tcpFlags).toBe(0x12);
    expect(f.actions).toEqual(output(3));
    expect(f.key).toEqual({
      inPort: 1,
      eth: { src: 0x020000000001, dst: 0x020000000002 },
      ethType: 0x0800,
      ipv4: { src: 0x0a000001, dst: 0x0a000002, proto: 6, tos: 0, ttl: 64, frag: 0 },
      tcp: { src: 34567, dst: 80 },
      tcpFlags: 0x0002,
    });
    expect(f.mask).toEqual(orig.mask);
    expect(formatFlowText(f.key!, f.mask!, f.actions!)).toEqual(formatFlowText(orig.key, orig.mask, output(3)));
    expect(formatFlowText(f.key!, f.mask!, f.actions!).match).toBe(text);
  });

  le('a mask with a non-zero conntrack attribute is refused', () => {
    expect(() => decodeFlow(bodyOf(golden('flow-dump-ct-mask.hex')))).toThrow(FlowDecodeError);
    expect(() => decodeFlow(bodyOf(golden('flow-dump-ct-mask.hex')))).toThrow(/mask attribute 22 /);
  });

  describe('tunnel attribute in a dumped mask', () => {
    const key = (): Uint8Array => encodeKey(parseFlow(SEED_FLOW).key);
    const maskWithTunnel = (build: (w: NlAttrWriter) => void): Uint8Array => {
      const w = new NlAttrWriter();
      const t = w.beginNested(OVS_KEY_ATTR.TUNNEL);
      build(w);
      w.endNested(t);
      w.putU32(OVS_KEY_ATTR.IN_PORT, 0xffffffff).putBe16(OVS_KEY_ATTR.ETHERTYPE, 0xffff);
      return w.finish();
    };
    const TTL = 4;
    const CSUM = 6;
    test('ttl 0 (what the kernel sends for every flow) is a wildcard', () => {
      const k = decodeKey(key());
      expect(
        decodeMask(
          maskWithTunnel((w) => w.putU8(TTL, 0)),
          k,
          { lenient: true },
        ).inPort,
      ).toBe(0xffffffff);
      expect(
        decodeMask(
          maskWithTunnel(() => undefined),
          k,
          { lenient: true },
        ).ethType,
      ).toBe(0xffff);
    });
    test('a matched ttl or a tunnel flag is refused', () => {
      const k = decodeKey(key());
      expect(() =>
        decodeMask(
          maskWithTunnel((w) => w.putU8(TTL, 0xff)),
          k,
          { lenient: true },
        ),
      ).toThrow(/mask attribute tunnel \(type 16\) has no key attribute/);
      expect(() =>
        decodeMask(
          maskWithTunnel((w) => w.putU8(TTL, 0).putFlag(CSUM)),
          k,
          { lenient: true },
        ),
      ).toThrow(/mask attribute tunnel \(type 16\) has no key attribute/);
    });
    test('strict decoding takes the all-wildcard tunnel mask as absent (tunnel is modelled), a matched one not', () => {
      const k = decodeKey(key());
      const m = decodeMask(
        maskWithTunnel((w) => w.putU8(TTL, 0)),
        k,
      );
      expect(m.tunnel).toBeUndefined();
      expect(() =>
        decodeMask(
          maskWithTunnel((w) => w.putU8(TTL, 0xff)),
          k,
        ),
      ).toThrow(FlowDecodeError);
    });
  });

  describe('normalizeDumpedMatch', () => {
    const key: FlowKey = { priority: 0, skbMark: 5, recircId: 0, dpHash: 9, inPort: 1, ethType: 0x0806 };
    test('drops zero-masked metadata, keeps matched metadata and everything else', () => {
      const mask: FlowKey = { priority: 0, skbMark: 0xff, recircId: 0, dpHash: 0, inPort: 0xffffffff, ethType: 0xffff };
      const n = normalizeDumpedMatch(key, mask);
      expect(n.key).toEqual({ skbMark: 5, inPort: 1, ethType: 0x0806 });
      expect(n.mask).toEqual({ skbMark: 0xff, inPort: 0xffffffff, ethType: 0xffff });
    });
    test('metadata in the key without a mask entry is dropped; the inputs are not changed', () => {
      const mask: FlowKey = { inPort: 0xffffffff, ethType: 0xffff };
      const n = normalizeDumpedMatch(key, mask);
      expect(n.key).toEqual({ inPort: 1, ethType: 0x0806 });
      expect(key.skbMark).toBe(5);
      expect(mask).toEqual({ inPort: 0xffffffff, ethType: 0xffff });
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('ovs_packet', () => {
  const ARP_KEY_TEXT =
    'in_port(1),eth(src=02:00:00:00:00:01,dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806),' +
    'arp(sip=10.0.0.1,tip=10.0.0.2,op=1,sha=02:00:00:00:00:01,tha=00:00:00:00:00:00)';

  le('EXECUTE: PACKET (padded), KEY bytes as given, ACTIONS', () => {
    const key = encodeKey(parseFlow(ARP_KEY_TEXT).key);
    const body = ovsRequest(
      OVS_PACKET_CMD.EXECUTE,
      OVS_PACKET_VERSION,
      DP_IFINDEX,
      encodeExecuteAttrs({ packet: ARP_FRAME, key, actions: output(2) }),
    );
    same(body, golden('packet-execute.hex'));
  });

  le("MISS upcall: unaligned last PACKET, the kernel's full key (conntrack skipped), HASH ignored", () => {
    const g = golden('packet-miss.hex');
    expect(g.length % 4).toBe(2); // the message really ends unaligned
    expect(parseGenl(g)).toMatchObject({ cmd: OVS_PACKET_CMD.MISS, version: 1 });
    const up = decodeUpcall(bodyOf(g));
    expect(up.dpIfindex).toBe(DP_IFINDEX);
    expect(hexWords(up.packet)).toBe(hexWords(ARP_FRAME));
    expect(up.userdata).toBeUndefined();
    expect(up.len).toBeUndefined();
    // keyBytes: the KEY attribute's payload exactly as received (offset 8 genl+ovs_header, 4 nlattr header, 136 bytes).
    same(up.keyBytes, g.subarray(12, 12 + 136));
    expect(up.key).toEqual({
      recircId: 0,
      dpHash: 0,
      priority: 0,
      inPort: 1,
      skbMark: 0,
      eth: { src: 0x020000000001, dst: 0xffffffffffff },
      ethType: 0x0806,
      arp: { sip: 0x0a000001, tip: 0x0a000002, op: 1, sha: 0x020000000001, tha: 0 },
    });
    // The same key netmgr's own extractor computes from the frame.
    expect(up.key).toEqual(extractFlowKey(up.packet, 0, up.packet.length, 1));
  });

  le("an upcall's key bytes go back unchanged in EXECUTE", () => {
    const up = decodeUpcall(bodyOf(golden('packet-miss.hex')));
    const attrs = readAttrs(encodeExecuteAttrs({ packet: up.packet, key: up.keyBytes, actions: output(2) }));
    expect(attrs.map((a) => a.type)).toEqual([OVS_PACKET_ATTR.PACKET, OVS_PACKET_ATTR.KEY, OVS_PACKET_ATTR.ACTIONS]);
    same(attrs[1].payload, up.keyBytes);
    same(attrs[0].payload, ARP_FRAME);
  });

  le('ACTION upcall: USERDATA and LEN, padded PACKET', () => {
    const g = golden('packet-action-userdata.hex');
    expect(parseGenl(g).cmd).toBe(OVS_PACKET_CMD.ACTION);
    const up = decodeUpcall(bodyOf(g));
    expect([...up.userdata!]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(up.len).toBe(60);
    expect(hexWords(up.packet)).toBe(hexWords(ARP_FRAME));
    expect(up.key).toEqual(parseFlow(ARP_KEY_TEXT).key);
  });

  le('an upcall without KEY is an error', () => {
    expect(() => decodeUpcall(bodyOf(golden('packet-miss-no-key.hex')))).toThrow(KernelMessageError);
    expect(() => decodeUpcall(bodyOf(golden('packet-miss-no-key.hex')))).toThrow(/OVS_PACKET_ATTR_KEY/);
  });
});
