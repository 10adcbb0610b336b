/**
 * `netmgr show --dot` golden files: each case below builds show's inputs (units as TOML text, the live links,
 * the ownership record, the bridges netmgrd runs) and test/golden/dot/<case>.dot holds the expected graph.
 * UPDATE_GOLDEN=1 rewrites the expectations; review the diff before committing. The output is checked with a
 * small parser of the DOT subset formatDot writes, and with Graphviz's `dot -Tsvg` when it is installed.
 */
import * as fs from 'fs';
import * as path from 'path';
import { emptyOwnership, Ownership } from '../../../src/model/ownership';
import { DotInput, formatDot } from '../../../src/daemon/dot';
import type { LiveBridge, PortConfig, PortVlanConfig } from '../../../src/model/bridges';
import type { LiveLink, LiveState } from '../../../src/live/state';
import type { DesiredState, NamespaceName, PortKind } from '../../../src/model/types';
import { parseUnits } from '../../../src/units';
import { assertValidDot, parseDot } from '../../helpers/dot-check';
import { haveTool } from '../../helpers/sys';

const ROOT = path.resolve(__dirname, '..', '..', 'golden', 'dot');
// assertValidDot also renders with Graphviz's dot when it is there: as root, its absence fails here, naming it.
haveTool('dot', ['-V'], 'graphviz');
const update = process.env.UPDATE_GOLDEN === '1';

// ---- input builders ----

function units(files: Record<string, string>): DesiredState {
  const r = parseUnits(Object.entries(files).map(([name, text]) => ({ file: `${name}.toml`, text })));
  expect(r.errors).toEqual([]);
  return r.state!;
}

type LinkIn = Partial<LiveLink> & { name: string };
/** Links per namespace ("" = root); every namespace listed is present. Defaults: up, mtu 1500, no addresses. */
function live(links: Record<string, LinkIn[]>, kernelDatapath = false): LiveState {
  let index = 1;
  const map = new Map<string, LiveLink[]>([['', []]]);
  for (const [ns, list] of Object.entries(links)) {
    map.set(
      ns,
      list.map((l) => ({ namespace: ns === '' ? null : ns, index: index++, mtu: 1500, up: true, addresses: [], ...l })),
    );
  }
  return {
    namespaces: Object.keys(links)
      .filter((n) => n !== '')
      .sort(),
    links: map,
    kernelDatapath,
  };
}

const port = (
  name: string,
  no: number,
  kind: PortKind,
  namespace: NamespaceName = null,
  vlans?: PortVlanConfig,
): PortConfig => ({ name, no, kind, namespace, link: { up: true }, ...(vlans ? { vlans } : {}) });

function bridge(
  name: string,
  datapath: 'userspace' | 'kernel',
  policy: 'learning' | 'flows',
  ports: PortConfig[],
  flows = 0,
): LiveBridge {
  return {
    name,
    datapath,
    policy,
    link: { up: true },
    ...(policy === 'learning' ? { learning: { macAging: 300, macTableSize: 8192, staticMacs: [] } } : {}),
    ports: [port(name, 0, 'internal'), ...ports],
    flows: Array.from({ length: flows }, (_, i) => ({
      match: `in_port(${(i % 2) + 1}),eth()`,
      actions: String(2 - (i % 2)),
    })),
  };
}

const owned = (namespaces: string[], veths: [NamespaceName, string, NamespaceName, string][]): Ownership => ({
  ...emptyOwnership(),
  namespaces,
  veths: veths.map(([namespace, name, peerNamespace, peer]) => ({ unit: name, namespace, name, peerNamespace, peer })),
});

const vethPort = (bridgeName: string, ns: string, peer: string, extra = '', addr = '') =>
  `[unit]\ntype = "port"\n[port]\nbridge = "${bridgeName}"\nkind = "veth"\nnamespace = "${ns}"\npeer = "${peer}"\n${extra}` +
  (addr ? `[ipv4]\naddresses = ["${addr}"]\n` : '');
const internalPort = (bridgeName: string, ns: string, extra = '', addr = '') =>
  `[unit]\ntype = "port"\n[port]\nbridge = "${bridgeName}"\nkind = "internal"\nnamespace = "${ns}"\n${extra}` +
  (addr ? `[ipv4]\naddresses = ["${addr}"]\n` : '');

// ---- cases ----

