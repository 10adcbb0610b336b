/**
 * The megaflow table of the userspace datapath, shaped like dpif-netdev's: an exact-match cache (EMC) in front of
 * a tuple-space search over the distinct masks (one subtable per mask, visited in order of max priority then hit
 * count). Megaflows of equal priority must not overlap, so the first hit in a subtable is the answer and the
 * scan can stop early; identical key+mask is EEXIST (as dpif-netdev), and `put` has modify semantics.
 */
import { NetmgrError } from '../util/errors';
import { KEY_WORDS, packMatch, type PacketKey } from './packed';
import { murmur3x86x128, ufidMapKey } from './ufid';
import { formatFlowKey } from './format';
import { formatUuid } from './text';
import type { FlowActions, FlowKey, FlowMask, FlowStats } from './types';

export interface MegaflowEntry {
  readonly id: number;
  readonly key: FlowKey;
  readonly mask: FlowMask;
  actions: FlowActions;
  readonly ufid: Uint8Array;
  readonly priority: number;
  readonly stats: FlowStats;
  /** Flat masked value and mask (packed layout). */
  readonly value: Uint32Array;
  readonly maskWords: Uint32Array;
  /**
   * Set when the flow is deleted. An EMC slot may still point at it and reads as a miss (OVS's flow->dead), so a
   * delete costs nothing to the cached hits of other flows (it used to drop the whole cache).
   */
  dead: boolean;
}

/** A refused table change: EEXIST and ENOENT as the kernel says them; EOVERLAP (netmgr's own) is an overlap. */
export class FlowTableError extends NetmgrError {
  constructor(
    readonly code: 'EEXIST' | 'EOVERLAP' | 'ENOENT',
    message: string,
    readonly existing?: MegaflowEntry,
  ) {
    super(code === 'ENOENT' ? 'not-found' : 'exists', message, code === 'EOVERLAP' ? undefined : code);
  }
}

class Subtable {
  /** Indices of the mask's non-zero words: the only ones hashed and compared. */
  readonly idx: Int32Array;
  readonly maskSel: Uint32Array;
  readonly buckets = new Map<number, MegaflowEntry[]>();
  count = 0;
  hits = 0;
  maxPriority = -Infinity;
  /** Flows per priority, so a delete finds the new maximum without scanning the flows. */
  readonly priorities = new Map<number, number>();
  constructor(
    readonly mask: Uint32Array,
    readonly sig: string,
  ) {
    const idx: number[] = [];
    for (let i = 0; i < KEY_WORDS; i++) if (mask[i] !== 0) idx.push(i);
    this.idx = Int32Array.from(idx);
    this.maskSel = Uint32Array.from(idx.map((i) => mask[i]));
  }
  /** Hash of the packet's words under this mask (same function for stored values, which are pre-masked). */
  hashOf(words: Uint32Array): number {
    const idx = this.idx,
      ms = this.maskSel;
    let h = 0x811c9dc5;
    for (let j = 0; j < idx.length; j++) {
      h = Math.imul(h ^ ((words[idx[j]] & ms[j]) >>> 0), 0x01000193);
      h ^= h >>> 15;
    }
    return h >>> 0;
  }
  find(words: Uint32Array): MegaflowEntry | undefined {
    const bucket = this.buckets.get(this.hashOf(words));
    if (bucket === undefined) return undefined;
    const idx = this.idx,
      ms = this.maskSel;
    outer: for (let b = 0; b < bucket.length; b++) {
      const v = bucket[b].value;
      for (let j = 0; j < idx.length; j++) {
        const i = idx[j];
        if ((words[i] & ms[j]) >>> 0 !== v[i]) continue outer;
      }
      return bucket[b];
    }
    return undefined;
  }
}

/**
 * Exact-match cache, like dpif-netdev's EMC: a table indexed by the packet hash with two candidate slots per
 * hash (so two hot keys that collide do not evict each other), each verified by comparing all key words.
 */
export class ExactMatchCache {
  private readonly mask: number;
  private readonly keys: Uint32Array;
  private readonly hashes: Uint32Array;
  private readonly lens: Uint8Array;
  private readonly gens: Uint32Array;
  private readonly entries: Array<MegaflowEntry | undefined>;
  private gen = 1;
  hits = 0;
  misses = 0;

