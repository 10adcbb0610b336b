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

describe('tunnel ports are refused on both datapaths until one runs them', () => {
  test.each([
    ['userspace', 'vxlan', false, 'userspace', 'kernel'],
    ['auto', 'vxlan', false, 'userspace', 'kernel'],
    ['auto', 'geneve', true, 'kernel', 'userspace'],
    ['kernel', 'geneve', true, 'kernel', 'userspace'],
  ] as const)('datapath = "%s", kind = "%s", openvswitch module %s', (datapath, kind, module, runsOn, other) => {
    expect(refusals(datapath, kind, module)).toEqual([
      `vx0.toml:5:8: error: port vx0: kind = "${kind}" is not supported yet on the ${runsOn} datapath that bridge br0 ` +
        `runs on (nor on the ${other} datapath): netmgr checks a tunnel port's keys, but neither datapath runs tunnel ports yet\n` +
        '  hint: remove this port unit (or move it out of the unit directory) until netmgr runs tunnel ports; ' +
        '`netmgr validate --offline` still checks it',
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
