#!/usr/bin/env node
'use strict';
/**
 * The system test's story (issue 16): a Debian 12 guest booted by systemd with five virtio NICs, the netmgr .deb
 * installed in it as an admin would, and the box a switch between four host namespaces at every boot. Run by
 * test/system/run, which builds the disk image and finds the package; see test/system/README.md.
 *
 * usage: node test/system/story.js --image RAW --kernel VMLINUZ --initrd INITRD --deb DEB --prefix P
 *                                  [--json FILE] [--timeout SECONDS] [--pidfile FILE]
 *
 * Each numbered step of the story is a list of checks, each with its own message; a failed check ends its step
 * (the rest of the step is not run), prints the guest's journal tail and where the console log is, and the story
 * goes on with the next step. A guest that stops answering ends the story: every step not run counts as failed.
 * Ends with each step's time, `System: N passed, N failed`, and writes the same as JSON (--json, and always
 * test/system/.out/result.json).
 *
 * Host side (all named with the prefix P, removed at the end whatever happens): namespaces P-m (eth0, the
 * management NIC, 198.18.167.1/24) and P-h1..P-h4 (eth1..eth4, hosts 198.18.166.1..4/24), each holding the TAP
 * qemu opened for that NIC (qemu opens it in the root namespace; it is moved into its namespace before the guest
 * boots, with qemu's descriptor still attached). The guest is driven through a virtio-serial port and its agent
 * (test/system/guest/netmgr-system-agent.js), not through a NIC netmgr could take.
 */
const fs = require('fs');
const os = require('os');
const path = require('path');
const net = require('net');
const { spawn, spawnSync } = require('child_process');

const argv = process.argv.slice(2);
const opt = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const IMAGE = opt('--image');
const KERNEL = opt('--kernel');
const INITRD = opt('--initrd');
const DEB = opt('--deb');
const P = opt('--prefix');
const JSON_OUT = opt('--json');
const TIMEOUT = Number(opt('--timeout') || 1500);
const PIDFILE = opt('--pidfile'); // qemu's, for test/system/run to end it should this process be killed
for (const [k, v] of Object.entries({ IMAGE, KERNEL, INITRD, DEB, P }))
  if (!v) {
    console.error(`story.js: missing ${k} (usage: see the head of test/system/story.js)`);
    process.exit(2);
  }

const OUT = path.join(__dirname, '.out');
fs.mkdirSync(OUT, { recursive: true });
const CONSOLE = path.join(OUT, 'console.log');
const RESULT = path.join(OUT, 'result.json');
const RUN = fs.mkdtempSync(path.join(os.tmpdir(), 'netmgr-system.'));
const SOCK = path.join(RUN, 'agent.sock');

const HOSTS = [1, 2, 3, 4];
const NS = (i) => `${P}-h${i}`;
const TAP = (i) => `${P}-t${i}`;
const MGMT_NS = `${P}-m`;
const MGMT_TAP = `${P}-t0`;
const ADDR = (i) => `198.18.166.${i}`;
const GUEST_MGMT = '198.18.167.2';
const T0 = Date.now();
const secs = (ms) => (ms / 1000).toFixed(1);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------------------------------------------- host side
/** A host command through bash: {rc, out, err}. */
function host(cmd, timeoutMs = 60000) {
  const r = spawnSync('bash', ['-c', cmd], { encoding: 'utf8', timeout: timeoutMs });
  return { rc: r.status ?? 1, out: r.stdout || '', err: (r.stderr || '') + (r.error ? String(r.error) : '') };
}
function mustHost(cmd) {
  const r = host(cmd);
  if (r.rc !== 0) throw new Error(`host: ${cmd}: exit ${r.rc}: ${r.err.trim()}`);
  return r.out;
}
/** Pings from host i to j (two echoes, either answered is reach); true when reached. */
function ping(i, j, waitS = 3) {
  return host(`ip netns exec ${NS(i)} ping -n -q -c 2 -i 0.5 -W ${waitS} ${ADDR(j)}`).rc === 0;
}
/** Every ordered pair among `hosts`: the pairs that failed to ping. */
function pingPairs(hosts = HOSTS) {
  const failed = [];
  for (const i of hosts) for (const j of hosts) if (i !== j && !ping(i, j)) failed.push(`h${i}->h${j}`);
  return failed;
}

