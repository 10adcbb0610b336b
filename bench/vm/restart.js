'use strict';
/**
 * netmgrd SIGKILLed and restarted with pings going through a learning bridge, in the VM (run by bench/restart.sh:
 * `test/vm/run --run bench/vm/restart.js`). The kernel datapath keeps forwarding while netmgrd is gone (the
 * bridge and its megaflows live in the kernel), so the figure is the longest gap between ping replies (every
 * 10 ms) around the kill and the restart; the userspace datapath is measured the same way in the same VM for
 * contrast (its bridge dies with netmgrd). netmgrd is restarted the way systemd's Restart=on-failure does it:
 * RestartSec (read from /netmgr/units/netmgr.service) after it died. Median and max of RUNS runs; the table is
 * printed between =====RESTART-TABLE===== lines for bench/restart.sh to pick out of the console.
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { cleanup, sh, shTry, tmpDir, waitFor, NETMGR } = require('../../test/vm/guest/lib');

const RUNS = Number(process.env.RUNS ?? 3);
const IP_B = '198.18.140.2';

/** RestartSec of the shipped unit, in ms (systemd's default, 100 ms, when it sets none). */
function restartMs() {
  const unit = fs.readFileSync('/netmgr/units/netmgr.service', 'utf8');
  const m = unit.match(/^RestartSec=([\d.]+)(ms|s)?$/m);
  if (!m) return 100;
  return m[2] === 'ms' ? Number(m[1]) : Number(m[1]) * 1000;
}

/** Bridge x0 with hosts x-h1 and x-h2 on veth ports; x is "rk" (kernel) or "ru" (userspace): names differ, so
 * nothing one datapath's run leaves can get in the other's way. */
function units(datapath, x) {
  const dir = tmpDir('restart-units-');
  fs.writeFileSync(path.join(dir, `${x}0.toml`), `[unit]\ntype = "bridge"\n\n[bridge]\ndatapath = "${datapath}"\n`);
  for (const n of [1, 2]) {
    fs.writeFileSync(
      path.join(dir, `${x}-p${n}.toml`),
      `[unit]\ntype = "port"\n\n[port]\nbridge = "${x}0"\nkind = "veth"\nnamespace = "${x}-h${n}"\npeer = "${x}-e${n}"\n\n` +
        `[ipv4]\naddresses = ["198.18.140.${n}/24"]\n\n[link]\nmac = "02:00:00:8c:02:0${n}"\n`,
    );
  }
  return dir;
}

/** What Restart=on-failure does: a netmgrd that dies by a signal or a non-zero status is started again after delayMs. */
function supervise(env, delayMs) {
  const s = { child: null, starts: [], stopping: false };
  const log = path.join(env.NETMGR_STATE_DIR, 'netmgrd.log');
  const start = () => {
    const fd = fs.openSync(log, 'a');
    // No --no-apply: a restarted netmgrd applies its unit dir, as the service does.
    s.child = spawn(process.execPath, [NETMGR, 'daemon', '--no-watch'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', fd, fd],
    });
    fs.closeSync(fd);
    s.starts.push(Date.now() / 1000);
    s.child.once('exit', (code, signal) => {
      if (!s.stopping && (signal || code !== 0)) setTimeout(start, delayMs);
    });
  };
  start();
  s.stop = async () => {
    s.stopping = true;
    const c = s.child;
    if (c.exitCode !== null || c.signalCode !== null) return;
    const done = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await done;
  };
  return s;
}

const pingOnce = (x) => shTry(`ip netns exec ${x}-h1 ping -c 1 -W 2 ${IP_B}`).status === 0;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

/** Longest gap between replies, and the reply that ended the longest gap after the kill, from ping -D output. */
function gaps(text, kill) {
  let prev;
  let max = 0;
  let back;
  let backGap = 0;
  let got = 0;
  let last = 0;
  for (const line of text.split('\n')) {
    const m = line.match(/^\[([\d.]+)\] .*bytes from.*icmp_seq=(\d+)/);
    if (!m) continue;
    const t = Number(m[1]);
    if (prev !== undefined) {
      max = Math.max(max, t - prev);
      if (t > kill && t - prev > backGap) [backGap, back] = [t - prev, t];
    }
    prev = t;
    got++;
    last = Math.max(last, Number(m[2]));
  }
  return {
    gapMs: max * 1000,
    backMs: back === undefined ? NaN : (back - kill) * 1000,
    lost: last - got,
  };
}

