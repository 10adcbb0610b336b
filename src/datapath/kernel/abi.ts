/**
 * The openvswitch kernel module's generic netlink ABI (include/uapi/linux/openvswitch.h): families, commands,
 * attributes, vport types, user features. Named as the kernel names them so grep works across both code bases.
 * Flow key and action numbers live in src/flow/constants.ts (shared with the userspace datapath).
 */

export const OVS_DATAPATH_FAMILY = 'ovs_datapath';
export const OVS_VPORT_FAMILY = 'ovs_vport';
export const OVS_FLOW_FAMILY = 'ovs_flow';
export const OVS_PACKET_FAMILY = 'ovs_packet';
export const OVS_DATAPATH_MCGROUP = 'ovs_datapath';
export const OVS_VPORT_MCGROUP = 'ovs_vport';
export const OVS_FLOW_MCGROUP = 'ovs_flow';

/** The four families netmgr needs; ovs_meter and ovs_ct_limit are optional (as in OVS's dpif_netlink_init). */
export const REQUIRED_FAMILIES = [OVS_DATAPATH_FAMILY, OVS_VPORT_FAMILY, OVS_FLOW_FAMILY, OVS_PACKET_FAMILY] as const;

/** `OVS_DATAPATH_VERSION`; below OVS_DP_VER_FEATURES (2) the kernel drops all user features. */
export const OVS_DATAPATH_VERSION = 2;
export const OVS_VPORT_VERSION = 1;
export const OVS_FLOW_VERSION = 1;
export const OVS_PACKET_VERSION = 1;

/** `struct ovs_header { int dp_ifindex; }`, host order, after the genlmsghdr of every request. */
export const OVS_HEADER_LEN = 4;

export const OVS_DP_CMD = { UNSPEC: 0, NEW: 1, DEL: 2, GET: 3, SET: 4 } as const;
export const OVS_VPORT_CMD = { UNSPEC: 0, NEW: 1, DEL: 2, GET: 3, SET: 4 } as const;
export const OVS_FLOW_CMD = { UNSPEC: 0, NEW: 1, DEL: 2, GET: 3, SET: 4 } as const;
export const OVS_PACKET_CMD = { UNSPEC: 0, MISS: 1, ACTION: 2, EXECUTE: 3 } as const;

export const OVS_DP_ATTR = {
  UNSPEC: 0,
  NAME: 1,
  UPCALL_PID: 2,
  STATS: 3,
  MEGAFLOW_STATS: 4,
  USER_FEATURES: 5,
  PAD: 6,
  MASKS_CACHE_SIZE: 7,
  PER_CPU_PIDS: 8,
  IFINDEX: 9,
} as const;

export const OVS_DP_F = {
  /** Allow the last attribute of an upcall to be unaligned (the packet: no copy to pad it). */
  UNALIGNED: 1 << 0,
  /** Each vport carries its own array of upcall PIDs. */
  VPORT_PIDS: 1 << 1,
  TC_RECIRC_SHARING: 1 << 2,
  DISPATCH_UPCALL_PER_CPU: 1 << 3,
} as const;
/** A bit no kernel knows: a kernel that accepts it does not check features (OVS's probe for old kernels). */
export const OVS_DP_F_PROBE_UNKNOWN = 1 << 31;

export const OVS_VPORT_ATTR = {
  UNSPEC: 0,
  PORT_NO: 1,
  TYPE: 2,
  NAME: 3,
  OPTIONS: 4,
  UPCALL_PID: 5,
  STATS: 6,
  PAD: 7,
  IFINDEX: 8,
  NETNSID: 9,
  UPCALL_STATS: 10,
} as const;

/** Vport types the kernel implements (OVS's header adds userspace-only ones >= 105: never sent). */
export const OVS_VPORT_TYPE = { UNSPEC: 0, NETDEV: 1, INTERNAL: 2, GRE: 3, VXLAN: 4, GENEVE: 5 } as const;
export const VPORT_TYPE_NAMES: Record<number, string> = {
  1: 'netdev',
  2: 'internal',
  3: 'gre',
  4: 'vxlan',
  5: 'geneve',
};

export const OVS_PACKET_ATTR = {
  UNSPEC: 0,
  PACKET: 1,
  KEY: 2,
  ACTIONS: 3,
  USERDATA: 4,
  EGRESS_TUN_KEY: 5,
  UNUSED1: 6,
  UNUSED2: 7,
  PROBE: 8,
  MRU: 9,
  LEN: 10,
  HASH: 11,
  UPCALL_PID: 12,
} as const;

export const OVS_UFID_F = { OMIT_KEY: 1 << 0, OMIT_MASK: 1 << 1, OMIT_ACTIONS: 1 << 2 } as const;

/** `OVSP_LOCAL`: the datapath's own internal port, created with it, named after it. */
export const OVSP_LOCAL = 0;

// Wire structs, all u64 fields in host order (4-byte aligned in netlink).

/** `struct ovs_dp_stats` (32 bytes). */
export interface OvsDpStats {
  nHit: number;
  nMissed: number;
  nLost: number;
  nFlows: number;
}
export const OVS_DP_STATS_LEN = 32;

/** `struct ovs_dp_megaflow_stats` (32 bytes). */
export interface OvsDpMegaflowStats {
  nMaskHit: number;
  nMasks: number;
  nCacheHit: number;
}
export const OVS_DP_MEGAFLOW_STATS_LEN = 32;

/** `struct ovs_vport_stats` (64 bytes), in the struct's order. */
export interface OvsVportStats {
  rxPackets: number;
  txPackets: number;
  rxBytes: number;
  txBytes: number;
  rxErrors: number;
  txErrors: number;
  rxDropped: number;
  txDropped: number;
}
export const OVS_VPORT_STATS_LEN = 64;
export const OVS_VPORT_STATS_FIELDS: readonly (keyof OvsVportStats)[] = [
  'rxPackets',
  'txPackets',
  'rxBytes',
  'txBytes',
  'rxErrors',
  'txErrors',
  'rxDropped',
  'txDropped',
];

/** `struct ovs_flow_stats` (16 bytes). */
export interface OvsFlowStats {
  nPackets: number;
  nBytes: number;
}
export const OVS_FLOW_STATS_LEN = 16;
