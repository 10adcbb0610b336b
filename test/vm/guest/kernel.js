'use strict';
/**
 * Shared steps of the kernel-datapath guest tests: a private netmgr environment (unit dir, state dir, socket),
 * netmgrd started and stopped by PID, and readers for `netmgr dpctl` and `ovs-dpctl` output.
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { NETMGR, ROOT, netmgr, sh, shTry, waitFor, tmpDir } = require('./lib');

/** A unit dir holding a copy of an example (with text replacements), plus a state dir and socket of its own. */
function netmgrEnv(example, replace = []) {
  const units = tmpDir('units-');
  const state = tmpDir('state-');
  const src = path.join(ROOT, 'examples', example);
  for (const f of fs.readdirSync(src).filter((n) => n.endsWith('.toml'))) {
    let text = fs.readFileSync(path.join(src, f), 'utf8');
    for (const [from, to] of replace) text = text.split(from).join(to);
    fs.writeFileSync(path.join(units, f), text);
  }
  const env = { NETMGR_DIR: units, NETMGR_STATE_DIR: state, NETMGR_SOCKET: path.join(state, 'netmgrd.sock') };
  return { units, state, env };
}

/** Starts netmgrd; resolves when its socket answers. Returns the child (its PID is ours to kill). */
async function startDaemon(env, args = ['--no-apply']) {
  const log = fs.openSync(path.join(env.NETMGR_STATE_DIR, 'netmgrd.log'), 'a');
  // --no-watch: these tests edit units and then plan and apply explicitly; watching is tested on the host
  // (test/integration/service.test.ts).
  const child = spawn(process.execPath, [NETMGR, 'daemon', '--no-watch', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`netmgrd exited (${child.exitCode}): ${daemonLog(env)}`);
      return fs.existsSync(env.NETMGR_SOCKET) && netmgr(['dpctl', 'show'], env).status === 0;
    },
    60000,
    { interval: 200, what: 'netmgrd to answer' },
  );
  return child;
}

function daemonLog(env) {
  try {
    return fs.readFileSync(path.join(env.NETMGR_STATE_DIR, 'netmgrd.log'), 'utf8');
  } catch {
    return '';
  }
}

/** Ends netmgrd (by its PID) with a signal and waits for it. */
async function stopDaemon(child, signal = 'SIGTERM') {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await done;
}

/** Runs netmgr and fails with its output when the exit status is not the expected one. */
function ok(args, env, status = 0) {
  const r = netmgr(args, env);
  if (r.status !== status)
    throw new Error(
      `netmgr ${args.join(' ')} exited ${r.status}, expected ${status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`,
    );
  return r.stdout;
}

/** Flow lines as "match -> actions" with statistics removed, sorted (for comparing two tools' dumps). */
function flowSet(dump) {
  return dump
    .split('\n')
    .filter((l) => l.includes('actions:'))
    .map((l) => {
      const match = l
        .slice(0, l.indexOf(', packets:'))
        .replace(/^ufid:[0-9a-f-]+,?\s*/, '')
        .replace(/^recirc_id\(0\),/, '');
      const actions = l.slice(l.indexOf('actions:') + 'actions:'.length).trim();
      return `${match} -> ${actions}`;
    })
    .sort();
}

/** `ovs-dpctl show` port lines of one datapath: ["port 0: kf-br (internal)", ...]. */
function ovsPorts(dp) {
  return sh(`ovs-dpctl show system@${dp}`)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^port \d+:/.test(l))
    .sort();
}

/** Names of every kernel datapath (ovs-dpctl dump-dps prints system@NAME per line). */
function datapaths() {
  const r = shTry('ovs-dpctl dump-dps');
  return r.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => l.replace(/^system@/, ''))
    .sort();
}

module.exports = { netmgrEnv, startDaemon, stopDaemon, daemonLog, ok, flowSet, ovsPorts, datapaths };
