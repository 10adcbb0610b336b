/** Printing a plan: the text `netmgr plan` shows, and the stable JSON document behind `--json`. */
import { sameStp, type LearningConfig, type PortVlanConfig, type StaticMacConfig } from '../model/bridges';
import { stpChange } from './format-stp';
import { RTPROT_NETMGR } from '../netlink/route';
import { describeCarried } from './takeover';
import { nsLabel } from '../live/namespaces';
import { MAIN_TABLE, NamespaceName, type TunnelSpec } from '../model/types';
import { Change, Plan, PlanLink, PlanRoute, VethEnd, LiveVethEnd } from './types';

export const PLAN_SCHEMA = 'netmgr.plan/1';

const at = (ns: NamespaceName, name: string) => `${name} [${nsLabel(ns)}]`;

function endSettings(e: VethEnd | LiveVethEnd | PlanLink): string {
  const parts: string[] = [];
  if (e.mtu !== undefined) parts.push(`mtu ${e.mtu}`);
  if (e.mac !== undefined) parts.push(`mac ${e.mac}`);
  parts.push(e.state);
  return parts.join(', ');
}

const vlanLabel = (vlan: number) => (vlan === 0 ? 'untagged' : `VLAN ${vlan}`);
const staticMac = (s: StaticMacConfig) => `static MAC ${s.mac} on ${s.port}, ${vlanLabel(s.vlan)}`;
const staticKey = (s: StaticMacConfig) => `${s.mac}/${s.vlan}/${s.port}`;

/** `vlan 10`, `trunks 10,20, native-vlan 5`, or `no VLAN settings`, as the unit keys are named. */
export function formatVlans(v: PortVlanConfig | undefined): string {
  if (v === undefined) return 'no VLAN settings';
  if (v.access !== undefined) return `vlan ${v.access}`;
  const trunks = `trunks ${v.trunks?.length ? v.trunks.join(',') : '(none)'}`;
  return v.native !== undefined ? `${trunks}, native-vlan ${v.native}` : trunks;
}

/** `vlan 10 -> 20`; for two trunk settings only what differs; otherwise the whole settings on each side. */
function vlanChange(from: PortVlanConfig | undefined, to: PortVlanConfig | undefined): string {
  if (from?.access !== undefined && to?.access !== undefined) return `vlan ${from.access} -> ${to.access}`;
  if (from?.trunks !== undefined && to?.trunks !== undefined) {
    const parts: string[] = [];
    const list = (t: number[]) => (t.length ? t.join(',') : '(none)');
    if (list(from.trunks) !== list(to.trunks)) parts.push(`trunks ${list(from.trunks)} -> ${list(to.trunks)}`);
    if (from.native !== to.native) parts.push(`native-vlan ${from.native ?? '(none)'} -> ${to.native ?? '(none)'}`);
    if (parts.length) return parts.join(', ');
  }
  return `${formatVlans(from)} -> ${formatVlans(to)}`;
}

/** The learning settings of a bridge being created: numbers inline, one indented line per static MAC. */
function learningSettings(l: LearningConfig): { inline: string; lines: string[] } {
  const stp = stpChange(undefined, l.stp);
  return {
    inline: `, mac-aging ${l.macAging}, mac-table-size ${l.macTableSize}${stp.parts.map((p) => `, ${p}`).join('')}`,
    lines: [...l.staticMacs.map((s) => `\n    ${staticMac(s)}`), ...stp.lines],
  };
}

/** `mac-aging 300 -> 60, static MACs +1 -1`, then one indented line per static MAC added or removed. */
function learningChange(from: LearningConfig, to: LearningConfig): string {
  const parts: string[] = [];
  if (from.macAging !== to.macAging) parts.push(`mac-aging ${from.macAging} -> ${to.macAging}`);
  if (from.macTableSize !== to.macTableSize) parts.push(`mac-table-size ${from.macTableSize} -> ${to.macTableSize}`);
  const had = new Set(from.staticMacs.map(staticKey));
  const has = new Set(to.staticMacs.map(staticKey));
  const added = to.staticMacs.filter((s) => !had.has(staticKey(s)));
  const removed = from.staticMacs.filter((s) => !has.has(staticKey(s)));
  if (added.length || removed.length) parts.push(`static MACs +${added.length} -${removed.length}`);
  const stp = sameStp(from.stp, to.stp) ? { parts: [], lines: [] } : stpChange(from.stp, to.stp);
  parts.push(...stp.parts);
  const lines = [
    ...removed.map((s) => `\n    - ${staticMac(s)}`),
    ...added.map((s) => `\n    + ${staticMac(s)}`),
    ...stp.lines,
  ];
  return `${parts.join(', ')}${lines.join('')}`;
}

