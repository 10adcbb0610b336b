/**
 * tunnelMtuNotes: the plan warns, with the fix, when a host-facing port of a bridge with a tunnel port has an MTU
 * that the encapsulation (50 bytes over IPv4, 70 over IPv6) lifts above the underlay interface's MTU; the underlay interface is
 * the one holding `local`, else the one whose subnet holds the first remote; unknown underlay, nothing said.
 */
import type { LiveLink, LiveState } from '../../../src/live/state';
import { tunnelMtuNotes } from '../../../src/plan/tunnel-mtu';
import { parseUnits } from '../../../src/units';

const underlay = (mtu: number, address = '198.18.200.1/24'): LiveLink => ({
  namespace: null,
  index: 9,
  name: 'eth9',
  mtu,
  up: true,
  addresses: [address],
});

const live = (link: LiveLink): LiveState => ({ namespaces: [], links: new Map([['', [link]]]) });

function notes(
  hostMtu: number | undefined,
  underlayMtu: number,
  tunnelKeys = '',
  address?: string,
  remote = '198.18.200.2',
): string[] {
  const { state, errors } = parseUnits([
    { file: 'br0.toml', text: '[unit]\ntype = "bridge"\n[bridge]\ndatapath = "userspace"\n' },
    {
      file: 'h1.toml',
      text:
        '[unit]\ntype = "port"\n[port]\nbridge = "br0"\nkind = "veth"\nnamespace = "h1"\n' +
        (hostMtu ? `[link]\nmtu = ${hostMtu}\n` : ''),
    },
    {
      file: 'vx.toml',
      text: `[unit]\ntype = "port"\n[port]\nbridge = "br0"\nkind = "vxlan"\nvni = 100\nremotes = ["${remote}"]\n${tunnelKeys}`,
    },
  ]);
  expect(errors).toEqual([]);
  return tunnelMtuNotes(state!, live(underlay(underlayMtu, address)));
}

describe('the plan warns when a host-facing port does not fit through the tunnel', () => {
  test('a 1500-byte host port over a 1500-byte underlay: warned, with the fix', () => {
    expect(notes(1500, 1500)).toEqual([
      'warning: bridge br0: port h1 has MTU 1500; with the 50 bytes tunnel port vx adds (vxlan over IPv4) its ' +
        'largest frames need 1550, above the MTU 1500 of the underlay interface eth9, and are dropped. Fix: mtu = ' +
        "1450 in [link] of h1's unit (and on the hosts behind it), or an underlay MTU of at least 1550",
    ]);
  });

  test.each([
    ['a host port at 1450 fits a 1500 underlay', 1450, 1500, '', undefined],
    ['a 1500 host port fits a 1550 underlay', 1500, 1550, '', undefined],
    ['an underlay that holds no remote in its subnet is not known: nothing said', 1500, 1500, '', '198.18.100.1/24'],
  ] as const)('%s', (_t, hostMtu, underMtu, keys, address) => {
    expect(notes(hostMtu, underMtu, keys, address)).toEqual([]);
  });

  test('with `local`, the interface holding that address is the underlay', () => {
    expect(notes(1500, 1500, 'local = "198.18.200.1"\n')).toHaveLength(1);
    expect(notes(1500, 1500, 'local = "198.18.200.7"\n')).toEqual([]);
  });

  test('over an IPv6 underlay: 70 bytes, the underlay found by its IPv6 subnet or by `local`', () => {
    const v6 = (host: number, keys = '', address = '2001:db8:c8::1/64') =>
      notes(host, 1500, keys, address, '2001:db8:c8::2');
    expect(v6(1500)).toEqual([
      expect.stringContaining('with the 70 bytes tunnel port vx adds (vxlan over IPv6) its largest frames need 1570'),
    ]);
    expect(v6(1430)).toEqual([]);
    expect(v6(1500, 'local = "2001:db8:c8::1"\n', '2001:db8:c8::1/128')).toHaveLength(1);
    expect(v6(1500, '', '2001:db8:c9::1/64')).toEqual([]);
  });

  test('a host port without an MTU in its unit and no interface yet counts as 1500', () => {
    expect(notes(undefined, 1500)).toHaveLength(1);
  });
});
