/**
 * A tunnel port of the userspace datapath: a kernel UDP socket bound to the port's `local` address (or every
 * address) and `dst-port`, in the namespace the datapath runs in (the underlay). The kernel writes and strips the
 * outer IP and UDP headers, routes, and resolves neighbours; this module only adds and removes the VXLAN or Geneve
 * header (tunnel-header.ts) and keeps the per-remote counters. Static flood-and-learn: a datagram from an address
 * that is not one of `remotes`, or of another VNI, is dropped and counted here, before the datapath sees it.
 * The socket is opened synchronously (udpOpen), so a taken port or a missing address fails addPort itself.
 */
import * as dgram from 'dgram';
import { native } from '../../native';
import { tunnelKeyProblem } from '../../flow/tunnel';
import { TUN_FLAG, vniOfTunId, type FlowMask, type TunnelKey } from '../../flow';
import { canonicalIpText, formatIpv4, formatIpv6, scanIpv4 } from '../../flow/text';
import type { DpPortInfo, DpPortSpec, DpPortStats, DpTunnelConfig, DpTunnelRemoteStats, DpTunnelStats } from '../types';
import { DatapathError, zeroPortStats } from '../types';
import { completeForWire, VNET_HDR_LEN } from './packet';
import { segmentTcp } from './segment';
import { decapsulate, encapsulate, VNI_MAX } from './tunnel-header';
import { TunnelEndpointIds } from './tunnel-endpoints';

/** Where a decapsulated frame goes: `buf[off, off+len)` is a virtio-net header (zero) and the inner frame. */
export type TunnelDelivery = (buf: Buffer, off: number, len: number, src: number, dst: number) => void;

const ANY: Record<4 | 6, string> = { 4: '0.0.0.0', 6: '::' };
/** An IPv4 address as a u32 (0 for what is not one). */
const parseIpv4 = (s: string): number => scanIpv4(s, 0)?.value ?? 0;
/** The largest UDP payload a socket takes (IPv4: 65535 - 20 - 8; over IPv6, without jumbograms, 65535 - 8). */
const MAX_UDP_PAYLOAD = 65507;

/** One remote: its counters, and the word that stands for it in the packed key (its IPv4 address, or its id). */
interface RemoteEntry {
  stats: DpTunnelRemoteStats;
  word: number;
}

export class TunnelPort {
  readonly stats: DpPortStats = zeroPortStats();
  private readonly drops = { rxUnknownRemote: 0, rxOtherVni: 0, rxMalformed: 0 };
  /** Per remote, by its address as text (canonicalIpText; also as dgram writes a sender, once it has). */
  private readonly remotes = new Map<string, RemoteEntry>();
  /** The packed key's word for `local` (0: none). */
  private readonly local: number;
  /** Destination text of a set(tunnel(ipv6_dst=...)), by the action's address bytes (actions are kept). */
  private readonly ipv6DstText = new WeakMap<Uint8Array, string>();
  /** A decapsulated frame is copied here behind a zero virtio-net header (the datapath's receive layout). */
  private readonly rxBuf = Buffer.alloc(VNET_HDR_LEN + MAX_UDP_PAYLOAD);
  private readonly socket: dgram.Socket;
  private ttl: number;
  private closed = false;

  /**
   * Opens the socket. Throws DatapathError: EBUSY when the UDP port is taken, ENOENT when this namespace has no
   * such `local` address. An IPv6 underlay's endpoints are keyed by their ids in `ids` (tunnel-endpoints.ts).
   */
  constructor(
    readonly no: number,
    readonly name: string,
    readonly config: DpTunnelConfig,
    private readonly deliver: TunnelDelivery,
    private readonly log: (line: string) => void,
    private readonly ids: TunnelEndpointIds,
  ) {
    const word = (a: string) => (config.family === 4 ? parseIpv4(a) : ids.idOfText(a));
    for (const r of config.remotes) {
      const stats = { address: r, rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0 };
      this.remotes.set(canonicalIpText(r), { stats, word: word(r) });
    }
    this.local = config.local === undefined ? 0 : word(config.local);
    this.ttl = config.ttl;
    const fd = openSocket(name, config);
    const family = config.family;
    // The address is always a literal: resolve it in place, so that a send is handed to the kernel at once.
    this.socket = dgram.createSocket({
      type: family === 4 ? 'udp4' : 'udp6',
      lookup: (address, _opts, cb) => (cb as (e: null, a: string, f: number) => void)(null, address, family),
    });
    this.socket.on('message', (msg, rinfo) => this.receive(msg, rinfo.address));
    this.socket.on('error', (e) => this.log(`${name}: tunnel socket: ${e.message}`));
    this.socket.bind({ fd });
  }