const IPV6_KEYS = [
  ['acceptRa', 'accept-ra', 'acceptRa', 'accept_ra'],
  ['slaac', 'slaac', 'autoconf', 'autoconf'],
  ['linkLocal', 'link-local', 'addrGenMode', 'addr_gen_mode'],
] as const;

/**
 * "accept-ra true (accept_ra 1 -> 2), link-local false (addr_gen_mode 0 -> 1, removes fe80::1/64)"; on a link the
 * plan creates, only the keys: "accept-ra true".
 */
function formatIpv6Change(c: Extract<Change, { object: 'ipv6' }>): string {
  const { to, from } = c.set;
  const parts: string[] = [];
  for (const [key, name, sysctl, file] of IPV6_KEYS) {
    const want = c.to[key];
    if (want === undefined) continue;
    if (c.created) {
      parts.push(`${name} ${want}`);
      continue;
    }
    const detail: string[] = [];
    if (to[sysctl] !== undefined) detail.push(`${file} ${from[sysctl]} -> ${to[sysctl]}`);
    if (key === 'linkLocal' && to.linkLocal && from.linkLocal?.length)
      detail.push(`removes ${from.linkLocal.join(', ')}`);
    if (detail.length) parts.push(`${name} ${want} (${detail.join(', ')})`);
  }
  return parts.join(', ');
}

export function formatChange(c: Change): string {
  switch (c.object) {
    case 'namespace':
      return `${c.action === 'create' ? '+' : '-'} namespace ${c.name}`;
    case 'veth': {
      const [a, b] = c.ends;
      const pair = `veth ${at(a.namespace, a.name)} <-> ${at(b.namespace, b.name)}`;
      if (c.action === 'create') return `+ ${pair}\n    ${a.name}: ${endSettings(a)}\n    ${b.name}: ${endSettings(b)}`;
      return `- ${pair}  (${c.reason}${c.reason.startsWith('replaced') ? '; bounces' : ''})`;
    }
    case 'link': {
      const f = c.fields;
      const parts: string[] = [];
      if (f.mtu) parts.push(`mtu ${f.mtu.from} -> ${f.mtu.to}`);
      if (f.mac) parts.push(`mac ${f.mac.from || '(none)'} -> ${f.mac.to}`);
      if (f.state) parts.push(`state ${f.state.from} -> ${f.state.to}`);
      return `~ link ${at(c.namespace, c.name)}: ${parts.join(', ')}${c.bounce ? '  (bounces: the link goes down)' : ''}`;
    }
    case 'address':
      return `${c.action === 'create' ? '+' : '-'} address ${c.address} on ${at(c.namespace, c.link)}${c.origin ? '  (dhcp lease)' : ''}`;
    case 'bridge': {
      if (c.action === 'modify') return `~ bridge ${c.name}: ${learningChange(c.learning.from, c.learning.to)}`;
      if (c.action === 'create') {
        const l = c.learning ? learningSettings(c.learning) : { inline: '', lines: [] };
        return `+ bridge ${c.name} (datapath ${c.datapath}, policy ${c.policy}${l.inline}; own port ${c.name}: ${endSettings(c.link)})${l.lines.join('')}`;
      }
      return `- bridge ${c.name} (datapath ${c.datapath}, policy ${c.policy})  (${c.reason})`;
    }
    case 'port': {
      if (c.action === 'modify') return `~ port ${c.name} on ${c.bridge}: ${vlanChange(c.vlans.from, c.vlans.to)}`;
      const where = c.namespace ? `, namespace ${c.namespace}` : '';
      const vlans = c.action === 'create' && c.vlans ? `, ${formatVlans(c.vlans)}` : '';
      if (c.action === 'create')
        return `+ port ${c.name} on bridge ${c.bridge} (port ${c.no}, ${c.kind}${where}${vlans}${c.tunnel ? `; ${tunnelSettings(c.tunnel)}` : ''}${c.kind === 'internal' ? `; ${endSettings(c.link)}` : ''})`;
      return `- port ${c.name} on bridge ${c.bridge} (port ${c.no}, ${c.kind}${where})  (${c.reason})`;
    }
    case 'flow':
      return `${c.action === 'create' ? '+' : '-'} flow on ${c.bridge}: ${c.match} actions:${c.actions}`;
    case 'route':
      return `${c.action === 'create' ? '+' : '-'} route ${formatRoute(c.route)} dev ${at(c.namespace, c.link)}${c.origin ? '  (dhcp lease)' : ''}`;
    case 'dns':
      return `~ resolv.conf name servers: ${c.from.join(' ') || '(none)'} -> ${c.to.join(' ') || '(none: the file goes)'}  (dhcp lease)`;
    case 'ipv6':
      return `~ ipv6 of ${at(c.namespace, c.link)}: ${formatIpv6Change(c)}`;
    case 'takeover': {
      const what = describeCarried(c.record);
      if (c.action === 'delete')
        return `- take over ${c.unit}: ${what} go back from ${c.bridge}'s own port to ${c.unit}`;
      const mac = c.record.mac ? `, which takes ${c.unit}'s MAC ${c.record.mac}` : '';
      return `+ take over ${c.unit}: ${what} move to ${c.bridge}'s own port${mac}`;
    }
  }
}

