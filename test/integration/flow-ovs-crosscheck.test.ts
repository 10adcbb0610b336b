/**
 * Cross-check of the flow model against Open vSwitch itself: a private ovsdb-server + ovs-vswitchd
 * (--enable-dummy --disable-system) with a datapath_type=dummy bridge, driven through its own unixctl socket
 * with `ovs-appctl dpctl/add-flow` and `dpctl/dump-flows`. Every corpus line goes to both; accept/reject and the
 * dumped text must agree, except for the documented differences below. Needs Debian's openvswitch-switch.
 */
import { spawn, execFileSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { corpus, judge, type CorpusLine } from '../unit/flow/corpus';
import { formatFlowKey, formatActions } from '../../src/flow/format';
import type { FlowKey } from '../../src/flow/types';

const BIN = ['ovsdb-tool', 'ovsdb-server', 'ovs-vswitchd', 'ovs-vsctl', 'ovs-appctl'];
const SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

function which(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/bin', '/sbin'])) {
    const p = path.join(dir, bin);
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

/**
 * Known, explained differences between the kernel rules netmgr enforces and OVS's userspace (dpif-netdev) datapath.
 * Each entry: a predicate on the corpus line and the reason.
 */
const KNOWN_DIFFERENCES: Array<{ when: (l: CorpusLine) => boolean; why: string }> = [
  {
    when: (l) => /proto=6\b/.test(l.flow) && !/frag=later/.test(l.flow) && !/tcp_flags\(/.test(l.flow),
    why: 'the kernel (match_validate) requires tcp_flags() next to tcp() for proto=6; dpif-netdev does not check it',
  },
  {
    when: (l) => /^in_port\(\d+\)$/.test(l.flow),
    why: 'both reject, for different reasons (dpif-netdev: no packet type; kernel: no eth/eth_type)',
  },
];

interface Oracle { dir: string; ctl: string; db: string; procs: ChildProcess[] }

let oracle: Oracle | undefined;
const missing = BIN.filter((b) => !which(b));

function run(bin: string, args: string[], env: NodeJS.ProcessEnv): string {
  return execFileSync(which(bin) as string, args, { env, encoding: 'utf8', timeout: 20000, stdio: ['ignore', 'pipe', 'pipe'] });
}

async function waitFor(file: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!fs.existsSync(file)) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${file}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  if (missing.length) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netmgr-ovs-'));
  const env = { ...process.env, OVS_RUNDIR: dir, OVS_LOGDIR: dir, OVS_DBDIR: dir, OVS_SYSCONFDIR: dir, OVS_PKGDATADIR: '/usr/share/openvswitch' };
  const db = path.join(dir, 'conf.db');
  const dbSock = path.join(dir, 'db.sock');
  const ctl = path.join(dir, 'vswitchd.ctl');
  const procs: ChildProcess[] = [];
  oracle = { dir, ctl, db: dbSock, procs };
  run('ovsdb-tool', ['create', db, SCHEMA], env);
  // Not --detach: we own these children and kill exactly their PIDs afterwards.
  procs.push(spawn(which('ovsdb-server') as string, [db, `--remote=punix:${dbSock}`, `--unixctl=${path.join(dir, 'ovsdb.ctl')}`, `--log-file=${path.join(dir, 'ovsdb.log')}`], { env, stdio: 'ignore' }));
  await waitFor(dbSock, 10000);
  run('ovs-vsctl', [`--db=unix:${dbSock}`, '--no-wait', 'init'], env);
  // OVS matches one VLAN tag by default; the kernel datapath parses two, so let OVS see 802.1ad + 802.1Q too.
  run('ovs-vsctl', [`--db=unix:${dbSock}`, '--no-wait', 'set', 'Open_vSwitch', '.', 'other_config:vlan-limit=2'], env);
  procs.push(spawn(which('ovs-vswitchd') as string, [`unix:${dbSock}`, '--enable-dummy=override', '--disable-system', `--unixctl=${ctl}`, `--log-file=${path.join(dir, 'vswitchd.log')}`], { env, stdio: 'ignore' }));
  await waitFor(ctl, 10000);
  const ports = [1, 2, 3, 4, 5, 6, 7].flatMap((n) => ['--', 'add-port', 'br0', `p${n}`, '--', 'set', 'interface', `p${n}`, 'type=dummy', `ofport_request=${n}`]);
  run('ovs-vsctl', [`--db=unix:${dbSock}`, '--timeout=20', 'add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=dummy', 'fail-mode=secure', ...ports], env);
}, 60000);

afterAll(() => {
  for (const p of oracle?.procs ?? []) {
    if (p.pid !== undefined && p.exitCode === null) {
      try {
        process.kill(p.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
  }
  if (oracle) fs.rmSync(oracle.dir, { recursive: true, force: true });
});

function appctl(args: string[]): { ok: boolean; out: string } {
  try {
    return { ok: true, out: run('ovs-appctl', ['-t', (oracle as Oracle).ctl, ...args], process.env) };
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string };
    return { ok: false, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

/** What netmgr prints for an accepted flow in dump-flows style (dpif-netdev keeps the key as given, unmasked). */
function netmgrDump(key: FlowKey, mask: FlowKey, actions: string): string {
  return `${formatFlowKey(key, mask)}, packets:0, bytes:0, used:never, actions:${actions}`;
}

describe('flow model vs Open vSwitch (dummy datapath)', () => {
  test('OVS binaries are installed', () => {
    if (missing.length) {
      throw new Error(`missing ${missing.join(', ')}: run \`apt-get install openvswitch-switch\` (CI installs the package)`);
    }
  });

  const lines = corpus();
  const report: string[] = [];
  afterAll(() => {
    if (report.length) fs.writeFileSync(path.join(os.tmpdir(), 'netmgr-ovs-crosscheck.txt'), report.join('\n') + '\n');
  });

  test.each(lines.map((l, i) => [i + 1, l] as const))('corpus line %i', (_n, line) => {
    if (!oracle) throw new Error('OVS oracle not running: `apt-get install openvswitch-switch`');
    appctl(['dpctl/del-flows']);
    const ours = judge(line);
    const theirs = appctl(['dpctl/add-flow', line.flow.trim(), line.actions]);
    const known = KNOWN_DIFFERENCES.find((d) => d.when(line));
    if (ours.ok !== theirs.ok) {
      report.push(`ACCEPT MISMATCH line ${_n}: netmgr=${ours.ok} ovs=${theirs.ok} ${line.flow} ${line.actions} :: ${theirs.out.trim()} :: ${ours.text}`);
      expect(known?.why ?? `netmgr ${ours.ok ? 'accepts' : 'rejects'} but OVS ${theirs.ok ? 'accepts' : 'rejects'}: ${theirs.out.trim()} / ${ours.text}`).toBe(known?.why);
      return;
    }
    if (!ours.ok) return;
    const dump = appctl(['dpctl/dump-flows']).out.split('\n').filter((l) => l && !l.startsWith('flow-dump'));
    expect(dump.length).toBe(1);
    // dpif-netdev always matches recirc_id exactly and prints it; netmgr only when the flow says so.
    let got = dump[0];
    if (ours.flow.key.recircId === undefined) got = got.replace(/(^|,)recirc_id\(0\),/, '$1');
    const want = netmgrDump(ours.flow.key, ours.flow.mask, formatActions(ours.actions.actions));
    if (got !== want) report.push(`DUMP line ${_n}:\n  ovs:    ${got}\n  netmgr: ${want}`);
    expect(got).toBe(want);
  });
});
