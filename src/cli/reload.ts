/**
 * `netmgr reload`, `netmgr confirm`, `netmgr rollback`: requests to netmgrd about the unit set in force. Each
 * waits for netmgrd's answer, so `systemctl reload netmgr` (ExecReload) returns when the apply is done.
 */
import { ConfirmRequest, ReloadRequest, RollbackRequest, type NoParams, type RequestType } from '../daemon/protocol';
import type { ApplyOutcome } from '../daemon/records';
import { Command, EXIT_OK } from './command';
import { JSON_OPTION, parseOptions, paths, printJson, requireRoot } from './common';
import { ask, reportDaemonError } from './daemon-client';

function outcomeCommand(name: string, type: RequestType<NoParams, ApplyOutcome>, summary: string): Command {
  return {
    name,
    summary,
    usage: `netmgr ${name} [--json]`,
    async run(ctx) {
      const { values } = parseOptions(ctx, { ...JSON_OPTION });
      requireRoot(`netmgr ${name}`);
      const p = paths(ctx, undefined);
      const r = await ask(p.socket, type, {});
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

export const reloadCommand = outcomeCommand(
  'reload',
  ReloadRequest,
  'make netmgrd re-read its unit directory and netmgrd.conf, apply and verify (as SIGHUP does)',
);
export const confirmCommand = outcomeCommand(
  'confirm',
  ConfirmRequest,
  'keep the change made by `netmgr apply --confirm`',
);
export const rollbackCommand = outcomeCommand(
  'rollback',
  RollbackRequest,
  'undo the change made by `netmgr apply --confirm` now, without waiting for the timeout',
);
