/** The loop-detection probe: frame format, rate, which port blocks, recovery, and what is not a loop. */
import { LoopDetector, parseProbe } from '../../../../src/policy/rstp';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function detector(ports = [1, 2, 3]) {
  const d = new LoopDetector({ address: 0x020000000001, nonce: 0xdeadbeef, recoveryMs: 60_000 });
  for (const p of ports) d.addPort(p, `eth${p}`);
  return d;
}

describe('LoopDetector', () => {
  test('the probe frame: multicast destination, own source, EtherType 0x88b5, NMLD, bridge, port, nonce, sequence', () => {
    const d = detector([7]);
    d.tick(0);
    const [t] = d.takeTransmits();
    expect(t.port).toBe(7);
    expect(hex(t.bytes)).toBe(
      '036e6d6c6400' +
        '020000000001' +
        '88b5' +
        '4e4d4c44' +
        '01' +
        '020000000001' +
        '0007' +
        'deadbeef' +
        '00000000' +
        '00'.repeat(25),
    );
    expect(parseProbe(t.bytes)).toEqual({ bridge: 0x020000000001, port: 7, nonce: 0xdeadbeef, seq: 0 });
  });

  test('one probe per forwarding port per interval, none on discarding or blocked ports', () => {
    const d = detector();
    d.setForwarding(2, false);
    d.tick(0);
    expect(d.takeTransmits().map((t) => t.port)).toEqual([1, 3]);
    d.tick(500);
    expect(d.takeTransmits()).toEqual([]);
    d.tick(1000);
    expect(d.takeTransmits().map((t) => parseProbe(t.bytes)?.seq)).toEqual([2, 3]);
  });

  test('an own probe back on another port blocks the higher-numbered port, whichever direction it took', () => {
    for (const [tx, rx] of [
      [1, 3],
      [3, 1],
    ]) {
      const d = detector();
      d.tick(0);
      const probe = d.takeTransmits().find((t) => t.port === tx)!;
      expect(d.receive(rx, probe.bytes, 10)).toBe('loop');
      expect([1, 2, 3].map((p) => d.isBlocked(p))).toEqual([false, false, true]);
      expect(d.takeEvents()).toEqual([
        {
          kind: 'loop-detected',
          blocked: 3,
          blockedName: 'eth3',
          txPort: tx,
          txName: `eth${tx}`,
          rxPort: rx,
          rxName: `eth${rx}`,
        },
      ]);
    }
  });

  test('both directions of one loop block one port only', () => {
    const d = detector();
    d.tick(0);
    const sent = d.takeTransmits();
    expect(d.receive(3, sent[0].bytes, 5)).toBe('loop'); // 1 -> 3
    expect(d.receive(1, sent[2].bytes, 6)).toBe('already-blocked'); // 3 -> 1
    expect(d.takeEvents()).toHaveLength(1);
    expect([1, 2, 3].filter((p) => d.isBlocked(p))).toEqual([3]);
  });

  test('a probe back on the port it left (a looped cable) blocks that port', () => {
    const d = detector();
    d.tick(0);
    const [p1] = d.takeTransmits();
    expect(d.receive(1, p1.bytes, 1)).toBe('loop');
    expect(d.isBlocked(1)).toBe(true);
  });

  test('the block lifts after the recovery time, or at once on unblock(), and probing resumes', () => {
    const d = detector();
    d.tick(0);
    d.receive(2, d.takeTransmits()[0].bytes, 100);
    d.takeEvents();
    d.tick(59_000);
    expect(d.isBlocked(2)).toBe(true);
    expect(d.takeTransmits().map((t) => t.port)).toEqual([1, 3]);
    d.tick(60_100);
    expect(d.isBlocked(2)).toBe(false);
    expect(d.takeEvents()).toEqual([{ kind: 'loop-unblocked', port: 2, name: 'eth2', reason: 'recovery-timer' }]);
    const again = d.takeTransmits();
    expect(again.map((t) => t.port)).toEqual([1, 2, 3]);
    expect(d.receive(2, again[0].bytes, 61_000)).toBe('loop'); // still looped: blocked again
    d.unblock(2);
    expect(d.isBlocked(2)).toBe(false);
    expect(d.takeEvents().map((e) => e.kind)).toEqual(['loop-detected', 'loop-unblocked']);
  });

  test('other bridges probes, probes of an earlier run (another nonce) and other frames are not loops', () => {
    const d = detector();
    const other = new LoopDetector({ address: 0x020000000002, nonce: 1 });
    other.addPort(1);
    other.tick(0);
    expect(d.receive(1, other.takeTransmits()[0].bytes, 0)).toBe('foreign');
    const earlier = new LoopDetector({ address: 0x020000000001, nonce: 7 });
    earlier.addPort(1);
    earlier.tick(0);
    expect(d.receive(2, earlier.takeTransmits()[0].bytes, 0)).toBe('stale');
    expect(d.receive(1, new Uint8Array(60), 0)).toBe('not-probe');
    expect([1, 2, 3].some((p) => d.isBlocked(p))).toBe(false);
  });
});
