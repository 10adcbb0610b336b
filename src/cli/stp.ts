/**
 * `netmgr stp`: loop protection of the learning bridges netmgrd runs, in the spirit of `ovs-appctl rstp/show`
 * (bridge and root, per port role, state, cost, edge, BPDUs in and out, why a port is held), plus the ports loop
 * detection holds; and `unblock`, which lifts a loop-detection block or a BPDU-guard err-disable before its
 * recovery time.
 */
import { StpRequest, type StpCommand, type StpShowResult, type StpUnblockResult } from '../daemon/protocol';
import type { LoopProtectionView } from '../policy/learning/loop-view';
import { formatRstpView } from '../policy/rstp';
import { Command, CliContext, EXIT_OK, UsageError } from './command';
import { parseOptions, paths, printJson, requireRoot } from './common';
import { ask, reportDaemonError } from './daemon-client';

const USAGE = ['netmgr stp show [BRIDGE] [--json]', '       netmgr stp unblock BRIDGE PORT [--json]'].join('\n');

const STP_COMMANDS: readonly StpCommand[] = ['show', 'unblock'];

/** One bridge: its protocol, the spanning tree's view when it runs one, then loop detection. */
export function formatLoopProtection(v: LoopProtectionView): string {
  const lines = [`bridge ${v.bridge}: stp = "${v.stp}"`];
  if (v.rstp) lines.push(...formatRstpView(v.rstp));
  if (v.loopDetect) {
    const { intervalS, recoveryS, blocked } = v.loopDetect;
    const held = blocked.length ? `blocked: ${blocked.map((p) => `${p.name}(${p.no})`).join(', ')}` : 'no port blocked';
    lines.push(`  loop detection: a probe every ${intervalS} s, blocks last ${recoveryS} s; ${held}`);
  } else {
    lines.push('  loop detection: off');
  }
  return lines.join('\n') + '\n';
}

export function formatUnblock(r: StpUnblockResult): string {
  const port = `port ${r.port} (${r.portNo}) of ${r.bridge}`;
  if (!r.lifted.length) return `${port} was not blocked by loop detection or BPDU guard\n`;
  const what = r.lifted.map((l) => (l === 'loop-detect' ? "loop detection's block" : "BPDU guard's err-disable"));
  return `${port}: lifted ${what.join(' and ')}\n`;
}

export const stpCommand: Command = {
  name: 'stp',
  summary: 'show loop protection (spanning tree, loop detection) of learning bridges; unblock a port',
  usage: USAGE,
  async run(ctx: CliContext): Promise<number> {
    const [sub, ...rest] = ctx.args;
    if (sub === undefined || !STP_COMMANDS.includes(sub as StpCommand))
      throw new UsageError(
        sub === undefined ? 'expected an stp command (show or unblock)' : `unknown stp command '${sub}'`,
      );
    const command = sub as StpCommand;
    const max = command === 'show' ? 1 : 2;
    const { values, positionals } = parseOptions({ ...ctx, args: rest }, { json: { type: 'boolean' } }, max);
    if (command === 'unblock' && positionals.length !== 2) throw new UsageError('stp unblock needs BRIDGE and PORT');
    requireRoot('netmgr stp');
    const r = await ask(paths(ctx, undefined).socket, StpRequest, {
      command,
      bridge: positionals[0],
      port: positionals[1],
    });
    if (!r.ok) return reportDaemonError(ctx, `stp ${command}`, r.error);
    if (values.json) {
      printJson(ctx, r.result);
      return EXIT_OK;
    }
    if (command === 'unblock') {
      ctx.stdout(formatUnblock(r.result as StpUnblockResult));
      return EXIT_OK;
    }
    const bridges = r.result as StpShowResult;
    if (bridges.length === 0) ctx.stderr('netmgr stp: netmgrd runs no bridge with policy = "learning"\n');
    ctx.stdout(bridges.map(formatLoopProtection).join('\n'));
    return EXIT_OK;
  },
};
