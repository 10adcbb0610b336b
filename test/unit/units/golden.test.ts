/**
 * Golden directories: each folder under test/golden/units is a unit directory. Valid ones have expected.json (the
 * DesiredState), invalid ones expected.txt (formatted errors). File paths are shown as `<case>/<file>.toml`.
 * Run with UPDATE_GOLDEN=1 to rewrite the expectations, then review the diff.
 */
import * as fs from 'fs';
import * as path from 'path';
import { formatUnitError } from '../../../src/model/types';
import { parseUnits, readUnitDir, stateToJSON } from '../../../src/units';

const ROOT = path.join(__dirname, '..', '..', 'golden', 'units');
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const cases = fs
  .readdirSync(ROOT)
  .filter((d) => fs.statSync(path.join(ROOT, d)).isDirectory())
  .sort();

function render(caseName: string): { name: 'expected.json' | 'expected.txt'; text: string } {
  const dir = path.join(ROOT, caseName);
  const sources = readUnitDir(dir).map((s) => ({ ...s, file: `${caseName}/${path.basename(s.file)}` }));
  const { state, errors } = parseUnits(sources);
  if (state) return { name: 'expected.json', text: `${JSON.stringify(stateToJSON(state), null, 2)}\n` };
  return { name: 'expected.txt', text: `${errors.map(formatUnitError).join('\n')}\n` };
}

test('there are at least 25 golden cases', () => {
  expect(cases.length).toBeGreaterThanOrEqual(25);
});

describe.each(cases)('golden %s', (caseName) => {
  test('matches its expectation', () => {
    const dir = path.join(ROOT, caseName);
    const actual = render(caseName);
    const other = actual.name === 'expected.json' ? 'expected.txt' : 'expected.json';
    if (UPDATE) {
      fs.writeFileSync(path.join(dir, actual.name), actual.text);
      fs.rmSync(path.join(dir, other), { force: true });
      return;
    }
    expect(fs.existsSync(path.join(dir, other))).toBe(false);
    expect(actual.text).toBe(fs.readFileSync(path.join(dir, actual.name), 'utf8'));
  });
});
