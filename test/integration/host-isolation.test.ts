/**
 * Host isolation of switch ports, as root against the real kernel: netmgr's tc ingress drop keeps frames that
 * arrive on an attached interface away from the host's own stack while AF_PACKET taps (the datapath) still get
 * them; it leaves someone else's clsact qdisc and filters alone, is idempotent, survives a vanished link, and works
 * per network namespace. `tc` here is only an independent witness; netmgr talks rtnetlink itself.
 */
import { spawn, spawnSync } from 'child_process';
import { NamespaceSockets } from '../../src/live/namespaces';
import { NetlinkError } from '../../src/netlink/socket';
import {
  hasIngressDrop,
  installIngressDrop,
  NETMGR_FILTER_HANDLE,
  NETMGR_FILTER_PRIO,
  removeIngressDrop,
} from '../../src/netlink/tc';
import { cleanupPrefix, isRoot, linkIndex, ping, sh } from '../helpers/sys';

/** This suite's own prefix: 'nmB' + two base36 characters; every name below stays far inside 15 bytes. */
const P = 'nmB' + Math.random().toString(36).slice(2, 4).padEnd(2, '0');
const NS = `${P}n`; // peer namespace of the root-namespace test
const X = `${P}x`; // root-namespace port
const PEER = `${P}p`; // its peer, in NS
const NSA = `${P}a`; // namespace whose own port gets the drop
const NSB = `${P}b`;
const YA = `${P}ya`;
const YB = `${P}yb`;

const describeRoot = isRoot() ? describe : describe.skip;

type TcFilter = {
  kind: string;
  pref: number;
  protocol: string;
  options?: Record<string, unknown> & { handle?: string };
};
const nsArgs = (ns: string | null): string[] => (ns ? ['-n', ns] : []);

function tcFilters(ns: string | null, dev: string): TcFilter[] {
  const out = sh('tc', [...nsArgs(ns), '-j', 'filter', 'show', 'dev', dev, 'ingress']).trim();
  return out ? (JSON.parse(out) as TcFilter[]) : [];
}

/** tc's own reading of netmgr's filter: at its prio/handle, a matchall dropping, or a direct-action bpf returning SHOT. */
function tcSeesNetmgrDrop(ns: string | null, dev: string): boolean {
  const mine = tcFilters(ns, dev).filter(
    (f) => f.pref === NETMGR_FILTER_PRIO && f.options?.handle === `0x${NETMGR_FILTER_HANDLE.toString(16)}`,
  );
  if (mine.length !== 1) return false;
  const [f] = mine;
  if (f.kind === 'matchall') return JSON.stringify(f.options).includes('"drop"');
  if (f.kind !== 'bpf') return false;
  const insns = (f.options as { bytecode?: { insns: { code: number; k: number }[] } }).bytecode?.insns ?? [];
  const last = insns[insns.length - 1];
  return f.options?.['direct-action'] === true && last?.code === 6 && last.k === 2; // BPF_RET|BPF_K, TC_ACT_SHOT
}

/** What identifies a filter, without counters or flags that a dump may add as traffic passes. */
const ids = (fs: TcFilter[]) =>
  fs.map((f) => ({ pref: f.pref, kind: f.kind, protocol: f.protocol, handle: f.options?.handle }));

const qdiscs = (ns: string | null, dev: string): string => sh('tc', [...nsArgs(ns), 'qdisc', 'show', 'dev', dev]);

/**
 * An AF_PACKET tap on `dev` (python3, a separate process): counts ICMP echo requests to `dst` that arrive on the
 * interface and echo replies the host sends back out of it, until it has seen `want` requests (plus a grace period
 * for the replies) or time runs out.
 */
const SNIFFER = `
import socket, sys, time
ifname, dst, want = sys.argv[1], socket.inet_aton(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
s.bind((ifname, 0))
s.settimeout(0.05)
print('ready', flush=True)
req = rep = 0
end = time.time() + 5
while time.time() < end:
    try:
        data, addr = s.recvfrom(65535)
    except socket.timeout:
        continue
    if addr[1] != 0x0800 or len(data) < 42 or data[23] != 1:
        continue
    icmp = data[14 + (data[14] & 0x0f) * 4]
    outgoing = addr[2] == socket.PACKET_OUTGOING
    if not outgoing and icmp == 8 and data[30:34] == dst:
        req += 1
        if req == want:
            end = min(end, time.time() + 0.5)
    if outgoing and icmp == 0 and data[26:30] == dst:
        rep += 1
print(req, rep, flush=True)
`;

async function tapDuring(
  ns: string | null,
  dev: string,
  dst: string,
  want: number,
  action: () => void,
): Promise<{ requests: number; replies: number }> {
  const cmd = [...(ns ? ['ip', 'netns', 'exec', ns] : []), 'python3', '-c', SNIFFER, dev, dst, String(want)];
  const child = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready\n')) resolve();
    });
    child.on('exit', () => reject(new Error(`sniffer ended early: ${err}`)));
  });
  action();
  const code = await exited;
  if (code !== 0) throw new Error(`sniffer failed (${code}): ${err}`);
  const [requests, replies] = out.trim().split('\n').pop()!.split(' ').map(Number);
  return { requests, replies };
}