const CASES: Record<string, () => DotInput> = {
  // A learning bridge with an address, veth ports (access, trunk with native VLAN), an internal port in a
  // namespace and a system NIC; everything live and as the units say.
  learning: () => ({
    desired: units({
      sw0: '[unit]\ntype = "bridge"\n[bridge]\ndatapath = "userspace"\n[ipv4]\naddresses = ["198.18.10.254/24"]\n',
      'sw-p1': vethPort('sw0', 'sw-h1', 'sw-h1-eth0', 'vlan = 10\n', '198.18.10.1/24'),
      'sw-p2': vethPort('sw0', 'sw-h2', 'sw-h2-eth0', 'trunks = [20, 10]\nnative-vlan = 1\n', '198.18.10.2/24'),
      'sw-p3': internalPort('sw0', 'sw-h3', 'vlan = 20\n', '198.18.20.3/24'),
      eth1: '[unit]\ntype = "port"\n[port]\nbridge = "sw0"\nkind = "system"\ntrunks = [10, 20]\n',
    }),
    live: live({
      '': [
        { name: 'sw0', kind: 'tun', addresses: ['198.18.10.254/24'] },
        { name: 'eth1', kind: undefined },
        { name: 'sw-p1', kind: 'veth' },
        { name: 'sw-p2', kind: 'veth' },
      ],
      'sw-h1': [{ name: 'sw-h1-eth0', kind: 'veth', addresses: ['198.18.10.1/24'] }],
      'sw-h2': [{ name: 'sw-h2-eth0', kind: 'veth', addresses: ['198.18.10.2/24'] }],
      'sw-h3': [{ name: 'sw-p3', kind: 'tun', addresses: ['198.18.20.3/24'] }],
    }),
    owned: owned(
      ['sw-h1', 'sw-h2', 'sw-h3'],
      [
        [null, 'sw-p1', 'sw-h1', 'sw-h1-eth0'],
        [null, 'sw-p2', 'sw-h2', 'sw-h2-eth0'],
      ],
    ),
    bridges: [
      bridge('sw0', 'userspace', 'learning', [
        port('eth1', 1, 'system', null, { trunks: [10, 20] }),
        port('sw-p1', 2, 'veth', null, { access: 10 }),
        port('sw-p2', 3, 'veth', null, { trunks: [10, 20], native: 1 }),
        port('sw-p3', 4, 'internal', 'sw-h3', { access: 20 }),
      ]),
    ],
  }),
  // The same bridge with loop protection holding two ports (as netmgrd's `stp show` reports them).
  held: () => ({
    ...CASES.learning(),
    held: new Map([
      [
        'sw0',
        new Map([
          ['eth1', 'discarding (spanning tree, alternate port)'],
          ['sw-p2', 'blocked by loop detection (its own probe came back)'],
        ]),
      ],
    ]),
  }),
  // A kernel-datapath bridge forwarding by static flows, read from the kernel while netmgrd is stopped.
  flows: () => ({
    desired: units({
      'kf-br':
        '[unit]\ntype = "bridge"\n[bridge]\ndatapath = "kernel"\npolicy = "flows"\n' +
        '[[bridge.flow]]\nmatch = "in_port(kf-p1),eth()"\nactions = "kf-p2"\n[[bridge.flow]]\nmatch = "in_port(kf-p2),eth()"\nactions = "kf-p1"\n',
      'kf-p1': vethPort('kf-br', 'kf-ns1', 'kf-h1', '', '198.18.91.1/24'),
      'kf-p2': vethPort('kf-br', 'kf-ns2', 'kf-h2', '', '198.18.91.2/24'),
    }),
    live: live(
      {
        '': [
          { name: 'kf-br', kind: 'openvswitch', up: false },
          { name: 'kf-p1', kind: 'veth' },
          { name: 'kf-p2', kind: 'veth' },
        ],
        'kf-ns1': [{ name: 'kf-h1', kind: 'veth', addresses: ['198.18.91.1/24'] }],
        'kf-ns2': [{ name: 'kf-h2', kind: 'veth', addresses: ['198.18.91.2/24'] }],
      },
      true,
    ),
    owned: owned(
      ['kf-ns1', 'kf-ns2'],
      [
        [null, 'kf-p1', 'kf-ns1', 'kf-h1'],
        [null, 'kf-p2', 'kf-ns2', 'kf-h2'],
      ],
    ),
    bridges: [bridge('kf-br', 'kernel', 'flows', [port('kf-p1', 1, 'veth'), port('kf-p2', 2, 'veth')], 2)],
    notes: ['netmgrd is not running: kernel bridges only'],
  }),
  // Internal ports moved into namespaces: two in one namespace, one down in another; the bridge has IPv4 and IPv6.
  internal: () => ({
    desired: units({
      'br-int':
        '[unit]\ntype = "bridge"\n[bridge]\ndatapath = "userspace"\npolicy = "flows"\n[ipv4]\naddresses = ["198.18.30.254/24"]\n[ipv6]\naddresses = ["2001:db8::fe/64"]\n',
      'int-a1': internalPort('br-int', 'tenant-a', '', '198.18.30.1/24'),
      'int-a2': internalPort('br-int', 'tenant-a', '', '198.18.30.2/24'),
      'int-b1': internalPort('br-int', 'tenant-b', '[link]\nstate = "down"\n'),
    }),
    live: live({
      '': [{ name: 'br-int', kind: 'tun', addresses: ['198.18.30.254/24', '2001:db8::fe/64'] }],
      'tenant-a': [
        { name: 'int-a1', kind: 'tun', addresses: ['198.18.30.1/24'] },
        { name: 'int-a2', kind: 'tun', addresses: ['198.18.30.2/24'] },
      ],
      'tenant-b': [{ name: 'int-b1', kind: 'tun', up: false }],
    }),
    owned: owned(['tenant-a', 'tenant-b'], []),
    bridges: [
      bridge('br-int', 'userspace', 'flows', [
        port('int-a1', 1, 'internal', 'tenant-a'),
        port('int-a2', 2, 'internal', 'tenant-a'),
        port('int-b1', 3, 'internal', 'tenant-b'),
      ]),
    ],
  }),
  // Units ahead of the system: a port added to a running bridge, a new bridge with an internal port, a veth pair
  // not created yet (one namespace exists, one not), an address not assigned yet; and what the ownership record
  // holds that is gone (a veth end) or unused (an empty namespace).
  pending: () => ({
    desired: units({
      sw: '[unit]\ntype = "bridge"\n[bridge]\ndatapath = "userspace"\n[ipv4]\naddresses = ["198.18.40.254/24"]\n',
      'sw-a': vethPort('sw', 'host-a', 'sw-a-eth0', '', '198.18.40.1/24'),
      'sw-b': vethPort('sw', 'host-b', 'sw-b-eth0', 'vlan = 7\n', '198.18.40.2/24'),
      nb: '[unit]\ntype = "bridge"\n[bridge]\ndatapath = "auto"\n',
      'nb-i1': internalPort('nb', 'host-c', 'trunks = [5]\n', '198.18.41.1/24'),
      pair: '[unit]\ntype = "port"\n[port]\nkind = "veth"\nlocal-namespace = "host-a"\nlocal-addresses = ["198.18.42.1/24"]\nnamespace = "host-d"\npeer = "pair-d"\n[ipv4]\naddresses = ["198.18.42.2/24"]\n',
    }),
    live: live({
      '': [
        { name: 'sw', kind: 'tun' },
        { name: 'sw-a', kind: 'veth' },
        { name: 'gone-1', kind: 'veth' },
      ],
      'host-a': [{ name: 'sw-a-eth0', kind: 'veth', addresses: ['198.18.40.1/24'] }],
      old: [],
      spare: [],
    }),
    owned: owned(
      ['host-a', 'old', 'spare'],
      [
        [null, 'sw-a', 'host-a', 'sw-a-eth0'],
        [null, 'gone-1', 'old', 'gone-1-peer'],
      ],
    ),
    bridges: [bridge('sw', 'userspace', 'learning', [port('sw-a', 1, 'veth')])],
  }),
  // Names DOT must quote: '-', '.', ':' (namespaces may hold them), and the '"' and '\' Linux allows in
  // interface names. The units have errors, so nothing is pending and the caption says why.
  escaping: () => ({
    desired: null,
    live: live({
      '': [
        { name: 'a.b-c', kind: 'veth' },
        { name: 'q"x\\N', kind: 'veth' },
      ],
      'ns:1.2-x': [{ name: 'a.b-c-peer', kind: 'veth', addresses: ['198.18.50.1/24'] }],
      'we"ird\\': [{ name: 'e\\', kind: 'veth' }],
    }),
    owned: owned(
      ['ns:1.2-x', 'we"ird\\'],
      [
        [null, 'a.b-c', 'ns:1.2-x', 'a.b-c-peer'],
        [null, 'q"x\\N', 'we"ird\\', 'e\\'],
      ],
    ),
    bridges: [],
    notes: ['the units in /etc/netmgr "test" have errors: nothing drawn as pending'],
  }),
};

