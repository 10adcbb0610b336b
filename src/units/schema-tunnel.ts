/**
 * The tunnel keys of [port] (kind = "vxlan" or "geneve"): static flood-and-learn over an IP underlay, with keys
 * named as systemd-networkd's [VXLAN] and nmstate's vxlan name them. Rules between keys (one underlay family, a
 * remote that is not `local`, tunnel keys only on tunnel ports) are in tunnel.ts.
 */
import { row } from './schema-row';

const TUNNEL_ONLY = 'kind = "vxlan" or "geneve" only.';

/** IANA's ports; the Linux kernel's own VXLAN default, 8472, is the pre-standard one (vxlan_core.c). */
export const VXLAN_PORT = 4789;
export const GENEVE_PORT = 6081;

export const TUNNEL_PORT_ROWS = [
  row('port.vni', {
    fills: 'vni',
    type: 'integer',
    range: [0, 16777215],
    defaultDoc: 'none: required on a tunnel port',
    appliesTo: 'port',
    doc:
      'The virtual network identifier (24 bits) of the segment; every host of the segment uses the same one. ' +
      TUNNEL_ONLY,
    example: '100',
  }),
  row('port.remotes', {
    fills: 'remotes',
    type: 'underlay-ip-list',
    defaultDoc: 'none: required on a tunnel port, at least one',
    appliesTo: 'port',
    doc:
      'Underlay unicast addresses of the other hosts of the segment, each listed once, all IPv4 or all IPv6 (the ' +
      'family of `local` when it is given); not multicast (static flood-and-learn: broadcast and unknown frames go ' +
      'to each remote) and not `local` itself. ' +
      TUNNEL_ONLY,
    example: '["198.18.0.2", "198.18.0.3"]',
  }),
  row('port.local', {
    fills: 'local',
    type: 'underlay-ip',
    defaultDoc: "none: the source address of the kernel's route to each remote",
    appliesTo: 'port',
    doc: 'Underlay source address of the outer packets, a unicast address of this host. ' + TUNNEL_ONLY,
    example: '"198.18.0.1"',
  }),
  row('port.dst-port', {
    fills: 'dstPort',
    type: 'integer',
    range: [1, 65535],
    defaultDoc: `${VXLAN_PORT} for vxlan and ${GENEVE_PORT} for geneve (IANA's ports; the Linux kernel's own VXLAN default is 8472, so give dst-port = 8472 to talk to a Linux vxlan device made without dstport)`,
    appliesTo: 'port',
    doc: 'UDP port the tunnel sends to and receives on; the same on every host of the segment. ' + TUNNEL_ONLY,
    example: '4789',
  }),
  row('port.ttl', {
    fills: 'ttl',
    type: 'integer',
    range: [1, 255],
    default: 64,
    appliesTo: 'port',
    doc: 'TTL (IPv6: hop limit) of the outer packets. ' + TUNNEL_ONLY,
    example: '64',
  }),
  row('port.df', {
    fills: 'df',
    type: 'boolean',
    default: true,
    appliesTo: 'port',
    doc:
      "Set the outer IPv4 header's don't-fragment bit, as Open vSwitch does by default: an encapsulated frame that " +
      'does not fit the underlay MTU is dropped rather than fragmented (false lets the underlay fragment it). ' +
      TUNNEL_ONLY,
    example: 'true',
  }),
];
