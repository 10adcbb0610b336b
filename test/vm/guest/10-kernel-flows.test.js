'use strict';
/**
 * The seed's ovs-dpctl walkthrough as a `flows` unit set (examples/kernel-flows) on the kernel datapath: plan and
 * apply through netmgrd, ARP + ICMP + TCP 8080 (matched on tcp_flags) both ways, nothing else crosses; netmgr
 * dpctl and Debian's ovs-dpctl see the same ports and flows; netmgrd killed with SIGKILL leaves forwarding up and
 * a new netmgrd converges with no duplicate datapath, port or flow; an empty unit set removes it all.
 */
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { cleanup, shTry, tmpDir, netmgr } = require('./lib');
const { netmgrEnv, startDaemon, stopDaemon, daemonLog, ok, flowSet, ovsPorts, datapaths } = require('./kernel');

const PING = (from, to) => shTry(`ip netns exec ${from} ping -c 2 -i 0.2 -W 2 ${to}`);

/** A TCP echo server on 198.18.91.1:PORT in kf-ns1 and a client in kf-ns2 sending `bytes`; true if it all came back. */
function tcpEcho(port, bytes) {
  const server = `require('net').createServer((c) => c.pipe(c)).listen(${port}, '198.18.91.1', () => console.log('up'))`;
  const client = `const s = require('net').connect(${port}, '198.18.91.1'); let n = 0; const want = ${bytes};
    s.setTimeout(4000, () => { console.log('timeout ' + n); process.exit(3); });
    s.on('connect', () => s.write(Buffer.alloc(want, 7)));
    s.on('data', (d) => { n += d.length; if (n >= want) { console.log('echoed ' + n); s.destroy(); } });
    s.on('error', (e) => { console.log('error ' + e.code); process.exit(4); });`;
  const dir = tmpDir('tcp-');
  fs.writeFileSync(path.join(dir, 'server.js'), server);
  fs.writeFileSync(path.join(dir, 'client.js'), client);
  return shTry(
    `ip netns exec kf-ns1 node ${dir}/server.js & SRV=$!; sleep 1.5; ` +
      `ip netns exec kf-ns2 node ${dir}/client.js; ST=$?; kill $SRV; exit $ST`,
    { timeout: 30000 },
  );
}

