import { observe } from '../apply/observe';
import { Command, EXIT_INVALID, EXIT_OK } from './command';
import { loadUnitDir } from '../units';
import { DIR_OPTION, parseOptions, paths, printErrors } from './common';

export const validateCommand: Command = {
  name: 'validate',
  summary: 'check the unit files (and, as root, the live system they refer to)',
  usage: 'netmgr validate [--dir DIR] [--offline]',
  async run(ctx) {
    const { values } = parseOptions(ctx, { ...DIR_OPTION, offline: { type: 'boolean' } } as const);
    const p = paths(ctx, values.dir);
    const { state: desired, errors } = loadUnitDir(p.unitDir);
    if (!desired) {
      printErrors(ctx, errors);
      return EXIT_INVALID;
    }
    // Live checks (system ports exist, names free) need root; --offline or a non-root user skips them, visibly.
    const live = !values.offline && process.getuid?.() === 0;
    if (live) {
      const { problems } = observe(desired, { stateDir: p.stateDir });
      if (problems.length) {
        printErrors(ctx, problems);
        return EXIT_INVALID;
      }
    }
    const n = desired.bridges.size + desired.ports.size;
    ctx.stdout(
      `${p.unitDir}: ${n} unit${n === 1 ? '' : 's'} valid${live ? '' : ' (live checks skipped: run as root without --offline to check interfaces)'}\n`,
    );
    return EXIT_OK;
  },
};
