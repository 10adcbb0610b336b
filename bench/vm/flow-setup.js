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
 * Delivered new MAC pairs per second over that window; median of RUNS runs.
 */
const fs = require('node:fs');
const path = require('node:path');
const { cleanup, shTry, sh, tmpDir } = require('../../test/vm/guest/lib');
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
    const before = stats();
    const rates = [];
    const offered = [];
    for (let i = 0; i < RUNS; i++) {
      shTry('ip netns exec fs-a ping -c 2 -i 0.2 -W 2 198.18.120.2'); // B's MAC learned: frames to it are switched, not flooded
      const [rate, offer] = await oneRun();
      rates.push(rate);
      offered.push(offer);
      await new Promise((r) => setTimeout(r, 500));
    }
    const after = stats();
    return {
      datapath,
      rate: median(rates),
      offered: median(offered),
      upcalls: after.missed - before.missed,
      lost: after.lost - before.lost,
      flows: after.flows,
    };
  } finally {
    shTry(`node /netmgr/bin/netmgr apply --dir ${tmpDir('empty-')}`, { env: { ...process.env, ...env } });
    await stopDaemon(daemon);
  }
}

(async () => {
  const rows = [];
  try {
    for (const dp of ['kernel', 'userspace']) rows.push(await measure(dp));
  } finally {
    await cleanup.run();
  }
  const k = rows.find((r) => r.datapath === 'kernel');
  const u = rows.find((r) => r.datapath === 'userspace');
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
  console.log(`kernel / userspace: ${(k.rate / u.rate).toFixed(2)}x`);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
