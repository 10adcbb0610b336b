/** Every example unit set under examples/ is valid as shipped. */
import * as fs from 'fs';
import * as path from 'path';
import { parseUnits, readUnitDir } from '../../src/units';

const ROOT = path.resolve(__dirname, '..', '..', 'examples');
const hasUnits = (dir: string) => fs.readdirSync(dir).some((f) => f.endsWith('.toml'));
/** Each folder with units, and each subfolder with units of a folder without (one per machine: overlay-three-hosts). */
const sets = fs
  .readdirSync(ROOT)
  .filter((d) => fs.statSync(path.join(ROOT, d)).isDirectory())
  .flatMap((d) =>
    hasUnits(path.join(ROOT, d))
      ? [d]
      : fs
          .readdirSync(path.join(ROOT, d))
          .filter((s) => fs.statSync(path.join(ROOT, d, s)).isDirectory() && hasUnits(path.join(ROOT, d, s)))
          .map((s) => `${d}/${s}`),
  );

test('there are example unit sets', () => {
  expect(sets).toEqual(
    expect.arrayContaining([
      'veth-pair',
      'static-flows',
      'kernel-flows',
      'unmanaged-switch',
      'unmanaged-switch-nics',
      'switch-and-host',
      'bridge-veths',
      'ovs-veths',
      'internal-ports',
      'overlay-three-hosts/host1',
      'overlay-three-hosts/host2',
      'overlay-three-hosts/host3',
    ]),
  );
});

test.each(sets)('examples/%s validates', (name) => {
  const r = parseUnits(readUnitDir(path.join(ROOT, name)));
  expect(r.errors).toEqual([]);
});