// ---- the tests ----

test('every case has a golden file and every golden file a case', () => {
  const files = fs
    .readdirSync(ROOT)
    .filter((f) => f.endsWith('.dot'))
    .map((f) => f.slice(0, -4))
    .sort();
  if (!update) expect(files).toEqual(Object.keys(CASES).sort());
});

describe.each(Object.keys(CASES).sort())('dot golden case %s', (name) => {
  const text = formatDot(CASES[name]());
  const file = path.join(ROOT, `${name}.dot`);

  test('matches the golden file', () => {
    if (update) fs.writeFileSync(file, text);
    expect(text).toBe(fs.readFileSync(file, 'utf8'));
  });

  test('is valid DOT', () => {
    const r = assertValidDot(text);
    expect(r.clusters.every((c) => c.startsWith('cluster_'))).toBe(true);
  });

  test('does not depend on the order of its inputs', () => {
    const input = CASES[name]();
    const rev = <K, V>(m: Map<K, V>) => new Map([...m].reverse());
    const shuffled: DotInput = {
      ...input,
      desired: input.desired && {
        ...input.desired,
        bridges: rev(input.desired.bridges),
        ports: rev(input.desired.ports),
      },
      live: { ...input.live, links: new Map([...input.live.links].reverse().map(([k, v]) => [k, [...v].reverse()])) },
      owned: {
        ...input.owned,
        namespaces: [...input.owned.namespaces].reverse(),
        veths: [...input.owned.veths].reverse(),
      },
      bridges: [...input.bridges].reverse().map((b) => ({ ...b, ports: [...b.ports].reverse() })),
    };
    expect(formatDot(shuffled)).toBe(text);
  });
});