async function measure(datapath, delayMs) {
  const x = datapath === 'kernel' ? 'rk' : 'ru';
  const state = tmpDir('restart-state-');
  const env = {
    NETMGR_DIR: units(datapath, x),
    NETMGR_STATE_DIR: state,
    NETMGR_SOCKET: path.join(state, 'netmgrd.sock'),
  };
  const daemonLog = path.join(state, 'netmgrd.log');
  // netmgrd logs "ready:" once it answers and has applied its units: cheaper to watch than running the CLI.
  const readies = () => (fs.existsSync(daemonLog) ? fs.readFileSync(daemonLog, 'utf8').split('ready:').length - 1 : 0);
  const sup = supervise(env, delayMs);
  const rows = [];
  try {
    await waitFor(() => pingOnce(x), 120000, { interval: 500, what: `the ${datapath} bridge to forward` });
    for (const ns of [`${x}-h1`, `${x}-h2`]) sh(`ip netns exec ${ns} sysctl -qw net.ipv6.conf.all.disable_ipv6=1`);
    for (let run = 1; run <= RUNS; run++) {
      // To a file, not a pipe: a pipe this process reads late would block ping's writes and so its sending.
      const file = path.join(state, `ping-${run}.txt`);
      const fd = fs.openSync(file, 'w');
      const ping = spawn('ip', ['netns', 'exec', `${x}-h1`, 'ping', '-D', '-n', '-i', '0.01', IP_B], {
        stdio: ['ignore', fd, fd],
      });
      fs.closeSync(fd);
      // The VM has one emulated CPU, on which a starting netmgrd (Node under TCG) runs for seconds: the pinger must
      // not wait behind it, or the gap measured would be the pinger's, not the bridge's. netmgrd keeps nice 0, as
      // under systemd (its forwarding thread takes -10 itself): a main thread reniced to 19 would get almost no CPU
      // next to a busy forwarding thread, and the restart would measure that.
      os.setPriority(ping.pid, -20);
      const out = () => fs.readFileSync(file, 'utf8');
      await sleep(2000);
      const old = sup.child;
      const starts = sup.starts.length;
      const ready = readies();
      const kill = Date.now() / 1000;
      old.kill('SIGKILL');
      await waitFor(() => readies() > ready, 120000, { interval: 50, what: 'the restarted netmgrd to be ready' });
      const answered = Date.now() / 1000;
      await waitFor(() => gaps(out(), kill).backMs > 50 || datapath === 'kernel', 60000, {
        interval: 100,
        what: 'a reply after the kill',
      });
      await sleep(2000);
      const done = new Promise((r) => ping.once('exit', r));
      ping.kill('SIGINT');
      await done;
      const g = gaps(out(), kill);
      rows.push({ ...g, answerMs: (answered - kill) * 1000, startMs: (sup.starts[starts] - kill) * 1000 });
      console.log(`# ${datapath} run ${run}: ${JSON.stringify(rows[rows.length - 1])}`);
      await waitFor(() => pingOnce(x), 60000, { interval: 200, what: 'forwarding before the next run' });
    }
  } catch (e) {
    const log = fs.existsSync(daemonLog) ? fs.readFileSync(daemonLog, 'utf8').slice(-3000) : '(none)';
    throw new Error(`${e.message}\nnetmgrd's log:\n${log}`);
  } finally {
    // Removed through netmgrd (which owns the bridge), before the next datapath reuses the names.
    shTry(`node ${NETMGR} apply --dir ${tmpDir('empty-')}`, { env: { ...process.env, ...env } });
    await sup.stop();
  }
  return rows;
}

(async () => {
  const delayMs = restartMs();
  const result = {};
  try {
    // DATAPATHS: a comma-separated subset (default both).
    for (const dp of (process.env.DATAPATHS ?? 'kernel,userspace').split(',')) result[dp] = await measure(dp, delayMs);
  } finally {
    await cleanup.run();
  }
  const f = (x) => (Number.isFinite(x) ? x.toFixed(1) : '-');
  console.log('=====RESTART-TABLE=====');
  console.log(
    `In the VM (qemu TCG, 1 vCPU, Debian ${sh('uname -r').trim()}): netmgrd SIGKILLed, restarted ${delayMs} ms after ` +
      `(RestartSec of units/netmgr.service), ping every 10 ms (nice -20; netmgrd at nice 0, its forwarding thread at -10) through a learning bridge; ` +
      `median (max) of ${RUNS} run(s)`,
  );
  console.log('');
  console.log(
    '| datapath | runs | longest ping gap ms | kill -> forwarding again ms | kill -> new netmgrd started ms | kill -> new netmgrd ready ms | pings lost |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const [dp, rows] of Object.entries(result)) {
    const mm = (k) => `${f(median(rows.map((r) => r[k])))} (${f(Math.max(...rows.map((r) => r[k])))})`;
    // No gap longer than 100 ms: forwarding never stopped, and the longest gap is the figure.
    const back = median(rows.map((r) => r.gapMs)) < 100 ? 'never stopped' : mm('backMs');
    console.log(
      `| ${dp} | ${rows.length} | ${mm('gapMs')} | ${back} | ${mm('startMs')} | ${mm('answerMs')} | ${mm('lost')} |`,
    );
  }
  console.log('=====RESTART-TABLE-END=====');
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
