/**
 * `netmgr fdb`: the MAC table of the bridges netmgrd runs with policy = "learning", in the formats of
 * `ovs-appctl fdb/show`, `fdb/flush` and `fdb/stats-show`.
 */
import {
  FdbRequest,
  type FdbCommand,
  type FdbFlushResult,
  type FdbShowResult,
  type FdbStatsResult,
} from '../daemon/protocol';
import type { FdbEntry, FdbStats } from '../policy/learning/api';
import { Command, CliContext, EXIT_OK, UsageError } from './command';
import { formatPort, parseOptions, paths, printJson, requireRoot } from './common';
import { ask, reportDaemonError } from './daemon-client';

const USAGE = [
  'netmgr fdb show [BRIDGE] [--json]',
  '       netmgr fdb flush [BRIDGE] [--json]',
  '       netmgr fdb stats [BRIDGE] [--json]',
].join('\n');

const FDB_COMMANDS: readonly FdbCommand[] = ['show', 'flush', 'stats'];

/**
 * `ovs-appctl fdb/show`: ` port  VLAN  MAC                Age`, one row per entry; static entries say so; a MAC
 * learned from a tunnel port has its remote in a `Remote` column.
 */
export function formatFdbTable(entries: readonly FdbEntry[]): string {
  const ports = entries.map((e) => formatPort(e.port, e.portName));
  const w = Math.max(5, ...ports.map((p) => p.length));
  // Entries learned from a tunnel port name their remote in a last column (only when there are any).
  const remotes = entries.some((e) => e.remote !== undefined);
  const rows = entries.map(
    (e, i) =>
      `${ports[i].padStart(w)}  ${String(e.vlan).padStart(4)}  ${e.mac}  ${e.static ? 'static' : String(e.age).padStart(3)}` +
      (remotes && e.remote !== undefined ? `  ${e.remote}` : ''),
  );
  return [`${'port'.padStart(w)}  VLAN  MAC                Age${remotes ? '  Remote' : ''}`, ...rows].join('\n') + '\n';
}

/** `ovs-appctl fdb/stats-show`, plus the megaflows the policy has installed. */
export function formatFdbStats(bridge: string, s: FdbStats): string {
  const rows: [string, string | number][] = [
    ['Current/maximum MAC entries in the table', `${s.entries}/${s.capacity}`],
    ['Current static MAC entries in the table', s.static],
    ['Total number of learned MAC entries', s.learned],
    ['Total number of expired MAC entries', s.expired],
    ['Total number of evicted MAC entries', s.evicted],
    ['Total number of port moved MAC entries', s.moved],
    ['Current megaflows installed in datapath', s.flows],
  ];
  const w = Math.max(...rows.map(([label]) => label.length));
  return (
    [`Statistics for bridge "${bridge}":`, ...rows.map(([label, v]) => `  ${label.padEnd(w)}: ${v}`)].join('\n') + '\n'
  );
}

export function formatFdbFlush(bridge: string, flushed: number): string {
  return `flushed ${flushed} learned MAC ${flushed === 1 ? 'entry' : 'entries'} from ${bridge}\n`;
}

/** One block per bridge; with several, each under a `bridge NAME:` heading, separated by a blank line. */
function perBridge<T extends { bridge: string }>(items: readonly T[], body: (item: T) => string): string {
  if (items.length === 1) return body(items[0]);
  return items.map((it) => `bridge ${it.bridge}:\n${body(it)}`).join('\n');
}

export const fdbCommand: Command = {
  name: 'fdb',
  summary: 'show, flush or count the MAC table of learning bridges (ovs-appctl fdb/* output)',
  usage: USAGE,
  async run(ctx: CliContext): Promise<number> {
    const [sub, ...rest] = ctx.args;
    if (sub === undefined || !FDB_COMMANDS.includes(sub as FdbCommand))
      throw new UsageError(
        sub === undefined ? 'expected an fdb command (show, flush or stats)' : `unknown fdb command '${sub}'`,
      );
    const command = sub as FdbCommand;
    const { values, positionals } = parseOptions({ ...ctx, args: rest }, { json: { type: 'boolean' } }, 1);
    requireRoot('netmgr fdb');
    const r = await ask(paths(ctx, undefined).socket, FdbRequest, { command, bridge: positionals[0] });
    if (!r.ok) return reportDaemonError(ctx, `fdb ${command}`, r.error);
    if (values.json) {
      printJson(ctx, r.result);
      return EXIT_OK;
    }
    const results = r.result;
    if (results.length === 0) {
      ctx.stderr('netmgr fdb: netmgrd runs no bridge with policy = "learning"\n');
      return EXIT_OK;
    }
    switch (command) {
      case 'show':
        ctx.stdout(perBridge(results as FdbShowResult, (b) => formatFdbTable(b.entries)));
        break;
      case 'stats':
        // Each block names its bridge already, as fdb/stats-show does.
        ctx.stdout((results as FdbStatsResult).map((b) => formatFdbStats(b.bridge, b.stats)).join('\n'));
        break;
      case 'flush':
        ctx.stdout((results as FdbFlushResult).map((b) => formatFdbFlush(b.bridge, b.flushed)).join(''));
        break;
    }
    return EXIT_OK;
  },
};
