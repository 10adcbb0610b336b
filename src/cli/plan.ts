import { observe } from '../apply/observe';
import { datapathChanges } from '../plan/diff';
import { formatPlan, planToJson } from '../plan/format';
import { CliContext, Command, EXIT_FAILURE, EXIT_INVALID, EXIT_OK } from './command';
import { bridgesToPlan } from './daemon-client';
import { START_HINT } from '../daemon/client';
import { readUnits } from '../daemon/config';
import { DIR_OPTION, JSON_OPTION, parseOptions, paths, printErrors, printJson, requireRoot } from './common';
import { reportError } from './report-error';

const USAGE = 'netmgr plan [--json] [--detailed-exitcode] [--dir DIR]';

/**
 * `--detailed-exitcode`, as terraform's: 0 no changes, 2 changes pending, 1 any error. An error must not read as
 * "changes pending", so with it every failure (invalid units, a bad command line) is 1, not the usual 2.
 */
export const PLAN_CHANGES_PENDING = 2;

/** The plan as the command prints it; `changes` says whether apply would change anything. */
async function runPlan(ctx: CliContext): Promise<{ code: number; changes: boolean }> {
  const { values } = parseOptions(ctx, { ...DIR_OPTION, ...JSON_OPTION, 'detailed-exitcode': { type: 'boolean' } });
  requireRoot('netmgr plan');
  const p = paths(ctx, values.dir);
  const { state: desired, errors } = readUnits(p.unitDir);
  if (!desired) {
    printErrors(ctx, errors);
    return { code: EXIT_INVALID, changes: false };
  }
  const { bridges, daemonRunning } = await bridgesToPlan(p.socket, p.stateDir);
  const { problems, plan } = observe(desired, { stateDir: p.stateDir, bridges });
  if (!plan) {
    printErrors(ctx, problems);
    return { code: EXIT_INVALID, changes: false };
  }
  if (!daemonRunning && datapathChanges(plan).length) {
    plan.notes.push(`netmgrd is not running; apply needs it for bridges, ports and flows: ${START_HINT}`);
  }
  if (values.json) printJson(ctx, planToJson(plan));
  else ctx.stdout(formatPlan(plan));
  return { code: EXIT_OK, changes: plan.changes.length > 0 };
}

export const planCommand: Command = {
  name: 'plan',
  summary: 'show what apply would change, without changing anything',
  usage: USAGE,
  async run(ctx) {
    if (!ctx.args.includes('--detailed-exitcode')) return (await runPlan(ctx)).code;
    try {
      const r = await runPlan(ctx);
      if (r.code !== EXIT_OK) return EXIT_FAILURE;
      return r.changes ? PLAN_CHANGES_PENDING : EXIT_OK;
    } catch (e) {
      reportError(ctx, 'plan', USAGE, e);
      return EXIT_FAILURE;
    }
  },
};
