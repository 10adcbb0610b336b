/**
 * Port rates for the status page: packets and bytes per second between two samples of the counters at least
 * a second apart (many browsers polling must not turn the rates into noise over a few milliseconds).
 */
import type { StatusReport } from '../status';

/** Per second, over the last window. */
export interface PortRate {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
}

interface Sample {
  /** Epoch milliseconds. */
  at: number;
  /** "bridge/port" -> counters. */
  counters: Map<string, PortRate>;
}

export const portKey = (bridge: string, port: string): string => `${bridge}/${port}`;

function sampleOf(status: StatusReport, at: number): Sample {
  const counters = new Map<string, PortRate>();
  for (const b of status.bridges)
    for (const p of b.ports) {
      const { rxPackets, rxBytes, txPackets, txBytes } = p.stats;
      counters.set(portKey(b.name, p.name), { rxPackets, rxBytes, txPackets, txBytes });
    }
  return { at, counters };
}

/** The rates between two samples (pure); a counter that went down (a port re-created) reads as 0. */
export function ratesBetween(
  before: { at: number; counters: Map<string, PortRate> },
  after: Sample,
): Map<string, PortRate> {
  const seconds = (after.at - before.at) / 1000;
  const out = new Map<string, PortRate>();
  if (seconds <= 0) return out;
  for (const [key, now] of after.counters) {
    const then = before.counters.get(key);
    if (!then) continue;
    const per = (a: number, b: number) => (a >= b ? (a - b) / seconds : 0);
    out.set(key, {
      rxPackets: per(now.rxPackets, then.rxPackets),
      rxBytes: per(now.rxBytes, then.rxBytes),
      txPackets: per(now.txPackets, then.txPackets),
      txBytes: per(now.txBytes, then.txBytes),
    });
  }
  return out;
}

/** Keeps the last sample and the rates of the last complete window. */
export class RateTracker {
  private base: Sample | undefined;
  private rates = new Map<string, PortRate>();

  constructor(private readonly windowMs = 1000) {}

  /** Feeds the counters of a status report taken at `at` (epoch ms); returns the rates in force. */
  update(status: StatusReport, at: number): Map<string, PortRate> {
    const now = sampleOf(status, at);
    if (!this.base) this.base = now;
    else if (at - this.base.at >= this.windowMs) {
      this.rates = ratesBetween(this.base, now);
      this.base = now;
    }
    return this.rates;
  }
}
