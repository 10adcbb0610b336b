'use strict';
/**
 * Smoke test of the VM harness: the guest has the openvswitch module and its generic netlink families, the real
 * tools, and the kernel datapath switches packets between two namespaces when programmed with ovs-dpctl alone.
 * No netmgr code is exercised beyond `netmgr version` and loading the native addon.
 */
const test = require('node:test');
const assert = require('node:assert');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const { IP, sh, shTry, nsExec, Cleanup, waitFor, netmgr } = require('./lib');

test('the guest runs the real tools, not busybox applets', () => {
  assert.match(sh(`${IP} -V`), /iproute2/);
  assert.match(sh('ip -V'), /iproute2/, 'ip on PATH through /bin/sh must be iproute2');
  assert.match(sh('ping -V'), /iputils/);
  assert.match(sh('tcpdump --version 2>&1'), /tcpdump version/);
  assert.match(sh('ovs-dpctl --version'), /Open vSwitch/);
  const v = netmgr(['version']);
  assert.equal(v.status, 0, v.stderr);
});

test('the openvswitch module and its generic netlink families are there', () => {
  assert.ok(fs.existsSync('/sys/module/openvswitch'), 'openvswitch.ko is not loaded');
  // ovs-dpctl resolves ovs_datapath, ovs_vport, ovs_flow and ovs_packet before doing anything and fails without them.
  const r = shTry('ovs-dpctl show');
  assert.equal(r.status, 0, `ovs-dpctl show: ${r.stderr}`);
  // Each family by name, with iproute2's genl.
  for (const name of ['ovs_datapath', 'ovs_vport', 'ovs_flow', 'ovs_packet']) {
    assert.match(
      sh(`genl ctrl get name ${name}`),
      new RegExp(`Name: ${name}\\b`),
      `generic netlink family ${name} is missing`,
    );
  }
  // The project's native addon (built on the host) loads in the guest.
  assert.equal(typeof require('/netmgr/build/Release/netmgr_native.node'), 'object');
});

test('ovs-dpctl alone: a datapath with two veth ports and four flows carries ping between two namespaces', async () => {
  const c = new Cleanup();
  try {
    for (const [ns, port, addr] of [
      ['t0a', 't0a-p', '198.18.0.1/24'],
      ['t0b', 't0b-p', '198.18.0.2/24'],
    ]) {
      sh(`${IP} netns add ${ns}`);
      c.add(`${IP} netns delete ${ns}`);
      sh(`${IP} link add ${port} type veth peer name eth0 netns ${ns}`);
      c.add(`${IP} link delete ${port}`);
      sh(`${IP} link set ${port} up`);
      nsExec(ns, `${IP} link set lo up && ${IP} link set eth0 up && ${IP} addr add ${addr} dev eth0`);
    }
    sh('ovs-dpctl add-dp t0dp');
    c.add('ovs-dpctl del-dp t0dp');
    sh('ovs-dpctl add-if t0dp t0a-p,port_no=1');
    sh('ovs-dpctl add-if t0dp t0b-p,port_no=2');
    for (const [from, to] of [
      [1, 2],
      [2, 1],
    ]) {
      sh(`ovs-dpctl add-flow t0dp 'in_port(${from}),eth(),eth_type(0x806),arp()' ${to}`);
      sh(`ovs-dpctl add-flow t0dp 'in_port(${from}),eth(),eth_type(0x800),ipv4(proto=1),icmp()' ${to}`);
    }
    const shown = sh('ovs-dpctl show t0dp');
    assert.match(shown, /port 1: t0a-p/);
    assert.match(shown, /port 2: t0b-p/);

    // tcpdump in t0b sees the echo requests that crossed the datapath.
    const dump = spawn(IP, [
      'netns',
      'exec',
      't0b',
      'tcpdump',
      '-n',
      '-l',
      '-i',
      'eth0',
      '-c',
      '1',
      'icmp[icmptype] == icmp-echo',
    ]);
    c.add(() => dump.kill());
    let dumpOut = '';
    let dumpErr = '';
    dump.stdout.on('data', (d) => (dumpOut += d));
    dump.stderr.on('data', (d) => (dumpErr += d));
    await waitFor(() => /listening on/.test(dumpErr), 20000, { what: 'tcpdump to start' });

    const ping = nsExec('t0a', 'ping -c 3 -i 0.2 -W 5 198.18.0.2');
    assert.match(ping, /3 received/);
    await waitFor(() => /ICMP echo request/.test(dumpOut), 10000, { what: 'tcpdump to print the echo request' });
    assert.match(dumpOut, /198\.18\.0\.1 > 198\.18\.0\.2: ICMP echo request/);

    const flows = sh('ovs-dpctl dump-flows t0dp');
    const hits = (re) =>
      flows
        .split('\n')
        .filter((l) => re.test(l))
        .map((l) => Number(/packets:(\d+)/.exec(l)?.[1] ?? 0));
    for (const port of [1, 2]) {
      const h = hits(new RegExp(`in_port\\(${port}\\).*ipv4\\(proto=1\\)`)); // dump-flows omits the empty icmp()
      assert.ok(h.length === 1 && h[0] >= 3, `expected one ICMP flow from port ${port} with >= 3 packets:\n${flows}`);
    }
    assert.equal(flows.trim().split('\n').length, 4, `expected exactly the 4 flows:\n${flows}`);

    sh('ovs-dpctl del-dp t0dp');
    assert.doesNotMatch(sh('ovs-dpctl dump-dps'), /t0dp/);
  } finally {
    const errors = await c.run();
    assert.deepEqual(errors, []);
  }
  assert.equal(shTry('ovs-dpctl dump-dps').stdout.trim(), '');
  assert.ok(!fs.existsSync('/run/netns/t0a') && !fs.existsSync('/run/netns/t0b'), 'namespaces left behind');
});