  /** The remote a datagram came from, by dgram's text for its sender (remembered under that text once found). */
  private remoteFrom(from: string): RemoteEntry | undefined {
    let r = this.remotes.get(from);
    if (r === undefined && this.config.family === 6) {
      r = this.remotes.get(canonicalIpText(from));
      if (r !== undefined) this.remotes.set(from, r);
    }
    return r;
  }

  /** One datagram from `from`: counted, checked, decapsulated and handed to the datapath. Never throws. */
  private receive(msg: Buffer, from: string): void {
    if (this.closed) return;
    const remote = this.remoteFrom(from);
    if (remote === undefined) {
      this.drops.rxUnknownRemote++;
      this.stats.rxDropped++;
      return;
    }
    const d = decapsulate(this.config.kind, msg);
    if ('drop' in d) {
      this.drops.rxMalformed++;
      this.stats.rxErrors++;
      return;
    }
    if (d.vni !== this.config.vni) {
      this.drops.rxOtherVni++;
      this.stats.rxDropped++;
      return;
    }
    const frameLen = msg.length - d.offset;
    remote.stats.rxPackets++;
    remote.stats.rxBytes += frameLen;
    this.stats.rxPackets++;
    this.stats.rxBytes += frameLen;
    msg.copy(this.rxBuf, VNET_HDR_LEN, d.offset);
    this.deliver(this.rxBuf, 0, VNET_HDR_LEN + frameLen, remote.word, this.local);
  }

  /**
   * Sends `buf[off, off+len)` (virtio-net header, then the frame) to the destination of `tunnel` (the set(tunnel)
   * in effect; none: the frame has nowhere to go, as in the kernel, and counts as a transmit error). The frame's
   * offloaded checksum is completed in place; a TCP GSO super-frame is cut into segments (segment.ts); any other
   * GSO frame (UDP) is dropped and counted.
   */
  send(buf: Buffer, off: number, len: number, tunnel: TunnelKey | undefined): void {
    const vni = tunnel && vniOfTunId(tunnel.tunId);
    const dst = tunnel && this.destinationOf(tunnel);
    if (this.closed || tunnel === undefined || dst === undefined || vni === undefined) {
      this.stats.txErrors++;
      return;
    }
    if (tunnel.ttl !== 0 && tunnel.ttl !== this.ttl) {
      this.socket.setTTL(tunnel.ttl);
      this.ttl = tunnel.ttl;
    }
    // A host's TCP super-frame (TSO) is cut here: nothing below segments a UDP payload.
    const frames = completeForWire(buf, off, len)
      ? [buf.subarray(off + VNET_HDR_LEN, off + len)]
      : segmentTcp(buf, off, len);
    if (frames === undefined) {
      this.stats.txDropped++;
      return;
    }
    for (const frame of frames) this.sendFrame(frame, vni, dst);
  }

  /** Where set(tunnel(...)) sends, as text of this port's underlay family; undefined: nowhere it can. */
  private destinationOf(t: TunnelKey): string | undefined {
    if (this.config.family === 4) return t.dst === 0 ? undefined : formatIpv4(t.dst);
    let text = this.ipv6DstText.get(t.ipv6Dst);
    if (text === undefined) {
      if (t.ipv6Dst.every((b) => b === 0)) return undefined;
      text = formatIpv6(t.ipv6Dst);
      this.ipv6DstText.set(t.ipv6Dst, text);
    }
    return text;
  }

  private sendFrame(frame: Uint8Array, vni: number, dst: string): void {
    if (frame.length + 8 > MAX_UDP_PAYLOAD) {
      this.stats.txDropped++;
      return;
    }
    const payload = encapsulate(this.config.kind, vni, frame);
    this.socket.send(payload, this.config.dstPort, dst, (e) => {
      if (e) this.stats.txErrors++;
    });
    this.stats.txPackets++;
    this.stats.txBytes += frame.length;
    const remote = this.remotes.get(dst);
    if (remote !== undefined) {
      remote.stats.txPackets++;
      remote.stats.txBytes += frame.length;
    }
  }

  tunnelStats(): DpTunnelStats {
    // A remote may be in the map twice (by its text and by dgram's); counted once.
    const remotes = [...new Set([...this.remotes.values()].map((r) => r.stats))];
    return { remotes: remotes.map((r) => ({ ...r })), ...this.drops };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }
}

/** The bound socket's fd, or the reason it cannot be had in the datapath's own terms. */
function openSocket(name: string, c: DpTunnelConfig): number {
  const address = c.local ?? ANY[c.family];
  const at = c.family === 4 ? `${address}:${c.dstPort}` : `[${address}]:${c.dstPort}`;
  try {
    return native().udpOpen(address, c.dstPort, c.ttl, c.df);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'EADDRINUSE')
      throw new DatapathError('EBUSY', `${name}: UDP port ${at} is already taken by another socket in this namespace`);
    if (code === 'EADDRNOTAVAIL')
      throw new DatapathError('ENOENT', `${name}: local address ${c.local} is on no interface of this namespace`);
    throw new DatapathError('EINVAL', `${name}: cannot open UDP ${at}: ${(e as Error).message}`);
  }
}

