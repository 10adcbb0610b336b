/** Printing a plan: the text `netmgr plan` shows, and the stable JSON document behind `--json`. */
import { nsLabel } from '../live/namespaces';
import { NamespaceName } from '../model/types';
import { Change, Plan, PlanLink, VethEnd, LiveVethEnd } from './types';

export const PLAN_SCHEMA = 'netmgr.plan/1';

const at = (ns: NamespaceName, name: string) => `${name} [${nsLabel(ns)}]`;

function endSettings(e: VethEnd | LiveVethEnd | PlanLink): string {
  const parts: string[] = [];
  if (e.mtu !== undefined) parts.push(`mtu ${e.mtu}`);
  if (e.mac !== undefined) parts.push(`mac ${e.mac}`);
  parts.push(e.state);
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
      return `${c.action === 'create' ? '+' : '-'} address ${c.address} on ${at(c.namespace, c.link)}`;
    case 'bridge':
      if (c.action === 'create') return `+ bridge ${c.name} (datapath ${c.datapath}, policy ${c.policy}; own port ${c.name}: ${endSettings(c.link)})`;
      return `- bridge ${c.name} (datapath ${c.datapath}, policy ${c.policy})  (${c.reason})`;
    case 'port': {
      const where = c.namespace ? `, namespace ${c.namespace}` : '';
      if (c.action === 'create') return `+ port ${c.name} on bridge ${c.bridge} (port ${c.no}, ${c.kind}${where}${c.kind === 'internal' ? `; ${endSettings(c.link)}` : ''})`;
      return `- port ${c.name} on bridge ${c.bridge} (port ${c.no}, ${c.kind}${where})  (${c.reason})`;
    }
    case 'flow':
      return `${c.action === 'create' ? '+' : '-'} flow on ${c.bridge}: ${c.match} actions:${c.actions}`;
  }
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
    if (c.object === 'veth' && c.action === 'delete' && c.reason.startsWith('replaced')) for (const e of c.ends) s.bounce.push(at(e.namespace, e.name));
    if ((c.object === 'port' || c.object === 'bridge') && c.action === 'delete' && c.reason.startsWith('replaced')) s.bounce.push(at(c.object === 'port' ? c.namespace : null, c.name));
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
