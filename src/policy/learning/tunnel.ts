/**
 * The learning switch behind tunnel ports (pure): one tunnel port reaches many remotes, so a MAC is learned on
 * (tunnel port, remote), known unicast goes to that remote only with set(tunnel(dst=remote)), and flooding is
 * head-end replication, one set(tunnel)+output per remote (as OVS's NORMAL over tunnels). Split horizon: a frame
 * that came from a tunnel port never leaves by a tunnel port of the same bridge, so a full mesh of hosts does not
 * loop (OVS has no such rule and loops without RSTP).
 */
import { TUN_FLAG, tunIdOfVni, tunnelEndpointText, type FlowAction, type FlowMask, type TunnelKey } from '../../flow';
import { canonicalIpText, parseIpv6, scanIpv4 } from '../../flow/text';
import type { TunnelSpec } from '../../model/types';

/**
 * A remote of a tunnel port: its underlay address as text (dotted quad, or IPv6 as the flow formatter writes it),
 * so that a remote read from a packet's tunnel key compares equal to the one in the port's settings.
 */
export type Remote = string;

/** What the decision needs of a tunnel port: its VNI, underlay family, remotes, outer TTL and DF, and `local`. */
export interface TunnelPortView {
  vni: number;
  family: 4 | 6;
  remotes: readonly Remote[];
  ttl: number;
  df: boolean;
  local?: Remote;
}

export function tunnelPortView(t: TunnelSpec): TunnelPortView {
  const remotes = t.remotes.map(canonicalIpText);
  return { vni: t.vni, family: t.family, remotes, ttl: t.ttl, df: t.df, local: t.local };
}

const allOnes = (n: number): Uint8Array => new Uint8Array(n).fill(0xff);

/** A tunnel key with tun_id = vni (0 for none), the endpoints of `family` set from their text (absent: zero). */
function tunnelKey(vni: number, family: 4 | 6, src: Remote | undefined, dst: Remote | undefined): TunnelKey {
  const v4 = (a: Remote | undefined) => (family === 4 && a !== undefined ? (scanIpv4(a, 0)?.value ?? 0) : 0);
  const v6 = (a: Remote | undefined) =>
    family === 6 && a !== undefined ? (parseIpv6(a) ?? new Uint8Array(16)) : new Uint8Array(16);
  return {
    tunId: tunIdOfVni(vni),
    src: v4(src),
    dst: v4(dst),
    ipv6Src: v6(src),
    ipv6Dst: v6(dst),
    tos: 0,
    ttl: 0,
    tpSrc: 0,
    tpDst: 0,
    flags: 0,
  };
}

/**
 * The tunnel part of the megaflow mask of a frame from tunnel port `t`: tun_id and the remote (IPv4 src, or IPv6
 * src over an IPv6 underlay) exact, since where the source is learned depends on the remote; nothing else.
 */
export function tunnelIngressMask(mask: FlowMask, t: TunnelPortView): void {
  mask.tunnel = tunnelKey(0, t.family, undefined, undefined);
  mask.tunnel.tunId = allOnes(8);
  if (t.family === 4) mask.tunnel.src = 0xffffffff;
  else mask.tunnel.ipv6Src = allOnes(16);
}

/** The remote a frame from tunnel port `t` came from, or why it is not switched. */
export function ingressRemote(t: TunnelPortView, tunnel: TunnelKey | undefined): { remote: Remote } | { drop: string } {
  const from = tunnel === undefined ? undefined : tunnelEndpointText(tunnel.src, tunnel.ipv6Src);
  if (from === undefined) return { drop: 'from a tunnel port without tunnel metadata' };
  if (!t.remotes.includes(from)) return { drop: `from ${from}, which is no remote of the port` };
  return { remote: from };
}

/**
 * set(tunnel(tun_id=VNI, src=local, dst=remote, ttl, flags(df|key))) (ipv6_src/ipv6_dst over an IPv6 underlay):
 * what sends the next output to that remote. src is there when the unit gives `local` (the kernel's tunnel device
 * takes the source from it; the userspace datapath's socket is bound to it already).
 */
export function setTunnelAction(t: TunnelPortView, remote: Remote): FlowAction {
  const key = tunnelKey(t.vni, t.family, t.local, remote);
  key.ttl = t.ttl;
  key.flags = TUN_FLAG.KEY | (t.df ? TUN_FLAG.DF : 0);
  return { type: 'set', key: { tunnel: key } };
}

export const describeRemote = (remote: Remote): string => `remote ${remote}`;
