'use strict';
/**
 * netmgrd's /metrics on the kernel datapath (issue 19): the unmanaged switch (examples/unmanaged-switch) with
 * datapath = "kernel" and http-listen on loopback; after N pings from host 1 to host 2 the port counters in
 * /metrics rose by at least N and equal `netmgr dpctl show -s` and the kernel's own vport counters
 * (`ovs-dpctl show -s`): read just before and after the scrape, they hold it between them.
 */
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { cleanup, sh, shTry } = require('./lib');
const { netmgrEnv, startDaemon, stopDaemon, ok } = require('./kernel');

const PORT = 9477;
const N = 50;

function get(url) {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode, body }));
      })
      .on('error', reject);
  });
}

async function portCounters() {
  const r = await get(`http://127.0.0.1:${PORT}/metrics`);
  assert.equal(r.status, 200);
  const out = {};
  for (const m of r.body.matchAll(
    /^netmgr_port_(receive|transmit)_packets_total\{bridge="sw0",port="([^"]+)"\} (\d+)$/gm,
  ))
    out[`${m[2]} ${m[1]}`] = Number(m[3]);
  return out;
}

/** `ovs-dpctl show -s`: port name -> { rx, tx } packets, as the kernel counts them. */
function kernelCounters() {
  const out = {};
  let port;
  for (const line of sh('ovs-dpctl show -s system@sw0').split('\n')) {
    const p = /^\s*port \d+: (\S+)/.exec(line);
    if (p) port = p[1];
    const s = /^\s*(RX|TX) packets:(\d+)/.exec(line);
    if (port && s) out[`${port} ${s[1] === 'RX' ? 'receive' : 'transmit'}`] = Number(s[2]);
  }
  return out;
}

/** `netmgr dpctl show -s --json`: port name and direction -> packets. */
function dpctlCounters(env) {
  const out = {};
  for (const p of JSON.parse(ok(['dpctl', 'show', '-s', 'sw0', '--json'], env))[0].ports) {
    out[`${p.name} receive`] = p.stats.rxPackets;
    out[`${p.name} transmit`] = p.stats.txPackets;
  }
  return out;
}

test('kernel datapath: /metrics port counters follow pings and equal dpctl and the kernel', async (t) => {
  const { env, units } = netmgrEnv('unmanaged-switch', [
    ['datapath = "userspace"      # the bundled datapath: no kernel module needed', 'datapath = "kernel"'],
  ]);
  fs.writeFileSync(path.join(units, 'netmgrd.conf'), `http-listen = "127.0.0.1:${PORT}"\n`);
  t.after(() => cleanup.run());
  const daemon = await startDaemon(env);
  cleanup.add(() => stopDaemon(daemon, 'SIGKILL'));
  cleanup.add('ovs-dpctl del-dp sw0');
  for (const n of [1, 2, 3, 4]) cleanup.add(`ip netns delete sw-h${n}`);
  ok(['apply'], env);
  for (const n of [1, 2, 3, 4]) shTry(`ip netns exec sw-h${n} sysctl -qw net.ipv6.conf.all.disable_ipv6=1`);
  assert.equal(shTry('ip netns exec sw-h1 ping -c 1 -W 2 198.18.100.2').status, 0);

  const before = await portCounters();
  const r = shTry(`ip netns exec sw-h1 ping -q -c ${N} -i 0.05 -W 2 198.18.100.2`);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  // The scrape between reads of the kernel's counters and of `netmgr dpctl show -s`: no ping is sent in between,
  // but loop detection's probes (one a second out of each port) are, and this VM is slow; so each counter of the
  // scrape lies between the reads before and after it.
  const kernelBefore = kernelCounters();
  const dpBefore = dpctlCounters(env);
  const after = await portCounters();
  const dpAfter = dpctlCounters(env);
  const kernelAfter = kernelCounters();

  for (const key of ['sw-p1 receive', 'sw-p1 transmit', 'sw-p2 receive', 'sw-p2 transmit'])
    assert.ok(after[key] - before[key] >= N, `${key}: rose by ${after[key] - before[key]}, want >= ${N}`);
  for (const key of Object.keys(dpAfter)) {
    const chain = [kernelBefore[key], dpBefore[key], after[key], dpAfter[key], kernelAfter[key]];
    const what = `${key}: ovs-dpctl, netmgr dpctl, /metrics, netmgr dpctl, ovs-dpctl read ${chain.join(', ')}`;
    assert.ok(
      chain.every((v, i) => i === 0 || chain[i - 1] <= v),
      what,
    );
    assert.ok(kernelAfter[key] - kernelBefore[key] < N, what);
  }
});