  constructor(size = 8192) {
    let n = 2;
    while (n < size) n <<= 1;
    this.mask = n - 1;
    this.keys = new Uint32Array(n * KEY_WORDS);
    this.hashes = new Uint32Array(n);
    this.lens = new Uint8Array(n);
    this.gens = new Uint32Array(n);
    this.entries = new Array<MegaflowEntry | undefined>(n).fill(undefined);
  }

  lookup(pk: PacketKey): MegaflowEntry | undefined {
    // Two ways: s and s ^ 1 (two keys of one hash, or of one way, may both be cached).
    const s = pk.hash & this.mask;
    const e = this.entryAt(s, pk) ?? this.entryAt(s ^ 1, pk);
    if (e === undefined || e.dead) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    return e;
  }

  /** The entry way `s` holds for exactly this key, if any. */
  private entryAt(s: number, pk: PacketKey): MegaflowEntry | undefined {
    // Hash, length and generation reject almost every non-match before the compare.
    if (this.hashes[s] !== pk.hash || this.lens[s] !== pk.len || this.gens[s] !== this.gen) return undefined;
    // Words past `len` are zero in both keys, so only the significant prefix is compared.
    const keys = this.keys;
    const w = pk.words;
    const len = pk.len;
    for (let i = 0, base = s * KEY_WORDS; i < len; i++, base++) if (keys[base] !== w[i]) return undefined;
    return this.entries[s];
  }

  insert(pk: PacketKey, e: MegaflowEntry): void {
    // Prefer a free way (empty, stale, or holding a deleted flow); otherwise replace the second one.
    const s0 = pk.hash & this.mask;
    const s = this.gens[s0] !== this.gen || this.entries[s0]?.dead === true ? s0 : s0 ^ 1;
    this.keys.set(pk.words, s * KEY_WORDS);
    this.hashes[s] = pk.hash;
    this.lens[s] = pk.len;
    this.gens[s] = this.gen;
    this.entries[s] = e;
  }

  /** Drops every entry in O(1) by moving to a new generation. */
  invalidate(): void {
    this.gen = (this.gen + 1) >>> 0 || 1;
    if (this.gen === 1) this.gens.fill(0);
  }
}

export interface MegaflowTableOptions {
  /** EMC slots (0 disables the cache). */
  emcSize?: number;
  /** Re-sort subtables by hit count every this many megaflow lookups. */
  resortEvery?: number;
}

export interface InsertOptions {
  priority?: number;
  /** Allow a flow that overlaps another of the same priority (the lower id then wins). Off by default. */
  allowOverlap?: boolean;
}

export class MegaflowTable {
  private readonly entries = new Map<number, MegaflowEntry>();
  private readonly byUfid = new Map<string, MegaflowEntry>();
  private readonly subtables = new Map<string, Subtable>();
  private ordered: Subtable[] = [];
  private nextId = 1;
  private lookupsSinceSort = 0;
  private readonly resortEvery: number;
  readonly emc: ExactMatchCache | undefined;
  megaflowHits = 0;
  misses = 0;
  /** Subtables searched by all lookups (the kernel's "masks hit"). */
  maskProbes = 0;

  constructor(opts: MegaflowTableOptions = {}) {
    const size = opts.emcSize ?? 8192;
    this.emc = size > 0 ? new ExactMatchCache(size) : undefined;
    this.resortEvery = opts.resortEvery ?? 4096;
  }

  get size(): number {
    return this.entries.size;
  }
  get maskCount(): number {
    return this.subtables.size;
  }

