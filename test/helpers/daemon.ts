/** Starts `netmgr daemon` for a test, with the run's own socket and state directory, and stops it by PID. */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { cleanupPrefix, NETMGR } from './sys';

export interface TestDaemon {
  proc: ChildProcess;
  env: Record<string, string>;
  log(): string;
  /** SIGTERM, then wait for the exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  alive(): boolean;
}

/**
 * @param daemonEnv more environment for netmgrd only (not in the returned env the CLI is run with): the test
 *   hooks NETMGR_TEST_FAIL_STEP and NETMGR_TEST_KILL_STEP, which netmgrd reads at start
 * @param netns run netmgrd inside this network namespace (a test box whose "root" namespace it is)
 */
export async function startDaemon(
  unitDir: string,
  stateDir: string,
  extraArgs: string[] = ['--no-apply'],
  daemonEnv: Record<string, string> = {},
  netns?: string,
): Promise<TestDaemon> {
  const env = { NETMGR_STATE_DIR: stateDir, NETMGR_SOCKET: path.join(stateDir, 'netmgrd.sock') };
  // In a namespace of its own, netmgrd takes that namespace for the box's (ip netns exec execs it: same PID).
  const argv = [process.execPath, NETMGR, 'daemon', '--dir', unitDir, ...extraArgs];
  const proc = spawn(netns ? 'ip' : argv[0], netns ? ['netns', 'exec', netns, ...argv] : argv.slice(1), {
    env: { ...process.env, ...env, ...daemonEnv },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  proc.stderr.on('data', (d: Buffer) => (log += d.toString()));
  let exited = false;
  const exit = new Promise<number | null>((resolve) => proc.on('exit', (code) => ((exited = true), resolve(code))));
  for (let i = 0; i < 200 && !log.includes('ready:'); i++) {
    if (exited) throw new Error(`netmgr daemon exited at start:\n${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!fs.existsSync(env.NETMGR_SOCKET)) throw new Error(`netmgr daemon did not become ready:\n${log}`);
  return {
    proc,
    env,
    log: () => log,
    alive: () => !exited,
    async stop() {
      if (!exited) proc.kill('SIGTERM');
      return exit;
    },
  };
}

/**
 * Test teardown: stops the daemon, applies an empty unit set (removing what netmgr created, with the daemon gone),
 * sweeps anything left with the run's prefix, and removes the run's directories.
 */
export async function stopAndClean(
  daemon: TestDaemon | undefined,
  stateDir: string,
  prefix: string,
  dirs: string[],
): Promise<void> {
  await daemon?.stop();
  const empty = fs.mkdtempSync(path.join(stateDir, 'empty-'));
  spawnSync(process.execPath, [NETMGR, 'apply', '--dir', empty], {
    env: { ...process.env, NETMGR_STATE_DIR: stateDir, NETMGR_SOCKET: path.join(stateDir, 'netmgrd.sock') },
  });
  cleanupPrefix(prefix);
  for (const d of [...dirs, stateDir]) fs.rmSync(d, { recursive: true, force: true });
}
