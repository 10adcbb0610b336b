import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { UnitError } from '../../../src/model/types';
import { SCHEMA, checkAgainstSystem, loadUnitDir, parseUnits, readUnitDir } from '../../../src/units';
import { TUNNEL_PORT_ROWS } from '../../../src/units/schema-tunnel';

const BR0 = { file: 'br0.toml', text: '[unit]\ntype = "bridge"\n' };
const port = (name: string, body: string) => ({ file: `${name}.toml`, text: `[unit]\ntype = "port"\n${body}` });
const messages = (errors: UnitError[]) => errors.map((e) => `${e.file}:${e.line}:${e.col}: ${e.message}`);

describe('parseUnits', () => {
  test('no sources is a valid, empty state', () => {
    const r = parseUnits([]);
    expect(r.errors).toEqual([]);
    expect(r.state).toEqual({ bridges: new Map(), ports: new Map(), namespaces: [] });
  });

  test('state is null exactly when there are errors', () => {
    const good = parseUnits([BR0]);
    expect(good.state).not.toBeNull();
    const bad = parseUnits([BR0, port('p1', '[port]\nbridge = "br9"\nkind = "internal"\n')]);
    expect(bad.state).toBeNull();
    expect(bad.errors.length).toBe(1);
  });

  test('defaults are applied from the schema table', () => {
    const { state } = parseUnits([BR0, port('p1', '[port]\nbridge = "br0"\nkind = "veth"\n')]);
    const br = state?.bridges.get('br0');
    for (const e of SCHEMA.filter((x) => x.section === 'bridge')) {
      // Loop-protection keys fill the bridge's StpConfig (`stp` fills its mode), the others the bridge itself.
      const stp = /^(stp|loop-)/.test(e.key);
      const field = e.key.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
      const got = stp ? (br?.stp as unknown as Record<string, unknown>)[e.fills] : br?.[field as keyof typeof br];
      expect([e.key, got]).toEqual([e.key, e.default]);
    }
    expect(br?.stp.ports).toEqual([]);
    const p1 = state?.ports.get('p1');
    expect(p1).toMatchObject({ namespace: null, peer: 'p1-peer', localNamespace: null, trunks: [], addresses: [] });
    expect(p1?.link).toEqual({ state: 'up' });
    expect(p1?.vlan).toBeUndefined();
  });

  test('every schema default fills the model field its row names', () => {
    const { state } = parseUnits([
      BR0,
      port('p1', '[port]\nbridge = "br0"\nkind = "veth"\n'),
      port('vx', '[port]\nbridge = "br0"\nkind = "vxlan"\nvni = 1\nremotes = ["198.18.0.2"]\n'),
    ]);
    const br = state!.bridges.get('br0')!;
    const p1 = state!.ports.get('p1')!;
    const tunnelKeys = TUNNEL_PORT_ROWS.map((r) => r.name as string);
    for (const e of SCHEMA.filter((x) => x.default !== undefined)) {
      const targets = tunnelKeys.includes(e.name)
        ? [state!.ports.get('vx')!.tunnel!]
        : e.section === 'link'
          ? [br.link, p1.link]
          : e.section === 'bridge'
            ? [br]
            : e.section === 'port'
              ? [p1]
              : [br, p1];
      // Loop-protection keys fill the StpConfig of the bridge and the PortStpSettings of the port.
      const stp = /^(stp|loop-|bpdu-|root-guard)/.test(e.key);
      for (const t of stp ? [(targets[0] as { stp: unknown }).stp] : targets)
        expect([e.name, (t as Record<string, unknown>)[e.fills]]).toEqual([e.name, e.default]);
    }
  });

  test('errors from all files are collected and sorted by file, line, column', () => {
    const r = parseUnits([
      { file: 'b.toml', text: '[unit]\ntype = "bridge"\n[link]\nmtu = 1\nstate = "x"\n' },
      { file: 'a.toml', text: '[unit]\ntype = bridge\n' },
      { file: 'c.toml', text: '[unit]\ntype = "bridge"\n[bridge]\nmac-aging = 1\n[ipv4]\naddresses = ["1.2.3.4"]\n' },
    ]);
    expect(messages(r.errors).map((m) => m.split(': ')[0])).toEqual([
      'a.toml:2:8',
      'b.toml:4:7',
      'b.toml:5:9',
      'c.toml:4:13',
      'c.toml:6:14',
    ]);
  });

  test('an unreadable file is reported at 1:1 and the others are still checked', () => {
    const r = parseUnits([{ file: 'x.toml', text: '', readError: 'permission denied' }, BR0]);
    expect(r.errors).toEqual([
      { file: 'x.toml', line: 1, col: 1, message: 'cannot read unit file: permission denied' },
    ]);
  });

  test('the unit name defaults to the file stem, also for paths', () => {
    const { state } = parseUnits([{ file: '/etc/netmgr/uplink.toml', text: '[unit]\ntype = "bridge"\n' }]);
    expect([...(state?.bridges.keys() ?? [])]).toEqual(['uplink']);
    expect(state?.bridges.get('uplink')?.source).toEqual({ file: '/etc/netmgr/uplink.toml', line: 1, col: 1 });
  });

  test('a type error in one file does not hide reference errors elsewhere', () => {
    const r = parseUnits([
      { file: 'br0.toml', text: '[unit]\ntype = "bridge"\n[link]\nmtu = "x"\n' },
      port('p1', '[port]\nbridge = "br1"\nkind = "internal"\n'),
    ]);
    expect(messages(r.errors)).toEqual([
      'br0.toml:4:7: `mtu` in [link] must be an integer, not a string',
      'p1.toml:4:10: bridge `br1` is not defined; did you mean `br0`?',
    ]);
  });

  test('a reference to a bridge whose policy is invalid does not add a policy error', () => {
    const r = parseUnits([
      { file: 'br0.toml', text: '[unit]\ntype = "bridge"\n[bridge]\npolicy = "flow"\n' },
      port('p1', '[port]\nbridge = "br0"\nkind = "internal"\nvlan = 3\n'),
    ]);
    expect(r.errors.map((e) => e.file)).toEqual(['br0.toml']);
  });

  test('namespaces are every namespace named by a port, sorted and unique', () => {
    const { state, errors } = parseUnits([
      BR0,
      port('a', '[port]\nkind = "veth"\nnamespace = "n2"\nlocal-namespace = "n1"\n'),
      port('b', '[port]\nbridge = "br0"\nkind = "internal"\nnamespace = "n2"\n'),
      port('c', '[port]\nbridge = "br0"\nkind = "veth"\nnamespace = "B"\n'),
    ]);
    expect(errors).toEqual([]);
    expect(state?.namespaces).toEqual(['B', 'n1', 'n2']);
  });

  test('addresses are stored IPv4 first, then IPv6, whatever the section order', () => {
    const { state } = parseUnits([
      {
        file: 'br0.toml',
        text: '[unit]\ntype = "bridge"\n[ipv6]\naddresses = ["2001:db8::1/64"]\n[ipv4]\naddresses = ["198.18.0.1/24"]\n',
      },
    ]);
    expect(state?.bridges.get('br0')?.addresses).toEqual(['198.18.0.1/24', '2001:db8::1/64']);
  });

  test('the same address under [ipv4] and in local-addresses is not a duplicate (different ends)', () => {
    const r = parseUnits([
      port(
        'v',
        '[port]\nkind = "veth"\nnamespace = "a"\nlocal-addresses = ["10.0.0.1/24"]\n[ipv4]\naddresses = ["10.0.0.1/24"]\n',
      ),
    ]);
    expect(r.errors).toEqual([]);
  });

  test('did-you-mean over bridge names', () => {
    const r = parseUnits([
      { file: 'lan.toml', text: '[unit]\ntype = "bridge"\n' },
      port('p1', '[port]\nbridge = "lan0"\nkind = "internal"\n'),
    ]);
    expect(r.errors[0].message).toBe('bridge `lan0` is not defined; did you mean `lan`?');
    expect(r.errors[0].hint).toBe('defined bridges: lan');
  });

  test('native-vlan may or may not be listed in trunks; it needs trunks', () => {
    for (const trunks of ['[10, 20]', '[5, 10]', '[]']) {
      const r = parseUnits([
        BR0,
        port('p1', `[port]\nbridge = "br0"\nkind = "internal"\ntrunks = ${trunks}\nnative-vlan = 5\n`),
      ]);
      expect(r.errors).toEqual([]);
      expect(r.state?.ports.get('p1')?.nativeVlan).toBe(5);
    }
    const bad = parseUnits([BR0, port('p1', '[port]\nbridge = "br0"\nkind = "internal"\nnative-vlan = 5\n')]);
    expect(messages(bad.errors)).toEqual([
      'p1.toml:6:1: `native-vlan` needs `trunks`: it is the VLAN of untagged frames on a trunk port',
    ]);
  });

  test('a static MAC is in the VLAN given, else the access VLAN, else the native VLAN, else 0', () => {
    const entry = (p: string, vlan = '') =>
      `[[bridge.static-mac]]\nmac = "02:00:00:00:00:0${p.length}"\nport = "${p}"\n${vlan}`;
    const r = parseUnits([
      {
        file: 'br0.toml',
        text: `[unit]\ntype = "bridge"\n${entry('a')}${entry('tr')}${entry('any')}${entry('trnk', 'vlan = 20\n')}`,
      },
      port('a', '[port]\nbridge = "br0"\nkind = "internal"\nvlan = 7\n'),
      port('tr', '[port]\nbridge = "br0"\nkind = "internal"\ntrunks = [20]\nnative-vlan = 8\n'),
      port('any', '[port]\nbridge = "br0"\nkind = "internal"\n'),
      port('trnk', '[port]\nbridge = "br0"\nkind = "internal"\ntrunks = [20]\n'),
    ]);
    expect(r.errors).toEqual([]);
    expect(r.state?.bridges.get('br0')?.staticMacs.map((m) => `${m.port}:${m.vlan}`)).toEqual([
      'a:7',
      'tr:8',
      'any:0',
      'trnk:20',
    ]);
  });

  test('every schema example is a valid value in a suitable unit', () => {
    for (const e of SCHEMA) {
      const line = `${e.key} = ${e.example}`;
      const sources = [
        { file: 'br0.toml', text: '[unit]\ntype = "bridge"\n' },
        { file: 'p2.toml', text: '[unit]\ntype = "port"\n[port]\nbridge = "br0"\nkind = "internal"\n' },
      ];
      if (e.section === 'unit') {
        sources.length = 0; // the example name is br0 itself
        sources.push({
          file: 'x.toml',
          text: e.key === 'type' ? `[unit]\n${line}\n` : `[unit]\ntype = "bridge"\n${line}\n`,
        });
      } else if (e.section === 'bridge.flow') {
        const other = e.key === 'match' ? 'actions = "2"' : 'match = "in_port(2),eth()"';
        sources.push({
          file: 'x.toml',
          text: `[unit]\ntype = "bridge"\n[bridge]\npolicy = "flows"\n[[bridge.flow]]\n${line}\n${other}\n`,
        });
      } else if (e.section === 'bridge.static-mac') {
        const others = ['mac = "02:00:00:00:01:01"', 'port = "p1"'].filter((l) => !l.startsWith(`${e.key} `));
        sources.push({
          file: 'x.toml',
          text: `[unit]\ntype = "bridge"\n[[bridge.static-mac]]\n${line}\n${others.join('\n')}\n`,
        });
        sources.push({ file: 'p1.toml', text: '[unit]\ntype = "port"\n[port]\nbridge = "x"\nkind = "internal"\n' });
      } else if (/^ipv[46]/.test(e.section) && (e.key === 'gateway' || e.section.endsWith('.route'))) {
        // A next hop must lie in the subnet of one of the unit's addresses; a route entry needs its `to`.
        const f = e.section.slice(0, 4);
        const address = f === 'ipv4' ? '198.18.0.254/24' : '2001:db8::2/64';
        const to = e.key === 'to' ? '' : `to = "${f === 'ipv4' ? '198.18.64.0/18' : '2001:db8:1::/48'}"`;
        const body = e.key === 'gateway' ? line : `[[${e.section}]]\n${line}\n${to}`;
        sources.push({
          file: 'x.toml',
          text: `[unit]\ntype = "bridge"\n[${f}]\naddresses = ["${address}"]\n${body}\n`,
        });
      } else if (e.section === 'port') {
        const base = e.key.startsWith('local-')
          ? 'kind = "veth"'
          : e.key === 'kind' || e.key === 'bridge'
            ? ''
            : TUNNEL_PORT_ROWS.some((r) => r.name === e.name)
              ? `bridge = "br0"\nkind = "vxlan"\n${['vni = 1', 'remotes = ["198.18.0.9"]'].filter((l) => !l.startsWith(`${e.key} `)).join('\n')}`
              : e.key === 'take-over'
                ? 'bridge = "br0"\nkind = "system"'
                : 'bridge = "br0"\nkind = "veth"';
        const extra =
          e.key === 'kind'
            ? 'bridge = "br0"'
            : e.key === 'bridge'
              ? 'kind = "internal"'
              : e.key === 'native-vlan'
                ? 'trunks = [10, 20]'
                : '';
        sources.push({ file: 'x.toml', text: `[unit]\ntype = "port"\n[port]\n${base}\n${extra}\n${line}\n` });
      } else {
        // use-dns takes a lease's name servers: only beside dhcp = true.
        const beside = e.section === 'ipv4' && e.key === 'use-dns' ? 'dhcp = true\n' : '';
        sources.push({
          file: 'x.toml',
          text: `[unit]\ntype = "${e.appliesTo === 'port' ? 'port' : 'bridge'}"\n[${e.section}]\n${beside}${line}\n`,
        });
      }
      const r = parseUnits(sources);
      expect({ entry: `${e.section}.${e.key}`, errors: messages(r.errors) }).toEqual({
        entry: `${e.section}.${e.key}`,
        errors: [],
      });
    }
  });

  test('every schema entry is documented', () => {
    for (const e of SCHEMA) {
      expect(e.doc.length).toBeGreaterThan(10);
      expect(e.example.length).toBeGreaterThan(0);
      if (e.type === 'integer' || e.type === 'integer-list') expect(e.range).toBeDefined();
      if (e.type === 'enum') expect(e.values?.length).toBeGreaterThan(1);
    }
  });

  test('unicode, NUL and odd keys never crash validation', () => {
    const r = parseUnits([
      {
        file: 'u.toml',
        text: '[unit]\ntype = "bridge"\n"__proto__" = 1\nconstructor = 2\n[bridge]\ntoString = 3\n"ü" = "\\u0000"\n',
      },
    ]);
    expect(messages(r.errors)).toEqual([
      'u.toml:3:1: unknown key `__proto__` in [unit]',
      'u.toml:4:1: unknown key `constructor` in [unit]',
      'u.toml:6:1: unknown key `toString` in [bridge]',
      'u.toml:7:1: unknown key `ü` in [bridge]',
    ]);
  });
});

