import { ApplyFailedError, applyDesired, InvalidUnitsError, UnsupportedError } from '../apply/apply';
import { LockBusyError } from '../apply/lock';
import { formatPlan, planToJson, summarize } from '../plan/format';
import { Command, EXIT_BUSY, EXIT_FAILURE, EXIT_INVALID, EXIT_OK } from './command';
import { loadUnitDir } from '../units';
import { DIR_OPTION, JSON_OPTION, parseOptions, paths, printErrors, printJson, requireRoot } from './common';
import { planCommand } from './plan';

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
    const { state: desired, errors } = loadUnitDir(p.unitDir);
    if (!desired) {
      printErrors(ctx, errors);
      return EXIT_INVALID;
    }
    const testStep = (v: string | undefined) => (v ? Number(v) : undefined);
    try {
      const r = applyDesired(desired, { stateDir: p.stateDir, wait: !values['no-wait'], failAtStep: testStep(ctx.env.NETMGR_TEST_FAIL_STEP), killAfterStep: testStep(ctx.env.NETMGR_TEST_KILL_STEP), log: (l) => ctx.stderr(`netmgr: ${l}\n`) });
      if (values.json) {
        printJson(ctx, { ...planToJson(r.plan), applied: true, steps: r.steps, recovered: r.recovered });
      } else if (!r.steps) {
        ctx.stdout('No changes.\n');
      } else {
        ctx.stdout(formatPlan(r.plan));
        const s = summarize(r.plan);
        ctx.stdout(`Applied: ${s.create} created, ${s.modify} modified, ${s.delete} deleted (${r.steps} steps).\n`);
      }
      return EXIT_OK;
    } catch (e) {
      if (e instanceof InvalidUnitsError) {
        printErrors(ctx, e.errors);
        return EXIT_INVALID;
      }
      if (e instanceof UnsupportedError) {
        ctx.stderr(`netmgr apply: ${e.message}\n  hint: \`netmgr plan\` shows what would be done; remove the bridge units to apply the rest\n`);
        return EXIT_INVALID;
      }
      if (e instanceof LockBusyError) {
        ctx.stderr(`netmgr apply: ${e.message}\n`);
        return EXIT_BUSY;
      }
      if (e instanceof ApplyFailedError) {
        ctx.stderr(`netmgr apply: ${e.message}\n`);
        return EXIT_FAILURE;
      }
      throw e;
    }
  },
};
