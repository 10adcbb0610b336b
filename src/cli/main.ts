/** `netmgr` entry point: dispatches to one file per subcommand. */
import { Command, CliContext, EXIT_INVALID, EXIT_OK } from './command';
import { applyCommand } from './apply';
import { planCommand } from './plan';
import { showCommand } from './show';
import { validateCommand } from './validate';
import { dpctlCommand } from './dpctl';
import { fdbCommand } from './fdb';
import { traceCommand } from './trace';
import { stpCommand } from './stp';
import { statusCommand } from './status';
import { confirmCommand, reloadCommand, rollbackCommand } from './reload';
import { reportError } from './report-error';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- package.json is outside rootDir (src), so no import
const pkg = require('../../package.json') as { version: string };

/** `flow` pulls in the whole flow model; load it only when that command runs. */
const flowCommand: Command = {
  name: 'flow',
  summary: 'check or encode an ODP flow (ovs-dpctl syntax) without a datapath',
  usage: 'netmgr flow check|encode [--port NAME=NUMBER]... "<flow>" ["<actions>"]',
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: import would load it at every start
  run: (ctx) => (require('./flow') as typeof import('./flow')).flowCommand.run(ctx),
};

/** The daemon pulls in the datapath and the flow model; load it only when it runs. */
const daemonCommand: Command = {
  name: 'daemon',
  summary:
    'run netmgrd in the foreground: it runs the bridges, follows the unit directory and applies what `netmgr apply` hands it',
  usage: 'netmgr daemon [--dir DIR] [--no-apply] [--no-watch] [--verbose]',
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: import would load it at every start
  run: (ctx) => (require('./daemon') as typeof import('./daemon')).daemonCommand.run(ctx),
};

export const COMMANDS: Command[] = [
  validateCommand,
  planCommand,
  applyCommand,
  confirmCommand,
  rollbackCommand,
  reloadCommand,
  statusCommand,
  showCommand,
  dpctlCommand,
  fdbCommand,
  traceCommand,
  stpCommand,
  flowCommand,
  daemonCommand,
];

function help(): string {
  const lines = [
    'usage: netmgr COMMAND [OPTIONS]',
    '',
    'Declarative network manager: unit files in /etc/netmgr (or --dir / NETMGR_DIR) describe the desired state.',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`),
    `  ${'version'.padEnd(10)} print the version`,
    '',
    'See netmgr(8) and netmgr.units(5).',
  ];
  return lines.join('\n') + '\n';
}

export async function main(
  argv: string[],
  io = { stdout: (s: string) => process.stdout.write(s), stderr: (s: string) => process.stderr.write(s) },
): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    io.stdout(help());
    return name ? EXIT_OK : EXIT_INVALID;
  }
  if (name === 'version' || name === '--version' || name === '-V') {
    io.stdout(`netmgr ${pkg.version}\n`);
    return EXIT_OK;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    io.stderr(`netmgr: unknown command \`${name}\`\n\n${help()}`);
    return EXIT_INVALID;
  }
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout(`usage: ${cmd.usage}\n\n${cmd.summary}\n`);
    return EXIT_OK;
  }
  const ctx: CliContext = { ...io, args, env: process.env };
  try {
    return await cmd.run(ctx);
  } catch (e) {
    return reportError(io, cmd.name, cmd.usage, e);
  }
}
