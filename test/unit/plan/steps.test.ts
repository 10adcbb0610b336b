import { MAX_STEP_BATCH, stepBatches } from '../../../src/plan/steps';
import type { Step } from '../../../src/plan/types';

const nsCreate = (name: string): Step => ({ op: 'ns.create', name });
const up = (name: string): Step => ({ op: 'link.set', namespace: null, name, to: { up: true }, from: { up: false } });
const mtu = (name: string): Step => ({ op: 'link.set', namespace: null, name, to: { mtu: 9000 }, from: { mtu: 1500 } });
const addr = (link: string, address: string): Step => ({ op: 'addr.add', namespace: 'n1', link, address });
const veth = (name: string): Step => ({
  op: 'veth.create',
  a: { namespace: null, name },
  b: { namespace: 'n1', name: `${name}p` },
});

/** Each row: the steps, and the sizes of the batches the journal writes them in. */
const ROWS: [string, Step[], number[]][] = [
  ['nothing', [], []],
  ['one op on distinct objects: one batch', [veth('a'), veth('b'), veth('c')], [3]],
  ['a new op starts a batch', [nsCreate('n1'), veth('a'), veth('b'), up('a'), up('b')], [1, 2, 2]],
  ['the same object twice: split at the second', [mtu('a'), mtu('b'), up('a'), up('c')], [2, 2]],
  ['two addresses on one link are not batched', [addr('x', '198.18.0.1/24'), addr('x', '198.18.0.2/24')], [1, 1]],
  [
    'at most MAX_STEP_BATCH per batch',
    Array.from({ length: MAX_STEP_BATCH + 3 }, (_, i) => veth(`v${i}`)),
    [MAX_STEP_BATCH, 3],
  ],
];

describe('stepBatches: what the journal writes ahead with one sync', () => {
  test.each(ROWS)('%s', (_label, steps, sizes) => {
    const batches = stepBatches(steps);
    expect(batches.map((b) => b.length)).toEqual(sizes);
    expect(batches.flat()).toEqual(steps);
    for (const b of batches) expect(new Set(b.map((s) => s.op)).size).toBe(1);
  });
});