/**
 * Refuses a match on tunnel fields this datapath does not key on (it keys tun_id and the src and dst words of the
 * packed key: IPv4 addresses, or IPv6 ones as ids, matched exactly; run after toTableFlow, so an IPv6 mask left
 * here is a partial one): such a flow would match packets it must not.
 */
export function checkTunnelMatch(mask: FlowMask): void {
  const m = mask.tunnel;
  if (m === undefined) return;
  const other =
    m.tos !== 0 ||
    m.ttl !== 0 ||
    m.tpSrc !== 0 ||
    m.tpDst !== 0 ||
    m.ipv6Src.some((x) => x !== 0) ||
    m.ipv6Dst.some((x) => x !== 0) ||
    (m.flags & ~TUN_FLAG.KEY) !== 0;
  if (other)
    throw new DatapathError(
      'EOPNOTSUPP',
      'the userspace datapath matches tunnel(tun_id, src, dst, ipv6_src, ipv6_dst) only, IPv6 endpoints exactly: not tos, ttl, tp_src, tp_dst, flags or part of an IPv6 address',
    );
}

/** The kernel's rules for set(tunnel(...)) (a destination, a TTL), and a VNI here. */
export function checkTunnelSet(t: TunnelKey): void {
  const problem = tunnelKeyProblem(t, t.ttl !== 0);
  if (problem !== undefined) throw new DatapathError('EINVAL', `set(tunnel(...)) ${problem}`);
  if (vniOfTunId(t.tunId) === undefined)
    throw new DatapathError('EINVAL', `set(tunnel(...)): tun_id does not fit a 24-bit VNI (0..${VNI_MAX})`);
}

/** Where a tunnel port's decapsulated frames go: the datapath's receive path, told which port. */
export type TunnelReceive = (t: TunnelPort, buf: Buffer, off: number, len: number, src: number, dst: number) => void;

/** The tunnel ports of one datapath, by number, with the dense array its hot path indexes. */
export class TunnelPorts {
  private readonly ports = new Map<number, TunnelPort>();
  /** The ids of IPv6 endpoints in the packed key, for every tunnel port and flow of the datapath. */
  readonly ids = new TunnelEndpointIds();
  /** Index = port number; undefined where the number is no tunnel port. Rebuilt by reindex(). */
  byNo: Array<TunnelPort | undefined> = [];

  /** Opens a tunnel port (throws DatapathError as TunnelPort does); the caller reindexes. */
  add(spec: DpPortSpec, receive: TunnelReceive, log: ((line: string) => void) | undefined): DpPortInfo {
    if (spec.tunnel === undefined) throw new DatapathError('EINVAL', `tunnel port ${spec.name} has no tunnel settings`);
    const t: TunnelPort = new TunnelPort(
      spec.no,
      spec.name,
      spec.tunnel,
      (buf, off, len, src, dst) => receive(t, buf, off, len, src, dst),
      log ?? (() => undefined),
      this.ids,
    );
    this.ports.set(spec.no, t);
    return infoOf(t);
  }

  /** Closes and forgets port `no`; false when it is no tunnel port. The caller reindexes. */
  remove(no: number): boolean {
    const t = this.ports.get(no);
    if (t === undefined) return false;
    t.close();
    this.ports.delete(no);
    return true;
  }

  get(no: number): TunnelPort | undefined {
    return this.ports.get(no);
  }

  numbers(): number[] {
    return [...this.ports.keys()];
  }

  specs(): DpPortSpec[] {
    return [...this.ports.values()].map((t) => ({ no: t.no, name: t.name, type: 'tunnel', tunnel: t.config }));
  }

  infos(): DpPortInfo[] {
    return [...this.ports.values()].map(infoOf);
  }

  /** Rebuilds byNo for port numbers below `size`. */
  reindex(size: number): void {
    this.byNo = new Array<TunnelPort | undefined>(size).fill(undefined);
    for (const [no, t] of this.ports) this.byNo[no] = t;
  }

  closeAll(): void {
    for (const t of this.ports.values()) t.close();
    this.ports.clear();
    this.byNo = [];
  }
}

function infoOf(t: TunnelPort): DpPortInfo {
  return {
    no: t.no,
    name: t.name,
    type: 'tunnel',
    tunnel: t.config,
    ifindex: 0,
    stats: { ...t.stats },
    tunnelStats: t.tunnelStats(),
  };
}
