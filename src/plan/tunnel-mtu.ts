/**
 * The MTU a tunnel needs (pure): a frame from a host-facing port leaves the underlay with the tunnel's
 * encapsulation added, 50 bytes over IPv4 (outer IPv4 20 + UDP 8 + VXLAN or option-less Geneve 8 + the inner
 * Ethernet header 14) and 70 over IPv6 (outer header 40). A host-facing port whose MTU plus that exceeds the
 * underlay interface's MTU sends frames the underlay drops (with df) or fragments: the plan warns, with the fix.
 * The underlay interface is the one holding `local`, else the one whose subnet holds the first remote; when
 * neither is found (a remote behind a router) nothing is said.
 */
import { nsKey } from '../live/namespaces';
import { findLink, type LiveLink, type LiveState } from '../live/state';
import type { DesiredState, PortSpec, TunnelSpec } from '../model/types';
import { parseIPv4, parseIPv6 } from '../units/values';

/** Bytes a tunnel adds to an Ethernet frame, by underlay family. */
export const TUNNEL_OVERHEAD = { 4: 50, 6: 70 } as const;
/** The kernel's default MTU of a veth, TAP or NIC whose unit gives none and which does not exist yet. */
const DEFAULT_MTU = 1500;

/** An address as bits (IPv4: 32, IPv6: 128), most significant first; undefined for what is not one. */
function addressBits(text: string): string | undefined {
  const v4 = parseIPv4(text);
  const v6 = v4 ? null : parseIPv6(text);
  if (v4) return v4.map((o) => o.toString(2).padStart(8, '0')).join('');
  return v6?.map((g) => g.toString(2).padStart(16, '0')).join('');
}

/** Whether `address` (IPv4 or IPv6) is `cidr`'s own address (exact) or inside its subnet. */
function inSubnet(cidr: string, address: string, exact: boolean): boolean {
  const [net, len] = cidr.split('/');
  const a = addressBits(address);
  const n = addressBits(net);
  if (a === undefined || n === undefined || a.length !== n.length) return false;
  const bits = exact ? a.length : Number(len);
  return a.slice(0, bits) === n.slice(0, bits);
}

/** The interface of the namespace netmgrd runs in that carries the tunnel's packets, when it can be told. */
export function underlayLink(live: LiveState, t: TunnelSpec): LiveLink | undefined {
  const links = live.links.get(nsKey(null)) ?? [];
  const holds = (exact: boolean, address: string) => (l: LiveLink) =>
    l.addresses.some((c) => inSubnet(c, address, exact));
  if (t.local !== undefined) return links.find(holds(true, t.local));
  return links.find(holds(false, t.remotes[0]));
}

/** A host-facing port's MTU: its unit's, else its interface's now, else the kernel's default. */
function hostPortMtu(live: LiveState, p: PortSpec): number | undefined {
  if (p.kind !== 'internal' && p.kind !== 'veth' && p.kind !== 'system') return undefined;
  if (p.link.mtu !== undefined) return p.link.mtu;
  const link = p.kind === 'system' ? findLink(live, null, p.name) : findLink(live, p.namespace, p.peer ?? p.name);
  return link?.mtu ?? DEFAULT_MTU;
}

/** One note per host-facing port that does not fit through a tunnel port of its bridge, with the fix. */
export function tunnelMtuNotes(desired: DesiredState, live: LiveState): string[] {
  const notes: string[] = [];
  const ports = [...desired.ports.values()];
  for (const tp of ports) {
    const t = tp.tunnel;
    if (t === undefined) continue;
    const under = underlayLink(live, t);
    if (under === undefined) continue;
    const overhead = TUNNEL_OVERHEAD[t.family];
    for (const hp of ports.filter((p) => p.bridge === tp.bridge && p !== tp)) {
      const mtu = hostPortMtu(live, hp);
      if (mtu === undefined || mtu + overhead <= under.mtu) continue;
      notes.push(
        `warning: bridge ${tp.bridge}: port ${hp.name} has MTU ${mtu}; with the ${overhead} bytes tunnel port ` +
          `${tp.name} adds (${tp.kind} over IPv${t.family}) its largest frames need ${mtu + overhead}, above the ` +
          `MTU ${under.mtu} of the underlay interface ${under.name}, and are dropped. Fix: mtu = ` +
          `${under.mtu - overhead} in [link] of ${hp.name}'s unit (and on the hosts behind it), or an underlay MTU ` +
          `of at least ${mtu + overhead}`,
      );
    }
  }
  return notes;
}
