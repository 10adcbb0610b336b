/**
 * Loop detection without STP (issue 14 item 2), the way unmanaged switches do it (Netgear loop detection, Realtek
 * RLDP): the bridge sends a small probe of its own out of each forwarding port, and a probe of its own that comes back
 * on one of its ports proves a loop through devices that swallow BPDUs. Pure and deterministic: the caller owns the
 * clock and supplies the nonce (one random value per start, so that probes of an earlier run are not taken for
 * loops).
 *
 * The probe (ETH_ZLEN octets): destination 03:6e:6d:6c:64:00 (locally administered multicast: every switch floods
 * it, none consumes it as it would 01:80:c2:00:00:0x), source the bridge address, EtherType 0x88b5 (IEEE 802 local
 * experimental), then "NMLD", version 1, the bridge address (6), the sending port number (2), the nonce (4), a
 * sequence number (4), zero padding.
 *
 * Which port blocks: a probe sent on port `tx` that came back on port `rx` blocks the higher-numbered of the two, so
 * that the probes of both directions of one loop block the same single port (rx === tx, a port looped to itself,
 * blocks that port). The block lasts `recoveryMs` (then the port is probed again) or until unblock().
 */

export const LOOP_PROBE_DST = 0x036e6d6c6400;
export const LOOP_PROBE_ETHERTYPE = 0x88b5;
const MAGIC = [0x4e, 0x4d, 0x4c, 0x44]; // "NMLD"
const VERSION = 1;
const FRAME_LEN = 60;
const OFF = { ETHERTYPE: 12, MAGIC: 14, VERSION: 18, BRIDGE: 19, PORT: 25, NONCE: 27, SEQ: 31 } as const;

/** Probe interval per port: one a second (a few per second at most on a bridge with a few ports). */
export const DEFAULT_PROBE_INTERVAL_MS = 1000;
/** Cisco's err-disable recovery default. */
export const DEFAULT_RECOVERY_MS = 300_000;

export interface LoopDetectConfig {
  /** The bridge's MAC address (48-bit number). */
  address: number;
  /** A 32-bit value chosen at start (the caller's randomness; the module has none). */
  nonce: number;
  probeIntervalMs?: number;
  recoveryMs?: number;
}

export type LoopEvent =
  | {
      kind: 'loop-detected';
      blocked: number;
      blockedName: string;
      txPort: number;
      txName: string;
      rxPort: number;
      rxName: string;
    }
  | { kind: 'loop-unblocked'; port: number; name: string; reason: 'recovery-timer' | 'explicit' };

/** What receive() made of a frame: 'not-probe' and 'foreign' frames are the caller's to forward as usual. */
export type ProbeVerdict = 'not-probe' | 'foreign' | 'stale' | 'loop' | 'already-blocked';

interface PortEntry {
  no: number;
  name: string;
  forwarding: boolean;
  blockedUntil?: number;
}

export class LoopDetector {
  private readonly ports = new Map<number, PortEntry>();
  private readonly interval: number;
  private readonly recovery: number;
  private nextProbeAt: number | undefined;
  private seq = 0;
  private transmits: Array<{ port: number; bytes: Uint8Array }> = [];
  private events: LoopEvent[] = [];

  constructor(private readonly config: LoopDetectConfig) {
    this.interval = config.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS;
    this.recovery = config.recoveryMs ?? DEFAULT_RECOVERY_MS;
  }

  /** Adds a port to probe (forwarding by default; the caller reports RSTP or link state with setForwarding). */
  addPort(no: number, name = `port${no}`): void {
    this.ports.set(no, { no, name, forwarding: true });
  }

  removePort(no: number): void {
    this.ports.delete(no);
  }

  /** Only forwarding ports are probed (a port that RSTP discards on, or whose link is down, is not). */
  setForwarding(no: number, forwarding: boolean): void {
    const p = this.ports.get(no);
    if (p !== undefined) p.forwarding = forwarding;
  }

  /** Whether loop detection holds the port blocked: the caller drops everything it receives and sends on it. */
  isBlocked(no: number): boolean {
    return this.ports.get(no)?.blockedUntil !== undefined;
  }

  /** Lifts a block now (the administrator fixed the cabling). */
  unblock(no: number): void {
    const p = this.ports.get(no);
    if (p?.blockedUntil === undefined) return;
    p.blockedUntil = undefined;
    this.events.push({ kind: 'loop-unblocked', port: no, name: p.name, reason: 'explicit' });
  }

