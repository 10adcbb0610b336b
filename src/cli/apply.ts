import { applyDesired, DaemonRequiredError } from '../apply/apply';
import { dhcpInterfaces } from '../model/leases';
import { errorBody } from '../daemon/errors';
import { sendIfRunning, START_HINT } from '../daemon/client';
import { ApplyRequest, PingRequest } from '../daemon/protocol';
import { formatPlan, planToJson, summarize } from '../plan/format';
import type { Plan } from '../plan/types';
import { Command, CliContext, EXIT_BUSY, EXIT_FAILURE, EXIT_INVALID, EXIT_OK, UsageError } from './command';
import { loadPendingConfirm } from '../daemon/records';
import { testHooksFromEnv } from '../daemon/test-hooks';
import { readUnits } from '../daemon/config';
import { DIR_OPTION, JSON_OPTION, parseOptions, paths, printErrors, printJson, requireRoot } from './common';
import { ask, reportDaemonError } from './daemon-client';
import { planCommand } from './plan';

interface Extra {
  differences?: string[];
  confirmDeadline?: string;
}

function report(
  ctx: CliContext,
  json: boolean,
  plan: Plan,
  steps: number,
  recovered: number,
  via: string,
  extra: Extra = {},
): void {
  if (json) {
    printJson(ctx, {
      ...planToJson(plan),
      applied: true,
      steps,
      recovered,
      via,
      differences: extra.differences ?? [],
      confirmDeadline: extra.confirmDeadline ?? null,
    });
  } else if (!steps) {
    ctx.stdout('No changes.\n');
  } else {
    ctx.stdout(formatPlan(plan));
    const s = summarize(plan);
    ctx.stdout(`Applied: ${s.create} created, ${s.modify} modified, ${s.delete} deleted (${steps} steps).\n`);
  }
  if (json) return;
  for (const d of extra.differences ?? []) ctx.stdout(`Verify: still differs after the apply: ${d}\n`);
  if (extra.confirmDeadline)
    ctx.stdout(
      `Run \`netmgr confirm\` before ${extra.confirmDeadline} to keep this; otherwise netmgrd rolls it back (\`netmgr rollback\` does it now).\n`,
    );
}

/** --confirm SECONDS: a positive whole number of seconds, at most a day. */
function confirmSeconds(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(typeof v === 'string' || typeof v === 'number' ? String(v) : '') || n < 1 || n > 86_400)
    throw new UsageError(`--confirm takes a number of seconds from 1 to 86400, not ${JSON.stringify(v)}`);
  return n;
}

/**
 * With netmgrd running, the unit files (as read and validated here) are handed to it: it owns the bridges and
 * applies under the same lock and journal. Without it, apply runs here, which is enough for namespaces, veths and
 * addresses; a plan that touches bridges then says how to start the daemon.
 */
export const applyCommand: Command = {
  name: 'apply',
  summary: 'make the live system match the units (all or nothing: a failure rolls back)',
  usage: 'netmgr apply [--confirm SECONDS] [--dry-run] [--no-wait] [--json] [--dir DIR]',
  async run(ctx) {
    const { values } = parseOptions(ctx, {
      ...DIR_OPTION,
      ...JSON_OPTION,
      'dry-run': { type: 'boolean' },
      'no-wait': { type: 'boolean' },
      confirm: { type: 'string' },
    });
    const confirm = confirmSeconds(values.confirm);
    if (values['dry-run']) {
      // What plan shows is what apply would do; waiting and confirming do not change it.
      const args = [
        ...(typeof values.dir === 'string' ? ['--dir', values.dir] : []),
        ...(values.json ? ['--json'] : []),
      ];
      return planCommand.run({ ...ctx, args });
    }
    requireRoot('netmgr apply');
    const p = paths(ctx, values.dir);
    // Checked here (permissions included) before netmgrd gets them: netmgrd applies what root hands it.
    const { state: desired, errors, sources } = readUnits(p.unitDir);
    if (!desired) {
      printErrors(ctx, errors);
      return EXIT_INVALID;
    }
    // Test hooks for an apply run here; netmgrd takes its own from its environment at start, never from a request.
    const { failAtStep, killAfterStep } = testHooksFromEnv(ctx.env);

    const alive = await sendIfRunning(p.socket, PingRequest, {});
    if (alive) {
      const r = await ask(p.socket, ApplyRequest, { sources, dir: p.unitDir, confirmSeconds: confirm });
      if (!r.ok) return reportDaemonError(ctx, 'apply', r.error);
      const plan = r.result.plan as Plan;
      report(ctx, !!values.json, plan, r.result.steps, r.result.recovered, 'netmgrd', r.result);
      return EXIT_OK;
    }
    if (confirm !== undefined) {
      ctx.stderr(
        `netmgr apply: --confirm needs netmgrd, which holds the rollback until you confirm; nothing was applied\n  hint: netmgrd is not running (${p.socket}); ${START_HINT}\n`,
      );
      return EXIT_FAILURE;
    }
    const pending = loadPendingConfirm(p.stateDir);
    if (pending) {
      // netmgrd brings an unconfirmed apply back at its next start and rolls it back: applying past it is lost.
      ctx.stderr(
        `netmgr apply: the apply of ${pending.appliedAt} (with --confirm) awaits confirmation and netmgrd is not running; nothing was applied\n  hint: ${START_HINT}, then netmgr confirm or netmgr rollback\n`,
      );
      return EXIT_BUSY;
    }
    const dhcp = dhcpInterfaces(desired)[0];
    if (dhcp) {
      // netmgrd runs the DHCP client; applied here, the address would wait for a lease nobody asks for.
      ctx.stderr(
        `netmgr apply: ${dhcp.source.file}:${dhcp.source.line}:${dhcp.source.col}: \`dhcp = true\` needs netmgrd, which runs the DHCP client; nothing was applied\n  hint: netmgrd is not running (${p.socket}); ${START_HINT}, then run netmgr apply again\n`,
      );
      return EXIT_FAILURE;
    }
    try {
      const r = applyDesired(desired, {
        stateDir: p.stateDir,
        wait: !values['no-wait'],
        failAtStep,
        killAfterStep,
        log: (l) => ctx.stderr(`netmgr: ${l}\n`),
      });
      report(ctx, !!values.json, r.plan, r.steps, r.recovered, 'cli');
      return EXIT_OK;
    } catch (e) {
      if (e instanceof DaemonRequiredError) {
        ctx.stderr(
          `netmgr apply: ${e.message}\n  hint: netmgrd is not running (${p.socket}); ${START_HINT}, then run netmgr apply again\n`,
        );
        return EXIT_FAILURE;
      }
      // The same errors, printed the same way, whether this process or netmgrd applied; anything unexpected goes
      // to main, which can show its stack (NETMGR_DEBUG).
      const body = errorBody(e);
      if (body.kind === 'error') throw e;
      return reportDaemonError(ctx, 'apply', body);
    }
  },
};
