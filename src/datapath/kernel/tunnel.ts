/**
 * Tunnel ports of the kernel datapath, as OVS makes them on current kernels: a VXLAN or Geneve device in metadata
 * mode (src/netlink/tunnel-link.ts), brought up (that opens its UDP socket) and attached as a netdev vport. The
 * kernel encapsulates for set(tunnel(...)) + output and puts a received packet's outer header into the flow key
 * (OVS_KEY_ATTR_TUNNEL), so the policy sees the same FlowKey.tunnel the userspace datapath gives it.
 *
 * One metadata device takes every VNI and every sender on its UDP port, where the userspace datapath's socket
 * filters them: screen() drops, before the policy, what came from an address that is no remote or carries
 * another VNI, as the userspace datapath does, and says which drop flow keeps the next ones in the kernel.
 */
import { createHash } from 'crypto';
import { TUN_FLAG, tunnelEndpointText, vniOfTunId, type FlowKey, type FlowMask } from '../../flow';
import { zeroTunnel } from '../../flow/tunnel';
import { canonicalIpText } from '../../flow/text';
import { createTunnelLink } from '../../netlink/tunnel-link';
import { deleteLink, dumpAddrs, getLinkByName, setLink } from '../../netlink/rtnl';
import { NETLINK_ROUTE, NetlinkError, NetlinkSocket } from '../../netlink/socket';
import { hasErrno } from '../../util/errors';
import { DatapathError, type DpPortSpec, type DpTunnelConfig } from '../types';

/** IFNAMSIZ less the NUL. */
const IFNAME_MAX = 15;
const PREFIX: Record<DpTunnelConfig['kind'], string> = { vxlan: 'vx-', geneve: 'gnv-' };

/**
 * The tunnel device's name for port unit `name`: `vx-NAME` / `gnv-NAME`, or, when that is longer than IFNAMSIZ
 * allows, the prefix, the name's start and 4 hex digits of its SHA-1 (stable across restarts and hosts).
 */
export function tunnelDeviceName(kind: DpTunnelConfig['kind'], name: string): string {
  const whole = PREFIX[kind] + name;
  if (whole.length <= IFNAME_MAX) return whole;
  const hash = createHash('sha1').update(name).digest('hex').slice(0, 4);
  return `${PREFIX[kind]}${name.slice(0, IFNAME_MAX - PREFIX[kind].length - 5)}-${hash}`;
}

/** A tunnel port's spec, its settings required. */
export type KernelTunnelSpec = DpPortSpec & { tunnel: DpTunnelConfig };

export function asTunnelSpec(spec: DpPortSpec): KernelTunnelSpec {
  if (spec.tunnel === undefined) throw new DatapathError('EINVAL', `tunnel port ${spec.name} has no tunnel settings`);
  return spec as KernelTunnelSpec;
}

/**
 * Why a packet from tunnel port `t` is not the policy's (pure): from no remote of the port, or of another VNI.
 * Undefined when it is.
 */
export function screenTunnelKey(t: DpTunnelConfig, key: FlowKey): string | undefined {
  const from = key.tunnel && tunnelEndpointText(key.tunnel.src, key.tunnel.ipv6Src);
  if (from === undefined) return 'without tunnel metadata';
  if (!t.remotes.some((r) => canonicalIpText(r) === from)) return `from ${from}, which is no remote of the port`;
  const vni = vniOfTunId(key.tunnel!.tunId);
  if (vni !== t.vni) return `of VNI ${vni ?? 'out of range'}, not the port's ${t.vni}`;
  return undefined;
}

/**
 * The mask of the drop flow for such packets: the port, tun_id and the sender (IPv4 src, or IPv6 src when that is
 * what the key carries: a mask on src alone would drop every IPv6 sender), nothing else.
 */
export function screenDropMask(key: FlowKey): FlowMask {
  const tunnel = zeroTunnel();
  tunnel.tunId.fill(0xff);
  if (key.tunnel !== undefined && key.tunnel.src === 0 && key.tunnel.ipv6Src.some((b) => b !== 0))
    tunnel.ipv6Src.fill(0xff);
  else tunnel.src = 0xffffffff;
  tunnel.flags = TUN_FLAG.KEY;
  return { inPort: 0xffffffff, tunnel };
}

/** Deletes a tunnel device; a device already gone is no error. */
export function deleteTunnelDevice(rtnl: NetlinkSocket, device: string): void {
  const link = getLinkByName(rtnl, device);
  if (link === undefined) return;
  try {
    deleteLink(rtnl, link.index, `tunnel device ${device}`);
  } catch (e) {
    if (!hasErrno(e, 'ENODEV')) throw e;
  }
}

/**
 * Creates `device` for tunnel port `s` and brings it up. A device of that name and kind attached nowhere is a
 * leftover of a netmgrd that died between the two steps: it is replaced. Throws DatapathError with the reason;
 * on a failure no device remains.
 */
