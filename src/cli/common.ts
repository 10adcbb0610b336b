/** Helpers shared by the subcommands: option parsing, loading units, printing located errors. */
import { parseArgs, ParseArgsConfig } from 'util';
import { formatUnitError, UnitError } from '../model/types';
import { Paths, resolvePaths } from '../util/paths';
import { CliContext, UsageError } from './command';

type Options = NonNullable<ParseArgsConfig['options']>;

export const DIR_OPTION = { dir: { type: 'string' } } as const;
export const JSON_OPTION = { json: { type: 'boolean' } } as const;

export function parseOptions<T extends Options>(ctx: CliContext, options: T, positionals = 0) {
  try {
    const r = parseArgs({ args: ctx.args, options, allowPositionals: positionals > 0, strict: true });
    if (r.positionals.length > positionals) throw new UsageError(`unexpected argument: ${r.positionals[positionals]}`);
    return r;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError((e as Error).message);
  }
}

export function paths(ctx: CliContext, dir: unknown): Paths {
  return resolvePaths(ctx.env, typeof dir === 'string' ? dir : undefined);
}

export function printErrors(ctx: CliContext, errors: UnitError[]): void {
  for (const e of errors) ctx.stderr(formatUnitError(e) + '\n');
  ctx.stderr(`${errors.length} error${errors.length === 1 ? '' : 's'}; nothing was applied\n`);
}

export function printJson(ctx: CliContext, value: unknown): void {
  ctx.stdout(JSON.stringify(value, null, 2) + '\n');
}

/** Root is needed to read other namespaces and to change anything; say so instead of failing with EPERM. */
export function requireRoot(what: string): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new UsageError(`${what} needs root (CAP_NET_ADMIN and access to /run/netns); run it with sudo`);
  }
}

/** A switch port for people: `p1(1)`, or just the number when it has no name of its own. */
export function formatPort(no: number, name: string | undefined): string {
  return name && name !== String(no) ? `${name}(${no})` : String(no);
}
