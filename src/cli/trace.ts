/**
 * `netmgr trace`: what a learning bridge would do with one packet, step by step, ending like
 * `ovs-appctl ofproto/trace` with the megaflow and the datapath actions. Nothing is learned from the packet.
 */
import { TraceRequest, type TraceParams } from '../daemon/protocol';
import type { TracePort, TraceResult } from '../policy/learning/api';
import { Command, CliContext, EXIT_OK, UsageError } from './command';
import { formatPort, parseOptions, paths, printJson, requireRoot } from './common';
import { ask, reportDaemonError } from './daemon-client';

const port = (p: TracePort): string => `${formatPort(p.no, p.name)}${p.tagged ? ' tagged' : ''}`;

/** The decision in one line: what, in which VLAN, from where to where, and why. */
function decisionLine(t: TraceResult): string {
  const vlan = t.vlan === undefined ? '' : ` in VLAN ${t.vlan}`;
  const to = t.decision === 'drop' ? '' : ` to ${t.outputs.length ? t.outputs.map(port).join(', ') : 'no port'}`;
  return `Decision: ${t.decision}${vlan} from ${port(t.inPort)}${to}: ${t.reason}`;
}

export function formatTrace(t: TraceResult): string {
  const heading = `bridge("${t.bridge}")`;
  return (
    [
      `Flow: ${t.flow}`,
      '',
      heading,
      '-'.repeat(heading.length),
      ...t.steps.map((s, i) => `${String(i + 1).padStart(2)}. ${s}`),
      '',
      decisionLine(t),
      `Megaflow: ${t.megaflow}`,
      `Datapath actions: ${t.actions}`,
    ].join('\n') + '\n'
  );
}

export const traceCommand: Command = {
  name: 'trace',
  summary: 'explain what a learning bridge does with one packet (like ovs-appctl ofproto/trace)',
  usage: 'netmgr trace BRIDGE FLOW [--json]',
  async run(ctx: CliContext): Promise<number> {
    const { values, positionals } = parseOptions(ctx, { json: { type: 'boolean' } }, 2);
    if (positionals.length !== 2)
      throw new UsageError(`trace takes a bridge and a flow, got ${positionals.length} argument(s)`);
    requireRoot('netmgr trace');
    const req: TraceParams = { bridge: positionals[0], flow: positionals[1] };
    const r = await ask(paths(ctx, undefined).socket, TraceRequest, req);
    if (!r.ok) return reportDaemonError(ctx, 'trace', r.error, { flow: req.flow });
    if (values.json) printJson(ctx, r.result);
    else ctx.stdout(formatTrace(r.result));
    return EXIT_OK;
  },
};
