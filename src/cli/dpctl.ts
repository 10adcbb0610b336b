/**
 * `netmgr dpctl`: ovs-dpctl's commands and output format against the bridges netmgrd runs. Flows changed here
 * are runtime changes: the next `netmgr apply` puts a units-managed bridge's flows back to what its units say.
 */
import type { DpTunnelStats } from '../datapath/types';
import type { DpctlFlow, DpctlShowBridge } from '../daemon/protocol';
import { DpctlRequest, type DpctlCommand, type DpctlParams } from '../daemon/protocol';
import { Command, CliContext, EXIT_OK, UsageError } from './command';
import { parseOptions, paths, printJson, requireRoot } from './common';
import { ask, reportDaemonError } from './daemon-client';

const USAGE = [
  'netmgr dpctl show [-s] [BRIDGE] [--json]',
  '       netmgr dpctl dump-flows [-m] [BRIDGE] [--json]',
  '       netmgr dpctl add-flow [BRIDGE] FLOW ACTIONS',
  '       netmgr dpctl mod-flow [--clear] [--may-create] [BRIDGE] FLOW ACTIONS',
  '       netmgr dpctl del-flow [BRIDGE] FLOW',
  '       netmgr dpctl del-flows [BRIDGE]',
].join('\n');

const COMMANDS: Record<DpctlCommand, { min: number; max: number }> = {
  show: { min: 0, max: 1 },
  'dump-flows': { min: 0, max: 1 },
  'add-flow': { min: 2, max: 3 },
  'mod-flow': { min: 2, max: 3 },
  'del-flow': { min: 1, max: 2 },
  'del-flows': { min: 0, max: 1 },
};

/** A tunnel port's per-remote counters (inner frames) and the datagrams it dropped on receipt, by reason. */
function formatTunnelStats(t: DpTunnelStats): string[] {
  return [
    ...t.remotes.map(
      (r) =>
        `    remote ${r.address}: RX packets:${r.rxPackets} bytes:${r.rxBytes}  TX packets:${r.txPackets} bytes:${r.txBytes}`,
    ),
    `    dropped on receipt: unknown remote:${t.rxUnknownRemote} other VNI:${t.rxOtherVni} malformed:${t.rxMalformed}`,
  ];
}

function formatShow(bridges: DpctlShowBridge[], statistics: boolean): string {
  const out: string[] = [];
  for (const b of bridges) {
    const s = b.stats;
    const lookups = s.hit + s.missed + s.lost;
    // As ovs-dpctl names them: the kernel datapath type is "system".
    out.push(`${b.type === 'kernel' ? 'system' : b.type}@${b.name}:`);
    out.push(`  lookups: hit:${s.hit} missed:${s.missed} lost:${s.lost}`);
    out.push(`  flows: ${s.flows}`);
    out.push(`  masks: hit:${s.masksHit} total:${s.masks} hit/pkt:${(lookups ? s.masksHit / lookups : 0).toFixed(2)}`);
    for (const p of b.ports) {
      const tun = p.tunnel;
      const kind =
        p.type === 'internal' ? ' (internal)' : tun ? ` (${tun.kind}: vni=${tun.vni}, dst_port=${tun.dstPort})` : '';
      out.push(`  port ${p.no}: ${p.name}${kind}`);
      if (!statistics) continue;
      const t = p.stats;
      out.push(`    RX packets:${t.rxPackets} errors:${t.rxErrors} dropped:${t.rxDropped}`);
      out.push(`    TX packets:${t.txPackets} errors:${t.txErrors} dropped:${t.txDropped}`);
      out.push(`    RX bytes:${t.rxBytes}  TX bytes:${t.txBytes}`);
      if (p.tunnelStats) out.push(...formatTunnelStats(p.tunnelStats));
    }
  }
  return out.length ? out.join('\n') + '\n' : '';
}

export const dpctlCommand: Command = {
  name: 'dpctl',
  summary: 'inspect and program the datapaths netmgrd runs (ovs-dpctl syntax and output)',
  usage: USAGE,
  async run(ctx: CliContext): Promise<number> {
    const [sub, ...rest] = ctx.args;
    if (sub === undefined || !(sub in COMMANDS))
      throw new UsageError(sub === undefined ? 'expected a dpctl command' : `unknown dpctl command '${sub}'`);
    const command = sub as DpctlCommand;
    const { values, positionals } = parseOptions(
      { ...ctx, args: rest },
      {
        json: { type: 'boolean' },
        statistics: { type: 'boolean', short: 's' },
        more: { type: 'boolean', short: 'm' },
        clear: { type: 'boolean' },
        'may-create': { type: 'boolean' },
      },
      3,
    );
    const { min, max } = COMMANDS[command];
    if (positionals.length < min || positionals.length > max)
      throw new UsageError(
        `${command} takes ${min === max ? min : `${min} to ${max}`} argument(s), got ${positionals.length}`,
      );
    requireRoot('netmgr dpctl');
    // The optional BRIDGE comes first, as ovs-dpctl's optional DP.
    const withBridge = positionals.length === max;
    const bridge = withBridge ? positionals[0] : undefined;
    const args = withBridge ? positionals.slice(1) : positionals;
    const req: DpctlParams = {
      command,
      bridge,
      flow: args[0],
      actions: args[1],
      clear: values.clear,
      mayCreate: values['may-create'],
      more: values.more,
    };
    const p = paths(ctx, undefined);
    const r = await ask(p.socket, DpctlRequest, req);
    if (!r.ok) return reportDaemonError(ctx, `dpctl ${command}`, r.error, { flow: req.flow, actions: req.actions });
    if (values.json) {
      printJson(ctx, r.result);
      return EXIT_OK;
    }
    switch (command) {
      case 'show':
        ctx.stdout(formatShow(r.result as DpctlShowBridge[], !!values.statistics));
        break;
      case 'dump-flows':
        for (const f of (r.result as { flows: DpctlFlow[] }).flows) ctx.stdout(f.line + '\n');
        break;
      default:
        // ovs-dpctl prints nothing on success.
        break;
    }
    return EXIT_OK;
  },
};