  /** Adds a megaflow (dpctl add-flow semantics). Throws FlowTableError EEXIST / EOVERLAP. */
  insert(
    flow: { key: FlowKey; mask: FlowMask; ufid?: Uint8Array },
    actions: FlowActions,
    opts: InsertOptions = {},
  ): MegaflowEntry {
    const priority = opts.priority ?? 0;
    const { value, mask } = packMatch(flow.key, flow.mask);
    const sig = maskSignature(mask);
    const st = this.subtables.get(sig);
    const same = st?.find(value);
    if (same && equalWords(same.value, value)) {
      throw new FlowTableError(
        'EEXIST',
        `a flow with the same key and mask already exists: ${formatFlowKey(same.key, same.mask)}`,
        same,
      );
    }
    if (!opts.allowOverlap) {
      for (const e of this.entries.values()) {
        if (e.priority === priority && overlaps(e.value, e.maskWords, value, mask)) {
          throw new FlowTableError(
            'EOVERLAP',
            `the flow overlaps existing flow ${formatUuid(e.ufid)} (${formatFlowKey(e.key, e.mask)}) of the same priority; some packets would match both`,
            e,
          );
        }
      }
    }
    const ufid = flow.ufid ?? ufidOfMatch(value, mask);
    const ufidKey = ufidMapKey(ufid);
    const sameUfid = this.byUfid.get(ufidKey);
    if (sameUfid) throw new FlowTableError('EEXIST', `a flow with ufid:${formatUuid(ufid)} already exists`, sameUfid);
    const entry: MegaflowEntry = {
      id: this.nextId++,
      key: flow.key,
      mask: flow.mask,
      actions,
      ufid,
      priority,
      stats: { packets: 0, bytes: 0, used: undefined, tcpFlags: 0 },
      value,
      maskWords: mask,
      dead: false,
    };
    let sub = st;
    if (!sub) {
      sub = new Subtable(mask, sig);
      this.subtables.set(sig, sub);
    }
    const h = sub.hashOf(value);
    const bucket = sub.buckets.get(h);
    if (bucket) bucket.push(entry);
    else sub.buckets.set(h, [entry]);
    sub.count++;
    if (priority > sub.maxPriority) sub.maxPriority = priority;
    sub.priorities.set(priority, (sub.priorities.get(priority) ?? 0) + 1);
    this.entries.set(entry.id, entry);
    this.byUfid.set(ufidKey, entry);
    // A new flow only wins over cached hits of lower priority (equal priority: the older flow wins), so flows of
    // the lowest priority, all a datapath installs, leave the EMC valid: the slow path adds flows at a high rate.
    if (priority > this.lowestPriority()) this.emc?.invalidate();
    this.resort();
    return entry;
  }

  /**
   * dpctl mod-flow / put semantics: replaces the actions of the flow with the same key+mask (or UFID), optionally
   * clearing its stats; creates it when absent and `mayCreate` is set.
   */
  put(
    flow: { key: FlowKey; mask: FlowMask; ufid?: Uint8Array },
    actions: FlowActions,
    opts: InsertOptions & { mayCreate?: boolean; clearStats?: boolean } = {},
  ): MegaflowEntry {
    const existing = this.find(flow);
    if (!existing) {
      if (!opts.mayCreate) throw new FlowTableError('ENOENT', `no such flow: ${formatFlowKey(flow.key, flow.mask)}`);
      return this.insert(flow, actions, opts);
    }
    // The EMC points at the entry itself: its cached hits see the new actions.
    existing.actions = actions;
    if (opts.clearStats) Object.assign(existing.stats, { packets: 0, bytes: 0, used: undefined, tcpFlags: 0 });
    return existing;
  }

  /** The flow with this UFID, or with exactly this key and mask. */
  find(flow: { key?: FlowKey; mask?: FlowMask; ufid?: Uint8Array }): MegaflowEntry | undefined {
    if (flow.ufid) return this.byUfid.get(ufidMapKey(flow.ufid));
    if (!flow.key || !flow.mask) return undefined;
    const { value, mask } = packMatch(flow.key, flow.mask);
    const e = this.subtables.get(maskSignature(mask))?.find(value);
    return e && equalWords(e.value, value) ? e : undefined;
  }

  delete(flow: { key?: FlowKey; mask?: FlowMask; ufid?: Uint8Array }): boolean {
    const e = this.find(flow);
    if (!e) return false;
    const sig = maskSignature(e.maskWords);
    const sub = this.subtables.get(sig) as Subtable;
    const h = sub.hashOf(e.value);
    const bucket = sub.buckets.get(h) as MegaflowEntry[];
    bucket.splice(bucket.indexOf(e), 1);
    if (bucket.length === 0) sub.buckets.delete(h);
    sub.count--;
    // The search order (by highest priority) changes only when a subtable goes or its highest priority drops.
    let reorder = false;
    if (sub.count === 0) {
      this.subtables.delete(sig);
      reorder = true;
    } else {
      const left = (sub.priorities.get(e.priority) ?? 1) - 1;
      if (left > 0) sub.priorities.set(e.priority, left);
      else {
        sub.priorities.delete(e.priority);
        if (e.priority === sub.maxPriority) {
          sub.maxPriority = Math.max(...sub.priorities.keys());
          reorder = true;
        }
      }
    }
    this.entries.delete(e.id);
    this.byUfid.delete(ufidMapKey(e.ufid));
    e.dead = true;
    if (reorder) this.resort();
    return true;
  }

