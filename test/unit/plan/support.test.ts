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

describe('tunnel ports run on both datapaths, over an IPv4 underlay', () => {
  test.each([
    ['userspace', 'vxlan', false],
    ['userspace', 'geneve', true],
    ['auto', 'vxlan', false],
    ['auto', 'geneve', true],
    ['kernel', 'geneve', true],
    ['kernel', 'vxlan', true],
  ] as const)('datapath = "%s", kind = "%s", openvswitch module %s: accepted', (datapath, kind, module) => {
    expect(refusals(datapath, kind, module)).toEqual([]);
  });

  const v6 = (kind: string) => ({
    file: 'vx0.toml',
    text: `[unit]\ntype = "port"\n[port]\nbridge = "br0"\nkind = "${kind}"\nvni = 100\nremotes = ["2001:db8::2"]\n`,
  });
  test.each([
    ['userspace', 'vxlan', false],
    ['auto', 'geneve', false],
    ['auto', 'geneve', true],
    ['kernel', 'vxlan', true],
  ] as const)('datapath = "%s", kind = "%s", module %s: an IPv6 underlay runs', (datapath, kind, module) => {
    const { state, errors } = parseUnits([bridge(datapath), v6(kind)]);
    expect(errors).toEqual([]);
    expect(checkSupported(state!, { kernelDatapath: module })).toEqual([]);
  });

  test('datapath = "kernel" without the module: the bridge is refused, not its tunnel port', () => {
    expect(refusals('kernel', 'vxlan', false)).toEqual([
      expect.stringContaining(
        'br0.toml:1:1: error: bridge br0: datapath = "kernel" needs the openvswitch kernel module',
      ),
    ]);
  });

  test('other ports are not refused', () => {
    const { state } = parseUnits([
      bridge('userspace'),
      { file: 'p1.toml', text: '[unit]\ntype = "port"\n[port]\nbridge = "br0"\nkind = "internal"\n' },
    ]);
    expect(checkSupported(state!, { kernelDatapath: false })).toEqual([]);
  });
});
