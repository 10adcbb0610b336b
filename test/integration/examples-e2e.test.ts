/**
 * Every example under examples/ end to end, as root, one describe per example: `netmgr validate` passes on the
 * shipped folder; a copy with every namespace and link name the units declare rewritten to this run's prefix
 * validates too; netmgrd (its own state directory) applies the copy; real traffic shows the example keeps the
 * promise its README makes; a second plan says `No changes.`; and everything is removed again, even on failure.
 *
 * examples/kernel-flows is not here: it needs the openvswitch kernel module, which this machine's kernel lacks;
 * the VM suite (test/vm, `npm run test:vm`) runs it under Debian's kernel.
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { cleanupPrefix, isRoot, namespacesWithPrefix, netmgr, REPO, sh, tempDir } from '../helpers/sys';
import { startDaemon, stopAndClean, TestDaemon } from '../helpers/daemon';
import { office, officeSetup, officeTeardown } from '../helpers/office-dhcp';
import { declaredNames, parseDir, rewriteUnits } from '../helpers/example-units';

/** `x` + three base36 characters: every name becomes P + its original name, at most 4 + 11 = 15 bytes. */
const P =
  'x' +
  Math.floor(Math.random() * 36 ** 3)
    .toString(36)
    .padStart(3, '0');
const EXAMPLES = path.join(REPO, 'examples');
const VM_ONLY = ['kernel-flows'];
/** Examples of several machines, each run by a test of its own. */
const ELSEWHERE = ['overlay-three-hosts'];
const hasOvsModule = fs.existsSync('/sys/module/openvswitch');
/** What datapath = "auto" turns into on this machine. */
const AUTO = hasOvsModule ? 'kernel' : 'userspace';
const it = isRoot() ? test : test.skip;
jest.setTimeout(120_000);

/** The first ping of a pair may have to wait for ARP and MAC learning on a busy machine: a few tries. */
function pings(ns: string, address: string, tries = 5): boolean {
  for (let i = 0; i < tries; i++) {
    if (spawnSync('ip', ['netns', 'exec', ns, 'ping', '-c', '1', '-W', '2', address]).status === 0) return true;
  }
  return false;
}

/** Ping from the root namespace (the box itself), through an interface of this run. */
function pingsFromRoot(dev: string, address: string, tries = 5): boolean {
  for (let i = 0; i < tries; i++)
    if (spawnSync('ping', ['-c', '1', '-W', '2', '-I', dev, address]).status === 0) return true;
  return false;
}

/** Every ordered pair of hosts (namespace, address) reaches the other. */
function expectFullMesh(hosts: [string, string][]): void {
  for (const [from] of hosts) {
    for (const [to, addr] of hosts)
      if (from !== to) expect([from, addr, pings(from, addr)]).toEqual([from, addr, true]);
  }
}

interface Fdb {
  port: number;
  portName: string;
  vlan: number;
  mac: string;
  static: boolean;
}

function fdbShow(bridge: string, env: Record<string, string>): Fdb[] {
  const r = netmgr(['fdb', 'show', bridge, '--json'], env);
  if (r.code !== 0) throw new Error(r.stderr);
  const out = JSON.parse(r.stdout);
  return Array.isArray(out) && out[0]?.entries ? out[0].entries : out;
}

const macOf = (ns: string, dev: string): string =>
  (JSON.parse(sh('ip', ['-n', ns, '-j', 'link', 'show', 'dev', dev])) as { address: string }[])[0].address;

/** IPv4 and global IPv6 addresses on a root-namespace interface (link-local IPv6 is no configured address). */
function configuredAddresses(dev: string): string[] {
  const [l] = JSON.parse(sh('ip', ['-j', 'addr', 'show', 'dev', dev])) as {
    addr_info: { family: string; local: string; scope: string }[];
  }[];
  return l.addr_info.filter((a) => a.family === 'inet' || a.scope !== 'link').map((a) => a.local);
}

/** A TCP server in a namespace answering on each port; close() ends it. */
async function tcpServer(ns: string, address: string, ports: number[]): Promise<{ close(): Promise<void> }> {
  const p = spawn(
    'ip',
    [
      'netns',
      'exec',
      ns,
      process.execPath,
      '-e',
      `
    const net = require('net'); let n = 0;
    for (const port of ${JSON.stringify(ports)}) net.createServer((s) => s.end('hello from ' + port + '\\n'))
      .listen(port, '${address}', () => { if (++n === ${ports.length}) console.log('listening'); });`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    p.stdout.once('data', () => resolve());
    p.once('exit', (code) => reject(new Error(`tcp server exited (${code})`)));
  });
  return {
    close: async () => {
      const gone = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      await gone;
    },
  };
}

