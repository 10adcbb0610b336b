/**
 * `netmgr status`: per object whether the live system has what the units say. Pure: the caller plans the unit
 * set in force and the one on disk against the live state; this module sorts each object into
 *   realised  - live matches the unit set in force;
 *   drifted   - it was applied, but the live state no longer matches (changed by hand, a NIC gone);
 *   pending   - the units on disk say something not applied yet (watch off, a confirm outstanding, a rolled-back
 *               set, an apply still queued);
 *   failed    - the last apply of the units on disk failed (rolled back) and this object is among what it changes.
 */
import type { HostInterface } from '../model/host';
import type { DatapathType, DesiredState } from '../model/types';
import { formatChange } from '../plan/format';
import type { Change } from '../plan/types';
import type { DpPortStats, DpStats, DpTunnelStats } from '../datapath/types';
import type { ApplyCounters, ApplyOutcome } from './records';

export type ObjectState = 'realised' | 'pending' | 'drifted' | 'failed';

export interface ObjectStatus {
  /** bridge, port or namespace (for a unit no longer on disk: what its changes touch). */
  object: string;
  name: string;
  state: ObjectState;
  /** What differs (plan lines), empty when realised. */
  changes: string[];
}

export interface PortCounters {
  no: number;
  name: string;
  stats: DpPortStats;
  /** A tunnel port's remotes with their counters, and its receive drops by reason. */
  tunnel?: DpTunnelStats;
}

export interface BridgeCounters {
  name: string;
  datapath: string;
  /** Why it runs on that datapath: its unit's `datapath` setting and, for "auto", what the kernel offered. */
  datapathWhy?: string;
  policy: string;
  stats: DpStats;
  ports: PortCounters[];
  /** Learning bridges: the ports loop protection keeps from forwarding now, and why (empty: none). */
  held?: HeldPort[];
}

/** A port loop protection keeps from forwarding: blocked by loop detection, a guard, or the spanning tree. */
export interface HeldPort {
  no: number;
  name: string;
  why: string;
}

/** One DHCP client of netmgrd and its lease. */
export interface DhcpClientStatus {
  unit: string;
  namespace: string | null;
  link: string;
  /** requesting (no lease yet), bound, lost (expired or refused: address and route removed), stopped. */
  state: 'requesting' | 'bound' | 'lost' | 'stopped';
  /** The client's last event (dhcpcd's reason: BOUND, RENEW, REBIND, EXPIRE, NAK, ...) and when it came. */
  event: string;
  eventAt: string;
  address?: string;
  router?: string;
  server?: string;
  expiresAt?: string;
}

export interface DaemonStatus {
  pid: number;
  since: string;
  watching: boolean;
  unitDir: string;
  /** The status listener's URL (netmgrd.conf http-listen); absent when it is off. */
  statusUrl?: string;
}

export interface ConfirmStatus {
  appliedAt: string;
  deadline: string;
  secondsLeft: number;
}

export interface StatusReport {
  schema: 'netmgr.status/1';
  daemon: DaemonStatus | null;
  unitDir: string;
  /** False when the units on disk do not validate (then nothing is pending from them). */
  unitsValid: boolean;
  unitErrors: number;
  /** What keeps the units on disk from being applied although they validate (checked against the live system). */
  problems: string[];
  objects: ObjectStatus[];
  lastApply: ApplyOutcome | null;
  appliedAt: string | null;
  counters: ApplyCounters;
  confirm: ConfirmStatus | null;
  rolledBack: { time: string; onDisk: boolean } | null;
  bridges: BridgeCounters[];
  /** netmgrd's DHCP clients, one per interface with `dhcp = true` (absent without netmgrd). */
  dhcp?: DhcpClientStatus[];
  /** Filled in by the CLI (systeminformation), in the root namespace. */
  host?: HostInterface[];
}

/** The object a change belongs to: its unit (a bridge's own interface is the bridge's), or its namespace. */
function changeKey(c: Change, bridges: Set<string>): string {
  if (c.object === 'namespace') return `namespace ${c.name}`;
  if (c.object === 'dns') return 'resolv.conf';
  return `${c.object === 'bridge' || c.object === 'flow' || bridges.has(c.unit) ? 'bridge' : 'port'} ${c.unit}`;
}

function objectsOf(d: DesiredState | null): string[] {
  if (!d) return [];
  return [
    ...[...d.bridges.keys()].map((n) => `bridge ${n}`),
    ...[...d.ports.keys()].map((n) => `port ${n}`),
    ...d.namespaces.map((n) => `namespace ${n}`),
  ];
}

function group(changes: Change[] | null, bridges: Set<string>): Map<string, Change[]> {
  const m = new Map<string, Change[]>();
  for (const c of changes ?? []) {
    const k = changeKey(c, bridges);
    m.set(k, [...(m.get(k) ?? []), c]);
  }
  return m;
}

