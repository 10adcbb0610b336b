/**
 * The MAC table of a learning switch: (VLAN, MAC) -> port, with aging, a capacity, and eviction that is fair per
 * port (as OVS's mac-learning: when full, the oldest entry of the port holding the most entries goes), so a port
 * flooding random source addresses evicts its own entries, never the others'. Static entries are kept apart:
 * never aged, evicted or moved, not counted in the capacity. The clock is passed in (milliseconds), so tests
 * drive time. No I/O.
 */
import type { Remote } from './tunnel';

export interface MacEntry {
  readonly vlan: number;
  readonly mac: number;
  port: number;
  /** When the MAC was last seen on `port` (ms); creation time for static entries. */
  lastSeen: number;
  readonly static: boolean;
  /** Moves between ports (or between remotes of a tunnel port) since the entry was created. */
  moves: number;
  /** Learned from a tunnel port: the remote (its underlay address) the MAC is behind. */
  remote?: Remote;
}

export type LearnOutcome =
  | { kind: 'new'; entry: MacEntry; evicted?: MacEntry }
  | { kind: 'refreshed'; entry: MacEntry }
  | { kind: 'moved'; entry: MacEntry; from: number }
  /** A static entry exists: learning never overrides it. */
  | { kind: 'static'; entry: MacEntry };

export interface MacTableCounters {
  learned: number;
  expired: number;
  evicted: number;
  moved: number;
}

export interface StaticMacEntry {
  vlan: number;
  mac: number;
  port: number;
}

export class MacTable {
  private readonly byVlan = new Map<number, Map<number, MacEntry>>();
  /** Learned entries per port, oldest first (a refresh moves an entry to the end): eviction and aging order. */
  private readonly byPort = new Map<number, Set<MacEntry>>();
  private learnedCount = 0;
  private staticCount = 0;
  readonly counters: MacTableCounters = { learned: 0, expired: 0, evicted: 0, moved: 0 };

  constructor(
    private capacity: number,
    private agingMs: number,
  ) {}

  get size(): number {
    return this.learnedCount;
  }

  get staticSize(): number {
    return this.staticCount;
  }

  get limit(): number {
    return this.capacity;
  }

  lookup(vlan: number, mac: number): MacEntry | undefined {
    return this.byVlan.get(vlan)?.get(mac);
  }

  /**
   * Learns `mac` on `port` in `vlan` at time `now`; `remote`: behind that remote of a tunnel port (a MAC that comes
   * from another remote of the same port has moved).
   */
  learn(vlan: number, mac: number, port: number, now: number, remote?: Remote): LearnOutcome {
    const e = this.lookup(vlan, mac);
    if (e !== undefined) {
      if (e.static) return { kind: 'static', entry: e };
      if (e.port === port && e.remote === remote) {
        this.refresh(e, now);
        return { kind: 'refreshed', entry: e };
      }
      if (e.port === port) {
        e.remote = remote;
        e.moves++;
        this.counters.moved++;
        this.refresh(e, now);
        return { kind: 'moved', entry: e, from: port };
      }
      e.remote = remote;
      const from = e.port;
      const old = this.byPort.get(from);
      old?.delete(e);
      if (old?.size === 0) this.byPort.delete(from);
      e.port = port;
      e.moves++;
      this.counters.moved++;
      this.portSet(port).add(e);
      e.lastSeen = now;
      return { kind: 'moved', entry: e, from };
    }
    const evicted = this.learnedCount >= this.capacity ? this.evictFairly() : undefined;
    const entry: MacEntry = { vlan, mac, port, lastSeen: now, static: false, moves: 0 };
    if (remote !== undefined) entry.remote = remote;
    this.insert(entry);
    this.counters.learned++;
    return evicted ? { kind: 'new', entry, evicted } : { kind: 'new', entry };
  }

  /** Traffic seen through an installed flow: keeps the entry alive if the MAC is still on that port. */
  touch(vlan: number, mac: number, port: number, now: number): void {
    const e = this.lookup(vlan, mac);
    if (e !== undefined && !e.static && e.port === port) this.refresh(e, now);
  }

  /** Removes learned entries not seen for the aging time; returns them. */
  expire(now: number): MacEntry[] {
    const out: MacEntry[] = [];
    const cutoff = now - this.agingMs;
    for (const set of this.byPort.values()) {
      for (const e of set) {
        if (e.lastSeen > cutoff) break;
        out.push(e);
      }
    }
    for (const e of out) this.remove(e);
    this.counters.expired += out.length;
    return out;
  }

