/**
 * The learning switch behind tunnel ports (pure): one tunnel port reaches many remotes, so a MAC is learned on
 * (tunnel port, remote), known unicast goes to that remote only with set(tunnel(dst=remote)), and flooding is
 * head-end replication, one set(tunnel)+output per remote (as OVS's NORMAL over tunnels). Split horizon: a frame
 * that came from a tunnel port never leaves by a tunnel port of the same bridge, so a full mesh of hosts does not
 * loop (OVS has no such rule and loops without RSTP).
 */
import { TUN_FLAG, type FlowAction, type FlowMask, type TunnelKey } from '../../flow';
import { formatIpv4 } from '../../flow/text';
import type { TunnelSpec } from '../../model/types';

/** What the decision needs of a tunnel port: its VNI, remotes (u32), outer TTL and DF, and `local` (u32, 0: none). */
export interface TunnelPortView {
  vni: number;
  remotes: readonly number[];
  ttl: number;
  df: boolean;
  local: number;
}

/** An IPv4 address as a u32 (the underlay of a userspace tunnel port is IPv4: plan/support.ts refuses IPv6). */
const ipv4 = (s: string): number => s.split('.').reduce((v, o) => v * 256 + Number(o), 0);

export function tunnelPortView(t: TunnelSpec): TunnelPortView {
  return { vni: t.vni, remotes: t.remotes.map(ipv4), ttl: t.ttl, df: t.df, local: t.local ? ipv4(t.local) : 0 };
}

const allOnes = (n: number): Uint8Array => new Uint8Array(n).fill(0xff);

function tunnelKey(vni: number, src: number, dst: number, ttl: number, flags: number): TunnelKey {
  const tunId = new Uint8Array(8);
  tunId[5] = (vni >> 16) & 0xff;
  tunId[6] = (vni >> 8) & 0xff;
  tunId[7] = vni & 0xff;
  const z16 = new Uint8Array(16);
  return { tunId, src, dst, ipv6Src: z16, ipv6Dst: new Uint8Array(16), tos: 0, ttl, tpSrc: 0, tpDst: 0, flags };
}

/**
 * The tunnel part of the megaflow mask of a frame from a tunnel port: tun_id and the remote exact (where the
 * source is learned depends on the remote), nothing else.
 */
export function tunnelIngressMask(mask: FlowMask): void {
  mask.tunnel = tunnelKey(0, 0xffffffff, 0, 0, 0);
  mask.tunnel.tunId = allOnes(8);
}

/** The remote a frame from tunnel port `t` came from, or why it is not switched. */
export function ingressRemote(t: TunnelPortView, tunnel: TunnelKey | undefined): { remote: number } | { drop: string } {
  if (tunnel === undefined || tunnel.src === 0) return { drop: 'from a tunnel port without tunnel metadata' };
  if (!t.remotes.includes(tunnel.src))
    return { drop: `from ${formatIpv4(tunnel.src)}, which is no remote of the port` };
  return { remote: tunnel.src };
}

/**
 * set(tunnel(tun_id=VNI, src=local, dst=remote, ttl, flags(df|key))): what sends the next output to that remote.
 * src is there when the unit gives `local` (the kernel's tunnel device takes the source from it; the userspace
 * datapath's socket is bound to it already).
 */
export function setTunnelAction(t: TunnelPortView, remote: number): FlowAction {
  const flags = TUN_FLAG.KEY | (t.df ? TUN_FLAG.DF : 0);
  return { type: 'set', key: { tunnel: tunnelKey(t.vni, t.local, remote, t.ttl, flags) } };
}

export const describeRemote = (remote: number): string => `remote ${formatIpv4(remote)}`;
