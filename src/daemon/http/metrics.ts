/**
 * /metrics: the Prometheus text exposition of a SwitchSnapshot, with prom-client (the usual Node client, kept up,
 * its format checked by `promtool check metrics` in the tests). Pure: a registry is built per scrape from the
 * snapshot gathered at scrape time, so nothing is cached between scrapes and no sample carries a timestamp.
 * Names follow Prometheus' rules: the netmgr_ prefix, base units (_bytes, _seconds), _total on counters, no label
 * names inside metric names; labels are bridge and port names (bounded by the units).
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { DpPortStats } from '../../datapath/types';
import type { ObjectState } from '../status';
import { portLoopState, type PortLoopState, type SwitchSnapshot } from './snapshot';

/** The exposition's Content-Type (text format 0.0.4). */
export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

type Direction = 'receive' | 'transmit';
const PORT_COUNTERS: { name: string; help: string; of: (s: DpPortStats) => number }[] = [
  ...(['receive', 'transmit'] as Direction[]).flatMap((d) => {
    const rx = d === 'receive';
    return [
      { name: `${d}_packets`, help: `Packets ${rx ? 'received on' : 'sent through'} the port by the datapath.` },
      { name: `${d}_bytes`, help: `Bytes ${rx ? 'received on' : 'sent through'} the port by the datapath.` },
      { name: `${d}_dropped`, help: `Frames ${rx ? 'received but dropped' : 'not sent: queue full'}.` },
      { name: `${d}_errors`, help: `${rx ? 'Malformed frames received' : 'Frames the kernel refused to send'}.` },
    ].map((c, i) => ({
      ...c,
      of: (s: DpPortStats) =>
        [
          [s.rxPackets, s.rxBytes, s.rxDropped, s.rxErrors],
          [s.txPackets, s.txBytes, s.txDropped, s.txErrors],
        ][rx ? 0 : 1][i],
    }));
  }),
];

const OBJECT_STATES: ObjectState[] = ['realised', 'pending', 'drifted', 'failed'];
const LOOP_STATES: PortLoopState[] = ['forwarding', 'learning', 'discarding', 'blocked'];

const seconds = (iso: string | null | undefined): number | undefined =>
  iso ? Math.round(Date.parse(iso) / 1000) : undefined;

function counter(r: Registry, name: string, help: string, labelNames: string[] = []) {
  return new Counter({ name: `netmgr_${name}_total`, help, labelNames, registers: [r] });
}
function gauge(r: Registry, name: string, help: string, labelNames: string[] = []) {
  return new Gauge({ name: `netmgr_${name}`, help, labelNames, registers: [r] });
}

/** Per port: the datapath's counters, link state, loop protection state. */
function addPorts(r: Registry, s: SwitchSnapshot): void {
  const labels = ['bridge', 'port'];
  const counters = PORT_COUNTERS.map((c) => ({ ...c, metric: counter(r, `port_${c.name}`, c.help, labels) }));
  const up = gauge(r, 'port_link_up', 'Whether the port interface is administratively up (1) or down (0).', labels);
  const loop = gauge(
    r,
    'port_loop_protection_state',
    'Loop protection state of the port (1 for the state it is in): spanning tree states, or blocked by loop detection.',
    [...labels, 'state'],
  );
  s.status.bridges.forEach((b, i) => {
    const d = s.details[i];
    for (const p of b.ports) {
      const l = { bridge: b.name, port: p.name };
      for (const c of counters) c.metric.inc(l, c.of(p.stats));
      if (d?.linkUp[p.name] !== undefined) up.set(l, d.linkUp[p.name] ? 1 : 0);
      const state = portLoopState(d?.loop, p.no);
      if (state && p.no !== 0) for (const st of LOOP_STATES) loop.set({ ...l, state: st }, st === state ? 1 : 0);
    }
  });
}

