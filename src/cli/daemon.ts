/** `netmgr daemon`: runs netmgrd in the foreground until SIGTERM or SIGINT. */
import { Daemon } from '../daemon/daemon';
import { Command, EXIT_FAILURE, EXIT_OK } from './command';
import { DIR_OPTION, parseOptions, paths, requireRoot } from './common';

export const daemonCommand: Command = {
  name: 'daemon',
  summary: 'run netmgrd in the foreground: it runs the bridges and applies what `netmgr apply` hands it',
  usage: 'netmgr daemon [--dir DIR] [--no-apply]',
  async run(ctx) {
    const { values } = parseOptions(ctx, { ...DIR_OPTION, 'no-apply': { type: 'boolean' } });
    requireRoot('netmgr daemon');
    const p = paths(ctx, values.dir);
    const log = (line: string) => ctx.stderr(`netmgrd: ${line}\n`);
    const daemon = new Daemon({ socketPath: p.socket, stateDir: p.stateDir, unitDir: p.unitDir, applyOnStart: !values['no-apply'], log });
    try {
      await daemon.start();
    } catch (e) {
      daemon.stop();
      ctx.stderr(`netmgr daemon: ${(e as Error).message}\n`);
      return EXIT_FAILURE;
    }
    return new Promise<number>((resolve) => {
      const stop = (sig: string) => {
        log(`${sig}: stopping (bridges go down with netmgrd; namespaces, veths and addresses stay)`);
        daemon.stop();
        resolve(EXIT_OK);
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
  },
};