test('kernel flows: the ovs-dpctl walkthrough as units, end to end', async (t) => {
  const { env, units } = netmgrEnv('kernel-flows');
  t.after(() => cleanup.run());
  let daemon = await startDaemon(env);
  cleanup.add(() => stopDaemon(daemon, 'SIGKILL'));
  cleanup.add('ovs-dpctl del-dp kf-br');
  cleanup.add('ip netns delete kf-ns1');
  cleanup.add('ip netns delete kf-ns2');

  await t.test('validate and plan name the kernel datapath', () => {
    ok(['validate'], env);
    const plan = ok(['plan'], env);
    assert.match(plan, /\+ bridge kf-br \(datapath kernel, policy flows/);
    assert.match(plan, /\+ port kf-p1 on bridge kf-br \(port 1, veth/);
    assert.equal((plan.match(/\+ flow on kf-br/g) ?? []).length, 12, plan);
  });

  await t.test('apply creates the datapath, its ports and flows', () => {
    ok(['apply'], env);
    assert.deepEqual(
      datapaths().filter((d) => d === 'kf-br'),
      ['kf-br'],
    );
    assert.deepEqual(ovsPorts('kf-br'), ['port 0: kf-br (internal)', 'port 1: kf-p1', 'port 2: kf-p2']);
  });

  await t.test('ARP and ICMP cross both ways', () => {
    const a = PING('kf-ns1', '198.18.91.2');
    assert.equal(a.status, 0, a.stdout + a.stderr);
    const b = PING('kf-ns2', '198.18.91.1');
    assert.equal(b.status, 0, b.stdout + b.stderr);
  });

  await t.test('TCP to port 8080 crosses (flows on tcp_flags both ways), TCP to 9090 does not', () => {
    const good = tcpEcho(8080, 200000);
    assert.equal(good.status, 0, good.stdout + good.stderr);
    assert.match(good.stdout, /echoed 200000/);
    const before = JSON.parse(ok(['dpctl', 'show', '--json'], env));
    const bad = tcpEcho(9090, 100);
    assert.notEqual(bad.status, 0, 'TCP to 9090 must not cross: no flow allows it');
    const after = JSON.parse(ok(['dpctl', 'show', '--json'], env));
    const missed = (s) => (Array.isArray(s) ? s[0] : s).stats?.missed ?? (Array.isArray(s) ? s[0] : s).missed;
    assert.ok(
      missed(after) > missed(before),
      `the SYNs to 9090 are kernel misses: ${JSON.stringify(before)} -> ${JSON.stringify(after)}`,
    );
  });

  await t.test('ovs-dpctl (Debian openvswitch-common) reads the same datapath, ports and flows', () => {
    const ours = flowSet(ok(['dpctl', 'dump-flows', 'kf-br'], env));
    const theirs = flowSet(shTry('ovs-dpctl dump-flows system@kf-br').stdout);
    assert.equal(ours.length, 12, ours.join('\n'));
    assert.deepEqual(theirs, ours);
    const show = ok(['dpctl', 'show', 'kf-br'], env);
    for (const p of ['kf-br', 'kf-p1', 'kf-p2']) assert.match(show, new RegExp(`port \\d+: ${p}`));
    // The counters agree too (both read OVS_FLOW_ATTR_STATS): the ICMP flows', which nothing touches meanwhile.
    const stats = (dump) =>
      dump
        .split('\n')
        .filter((l) => l.includes('proto=1'))
        .map((l) => Number(l.match(/packets:(\d+)/)[1]))
        .sort();
    const a = stats(shTry('ovs-dpctl dump-flows system@kf-br').stdout);
    assert.deepEqual(stats(ok(['dpctl', 'dump-flows', 'kf-br'], env)), a);
    assert.ok(a.length === 2 && a.every((n) => n >= 2), `the pings went through the ICMP flows: ${a}`);
  });

  await t.test(
    'netmgrd killed: the kernel keeps forwarding; a new netmgrd takes over with nothing duplicated',
    async () => {
      await stopDaemon(daemon, 'SIGKILL');
      const during = PING('kf-ns1', '198.18.91.2');
      assert.equal(during.status, 0, `forwarding stopped with netmgrd: ${during.stdout}`);
      // Without netmgrd, plan reads the kernel bridge back from the kernel: nothing to do.
      assert.match(ok(['plan'], env), /No changes/);
      daemon = await startDaemon(env, []); // applies the unit dir at start
      assert.match(daemonLog(env), /took over kernel bridge kf-br/);
      assert.match(ok(['plan'], env), /No changes/);
      assert.deepEqual(
        datapaths().filter((d) => d === 'kf-br'),
        ['kf-br'],
      );
      assert.deepEqual(ovsPorts('kf-br'), ['port 0: kf-br (internal)', 'port 1: kf-p1', 'port 2: kf-p2']);
      assert.equal(flowSet(shTry('ovs-dpctl dump-flows system@kf-br').stdout).length, 12);
      const after = PING('kf-ns2', '198.18.91.1');
      assert.equal(after.status, 0, after.stdout);
    },
  );

  await t.test('a flow removed from the units is removed from the kernel; an empty unit set removes everything', () => {
    const file = path.join(units, 'kf-br.toml');
    const text = fs.readFileSync(file, 'utf8');
    // Drop the ICMP flows: ping stops, ARP still passes.
    fs.writeFileSync(
      file,
      text.replace(
        /\[\[bridge\.flow\]\]\nmatch = "in_port\(kf-p[12]\),eth\(\),eth_type\(0x800\),ipv4\(proto=1\),icmp\(\)"\nactions = "kf-p[12]"\n/g,
        '',
      ),
    );
    const plan = ok(['plan'], env);
    assert.equal((plan.match(/- flow on kf-br/g) ?? []).length, 2, plan);
    ok(['apply'], env);
    assert.equal(flowSet(shTry('ovs-dpctl dump-flows system@kf-br').stdout).length, 10);
    assert.notEqual(PING('kf-ns1', '198.18.91.2').status, 0, 'ICMP must not cross without its flows');

    const empty = tmpDir('empty-');
    ok(['apply', '--dir', empty], env);
    assert.deepEqual(
      datapaths().filter((d) => d === 'kf-br'),
      [],
    );
    assert.ok(!fs.existsSync('/run/netns/kf-ns1'));
    assert.match(ok(['plan', '--dir', empty], env), /No changes/);
  });
  await stopDaemon(daemon);
  assert.ok(netmgr(['version']).status === 0);
});
