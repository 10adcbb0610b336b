/**
 * The learning switch behind tunnel ports, as pure decisions (decide() over a hand-made view) and through the
 * policy: a MAC is learned on (tunnel port, remote); known unicast goes with set(tunnel(dst=remote)) to that remote
 * only; flooding replicates to every remote (head-end replication); split horizon keeps what came from a tunnel out
 * of every tunnel port; the flow from a tunnel matches tun_id and the remote.
 */
import { formatActions, type FlowKey } from '../../../src/flow';
import { zeroTunnel } from '../../../src/flow/tunnel';
import { parseIpv6 } from '../../../src/flow/text';
import type { PortConfig } from '../../../src/model/bridges';
import type { TunnelSpec } from '../../../src/model/types';
import { LearningPolicy } from '../../../src/policy/learning';
import { decide, type SwitchView } from '../../../src/policy/learning/decide';
import { MacTable } from '../../../src/policy/learning/mac-table';
import { tunnelPortView, type TunnelPortView } from '../../../src/policy/learning/tunnel';
import { portVlanMode } from '../../../src/policy/learning/vlan';
import { FakeDatapath } from './fake-datapath';

const ip = (s: string) => s.split('.').reduce((v, o) => v * 256 + Number(o), 0);
const R1 = '198.18.200.2',
  R2 = '198.18.200.3',
  R3 = '198.18.200.4';
const HOST = 0x020000000001,
  FAR1 = 0x020000000021,
  FAR2 = 0x020000000022,
  FAR3 = 0x020000000023,
  BCAST = 0xffffffffffff;
const spec = (remotes: string[]): TunnelSpec => ({ vni: 100, remotes, family: 4, dstPort: 4789, ttl: 64, df: true });

/** Ports: 0 the bridge, 1 and 2 hosts, 3 vxlan to R1 and R2, 4 vxlan to R3. */
function view(learned: Array<[number, number, string?]>): SwitchView {
  const names = ['br0', 'h1', 'h2', 'vx', 'vy'];
  const tunnels = new Map<number, TunnelPortView>([
    [3, tunnelPortView(spec([R1, R2]))],
    [4, tunnelPortView(spec([R3]))],
  ]);
  const table = new Map(learned.map(([mac, port, remote]) => [mac, { port, remote }]));
  return {
    ports: new Map(names.map((n, i) => [i, portVlanMode(i, n, undefined)])),
    lookup: (_vlan, mac) => {
      const e = table.get(mac);
      return e && { port: e.port, static: false, ...(e.remote ? { remote: e.remote } : {}) };
    },
    tunnel: (no) => tunnels.get(no),
  };
}

function key(inPort: number, src: number, dst: number, from?: string): FlowKey {
  const k: FlowKey = { inPort, eth: { src, dst }, ethType: 0x0806 };
  if (from !== undefined) {
    const t = zeroTunnel();
    t.tunId[7] = 100;
    t.src = ip(from);
    t.dst = ip('198.18.200.1');
    k.tunnel = t;
  }
  return k;
}

const set = (dst: string) => `set(tunnel(tun_id=0x64,dst=${dst},ttl=64,flags(df|key)))`;

