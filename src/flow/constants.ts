/**
 * Kernel ABI numbers for the OVS flow family (include/uapi/linux/openvswitch.h), named as the kernel names them
 * so that grep across the two code bases works. Userspace-only values (OVS's superset header) are listed only
 * where the kernel explicitly rejects them.
 */

export const OVS_FLOW_ATTR = {
  UNSPEC: 0,
  KEY: 1,
  ACTIONS: 2,
  STATS: 3,
  TCP_FLAGS: 4,
  USED: 5,
  CLEAR: 6,
  MASK: 7,
  PROBE: 8,
  UFID: 9,
  UFID_FLAGS: 10,
  PAD: 11,
} as const;

export const OVS_KEY_ATTR = {
  UNSPEC: 0,
  ENCAP: 1,
  PRIORITY: 2,
  IN_PORT: 3,
  ETHERNET: 4,
  VLAN: 5,
  ETHERTYPE: 6,
  IPV4: 7,
  IPV6: 8,
  TCP: 9,
  UDP: 10,
  ICMP: 11,
  ICMPV6: 12,
  ARP: 13,
  ND: 14,
  SKB_MARK: 15,
  TUNNEL: 16,
  SCTP: 17,
  TCP_FLAGS: 18,
  DP_HASH: 19,
  RECIRC_ID: 20,
  MPLS: 21,
  CT_STATE: 22,
  CT_ZONE: 23,
  CT_MARK: 24,
  CT_LABELS: 25,
  CT_ORIG_TUPLE_IPV4: 26,
  CT_ORIG_TUPLE_IPV6: 27,
  NSH: 28,
  PACKET_TYPE: 29,
  ND_EXTENSIONS: 30,
  TUNNEL_INFO: 31,
  IPV6_EXTHDRS: 32,
} as const;
export const OVS_KEY_ATTR_MAX = 32;
/** Pinned by the 2022 uAPI fix: userspace-only (29, 30) and kernel-internal (31); the kernel rejects them. */
export const OVS_KEY_ATTR_UNSUPPORTED: readonly number[] = [29, 30, 31];

/** Nested in OVS_KEY_ATTR_TUNNEL (enum ovs_tunnel_key_attr). */
export const OVS_TUNNEL_KEY_ATTR = {
  ID: 0,
  IPV4_SRC: 1,
  IPV4_DST: 2,
  TOS: 3,
  TTL: 4,
  DONT_FRAGMENT: 5,
  CSUM: 6,
  OAM: 7,
  GENEVE_OPTS: 8,
  TP_SRC: 9,
  TP_DST: 10,
  VXLAN_OPTS: 11,
  IPV6_SRC: 12,
  IPV6_DST: 13,
  PAD: 14,
  ERSPAN_OPTS: 15,
  IPV4_INFO_BRIDGE: 16,
} as const;
export const OVS_TUNNEL_KEY_ATTR_MAX = 16;

/** Tunnel flags as OVS numbers them (FLOW_TNL_F_*), and the names `flags(...)` prints, in bit order. */
export const TUN_FLAG = { OAM: 1, DF: 2, CSUM: 4, KEY: 8 } as const;
export const TUN_FLAGS_MASK = 0xf;
export const TUN_FLAG_NAMES: ReadonlyArray<readonly [number, string]> = [
  [TUN_FLAG.OAM, 'oam'],
  [TUN_FLAG.DF, 'df'],
  [TUN_FLAG.CSUM, 'csum'],
  [TUN_FLAG.KEY, 'key'],
];

export const OVS_ACTION_ATTR = {
  UNSPEC: 0,
  OUTPUT: 1,
  USERSPACE: 2,
  SET: 3,
  PUSH_VLAN: 4,
  POP_VLAN: 5,
  SAMPLE: 6,
  RECIRC: 7,
  HASH: 8,
  PUSH_MPLS: 9,
  POP_MPLS: 10,
  SET_MASKED: 11,
  CT: 12,
  TRUNC: 13,
  PUSH_ETH: 14,
  POP_ETH: 15,
  CT_CLEAR: 16,
  PUSH_NSH: 17,
  POP_NSH: 18,
  METER: 19,
  CLONE: 20,
  CHECK_PKT_LEN: 21,
  ADD_MPLS: 22,
  DEC_TTL: 23,
  DROP: 24,
  PSAMPLE: 25,
} as const;
export const OVS_ACTION_ATTR_MAX = 25;