let qemu = null;
let cleaned = false;
/** Ends qemu (by its PID), removes the namespaces (with the TAPs in them) and the run directory. Synchronous. */
function cleanup() {
  if (cleaned) return;
  cleaned = true;
  if (qemu && qemu.exitCode === null && qemu.signalCode === null) {
    try {
      process.kill(qemu.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    for (let k = 0; k < 50 && host(`kill -0 ${qemu.pid} 2>/dev/null`).rc === 0; k++) spawnSync('sleep', ['0.1']);
    try {
      process.kill(qemu.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  for (const ns of [MGMT_NS, ...HOSTS.map(NS)]) host(`ip netns delete ${ns} 2>/dev/null`);
  for (const t of [MGMT_TAP, ...HOSTS.map(TAP)]) host(`ip link delete ${t} 2>/dev/null`);
  fs.rmSync(RUN, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'])
  process.on(sig, () => {
    console.log(`story.js: ${sig}: cleaning up`);
    process.exit(130);
  });

// ---------------------------------------------------------------------------------------------------------- qemu
function startQemu() {
  fs.writeFileSync(CONSOLE, '');
  const accel = /\b(vmx|svm)\b/.test(fs.readFileSync('/proc/cpuinfo', 'utf8')) && host('test -w /dev/kvm').rc === 0;
  const nics = [0, ...HOSTS].flatMap((i) => [
    '-netdev',
    `tap,id=n${i},ifname=${i ? TAP(i) : MGMT_TAP},script=no,downscript=no`,
    '-device',
    // Fixed PCI slots in NIC order: with net.ifnames=0 the guest names them eth0..eth4 in this order.
    `virtio-net-pci,netdev=n${i},mac=52:54:00:16:00:0${i},addr=0x${(0x10 + i).toString(16)}`,
  ]);
  // One vCPU: under TCG on a busy 2-core host, two vCPU threads get descheduled while holding guest locks (RCU
  // stalls, a reboot taking minutes instead of ~25 s); netmgrd's forwarding thread does not need a CPU of its own.
  const args = [
    ...['-accel', accel ? 'kvm' : 'tcg', '-cpu', 'max', '-m', '1536', '-smp', '1'],
    ...['-nodefaults', '-no-user-config', '-nographic', '-serial', `file:${CONSOLE}`],
    ...['-kernel', KERNEL, '-initrd', INITRD, '-append', 'root=/dev/vda rw console=ttyS0 net.ifnames=0'],
    // snapshot=on: the guest's writes go to a temporary overlay qemu removes; the cached image stays as built.
    ...['-drive', `file=${IMAGE},if=virtio,format=raw,snapshot=on,cache=unsafe`],
    ...['-device', 'virtio-serial-pci', '-chardev', `socket,id=agent,path=${SOCK},server=on,wait=off`],
    ...['-device', 'virtserialport,chardev=agent,name=netmgr.agent'],
    ...nics,
    ...(PIDFILE ? ['-pidfile', PIDFILE] : []),
  ];
  console.log(`qemu-system-x86_64 ${args.join(' ')}`);
  qemu = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  qemu.stderr.on('data', (d) => process.stderr.write(`qemu: ${d}`));
  qemu.on('exit', (code, sig) => console.log(`qemu exited (${code ?? sig})`));
}

/** qemu opened the TAPs in the root namespace: each goes into its own namespace, addressed, before the guest boots. */
async function wireHosts() {
  for (let k = 0; k < 100 && host(`ip link show ${TAP(4)}`).rc !== 0; k++) await sleep(100);
  const wire = (ns, tap, cidr) =>
    mustHost(
      `ip netns add ${ns} && ip link set ${tap} netns ${ns} && ip -n ${ns} link set lo up && ` +
        `ip netns exec ${ns} sysctl -qw net.ipv6.conf.all.disable_ipv6=1 && ` +
        `ip -n ${ns} addr add ${cidr} dev ${tap} && ip -n ${ns} link set ${tap} up`,
    );
  wire(MGMT_NS, MGMT_TAP, '198.18.167.1/24');
  for (const i of HOSTS) wire(NS(i), TAP(i), `${ADDR(i)}/24`);
}

// --------------------------------------------------------------------------------------------------------- agent
const agent = { sock: null, buf: '', nextId: 1, waiting: new Map(), hellos: [] };
function connectAgent() {
  return new Promise((resolve, reject) => {
    let tries = 0;
    const attempt = () => {
      const s = net.createConnection(SOCK);
      s.on('connect', () => {
        agent.sock = s;
        resolve();
      });
      s.on('error', (e) => {
        if (agent.sock === s) return console.log(`agent socket: ${e.message}`);
        if (++tries > 100) reject(e);
        else setTimeout(attempt, 100);
      });
      s.on('data', (d) => {
        agent.buf += d.toString();
        let nl;
        while ((nl = agent.buf.indexOf('\n')) >= 0) {
          const line = agent.buf.slice(0, nl);
          agent.buf = agent.buf.slice(nl + 1);
          let doc;
          try {
            doc = JSON.parse(line);
          } catch {
            continue; // a line cut by a reboot
          }
          if (doc.hello) agent.hellos.push({ at: Date.now(), boot: doc.hello, uptime: doc.uptime });
          const w = agent.waiting.get(doc.id);
          if (w) {
            agent.waiting.delete(doc.id);
            w(doc);
          }
        }
      });
    };
    attempt();
  });
}
/** Waits for an agent hello after the first `seen` ones, from a boot other than `notBoot`; returns it. */
async function waitBoot(seen, notBoot, timeoutMs = 300000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const h = agent.hellos.slice(seen).find((x) => x.boot !== notBoot);
    if (h) return h;
    await sleep(250);
  }
  throw new Error(`the guest did not come up within ${timeoutMs / 1000} s (no agent hello)`);
}

class GuestGone extends Error {}
/** Runs a bash script in the guest: {rc, out, err, ms}. Rejects with GuestGone when no answer comes in time. */
function guest(sh, { timeout = 120, stdin } = {}) {
  const id = agent.nextId++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => {
        agent.waiting.delete(id);
        reject(new GuestGone(`the guest agent did not answer within ${timeout + 15} s: ${sh.slice(0, 200)}`));
      },
      (timeout + 15) * 1000,
    );
    agent.waiting.set(id, (doc) => {
      clearTimeout(timer);
      resolve(doc);
    });
    const req = { id, sh, timeout };
    if (stdin) req.stdin = stdin.toString('base64');
    agent.sock.write(JSON.stringify(req) + '\n');
  });
}

// -------------------------------------------------------------------------------------------------- checks, steps
const tests = []; // {name, status: pass|fail, detail}
const steps = []; // {n, title, seconds, status}
let current = null;
class CheckFailed extends Error {}

/** One assertion of the story: passes or ends the step with `message` and what was seen. */
function check(message, ok, seen = '') {
  const name = `step ${current}: ${message}`;
  if (ok) {
    tests.push({ name, status: 'pass' });
    console.log(`  ok    ${message}`);
    return;
  }
  tests.push({ name, status: 'fail', detail: String(seen).trim().slice(0, 4000) });
  console.log(`  FAIL  ${message}`);
  if (seen) console.log(String(seen).trim().replace(/^/gm, '        '));
  throw new CheckFailed(message);
}
/** A guest command that must exit 0; its stdout. */
async function must(message, sh, opts) {
  const r = await guest(sh, opts);
  check(message, r.rc === 0, `$ ${sh}\nexit ${r.rc}\n${r.out}${r.err}`);
  return r.out;
}

async function journalTail() {
  try {
    const r = await guest(
      'journalctl -b --no-pager -n 50 -o short-monotonic; echo; systemctl --no-pager status netmgr',
      {
        timeout: 60,
      },
    );
    console.log(`  --- guest journal (last 50 lines of this boot) and netmgr's status ---\n${r.out}${r.err}`);
  } catch (e) {
    console.log(`  (no journal: ${e.message}); console tail:\n${host(`tail -n 30 ${CONSOLE}`).out}`);
  }
  console.log(`  console log: ${CONSOLE}`);
}

let gone = null;
async function step(n, title, fn) {
  const start = Date.now();
  current = n;
  console.log(`\n== step ${n}: ${title} (${secs(start - T0)} s into the run)`);
  if (gone) {
    tests.push({ name: `step ${n}: ${title}`, status: 'fail', detail: `not run: ${gone}` });
    steps.push({ n, title, seconds: 0, status: 'not run' });
    console.log(`  FAIL  not run: ${gone}`);
    return;
  }
  let status = 'pass';
  try {
    await fn();
  } catch (e) {
    status = 'fail';
    if (!(e instanceof CheckFailed)) {
      tests.push({ name: `step ${n}: ${title}`, status: 'fail', detail: e.stack });
      console.log(`  FAIL  ${e.message}`);
    }
    if (e instanceof GuestGone) gone = e.message;
    await journalTail();
  }
  steps.push({ n, title, seconds: (Date.now() - start) / 1000, status });
}

// ------------------------------------------------------------------------------------------------- guest helpers
const netmgrStatus = async () => JSON.parse(await must('netmgr status --json answers', 'netmgr status --json'));
/** Polls `netmgr status --json` until pred(status) holds; the last status. */
async function waitStatus(what, pred, timeoutS = 90) {
  const end = Date.now() + timeoutS * 1000;
  let s = null;
  let last = '';
  while (Date.now() < end) {
    const r = await guest('netmgr status --json');
    if (r.rc === 0) {
      s = JSON.parse(r.out);
      if (pred(s)) {
        check(what, true);
        return s;
      }
      last = r.out;
    } else last = r.out + r.err;
    await sleep(1000);
  }
  check(`${what} (within ${timeoutS} s)`, false, last);
  return s;
}
const allRealised = (s) => s.objects.length > 0 && s.objects.every((o) => o.state === 'realised');
/** The guest's clock in whole seconds (journalctl --since @S). */
const guestNow = async () => (await guest('date +%s')).out.trim();
/** Journal lines of netmgr.service since a guest time (guestNow), at `prio` or more urgent. */
async function journalSince(since, prio) {
  return (await guest(`journalctl -u netmgr --no-pager -o cat -p ${prio} --since @${since}`)).out
    .split('\n')
    .filter((l) => l && !l.startsWith('-- '));
}

// ------------------------------------------------------------------------------------------------------ the story
const DEB_NAME = path.basename(DEB);
const VERSION = host(`dpkg-deb -f ${DEB} Version`).out.trim();
const EXAMPLES = '/usr/share/doc/netmgr/examples/unmanaged-switch-nics';
const facts = {}; // measured figures for the summary

async function rebootAndMeasure(label) {
  const seen = agent.hellos.length;
  const before = agent.hellos[seen - 1].boot;
  const restarts = Number(host(`grep -c 'reboot: Restarting system' ${CONSOLE}`).out.trim()) || 0;
  guest('systemctl reboot', { timeout: 30 }).catch(() => null); // not awaited: its answer may not make it out
  // The old kernel's datapath forwards until the machine resets: only a reply after the reset counts.
  const end = Date.now() + 240000;
  while (Number(host(`grep -c 'reboot: Restarting system' ${CONSOLE}`).out.trim()) <= restarts) {
    if (Date.now() > end) throw new GuestGone('the guest did not reboot within 240 s');
    await sleep(200);
  }
  // h1 knows h2's MAC (a permanent neighbour entry, removed after): ping does not stop at failed ARP resolutions
  // while the guest boots, and the first echo that crosses the switch ends it.
  const mac2 = mustHost(`ip -n ${NS(2)} -j link show ${TAP(2)}`).match(/"address":"([0-9a-f:]+)"/)[1];
  mustHost(`ip -n ${NS(1)} neigh replace ${ADDR(2)} lladdr ${mac2} nud permanent dev ${TAP(1)}`);
  const pinger = host(`ip netns exec ${NS(1)} ping -n -D -c 1 -w 300 -i 0.2 -W 1 ${ADDR(2)}`, 310000);
  host(`ip -n ${NS(1)} neigh del ${ADDR(2)} dev ${TAP(1)}`);
  const first = /^\[(\d+\.\d+)\] \d+ bytes from/m.exec(pinger.out);
  check(`${label}: h1 reaches h2 through the rebooted guest`, first !== null, pinger.out + pinger.err);
  const hello = await waitBoot(seen, before);
  const ts = Date.now();
  const up = await guest('cut -d" " -f1 /proc/uptime');
  const tr = Date.now();
  const kernelStart = (ts + tr) / 2 - Number(up.out) * 1000;
  const seconds = (Number(first[1]) * 1000 - kernelStart) / 1000;
  console.log(
    `  boot: kernel start to the first forwarded ping h1 -> h2: ${seconds.toFixed(1)} s (agent up ${hello.uptime} s after kernel start)`,
  );
  return seconds;
}

async function story() {
  await step(
    1,
    'apt install ./netmgr_*.deb on the fresh guest; netmgr --version; enabled as the package intends',
    async () => {
      const deb = fs.readFileSync(DEB);
      await must(
        `the package is copied into the guest (/root/${DEB_NAME})`,
        `cat > /root/${DEB_NAME} && sha256sum /root/${DEB_NAME}`,
        {
          stdin: deb,
        },
      );
      const sum = (await guest(`sha256sum /root/${DEB_NAME}`)).out.split(' ')[0];
      check('the copy in the guest is the same package', sum === host(`sha256sum ${DEB}`).out.split(' ')[0], sum);
      const fresh = await guest('test -d /sys/module/openvswitch; echo $?; test -e /usr/bin/netmgr; echo $?');
      check('fresh guest: no openvswitch module loaded, no netmgr installed', fresh.out === '1\n1\n', fresh.out);
      const mgmt = host(`ip netns exec ${MGMT_NS} ping -n -q -c 2 -W 3 ${GUEST_MGMT}`);
      check('eth0 (management, systemd-networkd) answers from the management namespace', mgmt.rc === 0, mgmt.out);
      const t = Date.now();
      await must(
        `apt-get install /root/${DEB_NAME} succeeds, offline (its dependencies are in the image)`,
        `cd /root && DEBIAN_FRONTEND=noninteractive apt-get install -y /root/${DEB_NAME}`,
        { timeout: 300 },
      );
      facts.install = secs(Date.now() - t);
      const v = await must('netmgr --version runs', 'netmgr --version');
      check(
        `netmgr --version says the package's upstream version (${VERSION})`,
        v.trim() === `netmgr ${VERSION.replace(/-[^-]*$/, '')}`,
        v,
      );
      const en = await guest('systemctl is-enabled netmgr');
      check(
        'systemctl is-enabled netmgr: enabled (the package enables it)',
        en.out.trim() === 'enabled',
        en.out + en.err,
      );
      const ac = await guest('systemctl is-active netmgr');
      check(
        'systemctl is-active netmgr: active (the package starts it, on an empty /etc/netmgr)',
        ac.out.trim() === 'active',
        ac.out,
      );
    },
  );

  await step(
    2,
    'the unmanaged-switch-nics units in /etc/netmgr, enable --now: kernel datapath, every pair pings',
    async () => {
      await must(
        'the example units are copied from the package into /etc/netmgr',
        `cp ${EXAMPLES}/*.toml /etc/netmgr/ && ls /etc/netmgr`,
      );
      await must('systemctl enable --now netmgr', 'systemctl enable --now netmgr');
      const s = await waitStatus('netmgr status: every object realised', allRealised);
      check(
        'netmgr status lists the bridge lan0 and the ports eth1..eth4',
        ['bridge lan0', 'port eth1', 'port eth2', 'port eth3', 'port eth4'].every((o) =>
          s.objects.some((x) => `${x.object} ${x.name}` === o),
        ),
        JSON.stringify(s.objects),
      );
      const b = s.bridges.find((x) => x.name === 'lan0');
      check('datapath = "auto" picked the kernel datapath', b && b.datapath === 'kernel', JSON.stringify(s.bridges));
      // How the module came: netmgrd asks for the generic netlink family ovs_datapath; the kernel does not know it
      // and runs modprobe for the family's alias, which the openvswitch module declares. Nothing loads it at boot.
      const mod = await guest(
        'test -d /sys/module/openvswitch && echo loaded; modinfo -F alias openvswitch; ' +
          'grep -rls openvswitch /etc/modules /etc/modules-load.d /usr/lib/modules-load.d 2>/dev/null; ' +
          'journalctl -k -b --no-pager -o cat -g "Open vSwitch switching datapath"',
      );
      check(
        'the openvswitch module is loaded, on demand: by its alias for the generic netlink family ovs_datapath (no modules-load.d entry)',
        /^loaded$/m.test(mod.out) &&
          /net-pf-16-proto-16-family-ovs_datapath/.test(mod.out) &&
          !/modules/.test(
            mod.out
              .split('\n')
              .filter((l) => l.startsWith('/'))
              .join(''),
          ),
        mod.out,
      );
      const failed = pingPairs();
      check(
        'the four host namespaces ping each other through the guest (all 12 pairs)',
        failed.length === 0,
        `failed: ${failed.join(' ')}`,
      );
      const dp = await must('ovs-dpctl show answers', 'ovs-dpctl show');
      check(
        'ovs-dpctl show lists the datapath lan0 with ports eth1..eth4',
        /system@lan0:/.test(dp) && [1, 2, 3, 4].every((i) => new RegExp(`port \\d+: eth${i}\\b`).test(dp)),
        dp,
      );
      const text = await must('netmgr status runs', 'netmgr status');
      check(
        'netmgr status says every object realised',
        /^bridge\s+lan0\s+realised$/m.test(text) &&
          [1, 2, 3, 4].every((i) => new RegExp(`^port\\s+eth${i}\\s+realised$`, 'm').test(text)),
        text,
      );
      const eth0 = await guest('ip -j link show eth0');
      check('eth0 (management) is not a port: no master', !/"master"/.test(eth0.out), eth0.out);
    },
  );

  await step(
    3,
    'reboot: netmgr active, started before network.target, every pair pings again; boot to forwarding timed',
    async () => {
      facts.bootKernel = (await rebootAndMeasure('after reboot')).toFixed(1);
      // The kernel datapath forwards once its ports are attached, before netmgrd verifies and says READY=1.
      const ac = await guest(
        'for i in $(seq 120); do systemctl is-active -q netmgr && break; sleep 1; done; systemctl is-active netmgr',
        { timeout: 150 },
      );
      check('netmgr.service is active after the reboot', ac.out.trim().split('\n').pop() === 'active', ac.out);
      const show = await must(
        'systemctl show netmgr.service network.target',
        'systemctl show -p Id -p Before -p ActiveEnterTimestampMonotonic netmgr.service network.target',
      );
      const blocks = show
        .trim()
        .split('\n\n')
        .map((b) =>
          Object.fromEntries(b.split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])),
        );
      const [svc, tgt] = blocks;
      check('netmgr.service is ordered Before=network.target', /\bnetwork\.target\b/.test(svc.Before), show);
      check(
        'netmgr.service became active (READY=1) before network.target was reached',
        Number(svc.ActiveEnterTimestampMonotonic) > 0 &&
          Number(svc.ActiveEnterTimestampMonotonic) <= Number(tgt.ActiveEnterTimestampMonotonic),
        show,
      );
      facts.netmgrReady = secs(Number(svc.ActiveEnterTimestampMonotonic) / 1000);
      const failed = pingPairs();
      check('every pair of hosts pings again after the reboot', failed.length === 0, `failed: ${failed.join(' ')}`);
      const dp = (await guest('netmgr status --json')).out;
      check('the bridge is on the kernel datapath again', /"datapath":\s*"kernel"/.test(dp), dp);
    },
  );

  await step(
    4,
    'edit a unit (eth4 into VLAN 20): watched, applied, verified; eth4 cut off; reload and the warning journal',
    async () => {
      const since = await guestNow();
      await must('eth4.toml edited: vlan = 20', "echo 'vlan = 20' >> /etc/netmgr/eth4.toml");
      const s = await waitStatus(
        'the edit is applied by the watcher (last apply: watch, applied)',
        (x) =>
          x.lastApply &&
          x.lastApply.trigger === 'watch' &&
          x.lastApply.result === 'applied' &&
          x.lastApply.time >= new Date(Number(since) * 1000).toISOString(),
      );
      check(
        'verified after the apply: no differences, every object realised',
        !(s.lastApply.differences || []).length && allRealised(s),
        JSON.stringify(s.lastApply),
      );
      const notice = await journalSince(since, 'notice');
      check(
        'the journal has the watched apply at notice priority',
        notice.some((l) => /^watch: /.test(l)),
        notice.join('\n'),
      );
      const cut = [1, 2, 3].filter((j) => ping(4, j, 2));
      check(
        "eth4's host (VLAN 20) no longer reaches the others",
        cut.length === 0,
        `h4 still reaches h${cut.join(', h')}`,
      );
      const rest = pingPairs([1, 2, 3]);
      check('the other three still ping each other', rest.length === 0, `failed: ${rest.join(' ')}`);
      const rl = await guest('systemctl reload netmgr');
      check('systemctl reload netmgr exits 0 (read again, applied, verified)', rl.rc === 0, rl.out + rl.err);
      const info = await journalSince(since, 'info');
      check(
        'the journal has the reload (nothing to change)',
        info.some((l) => /^reload: /.test(l)),
        info.join('\n'),
      );
      const warn = await journalSince(since, 'warning');
      check(
        'journalctl -u netmgr -p warning has nothing new (no failure, rollback or verify difference)',
        warn.length === 0,
        warn.join('\n'),
      );
      await must('eth4.toml back in the default VLAN', "sed -i '/^vlan = 20$/d' /etc/netmgr/eth4.toml");
      await waitStatus(
        'the change back is applied',
        (x) => allRealised(x) && x.lastApply.trigger === 'watch' && !x.objects.some((o) => o.changes.length),
      );
      const failed = pingPairs();
      check('all four hosts ping each other again', failed.length === 0, `failed: ${failed.join(' ')}`);
    },
  );

  await step(
    5,
    'a bad edit while running: error in the journal at FILE:LINE:COL, forwarding goes on, the service stays active',
    async () => {
      const since = await guestNow();
      await must(
        'eth2.toml broken (a line that is not TOML)',
        "cp /etc/netmgr/eth2.toml /root/eth2.toml.good && echo 'this is not toml' >> /etc/netmgr/eth2.toml",
      );
      const line = (await guest('wc -l < /etc/netmgr/eth2.toml')).out.trim();
      const end = Date.now() + 60000;
      let errs = [];
      while (Date.now() < end && !errs.some((l) => l.includes('/etc/netmgr/eth2.toml:'))) {
        await sleep(1000);
        errs = await journalSince(since, 'err');
      }
      check(
        `the journal has the error at priority err as /etc/netmgr/eth2.toml:${line}:COL: error: ...`,
        errs.some((l) => new RegExp(`^/etc/netmgr/eth2\\.toml:${line}:\\d+: error: `).test(l)),
        errs.join('\n'),
      );
      const failed = pingPairs();
      check('the switch keeps forwarding: all 12 pairs ping', failed.length === 0, `failed: ${failed.join(' ')}`);
      const st = await guest('systemctl --no-pager status netmgr');
      check(
        'systemctl status netmgr: active (exit 0)',
        st.rc === 0 && /Active: active \(running\)/.test(st.out),
        st.out,
      );
      const s = await netmgrStatus();
      check(
        'netmgr status says the units on disk do not validate, and the running ones stay realised',
        s.unitsValid === false && s.objects.every((o) => o.state === 'realised'),
        JSON.stringify({ unitsValid: s.unitsValid, objects: s.objects }),
      );
      await must('eth2.toml fixed', 'cp /root/eth2.toml.good /etc/netmgr/eth2.toml');
      await waitStatus('the fixed units validate again', (x) => x.unitsValid && allRealised(x));
    },
  );

  await step(
    6,
    'netmgr apply --confirm 20 cutting eth1 off, never confirmed: it comes back, also across systemctl restart netmgr',
    async () => {
      await must(
        'a unit set without eth1 (/root/cut-eth1)',
        'rm -rf /root/cut-eth1 && mkdir /root/cut-eth1 && cp /etc/netmgr/*.toml /root/cut-eth1/ && rm /root/cut-eth1/eth1.toml',
      );
      // 20 s as the story says; 60 s for the round with a restart, which takes netmgrd ~12 s under TCG (stop,
      // start, taking the kernel bridge over): the restart must come before the deadline for the case to be tested.
      for (const [restart, secsToConfirm] of [
        [false, 20],
        [true, 60],
      ]) {
        const how = restart ? ' (netmgrd restarted meanwhile)' : '';
        const cmd = `netmgr apply --confirm ${secsToConfirm} --dir /root/cut-eth1`;
        const pid0 = restart ? (await netmgrStatus()).daemon.pid : 0;
        const since = await guestNow();
        const t = Date.now();
        await must(`${cmd}${how}`, cmd);
        if (restart) await must('systemctl restart netmgr while the confirm is pending', 'systemctl restart netmgr');
        // Status first: the window is short, and each ping check below takes seconds under TCG (a CI run whose
        // machine was loaded got to the status only after the 20 s had passed and the rollback was done).
        const s = await netmgrStatus();
        check(
          `netmgr status shows the confirm pending${restart ? ', after the restart, with its deadline' : ''}`,
          s.confirm !== null && (!restart || s.daemon.pid !== pid0),
          JSON.stringify({ confirm: s.confirm, daemon: s.daemon, secondsSinceApply: secs(Date.now() - t) }),
        );
        check(`eth1 is cut off: h1 no longer reaches h2${how}`, !ping(1, 2, 2));
        check(`the others still forward: h2 reaches h3${how}`, ping(2, 3));
        let back = false;
        while (!back && Date.now() - t < (secsToConfirm + 70) * 1000) back = ping(1, 2, 2);
        check(
          `not confirmed: eth1 comes back by itself (h1 reaches h2 ${secs(Date.now() - t)} s after the apply)${how}`,
          back,
        );
        const s3 = await waitStatus(
          `netmgr status: rolled back, every object realised${how}`,
          (x) => x.rolledBack && x.confirm === null && allRealised(x),
          60,
        );
        // At warning priority, as rollbacks are; a watch event deferred meanwhile may be applied after it.
        const warn = await journalSince(since, 'warning');
        check(
          `journalctl -u netmgr -p warning has the timeout's rollback${how}`,
          warn.some((l) => /^confirm-timeout: rolled back the apply of /.test(l)) && s3.counters.rollbacks > 0,
          warn.join('\n'),
        );
      }
      const failed = pingPairs();
      check('all four hosts ping each other after the rollbacks', failed.length === 0, `failed: ${failed.join(' ')}`);
    },
  );

  await step(
    7,
    'systemctl stop netmgr: the kernel datapath keeps forwarding; start takes it over with the learned MACs',
    async () => {
      const macs = Object.fromEntries(
        HOSTS.map((i) => [i, mustHost(`ip -n ${NS(i)} -j link show ${TAP(i)}`).match(/"address":"([0-9a-f:]+)"/)[1]]),
      );
      const learned = pingPairs();
      check('every pair pings: the switch learns all four hosts', learned.length === 0, `failed: ${learned.join(' ')}`);
      const fdb0 = await must('netmgr fdb show lan0 before the stop', 'netmgr fdb show lan0');
      check(
        'the four hosts are in the MAC table before the stop',
        HOSTS.every((i) => fdb0.includes(macs[i])),
        fdb0,
      );
      // Only h1 -> h2 keeps talking: the other hosts' flows go idle and expire (10 s), their MACs stay learned.
      const pinger = spawn('ip', ['netns', 'exec', NS(1), 'ping', '-n', '-q', '-i', '0.2', ADDR(2)], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let pingOut = '';
      pinger.stdout.on('data', (d) => (pingOut += d));
      await sleep(15000);
      await must('systemctl stop netmgr', 'systemctl stop netmgr');
      const ia = await guest('systemctl is-active netmgr; pgrep -fa "[n]etmgr daemon"');
      check('netmgrd is stopped', /^inactive$/m.test(ia.out) && !/netmgr daemon/.test(ia.out), ia.out);
      const dp = await guest('ovs-dpctl show lan0; ovs-dpctl dump-flows lan0 | wc -l');
      check(
        'the kernel still has lan0 with eth1..eth4 and its flows',
        [1, 2, 3, 4].every((i) => new RegExp(`port \\d+: eth${i}\\b`).test(dp.out)) &&
          Number(dp.out.trim().split('\n').pop()) > 0,
        dp.out,
      );
      check('with netmgrd stopped, h2 still reaches h1 through the kernel flows', ping(2, 1));
      await must('systemctl start netmgr', 'systemctl start netmgr');
      const fdb1 = await must('netmgr fdb show lan0 right after the start', 'netmgr fdb show lan0');
      pinger.kill('SIGINT');
      await new Promise((r) => pinger.on('close', r));
      const m = /(\d+) packets transmitted, (\d+) received/.exec(pingOut);
      facts.stopStartPings = m ? `${m[2]}/${m[1]}` : '?';
      check('a ping h1 -> h2 every 0.2 s across stop and start lost nothing', m && m[1] === m[2], pingOut);
      check(
        'start took the datapath over with the learned MACs: all four in the table, also h3 and h4 whose flows had expired',
        HOSTS.every((i) => fdb1.includes(macs[i])),
        fdb1,
      );
      const s = await waitStatus('every object realised after the start', allRealised, 60);
      check(
        'still the kernel datapath',
        s.bridges.some((b) => b.name === 'lan0' && b.datapath === 'kernel'),
        JSON.stringify(s.bridges),
      );
    },
  );

  await step(
    8,
    'openvswitch blacklisted, reboot: auto falls back to the userspace datapath and status says why',
    async () => {
      await must(
        'blacklist openvswitch in /etc/modprobe.d',
        "echo 'blacklist openvswitch' > /etc/modprobe.d/netmgr-test-blacklist.conf",
      );
      facts.bootUserspace = (await rebootAndMeasure('after the reboot with openvswitch blacklisted')).toFixed(1);
      const mod = await guest('test -d /sys/module/openvswitch && echo loaded || echo absent');
      check('the openvswitch module is not loaded', mod.out.trim() === 'absent', mod.out);
      const s = await waitStatus('every object realised', allRealised, 60);
      const b = s.bridges.find((x) => x.name === 'lan0');
      check(
        'netmgr status --json: lan0 runs on the userspace datapath',
        b && b.datapath === 'userspace',
        JSON.stringify(s.bridges),
      );
      const text = await must('netmgr status', 'netmgr status');
      check(
        'netmgr status says which datapath runs and why',
        /^ {2}userspace datapath: datapath = "auto" and the kernel has no openvswitch datapath/m.test(text),
        text,
      );
      const failed = pingPairs();
      check('every pair pings through the userspace datapath', failed.length === 0, `failed: ${failed.join(' ')}`);
      // Back on the kernel datapath for the purge (the case that leaves kernel state behind).
      await must(
        'blacklist removed, the module loaded, netmgr restarted',
        'rm /etc/modprobe.d/netmgr-test-blacklist.conf && modprobe openvswitch && systemctl restart netmgr',
      );
      const k = await waitStatus(
        'back on the kernel datapath after the restart',
        (x) => allRealised(x) && x.bridges.some((y) => y.name === 'lan0' && y.datapath === 'kernel'),
        90,
      );
      const text2 = await must('netmgr status', 'netmgr status');
      check(
        'netmgr status says the kernel datapath runs and why',
        /^ {2}kernel datapath: datapath = "auto" and the kernel has the openvswitch datapath/m.test(text2),
        text2,
      );
      facts.security = (await guest('systemd-analyze security --no-pager netmgr.service 2>&1 | tail -n 3')).out.trim();
      const failed2 = pingPairs();
      check(
        'every pair pings on the kernel datapath again',
        failed2.length === 0 && k !== null,
        `failed: ${failed2.join(' ')}`,
      );
    },
  );

  await step(
    9,
    'apt purge netmgr: the service, datapath, TAPs, namespaces, tc filters and state files are gone; NICs back',
    async () => {
      await must('apt-get purge -y netmgr', 'DEBIAN_FRONTEND=noninteractive apt-get purge -y netmgr', { timeout: 300 });
      const left = await guest(
        [
          'echo "unit: $(systemctl list-unit-files --no-legend netmgr.service | wc -l) $(systemctl is-active netmgr)"',
          'echo "datapaths: $(ovs-dpctl dump-dps 2>/dev/null | wc -l) lan0: $(ip link show lan0 >/dev/null 2>&1 && echo yes || echo no)"',
          'echo "taps: $(ip -o link show type tun | wc -l)"',
          'echo "namespaces: $(ip netns list | wc -l) $(ls /run/netns 2>/dev/null | wc -l)"',
          'echo "tc: $(for i in 0 1 2 3 4; do tc qdisc show dev eth$i; tc filter show dev eth$i ingress; done | grep -Ec "clsact|ingress|filter")"',
          'echo "routes: $(ip route show table all proto 44 | wc -l)"',
          'echo files: $(ls -d /var/lib/netmgr /run/netmgr /usr/lib/netmgr /usr/bin/netmgr /lib/systemd/system/netmgr.service /etc/systemd/system/multi-user.target.wants/netmgr.service /etc/iproute2/rt_protos.d/netmgr.conf 2>/dev/null)',
          'echo "dpkg: $(dpkg-query -W -f="\\${db:Status-Abbrev}" netmgr 2>/dev/null)"',
          'echo "masters: $(ip -j link show | grep -o "\\"master\\"" | wc -l)"',
        ].join('; '),
      );
      const v = Object.fromEntries(
        left.out
          .trim()
          .split('\n')
          .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]),
      );
      console.log(left.out.replace(/^/gm, '        '));
      check('the service is gone (no unit file, not active)', /^0 (inactive|unknown)/.test(v.unit), v.unit);
      // A command of its own: pgrep -f would find a script that names the paths it looks for.
      const procs = await guest('pgrep -a -f "/usr/lib/[n]etmgr|[n]etmgr daemon|[d]hcpcd"');
      check('no netmgr process (netmgrd, dhcpcd) is left', procs.rc === 1 && procs.out === '', procs.out);
      check('no datapath is left (ovs-dpctl dump-dps empty, no lan0)', v.datapaths === '0 lan0: no', v.datapaths);
      check('no TAP is left', v.taps === '0', v.taps);
      check('no namespace is left', v.namespaces === '0 0', v.namespaces);
      check('no tc qdisc or filter is left on eth0..eth4', v.tc === '0', v.tc);
      check('no route of netmgr (proto 44) is left', v.routes === '0', v.routes);
      check(
        'no file of the package and no state file is left (/var/lib/netmgr, /run/netmgr, the unit, ...)',
        v.files.trim() === '',
        v.files,
      );
      check('dpkg knows no netmgr (not even its configuration)', !/^[ri]/.test(v.dpkg), v.dpkg);
      check('eth1..eth4 belong to no bridge', v.masters === '0', v.masters);
      await must(
        'the host uses eth1 itself: 198.18.166.11/24 on it',
        'ip addr add 198.18.166.11/24 dev eth1 && ip link set eth1 up',
      );
      check("eth1 is back in the host's hands: h1 pings the guest's own address on it", ping(1, 11));
      const kept = (await guest('ls /etc/netmgr')).out.trim().split('\n').join(' ');
      console.log(`  kept by design: /etc/netmgr (the administrator's unit files): ${kept}`);
    },
  );

  await step(10, 'systemd-analyze security netmgr, and no hardening option broke a step', async () => {
    const m = /Overall exposure level for netmgr\.service: (\d+\.\d+) (\S+)/.exec(facts.security || '');
    check(
      'systemd-analyze security netmgr gives an exposure score (taken while installed, step 8)',
      m !== null,
      facts.security,
    );
    facts.securityScore = `${m[1]} ${m[2]}`;
    console.log(`  systemd-analyze security netmgr: ${facts.securityScore}`);
    const earlier = steps.filter((s) => s.n < 10 && s.status !== 'pass').map((s) => s.n);
    check(
      'steps 1..9 all passed under the unit as shipped (its hardening included)',
      earlier.length === 0,
      `failed steps: ${earlier.join(', ')}`,
    );
  });
}