export function makeTunnelDevice(rtnl: NetlinkSocket, s: KernelTunnelSpec, device: string): number {
  const t = s.tunnel;
  if (t.local !== undefined && !dumpAddrs(rtnl).some((a) => a.address === t.local))
    throw new DatapathError('ENOENT', `${s.name}: local address ${t.local} is on no interface of this namespace`);
  const spec = { name: device, kind: t.kind, dstPort: t.dstPort };
  try {
    createTunnelLink(rtnl, spec);
  } catch (e) {
    if (!hasErrno(e, 'EEXIST')) throw createError(s, device, e);
    const old = getLinkByName(rtnl, device);
    if (old === undefined || old.kind !== t.kind || old.master !== undefined) throw createError(s, device, e);
    deleteLink(rtnl, old.index, `stale tunnel device ${device}`);
    try {
      createTunnelLink(rtnl, spec);
    } catch (again) {
      throw createError(s, device, again);
    }
  }
  const link = getLinkByName(rtnl, device);
  try {
    if (link === undefined) throw new DatapathError('ENOENT', `${s.name}: device ${device} vanished once created`);
    setLink(rtnl, link.index, { up: true }, `tunnel device ${device} up`);
  } catch (e) {
    deleteTunnelDevice(rtnl, device);
    if (hasErrno(e, 'EADDRINUSE'))
      throw new DatapathError(
        'EBUSY',
        `${s.name}: UDP port ${t.dstPort} is already taken by another socket in this namespace (bringing ${device} up: EADDRINUSE)`,
      );
    throw e instanceof DatapathError ? e : new DatapathError('EINVAL', `${s.name}: ${(e as Error).message}`);
  }
  return link.index;
}

/** A failed RTM_NEWLINK in the datapath's terms. */
function createError(s: KernelTunnelSpec, device: string, e: unknown): Error {
  const t = s.tunnel;
  const kernel = e instanceof NetlinkError && e.kernelMessage ? ` (kernel: ${e.kernelMessage})` : '';
  if (hasErrno(e, 'EEXIST'))
    return new DatapathError(
      'EBUSY',
      `${s.name}: cannot create ${t.kind} device ${device}: an interface of that name exists, or another ${t.kind} device in metadata mode already serves UDP port ${t.dstPort} in this namespace${kernel}`,
    );
  if (hasErrno(e, 'EOPNOTSUPP'))
    return new DatapathError(
      'EOPNOTSUPP',
      `${s.name}: the kernel cannot make ${t.kind} devices (load its module: \`modprobe ${t.kind}\`)${kernel}`,
    );
  return new DatapathError('EINVAL', `${s.name}: cannot create ${t.kind} device ${device}: ${(e as Error).message}`);
}

/** One tunnel port: its spec and the device that is its vport. */
interface KernelTunnel {
  spec: KernelTunnelSpec;
  device: string;
}

/** Drops of screen() logged one by one before they are logged one in a thousand. */
const LOGGED_DROPS = 5;

/** A datapath's tunnel ports by number, their devices, and the rtnetlink socket that makes them. */
export class KernelTunnelPorts {
  private readonly ports = new Map<number, KernelTunnel>();
  private rtnl: NetlinkSocket | undefined;
  /** Packets screen() kept from the policy. */
  dropped = 0;

  constructor(private readonly log: (line: string) => void) {}

  get size(): number {
    return this.ports.size;
  }

  /** The ports of a datapath taken over or inspected (from netmgr's record): their devices exist. */
  remember(specs: readonly DpPortSpec[]): void {
    for (const s of specs) {
      const spec = asTunnelSpec(s);
      this.ports.set(s.no, { spec, device: tunnelDeviceName(spec.tunnel.kind, s.name) });
    }
  }

  private socket(): NetlinkSocket {
    return (this.rtnl ??= new NetlinkSocket(NETLINK_ROUTE));
  }

  /**
   * Makes port `s`'s device and hands its name to `attach` (which adds the vport); when attach throws, the device
   * is deleted again and the error goes on.
   */
  add<T>(s: DpPortSpec, attach: (device: string) => T): T {
    const spec = asTunnelSpec(s);
    const device = tunnelDeviceName(spec.tunnel.kind, s.name);
    makeTunnelDevice(this.socket(), spec, device);
    // Known before the vport is added, so the port attach() reports is shown as the tunnel port.
    this.ports.set(s.no, { spec, device });
    try {
      return attach(device);
    } catch (e) {
      this.ports.delete(s.no);
      deleteTunnelDevice(this.socket(), device);
      throw e;
    }
  }

  /** After port `no`'s vport went: deletes its device. False when `no` is no tunnel port. */
  remove(no: number): boolean {
    const t = this.ports.get(no);
    if (t === undefined) return false;
    deleteTunnelDevice(this.socket(), t.device);
    this.ports.delete(no);
    return true;
  }

  /** The settings of tunnel port `no`; undefined when `no` is no tunnel port. */
  config(no: number): DpTunnelConfig | undefined {
    return this.ports.get(no)?.spec.tunnel;
  }

  /** How vport `no` named `vportName` is shown: as its tunnel port, when it is one. */
  describe(no: number, vportName: string): KernelTunnelSpec | undefined {
    const t = this.ports.get(no);
    return t !== undefined && t.device === vportName ? t.spec : undefined;
  }

  /**
   * The drop flow for a packet the policy must not see (see screenTunnelKey), counted and logged; undefined for
   * what is the policy's.
   */
  screen(inPort: number, key: FlowKey): { key: FlowKey; mask: FlowMask } | undefined {
    const t = this.ports.get(inPort);
    if (t === undefined) return undefined;
    const why = screenTunnelKey(t.spec.tunnel, key);
    if (why === undefined) return undefined;
    this.dropped++;
    if (this.dropped <= LOGGED_DROPS || this.dropped % 1000 === 0)
      this.log(
        `tunnel port ${t.spec.name}: dropped a packet ${why} (${this.dropped} so far); a drop flow keeps the next ones`,
      );
    return { key, mask: screenDropMask(key) };
  }

  /** Deletes every device (the datapath is being deleted: its netdev vports' devices would stay). */
  destroyAll(): void {
    for (const no of [...this.ports.keys()]) {
      try {
        this.remove(no);
      } catch (e) {
        this.log(`deleting tunnel device ${this.ports.get(no)?.device}: ${(e as Error).message}`);
      }
    }
  }

  close(): void {
    this.rtnl?.close();
    this.rtnl = undefined;
  }
}