const pingN = (ns: string, address: string, count: number): boolean =>
  spawnSync('ip', ['netns', 'exec', ns, 'ping', '-c', String(count), '-i', '0.2', '-W', '1', address]).status === 0;

const macOf = (ns: string | null, dev: string): string =>
  (JSON.parse(sh('ip', [...nsArgs(ns), '-j', 'link', 'show', 'dev', dev])) as { address: string }[])[0].address;

describeRoot('tc ingress drop on switch ports (root, real kernel)', () => {
  const sockets = new NamespaceSockets();

  beforeAll(() => {
    cleanupPrefix(P);
    sh('ip', ['netns', 'add', NS]);
    sh('ip', ['link', 'add', X, 'type', 'veth', 'peer', 'name', PEER, 'netns', NS]);
    sh('ip', ['addr', 'add', '198.18.50.1/24', 'dev', X]);
    sh('ip', ['link', 'set', X, 'up']);
    sh('ip', ['-n', NS, 'addr', 'add', '198.18.50.2/24', 'dev', PEER]);
    sh('ip', ['-n', NS, 'link', 'set', PEER, 'up']);
    sh('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
    // The drop swallows ARP too: a fixed neighbour entry keeps NS sending echo requests for the tap to see.
    sh('ip', ['-n', NS, 'neigh', 'replace', '198.18.50.1', 'lladdr', macOf(null, X), 'dev', PEER, 'nud', 'permanent']);
  });

  afterAll(() => {
    sockets.close();
    cleanupPrefix(P);
  });

  test('the drop cuts the host off, AF_PACKET still sees the frames, removal restores', async () => {
    const sock = sockets.route(null);
    const ifindex = linkIndex(null, X);
    expect(pingN(NS, '198.18.50.1', 1)).toBe(true);
    // Control: without the drop the tap sees the requests and the host's replies.
    const open = await tapDuring(null, X, '198.18.50.1', 3, () => expect(pingN(NS, '198.18.50.1', 3)).toBe(true));
    expect(open.requests).toBe(3);
    expect(open.replies).toBe(3);

    const rec = installIngressDrop(sock, ifindex, X);
    expect(rec).toEqual({
      ifindex,
      name: X,
      createdQdisc: true,
      prio: NETMGR_FILTER_PRIO,
      handle: NETMGR_FILTER_HANDLE,
    });
    expect(hasIngressDrop(sock, ifindex)).toBe(true);
    expect(tcSeesNetmgrDrop(null, X)).toBe(true);
    expect(qdiscs(null, X)).toContain('clsact');

    const dropped = await tapDuring(null, X, '198.18.50.1', 3, () => expect(pingN(NS, '198.18.50.1', 3)).toBe(false));
    expect(dropped.requests).toBe(3); // ptype_all taps run before tc ingress
    expect(dropped.replies).toBe(0); // the host's stack never saw them

    removeIngressDrop(sock, rec);
    expect(hasIngressDrop(sock, ifindex)).toBe(false);
    expect(tcFilters(null, X)).toEqual([]);
    expect(qdiscs(null, X)).not.toContain('clsact');
    expect(ping(NS, '198.18.50.1')).toBe(true);
  });

  test("someone else's clsact qdisc and filters stay; a foreign filter in netmgr's slot is refused", () => {
    const sock = sockets.route(null);
    const ifindex = linkIndex(null, X);
    sh('tc', ['qdisc', 'add', 'dev', X, 'clsact']);
    // A foreign "pass everything" filter at prio 7: matchall where the kernel has it, else its cls_bpf twin.
    const pass = spawnSync('tc', ['filter', 'add', 'dev', X, 'ingress', 'prio', '7', 'matchall', 'action', 'pass']);
    if (pass.status !== 0)
      sh('tc', ['filter', 'add', 'dev', X, 'ingress', 'prio', '7', 'bpf', 'da', 'bytecode', '1,6 0 0 0,']);
    const foreign = ids(tcFilters(null, X));
    expect(foreign.some((f) => f.pref === 7)).toBe(true);

    const rec = installIngressDrop(sock, ifindex, X);
    expect(rec.createdQdisc).toBe(false);
    expect(installIngressDrop(sock, ifindex, X).createdQdisc).toBe(false);
    expect(tcSeesNetmgrDrop(null, X)).toBe(true);
    expect(ids(tcFilters(null, X)).filter((f) => f.pref === 7)).toEqual(foreign);
    // Filters run in prio order and a verdict ends the walk: the foreign pass at prio 7 comes before netmgr's drop.
    expect(pingN(NS, '198.18.50.1', 1)).toBe(true);

    removeIngressDrop(sock, rec);
    expect(hasIngressDrop(sock, ifindex)).toBe(false);
    expect(ids(tcFilters(null, X))).toEqual(foreign);
    expect(qdiscs(null, X)).toContain('clsact');

    // Someone else's filter exactly where netmgr's goes: install fails, touches nothing, and remove leaves it be.
    sh('tc', [
      'filter',
      'add',
      'dev',
      X,
      'ingress',
      'prio',
      String(NETMGR_FILTER_PRIO),
      'handle',
      `0x${NETMGR_FILTER_HANDLE.toString(16)}`,
      'bpf',
      'da',
      'bytecode',
      '1,6 0 0 0,',
    ]);
    const withSquatter = ids(tcFilters(null, X));
    expect(() => installIngressDrop(sock, ifindex, X)).toThrow(NetlinkError);
    expect(hasIngressDrop(sock, ifindex)).toBe(false);
    removeIngressDrop(sock, {
      ifindex,
      name: X,
      createdQdisc: true,
      prio: NETMGR_FILTER_PRIO,
      handle: NETMGR_FILTER_HANDLE,
    });
    expect(ids(tcFilters(null, X))).toEqual(withSquatter);
    expect(qdiscs(null, X)).toContain('clsact');

    sh('tc', ['qdisc', 'del', 'dev', X, 'clsact']);
  });

  test('install and remove are idempotent; remove after the link is gone does not throw', () => {
    sh('tc', ['qdisc', 'del', 'dev', X, 'clsact'], { allowFail: true }); // in case the previous test stopped early
    const sock = sockets.route(null);
    const ifindex = linkIndex(null, X);
    const first = installIngressDrop(sock, ifindex, X);
    const second = installIngressDrop(sock, ifindex, X);
    expect(second).toEqual(first);
    expect(first.createdQdisc).toBe(true); // the second install reads this back from the filter's mark
    expect(tcFilters(null, X).filter((f) => f.options?.handle)).toHaveLength(1);
    expect(hasIngressDrop(sock, ifindex)).toBe(true);
    removeIngressDrop(sock, first);
    expect(hasIngressDrop(sock, ifindex)).toBe(false);
    expect(() => removeIngressDrop(sock, first)).not.toThrow();
    expect(qdiscs(null, X)).not.toContain('clsact');

    const Z = `${P}z`;
    sh('ip', ['link', 'add', Z, 'type', 'veth', 'peer', 'name', `${P}w`]);
    const zIndex = linkIndex(null, Z);
    const rec = installIngressDrop(sock, zIndex, Z);
    expect(hasIngressDrop(sock, zIndex)).toBe(true);
    sh('ip', ['link', 'del', Z]);
    expect(hasIngressDrop(sock, zIndex)).toBe(false);
    expect(() => removeIngressDrop(sock, rec)).not.toThrow();
    expect(() => installIngressDrop(sock, zIndex, Z)).toThrow(NetlinkError);
  });

  test('inside a namespace, through that namespace’s socket, the drop is per netns', async () => {
    sh('ip', ['netns', 'add', NSA]);
    sh('ip', ['netns', 'add', NSB]);
    sh('ip', ['link', 'add', YA, 'netns', NSA, 'type', 'veth', 'peer', 'name', YB, 'netns', NSB]);
    sh('ip', ['-n', NSA, 'addr', 'add', '198.18.51.1/24', 'dev', YA]);
    sh('ip', ['-n', NSB, 'addr', 'add', '198.18.51.2/24', 'dev', YB]);
    for (const [ns, dev] of [
      [NSA, YA],
      [NSB, YB],
    ]) {
      sh('ip', ['-n', ns, 'link', 'set', dev, 'up']);
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    sh('ip', ['-n', NSB, 'neigh', 'replace', '198.18.51.1', 'lladdr', macOf(NSA, YA), 'dev', YB, 'nud', 'permanent']);
    expect(pingN(NSB, '198.18.51.1', 1)).toBe(true);

    const sockA = sockets.route(NSA);
    const ifindex = linkIndex(NSA, YA);
    const rec = installIngressDrop(sockA, ifindex, YA);
    expect(rec.createdQdisc).toBe(true);
    expect(hasIngressDrop(sockA, ifindex)).toBe(true);
    expect(tcSeesNetmgrDrop(NSA, YA)).toBe(true);
    // Nothing of it in the root namespace, whatever link carries that ifindex there.
    expect(hasIngressDrop(sockets.route(null), ifindex)).toBe(false);
    expect(spawnSync('ip', ['link', 'show', 'dev', YA]).status).not.toBe(0);

    const dropped = await tapDuring(NSA, YA, '198.18.51.1', 2, () => expect(pingN(NSB, '198.18.51.1', 2)).toBe(false));
    expect(dropped.requests).toBe(2);
    expect(dropped.replies).toBe(0);

    removeIngressDrop(sockA, rec);
    expect(hasIngressDrop(sockA, ifindex)).toBe(false);
    expect(qdiscs(NSA, YA)).not.toContain('clsact');
    expect(ping(NSB, '198.18.51.1')).toBe(true);
  });
});
