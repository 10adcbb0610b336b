/**
 * The flow model: keys, masks and actions as plain data. A FlowMask has the same shape as its FlowKey; a 1 bit in
 * the mask means "must match exactly", 0 means wildcard (the kernel's convention). Attributes are optional: an
 * absent attribute is absent from the netlink KEY and MASK. MACs are 48-bit integers and IPv4 addresses u32
 * integers (both exact in a JS number), so keys compare and hash without allocation; IPv6 addresses are 16 bytes.
 */
import { NetmgrError } from '../util/errors';

export type Mac = number;
export type Ipv4Address = number;
export type Ipv6Address = Uint8Array;

export interface EthernetKey {
  src: Mac;
  dst: Mac;
}
export interface Ipv4Key {
  src: Ipv4Address;
  dst: Ipv4Address;
  proto: number;
  tos: number;
  ttl: number;
  frag: number;
}
export interface Ipv6Key {
  src: Ipv6Address;
  dst: Ipv6Address;
  label: number;
  proto: number;
  tclass: number;
  hlimit: number;
  frag: number;
}
/** TCP, UDP and SCTP share the layout `{be16 src, be16 dst}`. */
export interface PortsKey {
  src: number;
  dst: number;
}
export interface IcmpKey {
  type: number;
  code: number;
}
export interface ArpKey {
  sip: Ipv4Address;
  tip: Ipv4Address;
  op: number;
  sha: Mac;
  tha: Mac;
}
export interface NdKey {
  target: Ipv6Address;
  sll: Mac;
  tll: Mac;
}

/**
 * The outer header of a tunnelled packet (OVS_KEY_ATTR_TUNNEL, nested OVS_TUNNEL_KEY_ATTR_*): on receipt what the
 * tunnel port decapsulated, in set(tunnel(...)) what to encapsulate with. A zero field is absent on the wire,
 * except ttl (always sent) and tunId (sent when TUN_FLAG.KEY is set). IPv4 and IPv6 endpoints do not mix.
 */
export interface TunnelKey {
  /** be64 tunnel ID (the VNI of VXLAN and Geneve in its low 24 bits), 8 bytes in network order. */
  tunId: Uint8Array;
  src: Ipv4Address;
  dst: Ipv4Address;
  ipv6Src: Ipv6Address;
  ipv6Dst: Ipv6Address;
  tos: number;
  ttl: number;
  tpSrc: number;
  tpDst: number;
  /** TUN_FLAG bits (OVS's FLOW_TNL_F_*): OAM, DF, CSUM and KEY (tun_id present). */
  flags: number;
}

export interface FlowKey {
  priority?: number;
  skbMark?: number;
  recircId?: number;
  dpHash?: number;
  tunnel?: TunnelKey;
  inPort?: number;
  eth?: EthernetKey;
  /** For a VLAN frame this is the TPID (0x8100/0x88a8); the inner EtherType lives in `encap`. */
  ethType?: number;
  /** VLAN TCI including the CFI bit (0x1000), which a present tag must have. */
  vlan?: number;
  /** Keys after a VLAN tag (OVS_KEY_ATTR_ENCAP): ethType, vlan + encap (802.1ad), L3 and L4. */
  encap?: FlowKey;
  ipv4?: Ipv4Key;
  ipv6?: Ipv6Key;
  arp?: ArpKey;
  tcp?: PortsKey;
  tcpFlags?: number;
  udp?: PortsKey;
  sctp?: PortsKey;
  icmp?: IcmpKey;
  icmpv6?: IcmpKey;
  nd?: NdKey;
}

export type FlowMask = FlowKey;

/** Names of FlowKey properties that hold one attribute each (everything but `encap`). */
export type KeyAttrName = Exclude<keyof FlowKey, 'encap'>;

export type FlowAction =
  | { type: 'output'; port: number }
  /** OVS_ACTION_ATTR_DROP with a reason (0 = XLATE_OK). Kernels before 6.6 need an empty list instead. */
  | { type: 'drop'; reason: number }
  | { type: 'userspace'; pid: number; userdata?: Uint8Array; actions?: boolean; tunnelOutPort?: number }
  /** `key` holds exactly one attribute. */
  | { type: 'set'; key: FlowKey }
  | { type: 'setMasked'; key: FlowKey; mask: FlowMask }
  | { type: 'pushVlan'; tpid: number; tci: number }
  | { type: 'popVlan' }
  /** probability is out of 0xffffffff, as on the wire. */
  | { type: 'sample'; probability: number; actions: FlowActions }
  | { type: 'clone'; actions: FlowActions }
  | { type: 'recirc'; id: number }
  | { type: 'trunc'; maxLen: number };

/** An empty list means drop. */
export type FlowActions = FlowAction[];

/** Resolves port names in `in_port(...)` and output actions. */
export interface PortTable {
  byName(name: string): number | undefined;
  nameOf(no: number): string | undefined;
  /** Why a port written as a number is refused here (the parser fails at its token); undefined accepts it. */
  refuseNumber?(no: number): string | undefined;
}

/** Where something was written in the user's text; columns are 1-based. */
export interface SourceSpan {
  column: number;
  token: string;
}

/** A parsed flow: key, mask, optional UFID, and the position of every attribute/field for error messages. */
export interface Flow {
  key: FlowKey;
  mask: FlowMask;
  ufid?: Uint8Array;
  /** Keyed by attribute path, e.g. "ipv4", "ipv4.proto", "encap.ipv4", "encap.encap.tcp.dst". */
  spans?: Map<string, SourceSpan>;
}

export interface ParsedActions {
  actions: FlowActions;
  /** Keyed by action path, e.g. "0", "2.actions.1". */
  spans?: Map<string, SourceSpan>;
}

export interface FlowStats {
  packets: number;
  bytes: number;
  /** ms timestamp of the last hit, or undefined */ used?: number;
  tcpFlags: number;
}

/** A parse or validation problem with the position of the offending token. */
export class FlowError extends NetmgrError {
  constructor(
    message: string,
    readonly column: number,
    readonly token: string,
    /** Which text the column refers to. */
    readonly source: 'flow' | 'actions' = 'flow',
  ) {
    super('invalid', message);
  }
}