export interface StatusInputs {
  /** The unit set in force (last applied) and the changes the live state needs to match it; null before any. */
  applied: DesiredState | null;
  appliedChanges: Change[] | null;
  /** The units on disk (null when invalid) and the changes the live state needs to match them. */
  disk: DesiredState | null;
  diskChanges: Change[] | null;
  lastFailed: boolean;
}

/** Sorts every object of either unit set (and anything a plan would delete) into its state. Pure. */
export function objectStates(i: StatusInputs): ObjectStatus[] {
  const bridges = new Set<string>([...(i.applied?.bridges.keys() ?? []), ...(i.disk?.bridges.keys() ?? [])]);
  for (const c of [...(i.appliedChanges ?? []), ...(i.diskChanges ?? [])])
    if (c.object === 'bridge') bridges.add(c.name);
  const byApplied = group(i.appliedChanges, bridges);
  const byDisk = group(i.diskChanges, bridges);
  const keys = new Set<string>([...objectsOf(i.applied), ...objectsOf(i.disk), ...byApplied.keys(), ...byDisk.keys()]);
  const out: ObjectStatus[] = [];
  for (const key of keys) {
    const sp = key.indexOf(' ');
    const object = key.slice(0, sp);
    const name = key.slice(sp + 1);
    const drift = byApplied.get(key) ?? [];
    const todo = byDisk.get(key) ?? [];
    let state: ObjectState;
    let changes: Change[];
    if (i.lastFailed && todo.length) [state, changes] = ['failed', todo];
    // Drift is measured against what was applied; where the disk asks for the same fix, it is drift, not news.
    else if (drift.length && (i.disk === null || sameChanges(drift, todo))) [state, changes] = ['drifted', drift];
    else if (todo.length) [state, changes] = ['pending', todo];
    else [state, changes] = ['realised', []];
    out.push({ object, name, state, changes: changes.map(formatChange) });
  }
  const order = { bridge: 0, port: 1, namespace: 2 } as Record<string, number>;
  return out.sort(
    (a, b) => (order[a.object] ?? 3) - (order[b.object] ?? 3) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
}

const sameChanges = (a: Change[], b: Change[]) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Why a bridge runs on `running`: what its unit asks for (`wanted`, undefined when no unit in force names it) and,
 * for "auto", whether the kernel has the openvswitch datapath now (the lookup of its generic netlink family makes
 * the kernel load the module, unless it is blacklisted or absent).
 */
export function datapathReason(wanted: DatapathType | undefined, running: string, kernelNow: boolean): string {
  if (wanted === undefined) return 'no unit in force names this bridge';
  if (wanted !== 'auto') return `datapath = "${wanted}" in its unit`;
  if (running === 'kernel') return 'datapath = "auto" and the kernel has the openvswitch datapath';
  if (!kernelNow)
    return 'datapath = "auto" and the kernel has no openvswitch datapath (the openvswitch module is not loaded and the kernel could not load it: absent or blacklisted)';
  return 'datapath = "auto", and the openvswitch module was not there when the bridge was created; a running bridge keeps its datapath (restart netmgrd to move it)';
}

const pad = (s: string, n: number) => s.padEnd(n);

/** `br0: bound 198.18.154.57/24 router 198.18.154.1 from 198.18.154.1, expires ... (RENEW at ...)`. */
function formatDhcp(d: DhcpClientStatus): string {
  const where = d.namespace ? `${d.link} (namespace ${d.namespace})` : d.link;
  const lease = d.address
    ? ` ${d.address}${d.router ? ` router ${d.router}` : ''}${d.server ? ` from ${d.server}` : ''}, expires ${d.expiresAt}`
    : '';
  return `${where} [${d.unit}]: ${d.state}${lease} (last event ${d.event} at ${d.eventAt})`;
}

/** `netmgr status` as text. */
export function formatStatus(r: StatusReport): string {
  const out: string[] = [];
  out.push(
    r.daemon
      ? `netmgrd: running (pid ${r.daemon.pid}, since ${r.daemon.since}), ${r.daemon.watching ? `watching ${r.daemon.unitDir}` : `not watching ${r.daemon.unitDir} (netmgr reload applies it)`}`
      : 'netmgrd: not running',
  );
  if (r.daemon?.statusUrl)
    out.push(`Status page: ${r.daemon.statusUrl} (Prometheus metrics: ${r.daemon.statusUrl}metrics)`);
  out.push(
    `Units: ${r.unitDir}${r.unitsValid ? '' : ` (${r.unitErrors} error${r.unitErrors === 1 ? '' : 's'}: run netmgr validate)`}`,
  );
  for (const p of r.problems) out.push(`  cannot apply: ${p}`);
  if (r.lastApply) {
    const l = r.lastApply;
    out.push(
      `Last apply: ${l.result} at ${l.time} (${l.trigger}${l.steps ? `, ${l.steps} step${l.steps === 1 ? '' : 's'}` : ''}): ${l.message}`,
    );
    for (const d of l.differences ?? []) out.push(`  verify: still differs: ${d}`);
  } else out.push('Last apply: none');
  out.push(
    `Applies: ${r.counters.applies} applied, ${r.counters.unchanged} unchanged, ${r.counters.failed} failed, ${r.counters.invalid} refused as invalid, ${r.counters.rollbacks} rolled back`,
  );
  if (r.confirm)
    out.push(
      `Confirm: the apply at ${r.confirm.appliedAt} is rolled back in ${r.confirm.secondsLeft} s unless \`netmgr confirm\` runs (\`netmgr rollback\` now)`,
    );
  if (r.rolledBack)
    out.push(
      `Rolled back: an unconfirmed unit set at ${r.rolledBack.time}${r.rolledBack.onDisk ? '; it is still on disk, so start and watch leave it alone until it is edited (netmgr apply applies it)' : ''}`,
    );
  out.push('');
  if (r.objects.length) {
    out.push(`${pad('OBJECT', 10)} ${pad('NAME', 20)} STATE`);
    for (const o of r.objects) {
      out.push(`${pad(o.object, 10)} ${pad(o.name, 20)} ${o.state}`);
      for (const c of o.changes) out.push(`${' '.repeat(32)}${c}`);
    }
  } else out.push('No objects: the units declare nothing and nothing is left to remove.');
  if (r.dhcp?.length) {
    out.push('');
    out.push('DHCP:');
    for (const d of r.dhcp) out.push(`  ${formatDhcp(d)}`);
  }
  for (const b of r.bridges) out.push('', ...formatBridgeCounters(b));
  if (r.host) {
    out.push('');
    out.push('Host interfaces (root namespace):');
    out.push(
      `  ${pad('NAME', 16)} ${pad('STATE', 8)} ${'SPEED'.padStart(10)} ${pad('DUPLEX', 7)} ${pad('DRIVER', 14)} MAC`,
    );
    for (const h of r.host) {
      const speed = h.speed === null ? '-' : h.speed >= 1000 ? `${h.speed / 1000} Gb/s` : `${h.speed} Mb/s`;
      out.push(
        `  ${pad(h.name, 16)} ${pad(h.operstate, 8)} ${speed.padStart(10)} ${pad(h.duplex ?? '-', 7)} ${pad(h.driver ?? '-', 14)} ${h.mac ?? '-'}`,
      );
    }
  }
  return out.join('\n') + '\n';
}

/** One bridge's counters: its lookups, then a row per port (a tunnel port's remotes each on a row under it). */
function formatBridgeCounters(b: BridgeCounters): string[] {
  const out: string[] = [];
  const s = b.stats;
  out.push(
    `Bridge ${b.name} (${b.datapath}, ${b.policy}): hit ${s.hit}, missed ${s.missed}, lost ${s.lost}, flows ${s.flows}`,
  );
  if (b.datapathWhy) out.push(`  ${b.datapath} datapath: ${b.datapathWhy}`);
  out.push(
    `  ${pad('PORT', 20)} ${'RX PKTS'.padStart(10)} ${'RX BYTES'.padStart(12)} ${'TX PKTS'.padStart(10)} ${'TX BYTES'.padStart(12)} ${'DROPS'.padStart(7)} ${'ERRORS'.padStart(7)}`,
  );
  if (b.held?.length)
    out.push(`  held by loop protection: ${b.held.map((h) => `${h.name}(${h.no}) ${h.why}`).join('; ')}`);
  for (const p of b.ports) {
    const t = p.stats;
    out.push(
      `  ${pad(`${p.name}(${p.no})`, 20)} ${String(t.rxPackets).padStart(10)} ${String(t.rxBytes).padStart(12)} ${String(t.txPackets).padStart(10)} ${String(t.txBytes).padStart(12)} ${String(t.rxDropped + t.txDropped).padStart(7)} ${String(t.rxErrors + t.txErrors).padStart(7)}`,
    );
    // A tunnel port's remotes, one row each under it (frames, not datagrams: what each remote sent and got).
    for (const r of p.tunnel?.remotes ?? [])
      out.push(
        `    ${pad(`remote ${r.address}`, 18)} ${String(r.rxPackets).padStart(10)} ${String(r.rxBytes).padStart(12)} ${String(r.txPackets).padStart(10)} ${String(r.txBytes).padStart(12)}`,
      );
  }
  return out;
}
