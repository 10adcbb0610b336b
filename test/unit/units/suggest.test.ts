import { didYouMean, editDistance } from '../../../src/units/suggest';

describe('editDistance', () => {
  test.each([
    ['', '', 0],
    ['abc', '', 3],
    ['', 'abc', 3],
    ['kitten', 'sitting', 3],
    ['mac-agin', 'mac-aging', 1],
    ['namesapce', 'namespace', 1], // transposition counts once
    ['abc', 'abc', 0],
  ])('%j vs %j = %d', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });
});

describe('didYouMean', () => {
  const keys = ['datapath', 'policy', 'mac-aging', 'mac-table-size', 'flow'];
  test('finds close keys', () => {
    expect(didYouMean('mac-agin', keys)).toBe('mac-aging');
    expect(didYouMean('mac_table_size', keys)).toBe('mac-table-size');
    expect(didYouMean('MAC-AGING', keys)).toBe('mac-aging');
    expect(didYouMean('flows', keys)).toBe('flow');
    expect(didYouMean('polcy', keys)).toBe('policy');
  });
  test('stays quiet when nothing is close', () => {
    expect(didYouMean('completely-different', keys)).toBeUndefined();
    expect(didYouMean('x', keys)).toBeUndefined();
    expect(didYouMean('anything', [])).toBeUndefined();
  });
  test('ties resolve alphabetically, so output is stable', () => {
    expect(didYouMean('br', ['br1', 'br0'])).toBe('br0');
  });
});
