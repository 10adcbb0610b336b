'use strict';
/**
 * Upcalls keep being answered while netmgrd does a large apply, on the kernel datapath (issue 20, acceptance 3).
 *
 * A learning bridge on the kernel datapath joins hosts ci-h1 and ci-h2. From ci-h1, bench/arpprobe sends an ARP
 * request for ci-h2 every 50 ms, each from a source MAC never seen before, so every probe is a new (source,
 * destination) pair: the request misses in the kernel (an upcall: learn, flood) and so does ci-h2's reply to the
 * new MAC (an upcall: forward). Its round trip is the upcall handling of netmgrd's forwarding worker, twice.
 * Measured quiet, and while netmgrd applies (then removes) a unit set with 200 more veth pairs on its main thread:
 * no probe may be lost, and none may take as long as an apply step (MAX_MS).
 */
const test = require('node:test');
const assert = require('node:assert');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { cleanup, netmgr, sh, tmpDir } = require('./lib');
const { startDaemon, stopDaemon, daemonLog, ok } = require('./kernel');

const PROBE = '/netmgr/bench/arpprobe';
const PAIRS = 200;
const NAMESPACES = 10;
/** One new pair every 50 ms: the emulated CPU handles ~300 new pairs/s at most (bench/kernel-vm.sh), and the apply
 * must still get the CPU the forwarding thread leaves it. */
const INTERVAL_MS = 50;
/**
 * No probe may take over MAX_MS during the apply. Upcalls handled on the thread that applies would wait for whole
 * apply steps (one step adds all 200 veth pairs: seconds here), so they would be lost (after 1 s) or take seconds.
 * Finer bounds are not asserted: the one emulated CPU is 20-50 times slower than real hardware and shares the host
 * with whatever else runs there, so even quiet probes vary from run to run (slowest 59-133 ms; during the apply the
 * 99th percentile was 39-249 ms and the slowest 68-550 ms across runs). The figures are printed for the record.
 */
const MAX_MS = 1000;

/** The bridge and its two hosts; with `pairs`, that many veth pairs too (spread over NAMESPACES namespaces). */
function writeUnits(dir, pairs) {
  for (const f of fs.readdirSync(dir)) fs.unlinkSync(path.join(dir, f));
  fs.writeFileSync(path.join(dir, 'ci0.toml'), '[unit]\ntype = "bridge"\n[bridge]\ndatapath = "kernel"\n');
  for (const n of [1, 2])
    fs.writeFileSync(
      path.join(dir, `ci-p${n}.toml`),
      `[unit]\ntype = "port"\n[port]\nbridge = "ci0"\nkind = "veth"\nnamespace = "ci-h${n}"\npeer = "ci-e${n}"\n` +
        `[ipv4]\naddresses = ["198.18.141.${n}/24"]\n[link]\nmac = "02:00:00:8d:00:0${n}"\n`,
    );
  for (let i = 0; i < pairs; i++) {
    const ns = `ci-n${i % NAMESPACES}`;
    fs.writeFileSync(
      path.join(dir, `ci-v${i}.toml`),
      `[unit]\ntype = "port"\n[port]\nkind = "veth"\nlocal-namespace = "${ns}"\nnamespace = "${ns}"\npeer = "ci-w${i}"\n`,
    );
  }
}

