import { parseFlow, parseActions } from '../../../src/flow/parse';
import { formatFlowKey, formatActions } from '../../../src/flow/format';
import { goldenLines } from './helpers';

describe('OVS test-suite forms round-trip (tests/odp.at)', () => {
  test.each(goldenLines('ovs-odp-keys.txt'))('key %s', (line) => {
    const f = parseFlow(line);
    expect(formatFlowKey(f.key, f.mask)).toBe(line);
  });
  test.each(goldenLines('ovs-odp-actions.txt'))('actions %s', (line) => {
    expect(formatActions(parseActions(line).actions)).toBe(line);
  });
});
