import { observe } from '../apply/observe';
import { Command, EXIT_INVALID, EXIT_OK } from './command';
import { readUnits } from '../daemon/config';
import { checksPermissions } from '../units';
import { DIR_OPTION, parseOptions, paths, printErrors } from './common';

export const validateCommand: Command = {
  name: 'validate',
  summary: 'check the unit files (and, as root, their permissions and the live system they refer to)',
  usage: 'netmgr validate [--dir DIR] [--offline]',
  async run(ctx) {
    const { values } = parseOptions(ctx, { ...DIR_OPTION, offline: { type: 'boolean' } } as const);
    const p = paths(ctx, values.dir);
    // The permission check guards what root applies: a user validating a copy of units they own is not refused,
    // and is told the check was skipped (units/permissions).
    const strict = checksPermissions();
    const { state: desired, errors } = readUnits(p.unitDir, strict);
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
    const skipped = [
      ...(live ? [] : ['live checks skipped: run as root without --offline to check interfaces']),
      ...(strict
        ? []
        : ['permissions not checked: as root, netmgr refuses units that root does not own or others may write']),
    ];
    const n = desired.bridges.size + desired.ports.size;
    const note = skipped.length ? ` (${skipped.join('; ')})` : '';
    ctx.stdout(`${p.unitDir}: ${n} unit${n === 1 ? '' : 's'} valid${note}\n`);
    return EXIT_OK;
  },
};