async function main() {
  console.log(`== test/system: run prefix ${P}, package ${DEB_NAME}, image ${IMAGE}`);
  console.log(`   console log: ${CONSOLE}`);
  const deadline = setTimeout(() => {
    console.log(`story.js: timeout after ${TIMEOUT} s`);
    gone = `the run's timeout (${TIMEOUT} s)`;
    process.exit(1);
  }, TIMEOUT * 1000);
  deadline.unref();
  const tBoot = Date.now();
  startQemu();
  await wireHosts();
  await connectAgent();
  let bootOk = true;
  try {
    const hello = await waitBoot(0, null);
    facts.firstBoot = secs(Date.now() - tBoot);
    console.log(`== guest up: qemu start to agent ${facts.firstBoot} s (agent ${hello.uptime} s after kernel start)`);
  } catch (e) {
    bootOk = false;
    gone = e.message;
    console.log(`FAIL  ${e.message}; console tail:\n${host(`tail -n 40 ${CONSOLE}`).out}`);
    tests.push({ name: 'boot: the guest comes up', status: 'fail', detail: e.message });
  }
  if (bootOk) tests.push({ name: 'boot: the guest comes up', status: 'pass' });
  await story();
  // A clean shutdown, so the console log ends as a Debian box's does.
  if (!gone) await guest('systemctl poweroff', { timeout: 20 }).catch(() => null);
  for (let k = 0; k < 300 && qemu.exitCode === null && qemu.signalCode === null; k++) await sleep(200);
}