/** Per bridge: datapath counters, the MAC table, topology changes. */
function addBridges(r: Registry, s: SwitchSnapshot): void {
  const b1 = ['bridge'];
  const hits = counter(r, 'datapath_hits', 'Packets that matched a datapath flow.', b1);
  const misses = counter(r, 'datapath_misses', 'Packets that matched no flow (sent to the policy).', b1);
  const lost = counter(r, 'datapath_lost', 'Misses that could not be delivered to the policy.', b1);
  const flows = gauge(r, 'datapath_flows', 'Flows in the datapath.', b1);
  const masks = gauge(r, 'datapath_masks', 'Masks (subtables) in the datapath.', b1);
  const maskHits = counter(r, 'datapath_mask_hits', 'Masks probed by all lookups.', b1);
  const entries = gauge(r, 'mac_table_entries', 'MAC table entries now (learned and static).', b1);
  const capacity = gauge(r, 'mac_table_capacity_entries', 'Learned MAC table entries at most.', b1);
  const fdb = (n: string, what: string) => counter(r, `mac_table_${n}`, `MAC table entries ${what}.`, b1);
  const learned = fdb('learned', 'learned');
  const moved = fdb('moved', 'moved to another port');
  const evicted = fdb('evicted', 'evicted for room');
  const aged = fdb('aged', 'removed after mac-aging without traffic');
  const tc = counter(r, 'topology_changes', 'Spanning tree topology changes on this bridge.', b1);
  s.status.bridges.forEach((b, i) => {
    const l = { bridge: b.name };
    hits.inc(l, b.stats.hit);
    misses.inc(l, b.stats.missed);
    lost.inc(l, b.stats.lost);
    flows.set(l, b.stats.flows);
    masks.set(l, b.stats.masks);
    maskHits.inc(l, b.stats.masksHit);
    const d = s.details[i];
    if (d?.fdb) {
      const f = d.fdb.stats;
      entries.set(l, f.entries);
      capacity.set(l, f.capacity);
      [learned, moved, evicted, aged].forEach((c, k) => c.inc(l, [f.learned, f.moved, f.evicted, f.expired][k]));
    }
    if (d?.loop?.rstp) tc.inc(l, d.loop.rstp.topologyChanges);
  });
}

/** Applies by result, the last successful apply and reload, objects by state, build info. */
function addApplies(r: Registry, s: SwitchSnapshot): void {
  const c = s.status.counters;
  const applies = counter(r, 'applies', 'Applies of unit sets by result since the state directory was made.', [
    'result',
  ]);
  const byResult: [string, number][] = [
    ['applied', c.applies],
    ['unchanged', c.unchanged],
    ['failed', c.failed],
    ['invalid', c.invalid],
    ['rolled_back', c.rollbacks],
  ];
  for (const [result, n] of byResult) applies.inc({ result }, n);
  const lastApply = seconds(s.status.appliedAt);
  if (lastApply !== undefined)
    gauge(r, 'last_apply_success_timestamp_seconds', 'When a unit set was last applied successfully.').set(lastApply);
  const lastReload = seconds(s.lastReloadAt);
  if (lastReload !== undefined)
    gauge(r, 'last_reload_success_timestamp_seconds', 'When a reload last applied successfully.').set(lastReload);
  const objects = gauge(r, 'objects', 'Objects of the units (bridges, ports, namespaces) by state.', ['state']);
  for (const state of OBJECT_STATES) objects.set({ state }, s.status.objects.filter((o) => o.state === state).length);
  const confirm = s.status.confirm;
  gauge(r, 'confirm_pending', 'Whether an apply waits for netmgr confirm (1) or not (0).').set(confirm ? 1 : 0);
  if (confirm)
    gauge(r, 'confirm_deadline_timestamp_seconds', 'When the apply waiting for confirm is rolled back.').set(
      seconds(confirm.deadline)!,
    );
  gauge(r, 'build_info', 'netmgr version and Node.js runtime; always 1.', ['version', 'nodejs']).set({ ...s.build }, 1);
}

/** The exposition of one snapshot (text format 0.0.4). */
export async function renderMetrics(s: SwitchSnapshot): Promise<string> {
  const r = new Registry();
  addPorts(r, s);
  addBridges(r, s);
  addApplies(r, s);
  return r.metrics();
}