  /** Advances the caller's clock: lifts blocks whose recovery time is over, queues probes when one is due. */
  tick(nowMs: number): void {
    for (const p of this.ports.values()) {
      if (p.blockedUntil !== undefined && nowMs >= p.blockedUntil) {
        p.blockedUntil = undefined;
        this.events.push({ kind: 'loop-unblocked', port: p.no, name: p.name, reason: 'recovery-timer' });
      }
    }
    if (this.nextProbeAt !== undefined && nowMs < this.nextProbeAt) return;
    this.nextProbeAt = nowMs + this.interval;
    const ports = [...this.ports.values()].sort((a, b) => a.no - b.no);
    for (const p of ports) {
      if (!p.forwarding || p.blockedUntil !== undefined) continue;
      this.transmits.push({ port: p.no, bytes: this.probe(p.no, this.seq) });
      this.seq = (this.seq + 1) >>> 0;
    }
  }

  /** Looks at a received frame; a probe of this bridge coming back means a loop, and a port is blocked. */
  receive(no: number, bytes: Uint8Array, nowMs: number): ProbeVerdict {
    const probe = parseProbe(bytes);
    if (probe === undefined) return 'not-probe';
    if (probe.bridge !== this.config.address) return 'foreign';
    if (probe.nonce !== this.config.nonce >>> 0) return 'stale';
    const rx = this.ports.get(no);
    const tx = this.ports.get(probe.port);
    if (rx === undefined || tx === undefined) return 'stale';
    const blocked = rx.no >= tx.no ? rx : tx;
    if (blocked.blockedUntil !== undefined) return 'already-blocked';
    blocked.blockedUntil = nowMs + this.recovery;
    this.events.push({
      kind: 'loop-detected',
      blocked: blocked.no,
      blockedName: blocked.name,
      txPort: tx.no,
      txName: tx.name,
      rxPort: rx.no,
      rxName: rx.name,
    });
    return 'loop';
  }

  takeTransmits(): Array<{ port: number; bytes: Uint8Array }> {
    const out = this.transmits;
    this.transmits = [];
    return out;
  }

  takeEvents(): LoopEvent[] {
    const out = this.events;
    this.events = [];
    return out;
  }

  /** The probe frame sent on port `no`. */
  private probe(no: number, seq: number): Uint8Array {
    const f = new Uint8Array(FRAME_LEN);
    const v = new DataView(f.buffer);
    writeMac(v, 0, LOOP_PROBE_DST);
    writeMac(v, 6, this.config.address);
    v.setUint16(OFF.ETHERTYPE, LOOP_PROBE_ETHERTYPE);
    f.set(MAGIC, OFF.MAGIC);
    f[OFF.VERSION] = VERSION;
    writeMac(v, OFF.BRIDGE, this.config.address);
    v.setUint16(OFF.PORT, no);
    v.setUint32(OFF.NONCE, this.config.nonce >>> 0);
    v.setUint32(OFF.SEQ, seq);
    return f;
  }
}

/** The probe's fields, or undefined for any other frame (another EtherType, magic or version, too short). */
export function parseProbe(f: Uint8Array): { bridge: number; port: number; nonce: number; seq: number } | undefined {
  if (f.length < OFF.SEQ + 4) return undefined;
  const v = new DataView(f.buffer, f.byteOffset, f.byteLength);
  if (readMac(v, 0) !== LOOP_PROBE_DST || v.getUint16(OFF.ETHERTYPE) !== LOOP_PROBE_ETHERTYPE) return undefined;
  if (MAGIC.some((m, i) => f[OFF.MAGIC + i] !== m) || f[OFF.VERSION] !== VERSION) return undefined;
  return {
    bridge: readMac(v, OFF.BRIDGE),
    port: v.getUint16(OFF.PORT),
    nonce: v.getUint32(OFF.NONCE),
    seq: v.getUint32(OFF.SEQ),
  };
}

function writeMac(v: DataView, off: number, mac: number): void {
  v.setUint16(off, Math.floor(mac / 2 ** 32));
  v.setUint32(off + 2, mac % 2 ** 32);
}

function readMac(v: DataView, off: number): number {
  return v.getUint16(off) * 2 ** 32 + v.getUint32(off + 2);
}
