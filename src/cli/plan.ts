import { observe } from '../apply/observe';
import { datapathChanges } from '../plan/diff';
import { formatPlan, planToJson } from '../plan/format';
import { Command, EXIT_INVALID, EXIT_OK } from './command';
import { bridgesToPlan } from './daemon-client';
import { START_HINT } from '../daemon/client';
import { readUnits } from '../daemon/config';
import { DIR_OPTION, JSON_OPTION, parseOptions, paths, printErrors, printJson, requireRoot } from './common';

export const planCommand: Command = {
  name: 'plan',
  summary: 'show what apply would change, without changing anything',
  usage: 'netmgr plan [--json] [--dir DIR]',
  async run(ctx) {
    const { values } = parseOptions(ctx, { ...DIR_OPTION, ...JSON_OPTION });
    requireRoot('netmgr plan');
    const p = paths(ctx, values.dir);
    const { state: desired, errors } = readUnits(p.unitDir);
    if (!desired) {
      printErrors(ctx, errors);
      return EXIT_INVALID;
    }
    const { bridges, daemonRunning } = await bridgesToPlan(p.socket, p.stateDir);
    const { problems, plan } = observe(desired, { stateDir: p.stateDir, bridges });
    if (!plan) {
      printErrors(ctx, problems);
      return EXIT_INVALID;
    }
    if (!daemonRunning && datapathChanges(plan).length) {
      plan.notes.push(`netmgrd is not running; apply needs it for bridges, ports and flows: ${START_HINT}`);
    }
    if (values.json) printJson(ctx, planToJson(plan));
    else ctx.stdout(formatPlan(plan));
    return EXIT_OK;
  },
};
