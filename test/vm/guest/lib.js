'use strict';
/**
 * Helpers for guest tests (test/vm/guest/*.test.js), which run inside the VM as root with Node's test runner.
 * Plain CommonJS: the guest has node and the built project at /netmgr, no TypeScript.
 *
 * Commands run through /bin/sh, which in the guest is dash, so `ip`, `ping`, `tc` on PATH are the real iproute2 and
 * iputils tools (busybox's own ip/ping would lack netns and options).
 */
const { execSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = '/netmgr';
const NETMGR = path.join(ROOT, 'bin', 'netmgr');
const IP = '/sbin/ip';

/** Single-quotes a string for /bin/sh. */
const q = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

/**
 * Runs a shell command; returns its stdout. Throws when it exits non-zero, with the command, status, stderr and
 * stdout in the message (and .status/.stdout/.stderr on the error).
 */
function sh(cmd, opts = {}) {
  try {
    return execSync(cmd, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60000, ...opts });
  } catch (e) {
    const out = (s) => (s ? String(s).trim() : '');
    const err = new Error(
      `command failed (status ${e.status ?? e.signal ?? e.code}): ${cmd}` +
        (out(e.stderr) ? `\nstderr: ${out(e.stderr)}` : '') +
        (out(e.stdout) ? `\nstdout: ${out(e.stdout)}` : ''),
    );
    err.status = e.status;
    err.stdout = out(e.stdout);
    err.stderr = out(e.stderr);
    throw err;
  }
}

/** Like sh() but never throws: {status, stdout, stderr}. */
function shTry(cmd, opts = {}) {
  const r = spawnSync('/bin/sh', ['-c', cmd], { encoding: 'utf8', timeout: 60000, ...opts });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? String(r.error) : '') };
}

/** Runs a shell command (pipes and all) inside a named network namespace. */
const nsExec = (ns, cmd, opts) => sh(`${IP} netns exec ${q(ns)} /bin/sh -c ${q(cmd)}`, opts);

/**
 * A cleanup registry: add() undo steps as you create things, run() them in reverse order (errors are collected,
 * not thrown, so one failing step does not skip the rest). A step is a function (may be async) or a shell command.
 * The shared `cleanup` instance also runs its remaining shell/sync steps when the process exits, as a safety net;
 * still call `await cleanup.run()` in a finally or t.after(). /init also deletes every namespace, veth and
 * datapath a test file leaves behind (and reports them in the TAP as "# netmgr-vm: ... left ...").
 */
class Cleanup {
  constructor() {
    this.steps = [];
  }

  add(step) {
    this.steps.push(step);
    return step;
  }

  async run() {
    const errors = [];
    while (this.steps.length) {
      const step = this.steps.pop();
      try {
        if (typeof step === 'string') shTry(step);
        else await step();
      } catch (e) {
        errors.push(e);
      }
    }
    return errors;
  }

  runSync() {
    while (this.steps.length) {
      const step = this.steps.pop();
      try {
        if (typeof step === 'string') shTry(step);
        else step();
      } catch {
        /* best effort at exit */
      }
    }
  }
}
const cleanup = new Cleanup();
process.on('exit', () => cleanup.runSync());

/** Polls pred (sync or async) every `interval` ms until it returns a truthy value, which it returns. */
async function waitFor(pred, ms = 5000, { interval = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + ms;
  let lastErr;
  for (;;) {
    try {
      const v = await pred();
      if (v) return v;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${ms} ms waiting for ${what}${lastErr ? `: ${lastErr.message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

/**
 * Runs `node /netmgr/bin/netmgr ARGS...` synchronously; never throws: {status, stdout, stderr}.
 * args: an array (or a string split on whitespace); env: added to (overriding) the test's environment.
 */
function netmgr(args, env = {}, opts = {}) {
  const argv = Array.isArray(args) ? args : String(args).split(/\s+/).filter(Boolean);
  const r = spawnSync(process.execPath, [NETMGR, ...argv], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    cwd: ROOT,
    timeout: 120000,
    ...opts,
  });
  return {
    status: r.status,
    signal: r.signal,
    stdout: r.stdout ?? '',
    stderr: r.stderr ?? (r.error ? String(r.error) : ''),
  };
}

/** A fresh temp dir (for NETMGR_DIR / NETMGR_STATE_DIR / unit files), removed by cleanup.run(). */
function tmpDir(prefix = 'netmgr-') {
  const d = fs.mkdtempSync(path.join('/tmp', prefix));
  cleanup.add(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

/**
 * A veth pair from the root namespace into namespace `ns` (created if missing): the root namespace keeps `outer`
 * (up, no address), `ns` gets `inner` (up, with `cidr` if given, lo up too). Registers the deletions with cleanup.
 */
function vethToNs(ns, outer, inner, cidr) {
  if (!fs.existsSync(`/run/netns/${ns}`)) {
    sh(`${IP} netns add ${q(ns)}`);
    cleanup.add(`${IP} netns delete ${q(ns)}`);
  }
  sh(`${IP} link add ${q(outer)} type veth peer name ${q(inner)} netns ${q(ns)}`);
  cleanup.add(`${IP} link delete ${q(outer)}`);
  sh(`${IP} link set ${q(outer)} up`);
  nsExec(
    ns,
    `${IP} link set lo up && ${IP} link set ${q(inner)} up` +
      (cidr ? ` && ${IP} addr add ${q(cidr)} dev ${q(inner)}` : ''),
  );
}

module.exports = { ROOT, NETMGR, IP, q, sh, shTry, nsExec, Cleanup, cleanup, waitFor, netmgr, tmpDir, vethToNs };