function summary() {
  const passed = tests.filter((t) => t.status === 'pass').length;
  const failed = tests.length - passed;
  console.log(`\n== test/system summary (${secs(Date.now() - T0)} s)`);
  console.log(
    `  first boot (qemu start to agent): ${facts.firstBoot ?? '-'} s; apt install: ${facts.install ?? '-'} s`,
  );
  for (const s of steps)
    console.log(
      `  step ${String(s.n).padStart(2)}  ${s.seconds.toFixed(1).padStart(6)} s  ${s.status.padEnd(7)} ${s.title}`,
    );
  console.log(
    `  kernel start to first forwarded ping: ${facts.bootKernel ?? '-'} s (kernel datapath), ${facts.bootUserspace ?? '-'} s (userspace); netmgr.service ready ${facts.netmgrReady ?? '-'} s after kernel start`,
  );
  console.log(`  systemd-analyze security netmgr: ${facts.securityScore ?? '-'}`);
  for (const t of tests.filter((x) => x.status === 'fail')) console.log(`  failed: ${t.name}`);
  const doc = { passed, failed, tests, steps, facts, console: CONSOLE };
  fs.writeFileSync(RESULT, JSON.stringify(doc, null, 2));
  if (JSON_OUT) fs.writeFileSync(JSON_OUT, JSON.stringify(doc, null, 2));
  console.log(`System: ${passed} passed, ${failed} failed`);
  return failed === 0 && passed > 0;
}

main()
  .catch((e) => {
    console.log(`story.js: ${e.stack}`);
    tests.push({ name: 'harness', status: 'fail', detail: e.stack });
  })
  .then(() => {
    const ok = summary();
    cleanup();
    process.exit(ok ? 0 : 1);
  });