/** Connects from a namespace; resolves with what the server said, or null if no connection within 3 s. */
function tcpConnect(ns: string, address: string, port: number): string | null {
  const r = spawnSync(
    'ip',
    [
      'netns',
      'exec',
      ns,
      process.execPath,
      '-e',
      `
    const s = require('net').connect(${port}, '${address}'); let got = '';
    s.on('data', (d) => (got += d)); s.on('end', () => { process.stdout.write(got); process.exit(0); });
    s.on('error', (e) => { console.error(e.message); process.exit(1); });
    setTimeout(() => { console.error('timeout'); process.exit(1); }, 3000);`,
    ],
    { encoding: 'utf8' },
  );
  return r.status === 0 ? r.stdout : null;
}

interface Ctx {
  /** The rewritten (per-run) name of a name the example's units declare. */
  n: (name: string) => string;
  env: Record<string, string>;
  /** stdout of the apply. */
  applied: string;
}

interface Example {
  dir: string;
  /** Validate the shipped folder with --offline: its system ports name NICs this machine does not have. */
  offline?: boolean;
  /** Run before the copy is validated and applied (as root), e.g. to create the interfaces a system port names. */
  setup?(n: (name: string) => string): void;
  /** Run at the end, even on failure, before the run's names are swept: ends what setup started (by PID). */
  teardown?(): void;
  /** The example's promise, checked with real traffic. */
  check(ctx: Ctx): void | Promise<void>;
}

/** Hosts of the unmanaged-switch-nics test: per-run namespaces behind veths whose root ends play eth1..eth4. */
const nicHost = (i: number) => ({ ns: `${P}nh${i}`, dev: `${P}nh${i}e0`, addr: `198.18.101.${i}` });

/** The leased IPv4 address of a root-namespace interface, waited for. */
async function leaseOn(dev: string, timeoutMs: number): Promise<string | undefined> {
  for (const end = Date.now() + timeoutMs; Date.now() < end; await new Promise((r) => setTimeout(r, 250))) {
    const a = configuredAddresses(dev).find((x) => x.startsWith('198.18.154.'));
    if (a) return a;
  }
  return undefined;
}