test('messages stay on one line even when a key contains control characters', () => {
  const r = parseUnits([{ file: 'u.toml', text: '[unit]\ntype = "bridge"\n"a\\nb" = 1\n' }]);
  expect(r.errors.map((e) => e.message)).toEqual(['unknown key `a\\u000ab` in [unit]']);
});

describe('readUnitDir', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netmgr-units-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('reads *.toml files sorted by name, skipping other and hidden files', () => {
    fs.writeFileSync(path.join(dir, 'b.toml'), 'B');
    fs.writeFileSync(path.join(dir, 'a.toml'), 'A');
    fs.writeFileSync(path.join(dir, 'README'), 'x');
    fs.writeFileSync(path.join(dir, 'c.toml~'), 'x');
    fs.writeFileSync(path.join(dir, '.#a.toml'), 'x');
    expect(readUnitDir(dir)).toEqual([
      { file: path.join(dir, 'a.toml'), text: 'A' },
      { file: path.join(dir, 'b.toml'), text: 'B' },
    ]);
  });

  test('an unreadable entry becomes an error at 1:1', () => {
    fs.mkdirSync(path.join(dir, 'weird.toml'));
    const r = loadUnitDir(dir, { strictPermissions: false });
    expect(r.state).toBeNull();
    expect(r.errors).toEqual([
      { file: path.join(dir, 'weird.toml'), line: 1, col: 1, message: 'cannot read unit file: it is a directory' },
    ]);
  });

  test('an empty directory is a valid empty state', () => {
    expect(loadUnitDir(dir, { strictPermissions: false }).state?.bridges.size).toBe(0);
  });

  test('a missing directory throws a clear error', () => {
    expect(() => readUnitDir(path.join(dir, 'nope'))).toThrow(
      `unit directory ${path.join(dir, 'nope')} does not exist`,
    );
    fs.writeFileSync(path.join(dir, 'file'), '');
    expect(() => readUnitDir(path.join(dir, 'file'))).toThrow(/is not a directory/);
  });
});

