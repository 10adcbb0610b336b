/**
 * The table of sections and keys (see schema.ts for what a row says). One row per key, in the order the man page
 * and `netmgr` help list them; each row's default is checked against its key's type in UnitValues.
 */
import { row } from './schema-row';
import { STP_BRIDGE_ROWS, STP_PORT_ROWS } from './schema-stp';
import { TUNNEL_PORT_ROWS } from './schema-tunnel';
import { PORT_NUMBER_ROWS } from './schema-port-number';
import type { Refusal, SchemaEntry, SectionEntry } from './schema-types';

export const SECTIONS: readonly SectionEntry[] = [
  { name: 'unit', appliesTo: 'both', array: false, doc: 'What the unit is; required in every file.' },
  { name: 'bridge', appliesTo: 'bridge', array: false, doc: 'Switch settings of a bridge unit.' },
  {
    name: 'bridge.flow',
    appliesTo: 'bridge',
    array: true,
    doc: 'One OpenFlow-style rule in ovs-dpctl syntax; only with policy = "flows". Repeat for more rules.',
  },
  {
    name: 'bridge.static-mac',
    appliesTo: 'bridge',
    array: true,
    doc:
      'A static MAC table entry: frames to `mac` in `vlan` always leave through `port`, and the entry is never ' +
      'aged out, evicted or moved by learning. Only with policy = "learning". Repeat for more entries.',
  },
  { name: 'port', appliesTo: 'port', array: false, doc: 'How the port is attached; required in a port unit.' },
  {
    name: 'ipv4',
    appliesTo: 'both',
    array: false,
    doc: "IPv4 addresses: on a bridge's internal port, an internal port, or a veth's peer end.",
  },
  {
    name: 'ipv6',
    appliesTo: 'both',
    array: false,
    doc: "IPv6 addresses: on a bridge's internal port, an internal port, or a veth's peer end.",
  },
  {
    name: 'ipv4.route',
    appliesTo: 'both',
    array: true,
    doc: 'An IPv4 route via the interface the [ipv4] addresses go on. Repeat for more routes.',
  },
  {
    name: 'ipv6.route',
    appliesTo: 'both',
    array: true,
    doc: 'An IPv6 route via the interface the [ipv6] addresses go on. Repeat for more routes.',
  },
  {
    name: 'link',
    appliesTo: 'both',
    array: false,
    doc: "Link settings of the bridge's internal port, an internal port, a system NIC, or a veth's peer end.",
  },
];

const TAP_REFUSAL: Refusal = {
  message:
    'kind = "tap" is not supported: a TAP device is an interface between the kernel and a user program that opens ' +
    'it; a switch does not open it, so frames the host sends on it are never switched',
  hint:
    'use kind = "internal" for an interface the host itself uses, or kind = "system" for a TAP opened by another ' +
    'program (QEMU/KVM)',
};

/** [[ipv4.route]] and [[ipv6.route]]: the same four keys, of one family each. */
function routeRows(f: 'ipv4' | 'ipv6') {
  const family = f === 'ipv4' ? 4 : 6;
  return [
    row(`${f}.route.to`, {
      fills: 'to',
      type: 'route-to',
      family,
      required: true,
      appliesTo: 'both',
      doc: `Destination network in CIDR form with no host bits set, or "default".`,
      example: family === 4 ? '"198.18.64.0/18"' : '"2001:db8:1::/48"',
    }),
    row(`${f}.route.via`, {
      fills: 'via',
      type: 'ip',
      family,
      defaultDoc: 'none: the destination is on the link itself',
      appliesTo: 'both',
      doc: `Next hop; it must lie in the subnet of one of the [${f}] addresses${family === 6 ? ' or be link-local' : ''}.`,
      example: family === 4 ? '"198.18.0.1"' : '"2001:db8::1"',
    }),
    row(`${f}.route.metric`, {
      fills: 'metric',
      type: 'integer',
      range: [0, 4294967295],
      defaultDoc: family === 4 ? "0 (the kernel's default)" : "1024 (the kernel's default)",
      appliesTo: 'both',
      doc: 'Priority: of two routes to the same destination, the lower metric wins.',
      example: '100',
    }),
    row(`${f}.route.table`, {
      fills: 'table',
      type: 'integer',
      range: [1, 4294967295],
      defaultDoc: '254, the main table',
      appliesTo: 'both',
      doc: 'Routing table number (for policy routing with ip rule); 255 (local) is refused.',
      example: '100',
    }),
  ];
}

