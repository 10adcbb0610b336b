/**
 * `netmgr reload`, `netmgr confirm`, `netmgr rollback`: requests to netmgrd about the unit set in force. Each
 * waits for netmgrd's answer, so `systemctl reload netmgr` (ExecReload) returns when the apply is done.
 */
import { request } from '../daemon/client';
import type { ApplyOutcome } from '../daemon/records';
import type { Request } from '../daemon/protocol';
import { Command, EXIT_OK } from './command';
import { JSON_OPTION, parseOptions, paths, printJson, requireRoot } from './common';
import { reportDaemonError } from './daemon-client';

function outcomeCommand(name: string, op: Request['op'], summary: string): Command {
  return {
    name,
    summary,
    usage: `netmgr ${name} [--json]`,
    async run(ctx) {
      const { values } = parseOptions(ctx, { ...JSON_OPTION });
      requireRoot(`netmgr ${name}`);
      const p = paths(ctx, undefined);
      const r = await request<ApplyOutcome>(p.socket, { op } as Request);
      if (!r.ok) return reportDaemonError(ctx, name, r.error);
      if (values.json) printJson(ctx, r.result);
      else {
        ctx.stdout(`${r.result.message}\n`);
        for (const d of r.result.differences ?? []) ctx.stdout(`  verify: still differs: ${d}\n`);
      }
      return EXIT_OK;
    },
  };
}

export const reloadCommand = outcomeCommand('reload', 'reload', "make netmgrd re-read its unit directory and netmgrd.conf, apply and verify (as SIGHUP does)");
export const confirmCommand = outcomeCommand('confirm', 'confirm', 'keep the change made by `netmgr apply --confirm`');
export const rollbackCommand = outcomeCommand('rollback', 'rollback', 'undo the change made by `netmgr apply --confirm` now, without waiting for the timeout');
