import { applyDesired, DaemonRequiredError } from '../apply/apply';
import { errorBody } from '../daemon/errors';
import { request, requestIfRunning, START_HINT } from '../daemon/client';
import type { ApplyReply } from '../daemon/daemon';
import { formatPlan, planToJson, summarize } from '../plan/format';
import type { Plan } from '../plan/types';
import { Command, CliContext, EXIT_FAILURE, EXIT_INVALID, EXIT_OK } from './command';
import { parseUnits, readUnitDir } from '../units';
import { DIR_OPTION, JSON_OPTION, parseOptions, paths, printErrors, printJson, requireRoot } from './common';
import { reportDaemonError } from './daemon-client';
import { planCommand } from './plan';

function report(ctx: CliContext, json: boolean, plan: Plan, steps: number, recovered: number, via: string): void {
  if (json) {
    printJson(ctx, { ...planToJson(plan), applied: true, steps, recovered, via });
  } else if (!steps) {
    ctx.stdout('No changes.\n');
  } else {
    ctx.stdout(formatPlan(plan));
    const s = summarize(plan);
    ctx.stdout(`Applied: ${s.create} created, ${s.modify} modified, ${s.delete} deleted (${steps} steps).\n`);
  }
}

/**
 * With netmgrd running, the unit files (as read and validated here) are handed to it: it owns the bridges and
 * applies under the same lock and journal. Without it, apply runs here, which is enough for namespaces, veths and
 * addresses; a plan that touches bridges then says how to start the daemon.
 */
export const applyCommand: Command = {
  name: 'apply',
  summary: 'make the live system match the units (all or nothing: a failure rolls back)',
  usage: 'netmgr apply [--dry-run] [--no-wait] [--json] [--dir DIR]',
  async run(ctx) {
    const { values } = parseOptions(ctx, { ...DIR_OPTION, ...JSON_OPTION, 'dry-run': { type: 'boolean' }, 'no-wait': { type: 'boolean' } });
    if (values['dry-run']) {
      return planCommand.run({ ...ctx, args: ctx.args.filter((a) => a !== '--dry-run') });
    }
    requireRoot('netmgr apply');
    const p = paths(ctx, values.dir);
    const sources = readUnitDir(p.unitDir);
    const { state: desired, errors } = parseUnits(sources);
    if (!desired) {
      printErrors(ctx, errors);
      return EXIT_INVALID;
    }
    const testStep = (v: string | undefined) => (v ? Number(v) : undefined);
    const failAtStep = testStep(ctx.env.NETMGR_TEST_FAIL_STEP);
    const killAfterStep = testStep(ctx.env.NETMGR_TEST_KILL_STEP);

    const alive = await requestIfRunning(p.socket, { op: 'ping' });
    if (alive) {
      const r = await request<ApplyReply>(p.socket, { op: 'apply', sources, dir: p.unitDir, failAtStep, killAfterStep });
      if (!r.ok) return reportDaemonError(ctx, 'apply', r.error);
      const plan = r.result.plan as Plan;
      report(ctx, !!values.json, plan, r.result.steps, r.result.recovered, 'netmgrd');
      return EXIT_OK;
    }
    try {
      const r = applyDesired(desired, { stateDir: p.stateDir, wait: !values['no-wait'], failAtStep, killAfterStep, log: (l) => ctx.stderr(`netmgr: ${l}\n`) });
      report(ctx, !!values.json, r.plan, r.steps, r.recovered, 'cli');
      return EXIT_OK;
    } catch (e) {
      if (e instanceof DaemonRequiredError) {
        ctx.stderr(`netmgr apply: ${e.message}\n  hint: netmgrd is not running (${p.socket}); ${START_HINT}, then run netmgr apply again\n`);
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
