/** `netmgr daemon`: runs netmgrd in the foreground until SIGTERM or SIGINT; SIGHUP reloads the units. */
import { installCrashHandlers } from '../daemon/crash';
import { Daemon } from '../daemon/daemon';
import { createLogger, stderrIsJournal } from '../daemon/log';
import { testHooksFromEnv } from '../daemon/test-hooks';
import { Command, EXIT_FAILURE, EXIT_INVALID, EXIT_OK } from './command';
import { DIR_OPTION, parseOptions, paths, requireRoot } from './common';
import { messageOf, NetmgrError } from '../util/errors';

export const daemonCommand: Command = {
  name: 'daemon',
  summary:
    'run netmgrd in the foreground: it runs the bridges, follows the unit directory and applies what `netmgr apply` hands it',
  usage: 'netmgr daemon [--dir DIR] [--no-apply] [--no-watch] [--verbose]',
  async run(ctx) {
    const { values } = parseOptions(ctx, {
      ...DIR_OPTION,
      'no-apply': { type: 'boolean' },
      'no-watch': { type: 'boolean' },
      verbose: { type: 'boolean' },
    });
    requireRoot('netmgr daemon');
    const p = paths(ctx, values.dir);
    const log = createLogger(ctx.stderr, stderrIsJournal(ctx.env), !!values.verbose);
    const daemon = new Daemon({
      socketPath: p.socket,
      stateDir: p.stateDir,
      unitDir: p.unitDir,
      applyOnStart: !values['no-apply'],
      watch: values['no-watch'] ? false : undefined,
      testHooks: testHooksFromEnv(ctx.env),
      log,
    });
    // An error that escapes every catch: logged with its request; outside any request netmgrd exits to be
    // restarted (../daemon/crash says which and why).
    const removeCrashHandlers = installCrashHandlers(process, log, (code) => process.exit(code));
    const onHup = () => {
      log.info('SIGHUP: reloading');
      void daemon.reload('reload').catch((e) => log.error(`reload: ${messageOf(e)}`));
    };
    // Installed before start, so a reload asked for while the units are first applied is queued, not fatal.
    process.on('SIGHUP', onHup);
    try {
      await daemon.start();
    } catch (e) {
      daemon.stop();
      process.off('SIGHUP', onHup);
      removeCrashHandlers();
      ctx.stderr(`netmgr daemon: ${messageOf(e)}\n`);
      // Invalid input (an untrusted netmgrd.conf) exits 2: netmgr.service does not restart on it, as on a crash.
      return e instanceof NetmgrError && e.kind === 'invalid' ? EXIT_INVALID : EXIT_FAILURE;
    }
    return new Promise<number>((resolve) => {
      const stop = (sig: string) => {
        log.notice(
          `${sig}: stopping (userspace bridges go down with netmgrd; kernel bridges, namespaces, veths and addresses stay)`,
        );
        daemon.stop();
        process.off('SIGHUP', onHup);
        removeCrashHandlers();
        resolve(EXIT_OK);
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
  },
};
