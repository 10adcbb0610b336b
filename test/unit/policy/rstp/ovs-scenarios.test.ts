/** The scenarios of Open vSwitch's tests/rstp.at (test-rstp.c notation), with the same expected roles and states. */
import { Sim } from './sim';

describe('OVS rstp.at scenarios', () => {
  test('single bridge is root', () => {
    const sim = new Sim();
    sim.bridge(0x111, ['a', 'b']);
    sim.run(60_000);
    expect(sim.check(0)).toBe('root');
  });

  test('link failure', () => {
    const sim = new Sim();
    sim.bridge(0x111, ['a', 'b']);
    sim.bridge(0x222, ['a', 'c']);
    sim.bridge(0x333, ['b', 'c']);
    sim.run(60_000);
    expect([0, 1, 2].map((i) => sim.check(i))).toEqual(['root', 'F:200000 F', 'F:200000 Di']);
    sim.attach(2, 1, 'X');
    sim.run(60_000);
    expect([1, 2].map((i) => sim.check(i))).toEqual(['F:200000 F', 'D F:400000']);
  });
});