const EXAMPLE_TABLE: Example[] = [
  {
    dir: 'veth-pair',
    check: ({ n }) => {
      expect(pings(n('nmdemo-a'), '198.18.0.2')).toBe(true);
      expect(pings(n('nmdemo-b'), '198.18.0.1')).toBe(true);
    },
  },
  {
    dir: 'unmanaged-switch',
    check: ({ n, env }) => {
      expectFullMesh([1, 2, 3, 4].map((i) => [n(`sw-h${i}`), `198.18.100.${i}`]));
      const fdb = fdbShow(n('sw0'), env);
      for (const i of [1, 2, 3, 4]) {
        expect(fdb.filter((e) => e.mac === `02:00:00:00:64:0${i}`).map((e) => e.portName)).toEqual([n(`sw-p${i}`)]);
      }
    },
  },
  {
    dir: 'unmanaged-switch-nics',
    offline: true,
    // The box's four spare NICs are veths here: the root end is the NIC (eth1..eth4, prefixed), the far end a
    // PC plugged into it, with an address of its own. The example itself configures no address anywhere.
    setup: (n) => {
      for (const i of [1, 2, 3, 4]) {
        const h = nicHost(i);
        sh('ip', ['netns', 'add', h.ns]);
        sh('ip', ['link', 'add', n(`eth${i}`), 'type', 'veth', 'peer', 'name', h.dev, 'netns', h.ns]);
        // A NIC without IP: not even an IPv6 link-local address of the box's own.
        sh('sysctl', ['-qw', `net.ipv6.conf.${n(`eth${i}`)}.disable_ipv6=1`]);
        sh('ip', ['-n', h.ns, 'addr', 'add', `${h.addr}/24`, 'dev', h.dev]);
        sh('ip', ['-n', h.ns, 'link', 'set', h.dev, 'up']);
      }
    },
    check: ({ n, env, applied }) => {
      expect(applied).toContain(`+ bridge ${n('lan0')} (datapath ${AUTO}`);
      expectFullMesh([1, 2, 3, 4].map((i) => [nicHost(i).ns, nicHost(i).addr]));
      const fdb = fdbShow(n('lan0'), env);
      for (const i of [1, 2, 3, 4]) {
        const mac = macOf(nicHost(i).ns, nicHost(i).dev);
        expect(fdb.filter((e) => e.mac === mac).map((e) => e.portName)).toEqual([n(`eth${i}`)]);
      }
      // No IP anywhere: not on the ports, not on the bridge.
      for (const dev of ['lan0', 'eth1', 'eth2', 'eth3', 'eth4'])
        expect([dev, configuredAddresses(n(dev))]).toEqual([dev, []]);
    },
  },
  {
    dir: 'office-dhcp',
    offline: true,
    setup: (n) => officeSetup(P, n),
    teardown: officeTeardown,
    check: async ({ n, env }) => {
      const lease = await leaseOn(n('office0'), 60_000);
      expect(lease).toMatch(/^198\.18\.154\.(1[5-8]\d|190)$/);
      expect(pingsFromRoot(n('office0'), '198.18.154.129')).toBe(true);
      expect(pings(office.desk, '198.18.154.129')).toBe(true);
      expect(pings(office.desk, lease!)).toBe(true);
      const status = netmgr(['status'], env).stdout;
      expect(status).toContain(`${n('office0')} [${n('office0')}]: bound ${lease}/25 from 198.18.154.129`);
      // No router option: no default route of netmgr's in the root namespace.
      expect(sh('ip', ['-4', 'route', 'show', 'default', 'dev', n('office0')])).toBe('');
    },
  },
  {
    dir: 'switch-and-host',
    check: ({ n, applied }) => {
      expect(applied).toContain(`+ bridge ${n('sh-br')} (datapath ${AUTO}`);
      expect(configuredAddresses(n('sh-br'))).toEqual(['198.18.102.254']);
      // Switch: the hosts reach each other. End device: each host reaches the box, and the box each host.
      expectFullMesh([
        [n('sh-router'), '198.18.102.1'],
        [n('sh-pc1'), '198.18.102.2'],
      ]);
      expect(pings(n('sh-router'), '198.18.102.254')).toBe(true);
      expect(pings(n('sh-pc1'), '198.18.102.254')).toBe(true);
      expect(pingsFromRoot(n('sh-br'), '198.18.102.1')).toBe(true);
      expect(pingsFromRoot(n('sh-br'), '198.18.102.2')).toBe(true);
      // Routes: the PC's default route and the box's route to the network behind the router, both netmgr's.
      expect(sh('ip', ['-N', '-n', n('sh-pc1'), 'route', 'show', 'default'])).toMatch(
        /^default via 198\.18\.102\.1 dev \S+ proto 44/,
      );
      expect(sh('ip', ['-N', 'route', 'show', '198.18.111.0/24'])).toMatch(
        new RegExp(`^198\\.18\\.111\\.0/24 via 198\\.18\\.102\\.1 dev ${n('sh-br')} proto 44`),
      );
    },
  },
  {
    dir: 'bridge-veths',
    check: ({ n, applied }) => {
      expect(applied).toContain(`+ bridge ${n('bv-br')} (datapath userspace, policy learning`);
      expectFullMesh([
        [n('bv-ns1'), '198.18.103.1'],
        [n('bv-ns2'), '198.18.103.2'],
      ]);
    },
  },
  {
    dir: 'ovs-veths',
    check: ({ n, applied }) => {
      expect(applied).toContain(`+ bridge ${n('ov-br')} (datapath ${AUTO}, policy learning`);
      expectFullMesh([
        [n('ov-ns1'), '198.18.104.1'],
        [n('ov-ns2'), '198.18.104.2'],
      ]);
    },
  },
  {
    dir: 'internal-ports',
    check: ({ n, applied }) => {
      expect(applied).toContain(`+ bridge ${n('in-br')} (datapath ${AUTO}`);
      // The switch's own ports sit inside the namespaces: no veth anywhere.
      for (const i of [1, 2]) {
        const [l] = JSON.parse(
          sh('ip', ['-n', n(`in-ns${i}`), '-j', '-d', 'link', 'show', 'dev', n(`in-tap${i}`)]),
        ) as { linkinfo?: { info_kind?: string } }[];
        expect(l.linkinfo?.info_kind).toBe(hasOvsModule ? 'openvswitch' : 'tun');
      }
      expectFullMesh([
        [n('in-ns1'), '198.18.105.1'],
        [n('in-ns2'), '198.18.105.2'],
      ]);
    },
  },
  {
    dir: 'static-flows',
    check: async ({ n, env }) => {
      // Allowed: ARP and ICMP both ways, TCP to port 8080 on host 1. Dropped: everything else, e.g. TCP 8081.
      expectFullMesh([
        [n('flows-ns1'), '198.18.90.1'],
        [n('flows-ns2'), '198.18.90.2'],
      ]);
      const server = await tcpServer(n('flows-ns1'), '198.18.90.1', [8080, 8081]);
      try {
        expect(tcpConnect(n('flows-ns2'), '198.18.90.1', 8080)).toBe('hello from 8080\n');
        expect(tcpConnect(n('flows-ns2'), '198.18.90.1', 8081)).toBeNull();
        // From host 1 to host 2 the 8080 flows do not apply (they match the return path by source port only).
        expect(tcpConnect(n('flows-ns1'), '198.18.90.2', 8080)).toBeNull();
      } finally {
        await server.close();
      }
      const r = netmgr(['dpctl', 'dump-flows', n('flows-br'), '--json'], env);
      expect(r.code).toBe(0);
      const flows = JSON.parse(r.stdout).flows as { match: string; packets: number }[];
      expect(flows.filter((f) => f.match.includes('ipv4(proto=1)')).map((f) => f.packets > 0)).toEqual([true, true]);
      expect(flows.filter((f) => f.match.includes('ipv4(proto=6)')).some((f) => f.packets > 0)).toBe(true);
    },
  },
];

