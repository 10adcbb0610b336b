/**
 * [ipv6] accept-ra, slaac and link-local (pure): each unit's settings against the sysctl values and fe80:: addresses
 * of the interface its addresses go on. A key a unit does not give is never planned: the kernel's value stays.
 */
import { nsKey } from '../live/namespaces';
import { findLink, type LiveLink, type LiveState } from '../live/state';
import type { DesiredState, Ipv6Settings, NamespaceName } from '../model/types';
import { IN6_ADDR_GEN_MODE_EUI64, IN6_ADDR_GEN_MODE_NONE } from '../netlink/rtnl';
import { deletedLinks, linkKey } from './routes';
import type { Change, Ipv6Sysctls } from './types';

/** accept_ra 2: advertisements are accepted even when the box forwards IPv6 (1 would ignore them then). */
export const ACCEPT_RA_ALWAYS = 2;

interface Ipv6Target {
  unit: string;
  namespace: NamespaceName;
  link: string;
  settings: Ipv6Settings;
}

/** Where each unit's [ipv6] settings apply: the bridge's own port, the internal port, the veth's peer end, the NIC. */
function targets(desired: DesiredState): Ipv6Target[] {
  const out: Ipv6Target[] = [];
  for (const b of desired.bridges.values()) out.push({ unit: b.name, namespace: null, link: b.name, settings: b.ipv6 });
  for (const p of desired.ports.values())
    out.push({ unit: p.name, namespace: p.namespace, link: p.kind === 'veth' ? p.peer! : p.name, settings: p.ipv6 });
  return out.filter((t) => Object.keys(t.settings).length > 0);
}

/** Links the plan creates: the values they start with are the kernel's defaults, unknown here. */
function createdLinks(changes: readonly Change[]): Set<string> {
  const out = new Set<string>(deletedLinks(changes).keys());
  for (const c of changes) {
    if (c.action !== 'create') continue;
    if (c.object === 'veth') for (const e of c.ends) out.add(linkKey(e.namespace, e.name));
    if (c.object === 'port' && c.kind === 'internal') out.add(linkKey(c.namespace, c.name));
    if (c.object === 'bridge') out.add(linkKey(null, c.name));
  }
  return out;
}

/** The values that give `s` (for a link the plan creates: all of them, from nothing). */
function wantedSysctls(s: Ipv6Settings): Ipv6Sysctls {
  return {
    ...(s.acceptRa !== undefined ? { acceptRa: s.acceptRa ? ACCEPT_RA_ALWAYS : 0 } : {}),
    ...(s.slaac !== undefined ? { autoconf: s.slaac ? 1 : 0 } : {}),
    ...(s.linkLocal === false ? { addrGenMode: IN6_ADDR_GEN_MODE_NONE, linkLocal: [] } : {}),
    ...(s.linkLocal === true ? { addrGenMode: IN6_ADDR_GEN_MODE_EUI64 } : {}),
  };
}

/**
 * The difference on a live link, or undefined when it has what the unit wants. link-local = true wants any mode but
 * NONE (stable-privacy modes form an fe80:: address too); writing EUI64 makes the kernel form the address itself.
 */
function diffSysctls(s: Ipv6Settings, l: LiveLink): { to: Ipv6Sysctls; from: Ipv6Sysctls } | undefined {
  const have = l.ipv6;
  if (!have) return undefined;
  const want = wantedSysctls(s);
  const to: Ipv6Sysctls = {};
  const from: Ipv6Sysctls = {};
  if (want.acceptRa !== undefined && want.acceptRa !== have.acceptRa) {
    to.acceptRa = want.acceptRa;
    from.acceptRa = have.acceptRa;
  }
  if (want.autoconf !== undefined && want.autoconf !== have.autoconf) {
    to.autoconf = want.autoconf;
    from.autoconf = have.autoconf;
  }
  const modeOk =
    s.linkLocal === false ? have.addrGenMode === IN6_ADDR_GEN_MODE_NONE : have.addrGenMode !== IN6_ADDR_GEN_MODE_NONE;
  if (s.linkLocal !== undefined && !modeOk) {
    to.addrGenMode = want.addrGenMode;
    from.addrGenMode = have.addrGenMode;
    if (s.linkLocal) from.linkLocal = l.linkLocal ?? [];
  }
  if (s.linkLocal === false && (l.linkLocal ?? []).length > 0) {
    to.linkLocal = [];
    from.linkLocal = l.linkLocal;
  }
  return Object.keys(to).length ? { to, from } : undefined;
}

/** The [ipv6] changes, given the plan's other changes (for the links they create or re-create). */
export function planIpv6Changes(desired: DesiredState, live: LiveState, others: readonly Change[]): Change[] {
  const created = createdLinks(others);
  const out: Change[] = [];
  for (const t of targets(desired)) {
    const l = findLink(live, t.namespace, t.link);
    const base = { action: 'modify', object: 'ipv6', unit: t.unit, namespace: t.namespace, link: t.link } as const;
    if (!l || created.has(linkKey(t.namespace, t.link)) || !live.links.has(nsKey(t.namespace))) {
      out.push({ ...base, to: t.settings, created: true, set: { to: wantedSysctls(t.settings), from: {} } });
      continue;
    }
    const set = diffSysctls(t.settings, l);
    if (set) out.push({ ...base, to: t.settings, created: false, set });
  }
  return out;
}
