/**
 * Datapath port numbering (model/ports.ts portNumbers) as a table: pins first, then a running port's live number
 * unless a pin took it, then the lowest free number in name order; the bridge's own port is 0.
 */
import { pinnedNumbers, portNumbers, type NumberedPort } from '../../../src/model/ports';
import { parseUnits } from '../../../src/units';

/** A state with bridge `sw` and one internal port per entry: `name` or `name=N` (pinned). */
function state(ports: string[]) {
  const r = parseUnits([
    { file: 'sw.toml', text: '[unit]\ntype = "bridge"\n' },
    ...ports.map((p) => {
      const [name, no] = p.split('=');
      return {
        file: `${name}.toml`,
        text: `[unit]\ntype = "port"\n[port]\nbridge = "sw"\nkind = "internal"\n${no ? `number = ${no}\n` : ''}`,
      };
    }),
  ]);
  expect(r.errors).toEqual([]);
  return r.state!;
}

const live = (m: Record<string, number>): NumberedPort[] => Object.entries(m).map(([name, no]) => ({ name, no }));

const numbers = (ports: string[], running: Record<string, number> = {}) => {
  const s = state(ports);
  return Object.fromEntries(portNumbers(s, s.bridges.get('sw')!, live(running)));
};

test.each([
  ['a new bridge: name order', ['b', 'a', 'c'], {}, { sw: 0, a: 1, b: 2, c: 3 }],
  ['a port sorting first keeps the others', ['a0', 'm1', 'm2'], { m1: 1, m2: 2 }, { sw: 0, a0: 3, m1: 1, m2: 2 }],
  ['a removed port frees its number', ['a', 'c', 'd'], { a: 1, b: 2, c: 3 }, { sw: 0, a: 1, c: 3, d: 2 }],
  ['numbers of running ports are kept, however sparse', ['x', 'y'], { x: 9, y: 4 }, { sw: 0, x: 9, y: 4 }],
  ['new ports fill the gaps in name order', ['n1', 'n2', 'x'], { x: 2 }, { sw: 0, n1: 1, n2: 3, x: 2 }],
  ['a pin moves its port', ['a=7', 'b'], { a: 1, b: 2 }, { sw: 0, a: 7, b: 2 }],
  ['a pin takes a running port number; that port moves', ['a', 'b=1'], { a: 1, b: 2 }, { sw: 0, a: 2, b: 1 }],
  ['new ports go around pins', ['a', 'b=1', 'c'], {}, { sw: 0, a: 2, b: 1, c: 3 }],
  ['a live 0 is never kept (the bridge has it)', ['a'], { a: 0 }, { sw: 0, a: 1 }],
])('%s', (_what, ports, running, want) => {
  expect(numbers(ports, running)).toEqual(want);
});

test('pinnedNumbers lists the bridge and the pins only', () => {
  const s = state(['a', 'b=5']);
  expect([...pinnedNumbers(s, s.bridges.get('sw')!)]).toEqual([
    [0, 'sw'],
    [5, 'b'],
  ]);
});