  /** Removes every learned entry (static ones stay); returns them. */
  flush(): MacEntry[] {
    const out = this.learnedEntries();
    for (const e of out) this.remove(e);
    return out;
  }

  /** Removes the learned entries on `port` (it left the bridge or changed VLANs); returns them. */
  flushPort(port: number): MacEntry[] {
    const out = [...(this.byPort.get(port) ?? [])];
    for (const e of out) this.remove(e);
    return out;
  }

  /** Moves the learned entries of port `from` to port `to` (a new root port, 17.19.7's shortcut); returns them. */
  movePort(from: number, to: number, now: number): MacEntry[] {
    const out = [...(this.byPort.get(from) ?? [])];
    for (const e of out) this.learn(e.vlan, e.mac, to, now);
    return out;
  }

  /**
   * New aging time and capacity. A smaller capacity evicts fairly down to it; returns what went (aged-out
   * entries are found by the next expire()).
   */
  reconfigure(capacity: number, agingMs: number): MacEntry[] {
    this.capacity = capacity;
    this.agingMs = agingMs;
    const out: MacEntry[] = [];
    while (this.learnedCount > this.capacity) out.push(this.evictFairly());
    return out;
  }

  /**
   * Replaces the static entries. A static entry takes over a learned one for the same (VLAN, MAC). Returns the
   * (VLAN, MAC) pairs whose entry changed in any way, so the caller can revalidate flows for them.
   */
  setStatic(entries: readonly StaticMacEntry[]): Array<{ vlan: number; mac: number }> {
    const changed = new Map<string, { vlan: number; mac: number }>();
    const mark = (vlan: number, mac: number) => changed.set(`${vlan}/${mac}`, { vlan, mac });
    const wanted = new Map(entries.map((s) => [`${s.vlan}/${s.mac}`, s]));
    for (const e of this.entries()) {
      if (!e.static) continue;
      const w = wanted.get(`${e.vlan}/${e.mac}`);
      if (w && w.port === e.port) {
        wanted.delete(`${e.vlan}/${e.mac}`);
        continue;
      }
      this.remove(e);
      mark(e.vlan, e.mac);
    }
    for (const s of wanted.values()) {
      const old = this.lookup(s.vlan, s.mac);
      if (old) this.remove(old);
      this.insert({ vlan: s.vlan, mac: s.mac, port: s.port, lastSeen: 0, static: true, moves: 0 });
      mark(s.vlan, s.mac);
    }
    return [...changed.values()];
  }

  /** Every entry, static and learned. */
  entries(): MacEntry[] {
    const out: MacEntry[] = [];
    for (const m of this.byVlan.values()) for (const e of m.values()) out.push(e);
    return out;
  }

  private learnedEntries(): MacEntry[] {
    const out: MacEntry[] = [];
    for (const set of this.byPort.values()) out.push(...set);
    return out;
  }

  /** The oldest entry of the port with the most learned entries. */
  private evictFairly(): MacEntry {
    let worst: Set<MacEntry> | undefined;
    for (const set of this.byPort.values()) if (worst === undefined || set.size > worst.size) worst = set;
    const victim = worst!.values().next().value as MacEntry;
    this.remove(victim);
    this.counters.evicted++;
    return victim;
  }

  private refresh(e: MacEntry, now: number): void {
    e.lastSeen = now;
    const set = this.portSet(e.port);
    set.delete(e);
    set.add(e);
  }

  private portSet(port: number): Set<MacEntry> {
    let set = this.byPort.get(port);
    if (set === undefined) {
      set = new Set();
      this.byPort.set(port, set);
    }
    return set;
  }

  private insert(e: MacEntry): void {
    let m = this.byVlan.get(e.vlan);
    if (m === undefined) {
      m = new Map();
      this.byVlan.set(e.vlan, m);
    }
    m.set(e.mac, e);
    if (e.static) this.staticCount++;
    else {
      this.portSet(e.port).add(e);
      this.learnedCount++;
    }
  }

  private remove(e: MacEntry): void {
    const m = this.byVlan.get(e.vlan);
    if (m?.get(e.mac) !== e) return;
    m.delete(e.mac);
    if (m.size === 0) this.byVlan.delete(e.vlan);
    if (e.static) {
      this.staticCount--;
      return;
    }
    const set = this.byPort.get(e.port);
    set?.delete(e);
    if (set?.size === 0) this.byPort.delete(e.port);
    this.learnedCount--;
  }
}