describe('decisions behind tunnel ports', () => {
  test.each([
    [
      'a host broadcast floods to the hosts and to every remote of every tunnel port (head-end replication)',
      key(1, HOST, BCAST),
      [],
      `0,2,${set(R1)},3,${set(R2)},3,${set(R3)},4`,
    ],
    ['unknown unicast from a host likewise', key(1, HOST, FAR1), [], `0,2,${set(R1)},3,${set(R2)},3,${set(R3)},4`],
    ['known unicast goes to the one remote it is learned behind', key(1, HOST, FAR2), [[FAR2, 3, R2]], `${set(R2)},3`],
    ['split horizon: a broadcast from a tunnel floods to the hosts only', key(3, FAR1, BCAST, R1), [], '0,1,2'],
    ['split horizon: unknown unicast from a tunnel floods to the hosts only', key(3, FAR1, HOST, R1), [], '0,1,2'],
    [
      'split horizon: known unicast from a tunnel to another tunnel port is dropped',
      key(3, FAR1, FAR3, R1),
      [[FAR3, 4, R3]],
      'drop',
    ],
    ['a frame back to the tunnel port it came from is dropped', key(3, FAR1, FAR2, R1), [[FAR2, 3, R2]], 'drop'],
    ['known unicast from a tunnel to a host', key(3, FAR1, HOST, R1), [[HOST, 1]], '1'],
    ['a datagram from an address that is no remote of the port is dropped', key(3, FAR1, BCAST, R3), [], 'drop'],
    ['a frame on a tunnel port without tunnel metadata is dropped', key(3, FAR1, BCAST), [], 'drop'],
  ] as Array<[string, FlowKey, Array<[number, number, string?]>, string]>)('%s', (_title, k, learned, actions) => {
    const d = decide(view(learned), k);
    expect(d.actions.length ? formatActions(d.actions) : 'drop').toBe(actions);
  });

  test('from a tunnel, the source is learned behind the remote and the flow matches tun_id and the remote', () => {
    const d = decide(view([]), key(3, FAR1, BCAST, R1));
    expect(d.learn).toBe(FAR1);
    expect(d.learnRemote).toBe(R1);
    expect(d.mask.tunnel?.src).toBe(0xffffffff);
    expect([...d.mask.tunnel!.tunId]).toEqual(new Array(8).fill(0xff));
    expect(d.mask.tunnel?.dst).toBe(0);
  });

  test('over an IPv6 underlay: the remote is the IPv6 sender, matched exactly, and set(tunnel) goes to ipv6_dst', () => {
    const [A, B] = ['2001:db8:c8::2', '2001:db8:c8::3'];
    const v6: SwitchView = {
      ports: new Map(['br0', 'h1', 'h2', 'vx'].map((n, i) => [i, portVlanMode(i, n, undefined)])),
      lookup: () => undefined,
      tunnel: (no) =>
        no === 3
          ? tunnelPortView({ vni: 100, remotes: [A, B], family: 6, dstPort: 4789, ttl: 64, df: true })
          : undefined,
    };
    const fromA: FlowKey = { inPort: 3, eth: { src: FAR1, dst: BCAST }, ethType: 0x0806, tunnel: zeroTunnel() };
    fromA.tunnel!.tunId[7] = 100;
    fromA.tunnel!.ipv6Src = parseIpv6(A)!;
    const d = decide(v6, fromA);
    expect([d.learn, d.learnRemote, formatActions(d.actions)]).toEqual([FAR1, A, '0,1,2']);
    expect([d.mask.tunnel?.src, [...d.mask.tunnel!.ipv6Src]]).toEqual([0, new Array(16).fill(0xff)]);
    const flood = decide(v6, key(1, HOST, BCAST));
    expect(formatActions(flood.actions)).toBe(
      ['0', '2', ...[A, B].map((r) => `set(tunnel(tun_id=0x64,ipv6_dst=${r},ttl=64,flags(df|key))),3`)].join(','),
    );
    fromA.tunnel!.ipv6Src = parseIpv6('2001:db8:c8::9')!;
    expect(decide(v6, fromA, true).actions).toEqual([]);
  });

  test('a host port learns no remote and its flow does not match tunnel fields', () => {
    const d = decide(view([]), key(1, HOST, BCAST));
    expect(d.learnRemote).toBeUndefined();
    expect(d.mask.tunnel).toBeUndefined();
  });

  test('trace explains the remote, the replication and split horizon', () => {
    const fromTunnel = decide(view([]), key(3, FAR1, BCAST, R1), true).steps;
    expect(fromTunnel).toContain(`tunnel port vx: VNI 100, from remote ${R1}`);
    expect(fromTunnel).toContain('output to br0 (0), h1 (1), h2 (2)');
    expect(fromTunnel).toContain('split horizon: not flooded to tunnel port vy (4), it came from a tunnel');
    const toRemote = decide(view([[FAR2, 3, R2]]), key(1, HOST, FAR2), true);
    expect(toRemote.reason).toBe(
      `destination 02:00:00:00:00:22 is learned on port vx (3) behind remote ${R2} in VLAN 0`,
    );
    expect(toRemote.steps).toContain(`output to vx (3, remote ${R2})`);
  });
});

describe('the MAC table behind tunnel ports', () => {
  test('a MAC seen behind another remote of the same port has moved', () => {
    const t = new MacTable(10, 300_000);
    expect(t.learn(0, FAR1, 3, 0, R1).kind).toBe('new');
    expect(t.learn(0, FAR1, 3, 1, R1).kind).toBe('refreshed');
    const moved = t.learn(0, FAR1, 3, 2, R2);
    expect(moved).toEqual(expect.objectContaining({ kind: 'moved', from: 3 }));
    expect(t.lookup(0, FAR1)).toEqual(expect.objectContaining({ port: 3, remote: R2, moves: 1 }));
    expect(t.counters.moved).toBe(1);
    // Moving to a host port drops the remote.
    t.learn(0, FAR1, 1, 3);
    expect(t.lookup(0, FAR1)?.remote).toBeUndefined();
  });
});

describe('the learning policy with a tunnel port', () => {
  test('learns on (port, remote), shows the remote in fdb show, and sends known unicast to that remote', () => {
    const dp = new FakeDatapath('br0');
    const policy = new LearningPolicy({ now: () => 1_000, timers: false });
    policy.attach(dp);
    const ports: PortConfig[] = [
      { name: 'h1', no: 1, kind: 'veth', namespace: null, link: { up: true } },
      { name: 'vx', no: 2, kind: 'vxlan', namespace: null, link: { up: true }, tunnel: spec([R1, R2]) },
    ];
    policy.configure(
      {
        name: 'br0',
        datapath: 'userspace',
        policy: 'learning',
        link: { up: true },
        learning: { macAging: 300, macTableSize: 100, staticMacs: [] },
      },
      ports,
    );
    const packet = new Uint8Array(60);
    policy.upcall({ type: 'miss', inPort: 2, key: key(2, FAR2, BCAST, R2), packet });
    expect(policy.fdbShow()).toEqual([
      expect.objectContaining({ portName: 'vx', mac: '02:00:00:00:00:22', remote: R2 }),
    ]);
    const r = policy.upcall({ type: 'miss', inPort: 1, key: key(1, HOST, FAR2), packet });
    expect(formatActions(r!.actions!)).toBe(`${set(R2)},2`);
    policy.detach();
  });
});
