/** Every example unit set under examples/ is valid as shipped. */
import * as fs from 'fs';
import * as path from 'path';
import { parseUnits, readUnitDir } from '../../src/units';

const ROOT = path.resolve(__dirname, '..', '..', 'examples');
const sets = fs
  .readdirSync(ROOT)
  .filter(
    (d) =>
      fs.statSync(path.join(ROOT, d)).isDirectory() &&
      fs.readdirSync(path.join(ROOT, d)).some((f) => f.endsWith('.toml')),
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
    ]),
  );
});

test.each(sets)('examples/%s validates', (name) => {
  const r = parseUnits(readUnitDir(path.join(ROOT, name)));
  expect(r.errors).toEqual([]);
});