export const OVS_USERSPACE_ATTR = { UNSPEC: 0, PID: 1, USERDATA: 2, EGRESS_TUN_PORT: 3, ACTIONS: 4 } as const;
export const OVS_SAMPLE_ATTR = { UNSPEC: 0, PROBABILITY: 1, ACTIONS: 2 } as const;

export const OVS_FRAG_TYPE = { NONE: 0, FIRST: 1, LATER: 2 } as const;
export const FRAG_NAMES: readonly string[] = ['no', 'first', 'later'];

/** `DP_MAX_PORTS`: port numbers must be below this (kernel datapath.h). */
export const DP_MAX_PORTS = 65535;
/** `MAX_ACTIONS_BUFSIZE` (flow_netlink.c): "Flow action size exceeds max". */
export const MAX_ACTIONS_BUFSIZE = 32 * 1024;
/** `MAX_UFID_LENGTH`. */
export const MAX_UFID_LENGTH = 16;
export const ETH_HLEN = 14;

export const ETH_P = {
  IP: 0x0800,
  ARP: 0x0806,
  RARP: 0x8035,
  VLAN_8021Q: 0x8100,
  VLAN_8021AD: 0x88a8,
  IPV6: 0x86dd,
  MPLS_UC: 0x8847,
  MPLS_MC: 0x8848,
  NSH: 0x894f,
  /** kernel key value for 802.3 frames without SNAP */ P802_2: 0x0004,
} as const;
/** EtherTypes below this are 802.3 lengths (`eth_proto_is_802_3`). */
export const ETH_P_802_3_MIN = 0x0600;

export const IPPROTO = {
  ICMP: 1,
  TCP: 6,
  UDP: 17,
  IPV6_HOPOPTS: 0,
  IPV6_ROUTING: 43,
  IPV6_FRAGMENT: 44,
  ESP: 50,
  AH: 51,
  ICMPV6: 58,
  IPV6_NONXT: 59,
  IPV6_DSTOPTS: 60,
  SCTP: 132,
} as const;

/** The mask of a 48-bit MAC field matched exactly. */
export const MAC_EXACT = 0xffffffffffff;

export const VLAN_CFI = 0x1000;
export const VLAN_VID_MASK = 0x0fff;
export const VLAN_PCP_SHIFT = 13;
export const IPV6_LABEL_MASK = 0x000fffff;
export const TCP_FLAGS_MASK = 0x0fff;
export const ND_NEIGHBOR_SOLICIT = 135;
export const ND_NEIGHBOR_ADVERT = 136;

/** TCP flag names in bit order, as lib/packets.c `packet_tcp_flag_to_string` prints them. */
export const TCP_FLAG_NAMES: ReadonlyArray<readonly [number, string]> = [
  [0x001, 'fin'],
  [0x002, 'syn'],
  [0x004, 'rst'],
  [0x008, 'psh'],
  [0x010, 'ack'],
  [0x020, 'urg'],
  [0x040, 'ece'],
  [0x080, 'cwr'],
  [0x100, 'ns'],
  [0x200, '[200]'],
  [0x400, '[400]'],
  [0x800, '[800]'],
];

/** `enum slow_path_reason` names (lib/odp-util.h), bit i = 1 << i. */
export const SLOW_PATH_REASONS: readonly string[] = ['cfm', 'bfd', 'lacp', 'stp', 'lldp', 'action', 'match'];
/** `struct user_action_cookie` is 48 bytes; `userspace(pid=N)` carries an all-zero one (type UNSPEC). */
export const USER_ACTION_COOKIE_LEN = 48;
export const USER_ACTION_COOKIE_SLOW_PATH = 2;
export const OFPP_NONE = 0xffff;

/** Host byte order, for the attributes the kernel keeps in host order (u32 ports, marks, PIDs). */
export { HOST_IS_LITTLE_ENDIAN } from '../netlink/attr';
