import * as fs from 'fs';
import * as path from 'path';
import { GOLDEN_DIR } from './helpers';
import { corpus, judge } from './corpus';
import { parseFlow, parseActions } from '../../../src/flow/parse';
import { formatFlowKey, formatActions } from '../../../src/flow/format';

const EXPECTED = path.join(GOLDEN_DIR, 'corpus.expected');

describe('golden corpus (test/golden/flow/corpus.txt)', () => {
  const lines = corpus();
  const actual = lines.map((l) => judge(l).text);
  if (process.env.UPDATE_GOLDEN) fs.writeFileSync(EXPECTED, actual.join('\n') + '\n');
  const expected = fs.readFileSync(EXPECTED, 'utf8').split('\n');

  test('has at least 200 lines', () => expect(lines.length).toBeGreaterThanOrEqual(200));
  test.each(lines.map((l, i) => [i + 1, l.flow, l.actions] as const))('line %i: %s  %s', (i) => {
    expect(actual[i - 1]).toBe(expected[i - 1]);
  });
  test('formatting is idempotent: format(parse(format(x))) == format(x)', () => {
    for (const l of lines) {
      const v = judge(l);
      if (!v.ok) continue;
      const [flowText, actionsText] = v.text.slice(3).split(', actions:');
      const f = parseFlow(flowText);
      expect(formatFlowKey(f.key, f.mask)).toBe(flowText);
      expect(formatActions(parseActions(actionsText).actions)).toBe(actionsText);
    }
  });
});