  flush(): void {
    for (const e of [...this.entries.values()]) this.delete({ ufid: e.ufid });
  }

  /** All flows in insertion order. */
  dump(): MegaflowEntry[] {
    return [...this.entries.values()];
  }

  /** EMC, then tuple-space search; inserts megaflow hits into the EMC. */
  lookup(pk: PacketKey): MegaflowEntry | undefined {
    const emc = this.emc;
    if (emc !== undefined) {
      const e = emc.lookup(pk);
      if (e !== undefined) return e;
    }
    const e = this.lookupMegaflow(pk);
    if (e !== undefined && emc !== undefined) emc.insert(pk, e);
    return e;
  }

  /** Tuple-space search only (no EMC). */
  lookupMegaflow(pk: PacketKey): MegaflowEntry | undefined {
    if (++this.lookupsSinceSort >= this.resortEvery) this.resort();
    const words = pk.words;
    const subs = this.ordered;
    let best: MegaflowEntry | undefined;
    for (let i = 0; i < subs.length; i++) {
      const st = subs[i];
      if (best !== undefined && st.maxPriority <= best.priority) break;
      this.maskProbes++;
      const e = st.find(words);
      if (
        e !== undefined &&
        (best === undefined || e.priority > best.priority || (e.priority === best.priority && e.id < best.id))
      ) {
        st.hits++;
        best = e;
      }
    }
    if (best === undefined) this.misses++;
    else this.megaflowHits++;
    return best;
  }

  /** Accounts a packet to a flow (datapath stats: packets, bytes, used, OR of TCP flags). */
  recordHit(e: MegaflowEntry, bytes: number, tcpFlags: number, now: number): void {
    e.stats.packets++;
    e.stats.bytes += bytes;
    e.stats.used = now;
    e.stats.tcpFlags |= tcpFlags;
  }

  private lowestPriority(): number {
    let min = Infinity;
    for (const st of this.subtables.values()) for (const p of st.priorities.keys()) if (p < min) min = p;
    return min;
  }

  private resort(): void {
    this.lookupsSinceSort = 0;
    this.ordered = [...this.subtables.values()].sort((a, b) => b.maxPriority - a.maxPriority || b.hits - a.hits);
  }
}

/**
 * A UFID for a flow installed without one: a hash of its packed, masked match, so the same megaflow always gets
 * the same UFID (as OVS hashes the key). Hashing the packed words, not the netlink encoding, keeps the slow
 * path's flow setup cheap.
 */
function ufidOfMatch(value: Uint32Array, mask: Uint32Array): Uint8Array {
  const both = new Uint32Array(value.length + mask.length);
  both.set(value);
  both.set(mask, value.length);
  return murmur3x86x128(new Uint8Array(both.buffer));
}

/** Masks repeat (a policy installs a handful of shapes): the last signature is reused when the words match. */
let lastMask: Uint32Array | undefined;
let lastSig = '';

function maskSignature(m: Uint32Array): string {
  if (lastMask !== undefined && equalWords(lastMask, m)) return lastSig;
  lastMask = Uint32Array.from(m);
  lastSig = maskSignatureOf(m);
  return lastSig;
}

function maskSignatureOf(m: Uint32Array): string {
  let s = '';
  for (let i = 0; i < m.length; i++) s += m[i].toString(36) + ',';
  return s;
}

function equalWords(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Two masked flows overlap when they agree on every bit both of them match. */
export function overlaps(av: Uint32Array, am: Uint32Array, bv: Uint32Array, bm: Uint32Array): boolean {
  for (let i = 0; i < KEY_WORDS; i++) if (((av[i] ^ bv[i]) & am[i] & bm[i]) >>> 0 !== 0) return false;
  return true;
}
