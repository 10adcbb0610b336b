'use strict';
/**
 * Flow setups per second through the miss path, kernel datapath vs userspace datapath, measured in the same VM
 * (run by bench/kernel-vm.sh: `test/vm/run --run bench/vm/flow-setup.js`). A learning bridge with two veth
 * ports; host A sends 60-byte raw frames to B's MAC, each from a new source MAC (pktblast rawsend), so every frame
 * is a miss: an upcall, a learned MAC, a megaflow installed and the frame executed. What arrives is counted by B's
 * interface (its kernel rx_packets), not by a receiving program: on one vCPU a program reading every frame takes
 * CPU from the switch it measures, and dropped frames at its socket (it did: a third to a half of the frames the
 * switch delivered). The window runs from the first frame sent to the last one delivered (the counter is read
 * every POLL_MS until it grows by fewer than QUIET_FRAMES three times: the guest's own background frames, IPv6
 * neighbour and multicast chatter, trickle on), so upcalls still queued when the sender stops count when handled.
 * Delivered new MAC pairs per second over that window; median of RUNS runs. The peer, when the VM has Open
 * vSwitch's daemons (the host's openvswitch-switch, copied in by test/vm/build-initramfs.sh): ovs-vswitchd on the
 * same kernel datapath with its default NORMAL action (its own MAC learning), on the same hosts and load.
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { cleanup, shTry, sh, tmpDir, vethToNs, waitFor } = require('../../test/vm/guest/lib');
const { startDaemon, stopDaemon, ok } = require('../../test/vm/guest/kernel');

const RUNS = Number(process.env.RUNS ?? 3);
const SECS = Number(process.env.SECS ?? 3);
const PB = '/netmgr/bench/pktblast';
const POLL_MS = 200;
const QUIET_FRAMES = 10;

/** Frames B's interface received (the kernel's own count). */
const deliveredToB = () => Number(sh('ip netns exec fs-b cat /sys/class/net/fs-b-eth0/statistics/rx_packets').trim());

/** One run: sends SECS s of new-source-MAC frames from A; [delivered frames/s over the window, offered frames/s]. */
async function oneRun() {
  const before = deliveredToB();
  const t0 = Date.now();
  const out = sh(`ip netns exec fs-a ${PB} rawsend fs-a-eth0 02:00:00:00:78:02 ${SECS}`, {
    timeout: (SECS + 30) * 1000,
  });
  const sent = out.match(/sent (\d+) pps (\d+) secs ([\d.]+)/);
  if (!sent) throw new Error(`pktblast output not understood: ${out}`);
  let last = deliveredToB();
  let lastAt = Date.now();
  let prev = last;
  for (let still = 0; still < 3 && Date.now() - lastAt < 30_000;) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    const now = deliveredToB();
    if (now - prev < QUIET_FRAMES) still++;
    else [last, lastAt, still] = [now, Date.now(), 0];
    prev = now;
  }
  return [(last - before) / ((lastAt - t0) / 1000), Number(sent[2])];
}

