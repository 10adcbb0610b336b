/**
 * The tunnel devices of the kernel datapath: RTM_NEWLINK for a VXLAN or Geneve device in metadata mode against
 * hand-written wire bytes (test/golden/rtnl/link-new-*-external.hex, from struct ifinfomsg and the IFLA_* layout),
 * and what the kernel's parser finds in them.
 */
import * as fs from 'fs';
import * as path from 'path';
import { attrTable, getU32 } from '../../../src/netlink/attr';
import {
  encodeTunnelLinkCreate,
  IFLA_GENEVE_COLLECT_METADATA,
  IFLA_GENEVE_PORT,
  IFLA_VXLAN_COLLECT_METADATA,
  IFLA_VXLAN_LEARNING,
  IFLA_VXLAN_PORT,
  TUNNEL_LINK_MTU,
  type TunnelLinkSpec,
} from '../../../src/netlink/tunnel-link';
import { IFINFOMSG_LEN, IFLA_INFO_DATA, IFLA_INFO_KIND, IFLA_LINKINFO, IFLA_MTU } from '../../../src/netlink/rtnl';
import { hexWords, parseAnnotatedHex } from '../../helpers/golden-hex';

const golden = (name: string) =>
  parseAnnotatedHex(fs.readFileSync(path.join(__dirname, '..', '..', 'golden', 'rtnl', name), 'utf8'), name);

const CASES: Array<{ file: string; spec: TunnelLinkSpec; data: Record<number, string> }> = [
  {
    file: 'link-new-vxlan-external.hex',
    spec: { name: 'vx-kb1t', kind: 'vxlan', dstPort: 4789 },
    data: { [IFLA_VXLAN_LEARNING]: '00', [IFLA_VXLAN_COLLECT_METADATA]: '01', [IFLA_VXLAN_PORT]: '12b5' },
  },
  {
    file: 'link-new-geneve-external.hex',
    spec: { name: 'gnv-kb1t', kind: 'geneve', dstPort: 6081 },
    data: { [IFLA_GENEVE_COLLECT_METADATA]: '', [IFLA_GENEVE_PORT]: '17c1' },
  },
];

test.each(CASES)('$file: encoded as the golden bytes', ({ file, spec }) => {
  expect(hexWords(encodeTunnelLinkCreate(spec))).toBe(hexWords(golden(file)));
});

test.each(CASES)(
  '$file: kind, MTU, metadata mode and the big-endian port as the kernel reads them',
  ({ spec, data }) => {
    const attrs = attrTable(encodeTunnelLinkCreate(spec).subarray(IFINFOMSG_LEN));
    expect(getU32(attrs.get(IFLA_MTU)!)).toBe(TUNNEL_LINK_MTU);
    const info = attrTable(attrs.get(IFLA_LINKINFO)!);
    expect(Buffer.from(info.get(IFLA_INFO_KIND)!).toString()).toBe(`${spec.kind}\0`);
    const d = attrTable(info.get(IFLA_INFO_DATA)!);
    for (const [type, hex] of Object.entries(data))
      expect([type, Buffer.from(d.get(Number(type))!).toString('hex')]).toEqual([type, hex]);
  },
);

test('another port is written big-endian', () => {
  const d = attrTable(
    attrTable(
      attrTable(encodeTunnelLinkCreate({ name: 'vx-x', kind: 'vxlan', dstPort: 8472 }).subarray(IFINFOMSG_LEN)).get(
        IFLA_LINKINFO,
      )!,
    ).get(IFLA_INFO_DATA)!,
  );
  expect(Buffer.from(d.get(IFLA_VXLAN_PORT)!).toString('hex')).toBe('2118');
});
