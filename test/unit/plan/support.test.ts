/** checkSupported: what plan, apply and validate refuse before anything is applied, located at the unit. */
import { formatUnitError } from '../../../src/model/types';
import { checkSupported } from '../../../src/plan/support';
import { parseUnits } from '../../../src/units';

const bridge = (datapath: string) => ({
  file: 'br0.toml',
  text: `[unit]\ntype = "bridge"\n[bridge]\ndatapath = "${datapath}"\n`,
});
const tunnel = (kind: string) => ({
  file: 'vx0.toml',
  text: `[unit]\ntype = "port"\n[port]\nbridge = "br0"\nkind = "${kind}"\nvni = 100\nremotes = ["198.18.0.2"]\n`,
});

function refusals(datapath: string, kind: string, kernelDatapath: boolean): string[] {
  const { state, errors } = parseUnits([bridge(datapath), tunnel(kind)]);
  expect(errors).toEqual([]);
  return checkSupported(state!, { kernelDatapath }).map(formatUnitError);
}

describe('tunnel ports run on the userspace datapath only', () => {
  test.each([
    ['auto', 'geneve', true],
    ['kernel', 'geneve', true],
    ['kernel', 'vxlan', true],
  ] as const)('datapath = "%s", kind = "%s", openvswitch module %s: refused at the kind', (datapath, kind, module) => {
    expect(refusals(datapath, kind, module)).toEqual([
      `vx0.toml:5:8: error: port vx0: kind = "${kind}" is not supported yet on the kernel datapath that bridge br0 ` +
        'runs on: the kernel datapath does not run tunnel ports yet (the userspace datapath does)\n' +
        '  hint: set datapath = "userspace" on bridge br0, or remove this port unit until the kernel datapath runs tunnel ports',
    ]);
  });

  test.each([
    ['userspace', 'vxlan', false],
    ['userspace', 'geneve', true],
    ['auto', 'vxlan', false],
  ] as const)('datapath = "%s", kind = "%s", openvswitch module %s: accepted', (datapath, kind, module) => {
    expect(refusals(datapath, kind, module)).toEqual([]);
  });

  test('an IPv6 underlay is refused on the userspace datapath, at the kind', () => {
    const v6 = {
      file: 'vx0.toml',
      text: '[unit]\ntype = "port"\n[port]\nbridge = "br0"\nkind = "vxlan"\nvni = 100\nremotes = ["2001:db8::2"]\n',
    };
    const { state, errors } = parseUnits([bridge('userspace'), v6]);
    expect(errors).toEqual([]);
    expect(checkSupported(state!, { kernelDatapath: false }).map(formatUnitError)).toEqual([
      'vx0.toml:5:8: error: port vx0: a vxlan port over an IPv6 underlay is not supported yet on the userspace datapath (IPv4 remotes only)\n' +
        '  hint: use IPv4 underlay addresses in `remotes` and `local`',
    ]);
  });

  test('datapath = "kernel" without the module: both refusals', () => {
    const r = refusals('kernel', 'vxlan', false);
    expect(r).toHaveLength(2);
    expect(r[0]).toContain('br0.toml:1:1: error: bridge br0: datapath = "kernel" needs the openvswitch kernel module');
    expect(r[1]).toContain('vx0.toml:5:8: error: port vx0: kind = "vxlan" is not supported yet on the kernel datapath');
  });

  test('other ports are not refused', () => {
    const { state } = parseUnits([
      bridge('userspace'),
      { file: 'p1.toml', text: '[unit]\ntype = "port"\n[port]\nbridge = "br0"\nkind = "internal"\n' },
    ]);
    expect(checkSupported(state!, { kernelDatapath: false })).toEqual([]);
  });
});