function units(datapath) {
  const dir = tmpDir('bench-units-');
  fs.writeFileSync(
    path.join(dir, 'fs0.toml'),
    `[unit]\ntype = "bridge"\n\n[bridge]\ndatapath = "${datapath}"\nmac-table-size = 200000\n`,
  );
  for (const [n, host] of [
    [1, 'a'],
    [2, 'b'],
  ]) {
    fs.writeFileSync(
      path.join(dir, `fs-p${n}.toml`),
      `[unit]\ntype = "port"\n\n[port]\nbridge = "fs0"\nkind = "veth"\nnamespace = "fs-${host}"\npeer = "fs-${host}-eth0"\n\n[ipv4]\naddresses = ["198.18.120.${n}/24"]\n\n[link]\nmac = "02:00:00:00:78:0${n}"\n`,
    );
  }
  return dir;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(datapath) {
  const state = tmpDir('bench-state-');
  const env = { NETMGR_DIR: units(datapath), NETMGR_STATE_DIR: state, NETMGR_SOCKET: path.join(state, 'netmgrd.sock') };
  const daemon = await startDaemon(env);
  try {
    ok(['apply'], env);
    const stats = () => JSON.parse(ok(['dpctl', 'show', 'fs0', '--json'], env))[0].stats;
    return await measuredRow(datapath, stats);
  } finally {
    shTry(`node /netmgr/bin/netmgr apply --dir ${tmpDir('empty-')}`, { env: { ...process.env, ...env } });
    await stopDaemon(daemon);
  }
}

/** Runs RUNS measurements once B's MAC is learned; [median rate, median offered]. */
async function runs() {
  const rates = [];
  const offered = [];
  for (let i = 0; i < RUNS; i++) {
    shTry('ip netns exec fs-a ping -c 2 -i 0.2 -W 2 198.18.120.2'); // B's MAC learned: frames to it are switched
    const [rate, offer] = await oneRun();
    rates.push(rate);
    offered.push(offer);
    await new Promise((r) => setTimeout(r, 500));
  }
  return [median(rates), median(offered)];
}

/** A table row: the runs' medians, and the datapath's upcalls (missed) and lost over them from stats(). */
async function measuredRow(datapath, stats) {
  const before = stats();
  const [rate, offered] = await runs();
  const after = stats();
  return {
    datapath,
    rate,
    offered,
    upcalls: after.missed - before.missed,
    lost: after.lost - before.lost,
    flows: after.flows,
  };
}

const OVS_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

/** Counters of the kernel datapath ovs-vswitchd made (ovs-dpctl show: lookups hit/missed/lost, flows). */
function ovsDpStats() {
  const out = sh('ovs-dpctl show');
  const m = out.match(/lookups: hit:(\d+) missed:(\d+) lost:(\d+)/);
  const f = out.match(/flows: (\d+)/);
  if (!m || !f) throw new Error(`ovs-dpctl show not understood: ${out}`);
  return { missed: Number(m[2]), lost: Number(m[3]), flows: Number(f[1]) };
}

/** ovs-vswitchd (a private ovsdb-server and run dir) on the kernel datapath, bridge fs0 with A's and B's veths. */
async function measureOvs() {
  const dir = tmpDir('bench-ovs-');
  const env = { ...process.env, OVS_RUNDIR: dir, OVS_LOGDIR: dir, OVS_DBDIR: dir, OVS_SYSCONFDIR: dir };
  const db = `unix:${dir}/db.sock`;
  const vsctl = (args) => sh(`ovs-vsctl --db=${db} --timeout=60 ${args}`, { env });
  const children = [];
  const start = (cmd, args) => {
    const fd = fs.openSync(path.join(dir, `${cmd}.out`), 'a');
    children.push(spawn(cmd, args, { env, stdio: ['ignore', fd, fd] }));
    fs.closeSync(fd);
  };
  try {
    sh(`ovsdb-tool create ${dir}/conf.db ${OVS_SCHEMA}`, { env });
    start('ovsdb-server', [`${dir}/conf.db`, `--remote=punix:${dir}/db.sock`, `--unixctl=${dir}/ovsdb.ctl`]);
    await waitFor(() => fs.existsSync(`${dir}/db.sock`), 60000, { interval: 200, what: 'ovsdb-server' });
    vsctl('--no-wait init');
    start('ovs-vswitchd', [db, `--unixctl=${dir}/vswitchd.ctl`, `--log-file=${dir}/vswitchd.log`]);
    await waitFor(() => fs.existsSync(`${dir}/vswitchd.ctl`), 60000, { interval: 200, what: 'ovs-vswitchd' });
    // The same MAC table size as netmgr's bridge above, so neither evicts where the other does not.
    vsctl('add-br fs0 -- set bridge fs0 other-config:mac-table-size=200000');
    for (const [n, host] of [
      [1, 'a'],
      [2, 'b'],
    ]) {
      vethToNs(`fs-${host}`, `fs-o${host}`, `fs-${host}-eth0`, `198.18.120.${n}/24`);
      sh(`ip -n fs-${host} link set fs-${host}-eth0 address 02:00:00:00:78:0${n}`);
      vsctl(`add-port fs0 fs-o${host}`);
    }
    return await measuredRow('ovs-vswitchd (kernel)', ovsDpStats);
  } finally {
    shTry(`ovs-appctl -t ${dir}/vswitchd.ctl exit --cleanup`, { env });
    for (const c of children.reverse()) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      const done = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await done;
    }
    shTry('ovs-dpctl del-dp ovs-system');
  }
}

(async () => {
  const rows = [];
  try {
    for (const dp of ['kernel', 'userspace']) rows.push(await measure(dp));
    if (fs.existsSync(OVS_SCHEMA)) rows.push(await measureOvs());
    else
      console.log('(no Open vSwitch daemons in the VM: the host has no openvswitch-switch; ovs-vswitchd not measured)');
  } finally {
    await cleanup.run();
  }
  const k = rows.find((r) => r.datapath === 'kernel');
  const u = rows.find((r) => r.datapath === 'userspace');
  const o = rows.find((r) => r.datapath.startsWith('ovs'));
  console.log(
    `\nFlow setup in the VM (qemu TCG, 1 vCPU, Debian ${sh('uname -r').trim()}): new MAC pairs/s through the miss path, median of ${RUNS} x ${SECS} s`,
  );
  console.log('| datapath | new MAC pairs/s | offered frames/s | upcalls (misses) | lost | ratio |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.datapath} | ${Math.round(r.rate).toLocaleString('en-US')} | ${Math.round(r.offered).toLocaleString('en-US')} | ${r.upcalls.toLocaleString('en-US')} | ${r.lost.toLocaleString('en-US')} | ${(r.rate / u.rate).toFixed(2)}x |`,
    );
  }
  console.log(`kernel / userspace: ${(k.rate / u.rate).toFixed(2)}x (goal >= 1.0x)`);
  if (o)
    console.log(`kernel / ovs-vswitchd on the same kernel datapath: ${(k.rate / o.rate).toFixed(2)}x (goal >= 1.0x)`);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
