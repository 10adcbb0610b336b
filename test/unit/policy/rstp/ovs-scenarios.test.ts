/**
 * The scenarios of Open vSwitch's tests/rstp.at, in its test-rstp.c notation (`check`: 'root', or per port F:<root
 * path cost> for the root port, F forwarding, Di discarding, D disabled), with the same expected results. Links are
 * 100 Mb/s (cost 200000) as there. Each step also asserts how fast it converged: RSTP on point-to-point links
 * settles by proposal/agreement in milliseconds of simulated time (1 ms per BPDU hop here), not in forward delays.
 */
import { Sim } from './sim';

const checks = (sim: Sim, n: number): string[] => Array.from({ length: n }, (_, i) => sim.check(i));

/** Runs to convergence and returns how long it took from now. */
function settle(sim: Sim): number {
  const start = sim.now;
  return Math.max(0, sim.converge() - start);
}

describe('OVS rstp.at scenarios', () => {
  test('RSTP Single bridge', () => {
    const sim = new Sim();
    sim.bridge(0x111, ['a', 'b']);
    sim.run(1000);
    expect(sim.check(0)).toBe('root');
  });

  test('RSTP Link failure: the alternate port takes over at once', () => {
    const sim = new Sim();
    sim.bridge(0x111, ['a', 'b']);
    sim.bridge(0x222, ['a', 'c']);
    sim.bridge(0x333, ['b', 'c']);
    expect(settle(sim)).toBeLessThan(50);
    expect(checks(sim, 3)).toEqual(['root', 'F:200000 F', 'F:200000 Di']);
    // Link b goes down: bridge 2's alternate port becomes its root port, through bridge 1.
    sim.attach(2, 1, 'X');
    expect(settle(sim)).toBeLessThan(50);
    expect(checks(sim, 3)).toEqual(['root', 'F:200000 F', 'D F:400000']);
  });

  test('RSTP Double link Failure, then a cost change and a priority change that moves the root', () => {
    const sim = new Sim();
    sim.bridge(0x111, ['a', 'b']);
    sim.bridge(0x222, ['a', 'c', 'd']);
    sim.bridge(0x333, ['b', 'c', 'e']);
    sim.bridge(0x444, ['d', 'f']);
    sim.bridge(0x555, ['e', 'f']);
    expect(settle(sim)).toBeLessThan(100);
    expect(checks(sim, 5)).toEqual(['root', 'F:200000 F F', 'F:200000 Di F', 'F:400000 F', 'F:400000 Di']);
    sim.attach(2, 1, 'X'); // link b goes down
    expect(settle(sim)).toBeLessThan(100);
    expect(checks(sim, 5)).toEqual(['root', 'F:200000 F F', 'D F:400000 F', 'F:400000 F', 'F:600000 Di']);
    sim.attach(4, 1, 'X'); // link e goes down
    expect(settle(sim)).toBeLessThan(100);
    expect(checks(sim, 5)).toEqual(['root', 'F:200000 F F', 'D F:400000 F', 'F:400000 F', 'D F:600000']);
    sim.attach(4, 2, 'f:100000'); // link f's cost changes on bridge 4
    settle(sim);
    expect(sim.check(4)).toBe('D F:500000');
    // Bridge 4 becomes root (OVS writes 31000, which its API rounds down to a multiple of 4096).
    sim.bridges[4].setBridgeConfig({ priority: 28672 });
    expect(settle(sim)).toBeLessThan(100);
    expect(sim.check(4)).toBe('root');
    expect(sim.check(0)).toBe('F:600000 F'); // 0-a-1-d-3-f-4; its port on LAN b has no peer left
  });

  test('IEEE 802.1D-2004 figures 17.4 and 17.5, then two ports of one bridge on the same LAN', () => {
    const sim = new Sim();
    sim.bridge(0x111, ['a', 'b', 'e', 'c']);
    sim.bridge(0x222, ['a', 'b', 'd', 'f']);
    sim.bridge(0x333, ['c', 'd', 'l', 'j', 'h', 'g']);
    sim.bridge(0x444, ['e', 'f', 'n', 'm', 'k', 'i']);
    sim.bridge(0x555, ['g', 'i', '0', '0']);
    sim.bridge(0x666, ['h', 'k', '0', '0']);
    sim.bridge(0x777, ['j', 'm', '0', '0']);
    sim.bridge(0x888, ['l', 'n', '0', '0']);
    settle(sim);
    const expected = [
      'root',
      'F:200000 Di F F',
      'F:200000 Di F F F F',
      'F:200000 Di F F F F',
      'F:400000 Di F F',
      'F:400000 Di F F',
      'F:400000 Di F F',
      'F:400000 Di F F',
    ];
    expect(checks(sim, 8)).toEqual(expected);
    // Figure 17.5: bridge 7's ports 3 and 4 on one LAN; the higher port becomes its Backup.
    sim.attach(7, 3, 'o');
    sim.attach(7, 4, 'o');
    settle(sim);
    expect(checks(sim, 8)).toEqual([...expected.slice(0, 7), 'F:400000 Di F Di']);
    expect(sim.bridges[7].portRole(4)).toBe('backup');
  });

  test('IEEE 802.1D-2004 figure 17.6: a ring of six', () => {
    const sim = new Sim();
    sim.bridge(0x111, ['a', 'b', 'l']);
    sim.bridge(0x222, ['b', 'c', 'd']);
    sim.bridge(0x333, ['d', 'e', 'f']);
    sim.bridge(0x444, ['f', 'g', 'h']);
    sim.bridge(0x555, ['j', 'h', 'i']);
    sim.bridge(0x666, ['l', 'j', 'k']);
    settle(sim);
    expect(checks(sim, 6)).toEqual([
      'root',
      'F:200000 F F',
      'F:400000 F F',
      'F:600000 F Di',
      'F:400000 F F',
      'F:200000 F F',
    ]);
  });

  test('IEEE 802.1D-2004 figure 17.7: port priority decides between two parallel links', () => {
    const sim = new Sim();
    sim.bridge(0x000, ['b']);
    sim.bridge(0x111, ['a', 'b', 'd', 'f', 'h', 'g', 'e', 'c']);
    sim.bridge(0x222, ['g', 'h', 'j', 'l', 'n', 'm', 'k', 'i']);
    settle(sim);
    expect(checks(sim, 3)).toEqual(['root', 'F F:200000 F F F F F F', 'Di F:400000 F F F F F F']);
    // Link g's port on bridge 1 gets priority 112 (better than 128): bridge 2 now prefers g.
    sim.attach(1, 6, 'g^112');
    settle(sim);
    expect(checks(sim, 3)).toEqual(['root', 'F F:200000 F F F F F F', 'F:400000 Di F F F F F F']);
  });
});
