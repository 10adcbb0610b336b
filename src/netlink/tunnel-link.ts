/**
 * rtnetlink: VXLAN and Geneve devices in metadata mode (iproute2's `external`), the tunnel devices a kernel
 * datapath attaches as netdev vports. Such a device has no VNI or remote of its own: the flow's set(tunnel(...))
 * gives them per packet, and a received packet's outer header comes up in the flow key. It learns nothing (the
 * datapath's policy does). Constants carry the kernel's names (include/uapi/linux/if_link.h).
 */
import { NlAttrWriter, RTNETLINK_RULES } from './attr';
import { NLM_F_CREATE, NLM_F_EXCL, type NetlinkSocket } from './socket';
import {
  encodeIfInfoMsg,
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_LINKINFO,
  IFLA_MTU,
  RTM_NEWLINK,
} from './rtnl';

/** enum IFLA_VXLAN_* (the ones netmgr writes). */
export const IFLA_VXLAN_LEARNING = 7;
export const IFLA_VXLAN_PORT = 15;
export const IFLA_VXLAN_UDP_ZERO_CSUM6_RX = 20;
export const IFLA_VXLAN_COLLECT_METADATA = 25;

/** enum IFLA_GENEVE_* (the ones netmgr writes). */
export const IFLA_GENEVE_PORT = 5;
export const IFLA_GENEVE_COLLECT_METADATA = 6;
export const IFLA_GENEVE_UDP_ZERO_CSUM6_RX = 10;

/**
 * The device MTU: as large as the kernel lets a tunnel device be (IP_MAX_MTU less the headers), so the datapath
 * never drops an inner frame for the device's MTU; the underlay's MTU is what limits (plan warns about it).
 */
export const TUNNEL_LINK_MTU = 65000;

export interface TunnelLinkSpec {
  name: string;
  kind: 'vxlan' | 'geneve';
  /** UDP port the device listens on and sends to (the set(tunnel) may not give one). */
  dstPort: number;
}

/**
 * RTM_NEWLINK's payload for `ip link add NAME mtu 65000 type vxlan external nolearning dstport PORT udp6zerocsumrx`
 * (geneve: `type geneve external dstport PORT udp6zerocsumrx`). Zero-checksum IPv6 datagrams are accepted, as
 * Linux's own and OVS's tunnel ports do. Pure.
 */
export function encodeTunnelLinkCreate(s: TunnelLinkSpec): Uint8Array {
  const w = new NlAttrWriter(RTNETLINK_RULES, 128).putStruct(encodeIfInfoMsg({}));
  w.putString(IFLA_IFNAME, s.name).putU32(IFLA_MTU, TUNNEL_LINK_MTU);
  w.nested(IFLA_LINKINFO, (li) => {
    li.putString(IFLA_INFO_KIND, s.kind);
    li.nested(IFLA_INFO_DATA, (d) => {
      if (s.kind === 'vxlan') {
        d.putU8(IFLA_VXLAN_LEARNING, 0);
        d.putU8(IFLA_VXLAN_COLLECT_METADATA, 1);
        d.putBe16(IFLA_VXLAN_PORT, s.dstPort);
        d.putU8(IFLA_VXLAN_UDP_ZERO_CSUM6_RX, 1);
      } else {
        d.putFlag(IFLA_GENEVE_COLLECT_METADATA);
        d.putBe16(IFLA_GENEVE_PORT, s.dstPort);
        d.putU8(IFLA_GENEVE_UDP_ZERO_CSUM6_RX, 1);
      }
    });
  });
  return w.finish();
}

/** Creates the device (down); throws NetlinkError (EEXIST: the name or the kernel's one-per-port rule). */
export function createTunnelLink(sock: NetlinkSocket, s: TunnelLinkSpec): void {
  sock.request(
    RTM_NEWLINK,
    NLM_F_CREATE | NLM_F_EXCL,
    encodeTunnelLinkCreate(s),
    `create ${s.kind} device ${s.name} (UDP port ${s.dstPort})`,
  );
}