test('the table covers every example folder but the VM-only ones and those tested elsewhere', () => {
  const folders = fs
    .readdirSync(EXAMPLES)
    .filter((d) => fs.statSync(path.join(EXAMPLES, d)).isDirectory())
    .sort();
  expect(EXAMPLE_TABLE.map((e) => e.dir).sort()).toEqual(
    folders.filter((d) => !VM_ONLY.includes(d) && !ELSEWHERE.includes(d)),
  );
  for (const d of folders) expect([d, fs.existsSync(path.join(EXAMPLES, d, 'README.md'))]).toEqual([d, true]);
});

test('the examples declare distinct namespace and link names, and fit the rewrite prefix', () => {
  const seen = new Map<string, string>();
  for (const d of fs.readdirSync(EXAMPLES).filter((x) => fs.statSync(path.join(EXAMPLES, x)).isDirectory())) {
    const { links, namespaces } = declaredNames(parseDir(path.join(EXAMPLES, d)));
    for (const name of [...links, ...namespaces]) {
      expect([name, seen.get(name) ?? d]).toEqual([name, d]);
      seen.set(name, d);
    }
    for (const l of links) expect([l, Buffer.byteLength(l) <= 11]).toEqual([l, true]);
  }
});

for (const ex of EXAMPLE_TABLE) {
  describe(`examples/${ex.dir}`, () => {
    const original = path.join(EXAMPLES, ex.dir);
    let copy = '';
    let state = '';
    let env: Record<string, string> = {};
    let n: (name: string) => string = () => {
      throw new Error('units not rewritten');
    };
    let daemon: TestDaemon | undefined;
    let applied = '';

    // In hooks, not at collection: a describe left out by -t creates nothing.
    beforeAll(() => {
      copy = tempDir(`ex-${ex.dir}`);
      state = tempDir(`ex-${ex.dir}-state`);
      // A socket of this run's own, also for the commands that run before netmgrd is started.
      env = { NETMGR_STATE_DIR: state, NETMGR_SOCKET: path.join(state, 'netmgrd.sock') };
    });

    afterAll(async () => {
      if (!isRoot()) {
        for (const d of [copy, state]) fs.rmSync(d, { recursive: true, force: true });
        return;
      }
      // With netmgrd still running, an empty unit set removes the bridges too (a kernel datapath outlives it).
      if (daemon?.alive()) {
        const empty = fs.mkdtempSync(path.join(state, 'empty-'));
        netmgr(['apply', '--dir', empty], env);
      }
      ex.teardown?.();
      await stopAndClean(daemon, state, P, [copy]);
    });

    test('netmgr validate passes on the shipped folder', () => {
      const r = netmgr(['validate', ...(ex.offline ? ['--offline'] : []), '--dir', original], env);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    });

    it('a copy with every name under the run prefix validates, and netmgrd applies it', async () => {
      n = rewriteUnits(original, copy, P);
      const names = declaredNames(parseDir(copy));
      expect([...names.links, ...names.namespaces].filter((x) => !x.startsWith(P))).toEqual([]);
      ex.setup?.(n);
      const v = netmgr(['validate', '--dir', copy], env);
      expect(v.stderr).toBe('');
      expect(v.code).toBe(0);
      daemon = await startDaemon(copy, state);
      const r = netmgr(['apply', '--dir', copy], env);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      applied = r.stdout;
      expect(namespacesWithPrefix(P)).toEqual(expect.arrayContaining(names.namespaces));
    });

    it('keeps its promise, with real traffic', async () => {
      expect(applied).not.toBe('');
      await ex.check({ n, env, applied });
    });

    it('a second plan says No changes.', () => {
      expect(applied).not.toBe('');
      const r = netmgr(['plan', '--dir', copy], env);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('No changes.\n');
      expect(r.code).toBe(0);
      expect(daemon!.alive()).toBe(true);
    });
  });
}

it('nothing with the run prefix is left', () => {
  const left = [
    ...namespacesWithPrefix(P),
    ...(JSON.parse(sh('ip', ['-j', 'link', 'show'])) as { ifname: string }[])
      .map((l) => l.ifname)
      .filter((x) => x.startsWith(P)),
  ];
  if (left.length > 0) cleanupPrefix(P);
  expect(left).toEqual([]);
});