describe('checkAgainstSystem', () => {
  const units = [
    BR0,
    port('eth1', '[port]\nbridge = "br0"\nkind = "system"\n'),
    port('eth2', '[port]\nbridge = "br0"\nkind = "system"\n'),
    port('p1', '[port]\nbridge = "br0"\nkind = "internal"\n'),
  ];
  const state = parseUnits(units).state;
  if (!state) throw new Error('fixture must be valid');

  test('reports missing interfaces at the kind value', () => {
    const seen: [string | null, string][] = [];
    const errors = checkAgainstSystem(state, {
      interfaceExists: (ns, name) => {
        seen.push([ns, name]);
        return name === 'eth2';
      },
      namespaceExists: () => true,
    });
    expect(messages(errors)).toEqual(['eth1.toml:5:8: system port `eth1`: no such interface in the root namespace']);
    expect(errors[0].hint).toMatch(/ip link show/);
    expect(seen).toEqual([
      [null, 'eth1'],
      [null, 'eth2'],
    ]);
  });

  test('a system port in a namespace is refused: the bridge attaches interfaces of its own namespace', () => {
    const r = parseUnits([BR0, port('eth3', '[port]\nbridge = "br0"\nkind = "system"\nnamespace = "nic"\n')]);
    expect(messages(r.errors)).toEqual([
      expect.stringMatching(
        /^eth3\.toml:\d+:1: a system port must be in the root namespace: the bridge attaches interfaces of its own namespace$/,
      ),
    ]);
  });

  test('no errors when everything exists; non-system ports are not looked up', () => {
    const seen: string[] = [];
    const errors = checkAgainstSystem(state, {
      interfaceExists: (_ns, name) => (seen.push(name), true),
      namespaceExists: () => true,
    });
    expect(errors).toEqual([]);
    expect(seen).toEqual(['eth1', 'eth2']);
  });
});