test('the checker rejects broken DOT', () => {
  const good = formatDot(CASES.learning());
  expect(() => parseDot(good)).not.toThrow();
  expect(() => parseDot(good.replace('];\n  }', ']\n  }'))).toThrow(); // a statement without ';'
  expect(() => parseDot(good.slice(0, -2))).toThrow(); // the closing brace missing
  expect(() => parseDot(good.replace('"if:/sw-p1" [', 'if:/sw-p1 ['))).toThrow(); // an unquoted name
  expect(() => parseDot(good.replace('label="sw0', 'label="s"w0'))).toThrow(); // an unescaped quote
});

test('ports loop protection holds are red, dotted and say why', () => {
  const text = formatDot(CASES.held());
  expect(text).toContain(
    '"bridge:sw0" -- "if:/eth1" [label="port 1\\ntrunk VLANs 10,20\\nheld: discarding (spanning tree, alternate port)", style="dotted", color="red"]',
  );
  expect(text).toContain('"bridge:sw0" -- "if:/sw-p1" [label="port 2\\naccess VLAN 10"]');
});

test('pending and missing objects are dashed and labelled', () => {
  const text = formatDot(CASES.pending());
  const line = (id: string) => text.split('\n').find((l) => l.trimStart().startsWith(`"${id}" [`)) ?? '';
  expect(line('bridge:nb')).toMatch(/\\npending", style="dashed"/);
  expect(line('if:host-c/nb-i1')).toMatch(/pending", style="dashed"/);
  expect(line('if:/gone-1')).not.toContain('dashed'); // live, though its peer is gone
  expect(line('if:old/gone-1-peer')).toMatch(/\\nmissing", style="dashed"/);
  expect(line('if:host-a/pair')).toContain('198.18.42.1/24\\npending');
  expect(text).toContain('"bridge:sw" -- "if:/sw-b" [label="port 2\\naccess VLAN 7\\npending", style="dashed"]');
  expect(text).toContain('"bridge:sw" -- "if:/sw-a" [label="port 1"]');
  expect(text).toContain('198.18.40.254/24 (pending)');
  expect(text).toContain('"if:/gone-1" -- "if:old/gone-1-peer" [label="veth\\nmissing", style="dashed"]');
  // An empty namespace keeps a cluster (Graphviz drops empty ones) through an invisible point.
  expect(text).toContain('"ns:spare" [shape="point", style="invis"];');
});

test('a pending port is labelled with the number the plan gives it: live numbers kept, else the record', () => {
  // sw runs with sw-a at 7: sw-b (new) takes the lowest free, 1. nb is not running: its record gives nb-i1 4.
  const input = { ...CASES.pending(), portNumbers: { nb: [{ name: 'nb-i1', no: 4 }] } };
  input.bridges = [bridge('sw', 'userspace', 'learning', [port('sw-a', 7, 'veth')])];
  const text = formatDot(input);
  expect(text).toContain('"bridge:sw" -- "if:/sw-b" [label="port 1\\naccess VLAN 7\\npending", style="dashed"]');
  expect(text).toContain('"bridge:nb" -- "if:host-c/nb-i1" [label="port 4\\ntrunk VLANs 5\\npending", style="dashed"]');
});