/** arpprobe from ci-h1 until stop(); resolves its figures. */
function startProbe() {
  const p = spawn(
    'ip',
    ['netns', 'exec', 'ci-h1', PROBE, 'ci-e1', '198.18.141.1', '198.18.141.2', String(INTERVAL_MS), '600'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // The prober must not wait behind netmgrd's main thread for the one CPU: what is measured is the switch.
  require('node:os').setPriority(p.pid, -20);
  let out = '';
  p.stdout.on('data', (d) => (out += d));
  p.stderr.on('data', (d) => (out += d));
  const done = new Promise((r) => p.once('close', r));
  cleanup.add(() => p.kill('SIGKILL'));
  return {
    async stop() {
      p.kill('SIGINT');
      await done;
      const m = out.match(/probes (\d+) answered (\d+) lost (\d+) median_ms ([\d.]+) p99_ms ([\d.]+) max_ms ([\d.]+)/);
      if (!m) throw new Error(`arpprobe printed: ${out}`);
      const [probes, answered, lost, median, p99, max] = m.slice(1).map(Number);
      return { probes, answered, lost, median, p99, max };
    },
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test(
  'kernel datapath: upcalls answered while netmgrd applies 200 veth pairs',
  { skip: !fs.existsSync(PROBE) },
  async (t) => {
    const units = tmpDir('ci-units-');
    const state = tmpDir('ci-state-');
    const env = { NETMGR_DIR: units, NETMGR_STATE_DIR: state, NETMGR_SOCKET: path.join(state, 'netmgrd.sock') };
    t.after(() => cleanup.run());
    writeUnits(units, 0);
    const daemon = await startDaemon(env);
    cleanup.add(() => stopDaemon(daemon, 'SIGKILL'));
    cleanup.add('ovs-dpctl del-dp ci0');
    for (const n of ['ci-h1', 'ci-h2', ...Array.from({ length: NAMESPACES }, (_, i) => `ci-n${i}`)])
      cleanup.add(`ip netns delete ${n}`);
    ok(['apply'], env);
    for (const n of [1, 2]) sh(`ip netns exec ci-h${n} sysctl -qw net.ipv6.conf.all.disable_ipv6=1`);

    const quietProbe = startProbe();
    await sleep(5000);
    const quiet = await quietProbe.stop();

    const busyProbe = startProbe();
    await sleep(300);
    writeUnits(units, PAIRS);
    const t0 = Date.now();
    const added = netmgr(['apply'], env, { timeout: 300000 });
    const applyMs = Date.now() - t0;
    t.diagnostic(`apply +${PAIRS}: exit ${added.status} after ${applyMs} ms`);
    writeUnits(units, 0);
    const t1 = Date.now();
    const removed = netmgr(['apply'], env, { timeout: 300000 });
    const removeMs = Date.now() - t1;
    t.diagnostic(`apply -${PAIRS}: exit ${removed.status} after ${removeMs} ms`);
    await sleep(300);
    const busy = await busyProbe.stop();
    for (const r of [added, removed])
      assert.equal(r.status, 0, `netmgr apply: ${r.stderr}\n${daemonLog(env).slice(-3000)}`);

    t.diagnostic(`quiet: ${JSON.stringify(quiet)}`);
    t.diagnostic(`apply +${PAIRS} (${applyMs} ms) and remove (${removeMs} ms): ${JSON.stringify(busy)}`);
    assert.ok(quiet.answered >= 80, `quiet probes answered: ${quiet.answered}`);
    assert.equal(quiet.lost, 0, 'no probe lost when quiet');
    assert.ok(busy.probes > (applyMs + removeMs) / INTERVAL_MS / 2, `probes sent during the apply: ${busy.probes}`);
    assert.equal(busy.lost, 0, `no probe lost during the apply: ${daemonLog(env).slice(-2000)}`);
    assert.ok(busy.max <= MAX_MS, `slowest probe during the apply ${busy.max} ms (at most ${MAX_MS} ms)`);
  },
);

test('kernel datapath: the terse flow dump has every flow, by UFID, with the counters of the full dump', (t) => {
  const { KernelDatapath } = require('/netmgr/dist/datapath/kernel/datapath');
  const { parseFlow } = require('/netmgr/dist/flow/parse');
  t.after(() => cleanup.run());
  const dp = KernelDatapath.create('ci-td');
  cleanup.add('ovs-dpctl del-dp ci-td');
  cleanup.add(() => dp.destroy());
  const flow = (text) => {
    const f = parseFlow(text);
    return { key: f.key, mask: f.mask, ufid: f.ufid };
  };
  const drop = []; // no actions: a drop the 6.1 kernel takes (OVS_ACTION_ATTR_DROP came later)
  dp.putFlow(flow('ufid:11111111-2222-3333-4444-555555555555,in_port(0),eth(),eth_type(0x0806),arp()'), drop, {
    mode: 'create',
  });
  dp.putFlow(flow('ufid:11111111-2222-3333-4444-666666666666,in_port(0),eth(),eth_type(0x86dd),ipv6()'), drop, {
    mode: 'create',
  });
  // A flow without a UFID (as ovs-dpctl puts them): reported under the UFID the full dump gives it.
  sh('ovs-dpctl add-flow ci-td "in_port(0),eth(),eth_type(0x0800),ipv4(proto=1),icmp()" 0');
  const hex = (u) => Buffer.from(u).toString('hex');
  const full = dp.dumpFlows().map((f) => [hex(f.ufid), f.stats.packets, f.stats.bytes]);
  const terse = dp.dumpFlowStats().map((f) => [hex(f.ufid), f.stats.packets, f.stats.bytes]);
  assert.equal(full.length, 3);
  assert.deepEqual(terse.sort(), full.sort());
  assert.ok(
    terse.some(([u]) => u === '11111111222233334444555555555555'),
    JSON.stringify(terse),
  );
});
