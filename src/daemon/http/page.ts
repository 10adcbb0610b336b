/**
 * `/`: the status page, server-rendered from a SwitchSnapshot (pure). The panel (everything below the title) is
 * also served alone at /panel: the page's script swaps it in every PAGE_UPDATE_MS, so the first load and every
 * update come from the same renderer.
 */
import type { BridgeCounters, StatusReport } from '../status';
import { PAGE_UPDATE_MS } from './assets';
import { portKey, type PortRate } from './rates';
import { portLoopState, type BridgeDetail, type SwitchSnapshot } from './snapshot';

/** What one rendering shows. */
export interface PageView {
  snapshot: SwitchSnapshot;
  /** "bridge/port" -> rates; a port without one shows "-". */
  rates: Map<string, PortRate>;
  /** The topology drawing (inline SVG), or why there is none. */
  topology: { svg: string } | { error: string };
}

/** MAC table rows shown per bridge; the rest are counted. */
const MAX_FDB_ROWS = 200;

export const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const h = escapeHtml;

/** 1234567 -> "1.23 M": rates are for reading at a glance. */
function si(n: number): string {
  if (n < 1000) return n < 10 && n % 1 ? n.toFixed(1) : String(Math.round(n));
  const units = ['k', 'M', 'G', 'T'];
  let i = -1;
  while (n >= 1000 && i < units.length - 1) [n, i] = [n / 1000, i + 1];
  return `${n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0)} ${units[i]}`;
}

const row = (cells: string[], attrs = ''): string => `<tr${attrs}>${cells.join('')}</tr>`;
const td = (text: string | number, cls?: string): string =>
  `<td${cls ? ` class="${cls}"` : ''}>${h(String(text))}</td>`;
const th = (text: string, cls?: string): string => `<th${cls ? ` class="${cls}"` : ''}>${h(text)}</th>`;

function summary(r: StatusReport, takenAt: string): string {
  const d = r.daemon;
  const daemon = d ? `netmgrd pid ${d.pid}, running since ${d.since}` : 'netmgrd: not running';
  const units = `units ${r.unitDir}${r.unitsValid ? '' : ` (${r.unitErrors} error(s): run netmgr validate)`}`;
  return `<p class="meta">${h(daemon)}; ${h(units)}. <span class="updated">Updated ${h(takenAt)}.</span></p>`;
}

function lastApply(r: StatusReport): string {
  const out = ['<h2>Last apply</h2>'];
  const l = r.lastApply;
  if (!l) out.push('<p>None yet.</p>');
  else {
    const cls = ['applied', 'unchanged', 'confirmed'].includes(l.result) ? 'ok' : 'bad';
    out.push(
      `<p id="last-apply"><span class="${cls}">${h(l.result)}</span> at ${h(l.time)} (${h(l.trigger)}, ${l.steps} step(s)): ${h(l.message)}</p>`,
    );
    if (l.differences?.length)
      out.push(
        `<p>Verification: still differs:</p><ul class="diff">${l.differences.map((d) => `<li>${h(d)}</li>`).join('')}</ul>`,
      );
  }
  const c = r.counters;
  out.push(
    `<p class="meta">Applies: ${c.applies} applied, ${c.unchanged} unchanged, ${c.failed} failed, ${c.invalid} refused as invalid, ${c.rollbacks} rolled back.</p>`,
  );
  if (r.confirm)
    out.push(
      `<p id="confirm" class="bad">Pending confirm: the apply at ${h(r.confirm.appliedAt)} is rolled back at ${h(r.confirm.deadline)} (${r.confirm.secondsLeft} s left) unless <code>netmgr confirm</code> runs.</p>`,
    );
  return out.join('\n');
}

function topology(t: PageView['topology']): string {
  const body = 'svg' in t ? t.svg : `<p class="bad">No drawing: ${h(t.error)}</p>`;
  return `<h2>Topology</h2>\n<div class="topology" id="topology">${body}</div>`;
}

