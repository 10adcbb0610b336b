'use strict';
/**
 * The four-host unmanaged switch (examples/unmanaged-switch) with the learning policy on the kernel datapath:
 * every pair pings, the MAC table lists each host on its port, unknown unicast is flooded and known unicast is
 * not, the megaflows netmgr installed are what ovs-dpctl sees; ports moved into VLANs in their units change in
 * place and the VLANs are isolated; netmgrd killed and restarted adopts the flows and the MACs.
 */
const test = require('node:test');
const assert = require('node:assert');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { cleanup, shTry, tmpDir, waitFor } = require('./lib');
const { netmgrEnv, startDaemon, stopDaemon, daemonLog, ok, flowSet, ovsPorts, datapaths } = require('./kernel');

const HOSTS = [1, 2, 3, 4];
const ip = (n) => `198.18.100.${n}`;
const mac = (n) => `02:00:00:00:64:0${n}`;
const ping = (from, to, count = 1) => shTry(`ip netns exec sw-h${from} ping -c ${count} -i 0.2 -W 2 ${ip(to)}`);

/** tcpdump on host n's interface; stop() returns the packet lines it printed. */
function capture(n, filter) {
  const p = spawn('ip', ['netns', 'exec', `sw-h${n}`, 'tcpdump', '-n', '-l', '-e', '-i', `sw-h${n}-eth0`, filter], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let ready = false;
  p.stdout.on('data', (d) => (out += d));
  p.stderr.on('data', (d) => {
    if (/listening on/.test(String(d))) ready = true;
  });
  return {
    ready: () => waitFor(() => ready, 10000, { what: 'tcpdump to listen' }),
    stop: async () => {
      await new Promise((r) => setTimeout(r, 500));
      const done = new Promise((r) => p.once('close', r));
      p.kill('SIGINT');
      await done;
      return out.split('\n').filter(Boolean);
    },
  };
}

test('kernel learning switch: four hosts, flooding, VLANs, restart', async (t) => {
  const { env, units } = netmgrEnv('unmanaged-switch', [
    ['datapath = "userspace"      # the bundled datapath: no kernel module needed', 'datapath = "kernel"'],
  ]);
  t.after(() => cleanup.run());
  let daemon = await startDaemon(env);
  cleanup.add(() => stopDaemon(daemon, 'SIGKILL'));
  cleanup.add('ovs-dpctl del-dp sw0');
  for (const n of HOSTS) cleanup.add(`ip netns delete sw-h${n}`);

  await t.test('apply: a kernel datapath with four veth ports', () => {
    assert.match(ok(['plan'], env), /\+ bridge sw0 \(datapath kernel, policy learning/);
    ok(['apply'], env);
    assert.deepEqual(ovsPorts('sw0'), [
      'port 0: sw0 (internal)',
      'port 1: sw-p1',
      'port 2: sw-p2',
      'port 3: sw-p3',
      'port 4: sw-p4',
    ]);
  });

  await t.test('every host reaches every other', () => {
    for (const a of HOSTS)
      for (const b of HOSTS) {
        if (a === b) continue;
        const r = ping(a, b);
        assert.equal(
          r.status,
          0,
          `h${a} -> h${b}: ${r.stdout}${r.stderr}\n${daemonLog(env)}\n${shTry('ovs-dpctl dump-flows system@sw0; node /netmgr/test/vm/guest/diag.js sw0; cat /proc/net/netlink').stdout}`,
        );
      }
  });

  await t.test('the MAC table lists each host on its own port', () => {
    const fdb = JSON.parse(ok(['fdb', 'show', 'sw0', '--json'], env));
    const entries = (Array.isArray(fdb) ? fdb[0].entries : fdb.entries) ?? fdb;
    for (const n of HOSTS) {
      const e = entries.find((x) => x.mac === mac(n));
      assert.ok(e, `${mac(n)} not learned: ${JSON.stringify(fdb)}`);
      assert.equal(e.port, n);
    }
  });

  await t.test('known unicast goes to one port; unknown unicast is flooded', async () => {
    const cap = capture(3, 'icmp');
    await cap.ready();
    assert.equal(ping(1, 2, 3).status, 0);
    // A neighbour entry for an address nobody has, with a MAC nobody has: the echo request is unknown unicast.
    shTry(`ip netns exec sw-h1 ip neigh replace 198.18.100.99 lladdr 02:00:00:00:64:99 dev sw-h1-eth0 nud permanent`);
    shTry(`ip netns exec sw-h1 ping -c 1 -W 1 198.18.100.99`);
    const lines = await cap.stop();
    assert.equal(
      lines.filter((l) => l.includes(`${ip(1)} > ${ip(2)}`)).length,
      0,
      `known unicast reached host 3:\n${lines.join('\n')}`,
    );
    assert.equal(
      lines.filter((l) => l.includes('> 02:00:00:00:64:99') && l.includes('198.18.100.99')).length,
      1,
      `unknown unicast not flooded once:\n${lines.join('\n')}`,
    );
  });

  await t.test("the megaflows netmgr installed are the kernel's (ovs-dpctl agrees)", () => {
    // The revalidator deletes flows idle for 10 s, and three dumps take seconds under TCG: host 1 keeps pinging
    // host 2 meanwhile, so their flows stay. Others may still go between two dumps, so ovs-dpctl's dump is
    // bracketed by two of netmgr's and must hold every flow in both and none in neither.
    const pinger = spawn('ip', ['netns', 'exec', 'sw-h1', 'ping', '-q', '-i', '0.5', ip(2)], { stdio: 'ignore' });
    cleanup.add(() => pinger.kill('SIGKILL'));
    ping(1, 2, 1);
    const ours = flowSet(ok(['dpctl', 'dump-flows', 'sw0'], env));
    const theirs = flowSet(shTry('ovs-dpctl dump-flows system@sw0').stdout);
    const oursAfter = new Set(flowSet(ok(['dpctl', 'dump-flows', 'sw0'], env)));
    pinger.kill('SIGINT');
    assert.ok(ours.length >= 2, ours.join('\n'));
    const both = ours.filter((f) => oursAfter.has(f));
    assert.deepEqual(
      both.filter((f) => !theirs.includes(f)),
      [],
      `flows netmgr reported before and after that ovs-dpctl did not see:\n${theirs.join('\n')}`,
    );
    assert.deepEqual(
      theirs.filter((f) => !ours.includes(f) && !oursAfter.has(f)),
      [],
      'flows ovs-dpctl saw that netmgr never reported',
    );
    assert.ok(both.length >= 2, both.join('\n'));
    assert.ok(
      ours.some((f) => f.includes(`eth(src=${mac(1)},dst=${mac(2)})`) && f.endsWith('-> 2')),
      ours.join('\n'),
    );
    const stats = JSON.parse(ok(['dpctl', 'show', 'sw0', '--json'], env))[0].stats;
    assert.ok(stats.missed > 0 && stats.hit > 0, JSON.stringify(stats));
  });

  await t.test('netmgrd killed and restarted: forwarding goes on, flows and MACs are taken over', async () => {
    // h1 -> h2's megaflows in use right now: netmgrd expires idle ones after 10 s, which a slow (emulated) earlier
    // step can exceed, and with netmgrd gone nothing would install them again.
    assert.equal(ping(1, 2).status, 0);
    const flowsBefore = flowSet(shTry('ovs-dpctl dump-flows system@sw0').stdout).length;
    await stopDaemon(daemon, 'SIGKILL');
    assert.equal(ping(1, 2).status, 0, 'the installed megaflows keep forwarding without netmgrd');
    daemon = await startDaemon(env, []);
    assert.match(daemonLog(env), /took over kernel bridge sw0/);
    assert.match(ok(['plan'], env), /No changes/);
    assert.deepEqual(
      datapaths().filter((d) => d === 'sw0'),
      ['sw0'],
    );
    assert.equal(ovsPorts('sw0').length, 5);
    const fdb = ok(['fdb', 'show', 'sw0'], env);
    assert.match(fdb, new RegExp(mac(1)), `MACs relearned from the adopted flows: ${fdb}`);
    // The flows were taken over, not installed again: the log says how many, and no match appears twice. (Their
    // number may grow meanwhile: hosts' IPv6 chatter makes new flows after the restart.)
    const adopted = daemonLog(env).match(/sw0: took over (\d+) of (\d+) flow/);
    assert.ok(adopted && Number(adopted[1]) > 0, `flows taken over: ${adopted?.[0]} (${flowsBefore} before)`);
    const now = flowSet(shTry('ovs-dpctl dump-flows system@sw0').stdout);
    assert.equal(new Set(now).size, now.length, now.join('\n'));
    for (const [a, b] of [
      [1, 4],
      [4, 3],
    ])
      assert.equal(ping(a, b).status, 0, `h${a} -> h${b} after the restart`);
  });

  await t.test('ports put into VLANs in their units change in place; VLAN 10 and 20 are isolated', () => {
    const setVlan = (n, vlan) => {
      const f = path.join(units, `sw-p${n}.toml`);
      fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace('[port]\n', `[port]\nvlan = ${vlan}\n`));
    };
    setVlan(1, 10);
    setVlan(2, 10);
    setVlan(3, 20);
    setVlan(4, 20);
    const plan = ok(['plan'], env);
    assert.match(plan, /~ port sw-p1 on sw0: .*10/);
    assert.doesNotMatch(plan, /- port|\+ port|- bridge/);
    ok(['apply'], env);
    assert.equal(ping(1, 2).status, 0, 'VLAN 10: h1 -> h2');
    assert.equal(ping(3, 4).status, 0, 'VLAN 20: h3 -> h4');
    assert.notEqual(ping(1, 3).status, 0, 'h1 (VLAN 10) must not reach h3 (VLAN 20)');
    assert.notEqual(ping(4, 2).status, 0, 'h4 (VLAN 20) must not reach h2 (VLAN 10)');
    const fdb = JSON.parse(ok(['fdb', 'show', 'sw0', '--json'], env));
    const entries = (Array.isArray(fdb) ? fdb[0].entries : fdb.entries) ?? fdb;
    assert.equal(entries.find((e) => e.mac === mac(1))?.vlan, 10);
    assert.equal(entries.find((e) => e.mac === mac(3))?.vlan, 20);
  });

  await t.test('an empty unit set removes the datapath and everything netmgr created', () => {
    const empty = tmpDir('empty-');
    ok(['apply', '--dir', empty], env);
    assert.deepEqual(
      datapaths().filter((d) => d === 'sw0'),
      [],
    );
  });
  await stopDaemon(daemon);
});
