'use strict';
/**
 * Internal ports on the kernel datapath: the bridge's own port with an address, and two internal vports moved
 * into namespaces with their addresses; hosts reach each other and the bridge; an empty unit set removes it all.
 */
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { cleanup, shTry, tmpDir } = require('./lib');
const { startDaemon, stopDaemon, ok, ovsPorts, datapaths } = require('./kernel');

test('kernel datapath: internal ports in namespaces, with addresses', async (t) => {
  t.after(() => cleanup.run());
  const units = tmpDir('units-');
  const state = tmpDir('state-');
  fs.writeFileSync(
    path.join(units, 'ki0.toml'),
    '[unit]\ntype = "bridge"\n\n[bridge]\ndatapath = "kernel"\n\n[ipv4]\naddresses = ["198.18.110.254/24"]\n',
  );
  for (const n of [1, 2]) {
    fs.writeFileSync(
      path.join(units, `ki-p${n}.toml`),
      `[unit]\ntype = "port"\n\n[port]\nbridge = "ki0"\nkind = "internal"\nnamespace = "ki-h${n}"\n\n[ipv4]\naddresses = ["198.18.110.${n}/24"]\n`,
    );
    cleanup.add(`ip netns delete ki-h${n}`);
  }
  const env = { NETMGR_DIR: units, NETMGR_STATE_DIR: state, NETMGR_SOCKET: path.join(state, 'netmgrd.sock') };
  const daemon = await startDaemon(env);
  cleanup.add(() => stopDaemon(daemon, 'SIGKILL'));
  cleanup.add('ovs-dpctl del-dp ki0');

  ok(['apply'], env);
  assert.deepEqual(ovsPorts('ki0'), ['port 0: ki0 (internal)', 'port 1: ki-p1 (internal)', 'port 2: ki-p2 (internal)']);
  assert.match(shTry('ip netns exec ki-h1 ip -o addr show dev ki-p1').stdout, /198\.18\.110\.1\/24/);
  assert.match(shTry('ip -o addr show dev ki0').stdout, /198\.18\.110\.254\/24/);
  for (const [ns, to] of [
    ['ki-h1', '198.18.110.2'],
    ['ki-h2', '198.18.110.1'],
    ['ki-h1', '198.18.110.254'],
  ]) {
    const r = shTry(`ip netns exec ${ns} ping -c 1 -W 2 ${to}`);
    assert.equal(r.status, 0, `${ns} -> ${to}: ${r.stdout}`);
  }
  assert.match(ok(['plan'], env), /No changes/);
  ok(['apply', '--dir', tmpDir('empty-')], env);
  assert.deepEqual(
    datapaths().filter((d) => d === 'ki0'),
    [],
  );
  assert.ok(!fs.existsSync('/run/netns/ki-h1'), 'the namespace netmgr created for the internal port is gone');
  await stopDaemon(daemon);
});