function portsTable(b: BridgeCounters, d: BridgeDetail | undefined, rates: Map<string, PortRate>): string {
  const heads = ['port', 'no', 'link', 'loop protection', 'rx packets', 'rx bytes', 'tx packets', 'tx bytes'];
  const head = row([
    ...heads.map((x, i) => th(x, i !== 1 && i < 4 ? 'text' : undefined)),
    ...['drops', 'errors', 'rx pkt/s', 'rx B/s', 'tx pkt/s', 'tx B/s'].map((x) => th(x)),
  ]);
  const rows = b.ports.map((p) => {
    const up = d?.linkUp[p.name];
    const link = up === undefined ? 'unknown' : up ? 'up' : 'down';
    const held = b.held?.find((x) => x.no === p.no);
    const loop = held ? held.why : (portLoopState(d?.loop, p.no) ?? '-');
    const s = p.stats;
    const rate = rates.get(portKey(b.name, p.name));
    const classes = [`link-${link}`, ...(held ? ['held'] : [])].join(' ');
    return row(
      [
        td(p.name, 'text'),
        td(p.no),
        td(link, 'text link'),
        td(p.no === 0 ? '-' : loop, 'text loop'),
        ...[s.rxPackets, s.rxBytes, s.txPackets, s.txBytes, s.rxDropped + s.txDropped, s.rxErrors + s.txErrors].map(
          (n) => td(n),
        ),
        ...(rate ? [rate.rxPackets, rate.rxBytes, rate.txPackets, rate.txBytes].map((n) => td(si(n))) : []),
        ...(rate ? [] : ['-', '-', '-', '-'].map((x) => td(x))),
      ],
      ` class="${classes}" data-bridge="${h(b.name)}" data-port="${h(p.name)}"`,
    );
  });
  return `<table class="ports">\n${head}\n${rows.join('\n')}\n</table>`;
}

function macTable(d: BridgeDetail | undefined): string {
  if (!d?.fdb) return '';
  const f = d.fdb.stats;
  const out = [
    `<h3>MAC table</h3>\n<p class="meta">${f.entries} entries (${f.static} static) of ${f.capacity}; learned ${f.learned}, moved ${f.moved}, evicted ${f.evicted}, aged out ${f.expired}.</p>`,
  ];
  if (!d.fdb.entries.length) return out.join('\n');
  const shown = d.fdb.entries.slice(0, MAX_FDB_ROWS);
  out.push('<table class="fdb">');
  out.push(row([th('MAC', 'text'), th('VLAN'), th('port', 'text'), th('age s'), th('moves'), th('static', 'text')]));
  for (const e of shown)
    out.push(
      row([
        td(e.mac, 'text'),
        td(e.vlan),
        td(`${e.portName} (${e.port})`, 'text'),
        td(e.age),
        td(e.moves),
        td(e.static ? 'yes' : 'no', 'text'),
      ]),
    );
  out.push('</table>');
  if (d.fdb.entries.length > shown.length)
    out.push(`<p class="meta">and ${d.fdb.entries.length - shown.length} more (netmgr fdb show).</p>`);
  return out.join('\n');
}

function bridgeSection(b: BridgeCounters, d: BridgeDetail | undefined, rates: Map<string, PortRate>): string {
  const s = b.stats;
  const tc = d?.loop?.rstp ? `, topology changes ${d.loop.rstp.topologyChanges}` : '';
  return [
    `<section class="bridge" data-bridge="${h(b.name)}">`,
    `<h2>Bridge ${h(b.name)}</h2>`,
    `<p class="meta">${h(b.datapath)} datapath, policy ${h(b.policy)}: hit ${s.hit}, missed ${s.missed}, lost ${s.lost}, flows ${s.flows}, masks ${s.masks}${h(tc)}.</p>`,
    portsTable(b, d, rates),
    macTable(d),
    '</section>',
  ].join('\n');
}

function objects(r: StatusReport): string {
  if (!r.objects.length) return '';
  const rows = r.objects.map((o) =>
    row([td(o.object, 'text'), td(o.name, 'text'), td(o.state, o.state === 'realised' ? 'text ok' : 'text bad')]),
  );
  return `<h2>Objects</h2>\n<table class="objects">\n${row([th('object', 'text'), th('name', 'text'), th('state', 'text')])}\n${rows.join('\n')}\n</table>`;
}

/** The part of the page that updates: served at /panel and inside `/`. */
export function renderPanel(v: PageView): string {
  const r = v.snapshot.status;
  return [
    summary(r, v.snapshot.takenAt),
    lastApply(r),
    topology(v.topology),
    ...r.bridges.map((b, i) => bridgeSection(b, v.snapshot.details[i], v.rates)),
    ...(r.bridges.length ? [] : ['<h2>Bridges</h2>\n<p>netmgrd runs no bridges.</p>']),
    objects(r),
  ].join('\n');
}

/** The whole page: title, links, the panel, and the script that keeps the panel fresh. */
export function renderPage(v: PageView): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>netmgr status</title>
<link rel="stylesheet" href="/page.css">
<script src="/page.js" defer></script>
</head>
<body data-update-ms="${PAGE_UPDATE_MS}">
<h1>netmgr status</h1>
<p class="meta">netmgr ${h(v.snapshot.build.version)} &middot; <a href="/metrics">metrics</a> &middot; <a href="/status.json">status.json</a> (netmgr status --json)</p>
<div id="panel">
${renderPanel(v)}
</div>
</body>
</html>
`;
}