/** `vni 100, remotes 198.18.0.2 198.18.0.3, udp 4789, ttl 64, df`: what a tunnel port is made with. */
export function tunnelSettings(t: TunnelSpec): string {
  const local = t.local !== undefined ? `, local ${t.local}` : '';
  return `vni ${t.vni}, remotes ${t.remotes.join(' ')}${local}, udp ${t.dstPort}, ttl ${t.ttl}${t.df ? ', df' : ''}`;
}

/** `0.0.0.0/0 via 198.18.0.1 metric 0` (`table N` when not the main table), as `ip route` words it. */
export function formatRoute(r: PlanRoute): string {
  const to = r.to === '0.0.0.0/0' || r.to === '::/0' ? `default (${r.to})` : r.to;
  // netmgr's own routes are what plan and show list by default; another protocol is said (a moved route keeps it).
  const proto = r.protocol !== undefined && r.protocol !== RTPROT_NETMGR ? ` proto ${r.protocol}` : '';
  return `${to}${r.via !== undefined ? ` via ${r.via}` : ''} metric ${r.metric}${r.table !== MAIN_TABLE ? ` table ${r.table}` : ''}${proto}`;
}

export interface PlanSummary {
  create: number;
  modify: number;
  delete: number;
  /** Links that go down while the plan applies: "name [namespace]". */
  bounce: string[];
}

export function summarize(plan: Plan): PlanSummary {
  const s: PlanSummary = { create: 0, modify: 0, delete: 0, bounce: [] };
  for (const c of plan.changes) {
    s[c.action]++;
    if (c.object === 'link' && c.bounce) s.bounce.push(at(c.namespace, c.name));
    if (c.object === 'veth' && c.action === 'delete' && c.reason.startsWith('replaced'))
      for (const e of c.ends) s.bounce.push(at(e.namespace, e.name));
    if ((c.object === 'port' || c.object === 'bridge') && c.action === 'delete' && c.reason.startsWith('replaced'))
      s.bounce.push(at(c.object === 'port' ? c.namespace : null, c.name));
  }
  return s;
}

export function formatPlan(plan: Plan): string {
  const lines: string[] = [];
  for (const n of plan.notes) lines.push(`note: ${n}`);
  if (!plan.changes.length) {
    lines.push('No changes.');
    return lines.join('\n') + '\n';
  }
  for (const c of plan.changes) lines.push(formatChange(c));
  const s = summarize(plan);
  lines.push('');
  lines.push(`Plan: ${s.create} to create, ${s.modify} to modify, ${s.delete} to delete.`);
  if (s.bounce.length) lines.push(`Links that bounce: ${s.bounce.join(', ')}.`);
  return lines.join('\n') + '\n';
}

/** The `plan --json` document. Namespaces are null for the root namespace. */
export function planToJson(plan: Plan): object {
  return { schema: PLAN_SCHEMA, changes: plan.changes, notes: plan.notes, summary: summarize(plan) };
}