const ROWS = [
  // [unit]
  row('unit.type', {
    fills: 'type',
    type: 'enum',
    values: ['bridge', 'port'],
    required: true,
    appliesTo: 'both',
    doc: 'Whether the file describes a bridge (a switch) or a port attached to one.',
    example: '"bridge"',
  }),
  row('unit.name', {
    fills: 'name',
    type: 'ifname',
    defaultDoc: 'the file name without .toml',
    appliesTo: 'both',
    doc:
      'Interface name of the bridge or port. Bridges and ports share one name space, so every unit name must be ' +
      'unique.',
    example: '"br0"',
  }),
  // [bridge]
  row('bridge.datapath', {
    fills: 'datapath',
    type: 'enum',
    values: ['auto', 'kernel', 'userspace'],
    default: 'auto',
    appliesTo: 'bridge',
    doc: 'Datapath that forwards frames: the kernel module, the userspace datapath, or whichever is available.',
    example: '"kernel"',
  }),
  row('bridge.policy', {
    fills: 'policy',
    type: 'enum',
    values: ['learning', 'flows'],
    default: 'learning',
    appliesTo: 'bridge',
    doc: 'learning: a MAC-learning switch with VLANs; flows: only the rules given in [[bridge.flow]] forward frames.',
    example: '"flows"',
  }),
  row('bridge.mac-aging', {
    fills: 'macAging',
    type: 'integer',
    range: [15, 3600],
    unit: 'seconds',
    default: 300,
    appliesTo: 'bridge',
    doc: 'How long a learned MAC address is remembered without traffic.',
    example: '300',
  }),
  row('bridge.mac-table-size', {
    fills: 'macTableSize',
    type: 'integer',
    range: [16, 1048576],
    unit: 'entries',
    default: 8192,
    appliesTo: 'bridge',
    doc: 'Maximum number of learned MAC addresses.',
    example: '8192',
  }),
  ...STP_BRIDGE_ROWS,
  // [[bridge.flow]]
  row('bridge.flow.match', {
    fills: 'match',
    type: 'string',
    required: true,
    appliesTo: 'bridge',
    doc: 'Flow key in ovs-dpctl syntax; ports by unit name, or by number when 0 or pinned (`number` in [port]).',
    example: '"in_port(1),eth(),eth_type(0x806),arp()"',
  }),
  row('bridge.flow.actions', {
    fills: 'actions',
    type: 'string',
    required: true,
    appliesTo: 'bridge',
    doc: 'Actions in ovs-dpctl syntax, e.g. an output port name; "drop" drops.',
    example: '"2"',
  }),
  // [[bridge.static-mac]]
  row('bridge.static-mac.mac', {
    fills: 'mac',
    type: 'mac',
    required: true,
    appliesTo: 'bridge',
    doc:
      'Unicast MAC address of the station behind `port` ("-" separators are accepted); multicast and broadcast ' +
      'addresses are refused (such frames are always flooded). Each (mac, vlan) may be listed once per bridge.',
    example: '"02:00:00:00:01:01"',
  }),
  row('bridge.static-mac.port', {
    fills: 'port',
    type: 'ifname',
    required: true,
    appliesTo: 'bridge',
    doc: 'The port unit (of this bridge) that frames to `mac` leave through.',
    example: '"p1"',
  }),
  row('bridge.static-mac.vlan', {
    fills: 'vlan',
    type: 'integer',
    range: [1, 4094],
    defaultDoc: "the port's access VLAN, else its native VLAN, else 0 (untagged, for a port without VLAN settings)",
    appliesTo: 'bridge',
    doc:
      'VLAN of the entry; the port must carry it: an access port only its `vlan`, a trunk port its `trunks` and ' +
      '`native-vlan`, a port without VLAN settings any VLAN.',
    example: '10',
  }),
  // [port]
  row('port.bridge', {
    fills: 'bridge',
    type: 'ifname',
    defaultDoc: 'none; only a veth that directly joins two namespaces may omit it',
    appliesTo: 'port',
    doc: 'Name of the bridge unit this port is attached to.',
    example: '"br0"',
  }),
  row('port.kind', {
    fills: 'kind',
    type: 'enum',
    values: ['system', 'internal', 'veth', 'vxlan', 'geneve'],
    refused: { tap: TAP_REFUSAL },
    required: true,
    appliesTo: 'port',
    doc:
      'system: an existing interface (a NIC, or a TAP opened by another program); internal: an interface created ' +
      'by the switch for the host to use; veth: a veth pair whose unit end joins the bridge and whose peer end is ' +
      'placed in `namespace`; vxlan, geneve: a tunnel port carrying the bridge to other hosts over an IP underlay ' +
      '(keys vni, remotes, local, dst-port, ttl, df; validated, not yet run by either datapath). TAP devices are ' +
      'refused (see the man page).',
    example: '"veth"',
  }),
  row('port.take-over', {
    fills: 'takeOver',
    type: 'boolean',
    default: false,
    appliesTo: 'port',
    doc:
      'kind = "system" only: when the NIC carries addresses or routes (the box is reached through it), move them ' +
      "onto the bridge's own port in the same journaled apply, the bridge's own port taking the NIC's MAC so that " +
      "neighbours' ARP caches stay valid; rollback moves them back. Without it such a NIC is refused. Use " +
      '`netmgr apply --confirm`.',
    example: 'true',
  }),
  row('port.namespace', {
    fills: 'namespace',
    type: 'nsname',
    defaultDoc: 'the root namespace',
    appliesTo: 'port',
    doc:
      'internal: where the interface lives; veth: where the peer end lives; system: where the NIC is. netmgr ' +
      'creates the namespace if needed.',
    example: '"ns1"',
  }),
  row('port.peer', {
    fills: 'peer',
    type: 'ifname',
    defaultDoc: 'the unit name followed by "-peer"',
    appliesTo: 'port',
    doc: 'veth only: name of the peer end. Set it when the default would exceed 15 bytes.',
    example: '"p1-host"',
  }),
  row('port.local-namespace', {
    fills: 'localNamespace',
    type: 'nsname',
    defaultDoc: 'the root namespace',
    appliesTo: 'port',
    doc: 'veth without bridge only: where this end (named by the unit) lives.',
    example: '"ns2"',
  }),
  row('port.local-addresses', {
    fills: 'localAddresses',
    type: 'cidr-list',
    default: [],
    appliesTo: 'port',
    doc: 'veth without bridge only: IPv4 and IPv6 addresses of this end.',
    example: '["198.18.0.2/24"]',
  }),
  row('port.local-mac', {
    fills: 'localMac',
    type: 'mac',
    defaultDoc: 'chosen by the kernel',
    appliesTo: 'port',
    doc: 'veth without bridge only: MAC address of this end.',
    example: '"02:00:00:00:00:02"',
  }),
  row('port.vlan', {
    fills: 'vlan',
    type: 'integer',
    range: [1, 4094],
    defaultDoc: 'none',
    appliesTo: 'port',
    doc: 'Access VLAN: frames enter untagged and are switched in this VLAN. Learning policy only; not with trunks.',
    example: '10',
  }),
  row('port.trunks', {
    fills: 'trunks',
    type: 'integer-list',
    range: [1, 4094],
    default: [],
    appliesTo: 'port',
    doc: 'Trunk VLANs carried tagged on this port, without duplicates. Learning policy only; not with vlan.',
    example: '[10, 20]',
  }),
  row('port.native-vlan', {
    fills: 'nativeVlan',
    type: 'integer',
    range: [1, 4094],
    defaultDoc: 'none: untagged frames on the trunk are dropped',
    appliesTo: 'port',
    doc:
      'Trunk ports only (needs trunks): the VLAN that untagged frames on this port belong to; frames of this VLAN ' +
      'leave the port untagged. It may, but need not, be listed in trunks. Learning policy only.',
    example: '5',
  }),
  ...PORT_NUMBER_ROWS,
  ...STP_PORT_ROWS,
  ...TUNNEL_PORT_ROWS,
  // [ipv4] / [ipv6]
  row('ipv4.addresses', {
    fills: 'addresses',
    type: 'cidr-list',
    family: 4,
    default: [],
    appliesTo: 'both',
    doc: 'IPv4 addresses in CIDR form, prefix length 1..32. Not allowed on a system port.',
    example: '["198.18.0.254/24"]',
  }),
  row('ipv6.addresses', {
    fills: 'addresses',
    type: 'cidr-list',
    family: 6,
    default: [],
    appliesTo: 'both',
    doc: 'IPv6 addresses in CIDR form, prefix length 1..128. Not allowed on a system port.',
    example: '["2001:db8::1/64"]',
  }),
  row('ipv4.gateway', {
    fills: 'routes',
    type: 'ip',
    family: 4,
    defaultDoc: 'none: no default route',
    appliesTo: 'both',
    doc:
      'The default route (0.0.0.0/0) via this router, in the main table, metric 0. It must lie in the subnet of one ' +
      'of the [ipv4] addresses.',
    example: '"198.18.0.1"',
  }),
  row('ipv4.dhcp', {
    fills: 'dhcp4',
    type: 'boolean',
    defaultDoc: 'false: only the static [ipv4] addresses',
    appliesTo: 'both',
    doc:
      'Take an IPv4 address by DHCP, on a bridge unit (its own port) or an internal port; only netmgrd runs the ' +
      "DHCP client (Debian's dhcpcd, one per interface). The lease's address joins the unit's addresses and its " +
      'router becomes the default route via it, metric 1024 (so a static default route elsewhere wins), both ' +
      'applied, verified and removed like any other netmgr address and route. Not with `gateway` in [ipv4].',
    example: 'true',
  }),
  row('ipv4.use-dns', {
    fills: 'useDns',
    type: 'boolean',
    default: false,
    appliesTo: 'both',
    doc:
      "With dhcp = true: the lease's name servers (option 6) go into netmgr's resolver file, resolv.conf in the " +
      'state directory (/var/lib/netmgr/resolv.conf), planned, applied and verified like the lease itself. netmgr ' +
      "never writes /etc/resolv.conf: link it to that file to use it. Several units' servers are merged in unit order.",
    example: 'true',
  }),
  row('ipv6.gateway', {
    fills: 'routes',
    type: 'ip',
    family: 6,
    defaultDoc: 'none: no default route',
    appliesTo: 'both',
    doc:
      'The default route (::/0) via this router, in the main table, metric 1024. It must lie in the subnet of one ' +
      'of the [ipv6] addresses, or be a link-local (fe80::/10) address.',
    example: '"2001:db8::1"',
  }),
  row('ipv6.accept-ra', {
    fills: 'ipv6',
    type: 'boolean',
    defaultDoc: "the kernel's (accept_ra, 1 on Debian: accepted unless the box forwards IPv6)",
    appliesTo: 'both',
    doc:
      'Router advertisements on the interface the [ipv6] addresses go on (a system port: its NIC): true accepts ' +
      'them (sysctl accept_ra = 2, also when IPv6 forwarding is on), so the box takes the default route and, with ' +
      'slaac, addresses from its routers; false ignores them (0), e.g. on a switch port. The routes and addresses ' +
      "they give are the kernel's: netmgr leaves them alone.",
    example: 'false',
  }),
  row('ipv6.slaac', {
    fills: 'ipv6',
    type: 'boolean',
    defaultDoc: "the kernel's (autoconf, 1)",
    appliesTo: 'both',
    doc:
      'Stateless address autoconfiguration (sysctl autoconf): true forms an address from each advertised prefix, ' +
      'false does not. Needs router advertisements: not with accept-ra = false.',
    example: 'true',
  }),
  row('ipv6.link-local', {
    fills: 'ipv6',
    type: 'boolean',
    defaultDoc: "the kernel's (an fe80:: address from the MAC, addr_gen_mode 0)",
    appliesTo: 'both',
    doc:
      'false: the interface has no fe80:: address (sysctl addr_gen_mode = 1, and the one it has is removed), e.g. ' +
      'to keep a "no IP" switch port silent; true: the kernel forms one again (addr_gen_mode 0; netmgr adds the ' +
      'EUI-64 address from the MAC at once). Not with a link-local `gateway` or `via` in [ipv6].',
    example: 'false',
  }),
  ...(['ipv4', 'ipv6'] as const).flatMap((f) => routeRows(f)),
  // [link]
  row('link.mtu', {
    fills: 'mtu',
    type: 'integer',
    range: [68, 65535],
    unit: 'bytes',
    defaultDoc: 'left as the kernel sets it',
    appliesTo: 'both',
    doc: 'MTU; for a veth it applies to both ends.',
    example: '1500',
  }),
  row('link.mac', {
    fills: 'mac',
    type: 'mac',
    defaultDoc: 'chosen by the kernel',
    appliesTo: 'both',
    doc: 'Unicast MAC address, "-" separators are accepted. Not allowed on a system port.',
    example: '"02:00:00:00:00:fe"',
  }),
  row('link.state', {
    fills: 'state',
    type: 'enum',
    values: ['up', 'down'],
    default: 'up',
    appliesTo: 'both',
    doc: 'Administrative state.',
    example: '"up"',
  }),
];

/** Every key, in table order (sections in file order). */
export const SCHEMA: readonly SchemaEntry[] = ROWS;

/** The keys that have a default: Values.get never returns undefined for them. */
export type DefaultedKey = Extract<(typeof ROWS)[number], { default: unknown }>['name'];
