import { ExactMatchCache, MegaflowTable, FlowTableError, type MegaflowEntry } from '../../../src/flow/classifier';
import { extractPacked } from '../../../src/flow/extract';
import { newPacketKey, unpackPacketKey } from '../../../src/flow/packed';
import { flowMatchesPacket } from '../../../src/flow/match';
import { validateFlow } from '../../../src/flow/validate';
import { formatFlowKey } from '../../../src/flow/format';
import type { FlowKey, FlowMask } from '../../../src/flow/types';
import { buildFrame, type PacketSpec } from './frames';
import { prng } from './helpers';

const MACS = [0x000000000001, 0x505400000001, 0x0a0b0c0d0e0f, 0x01005e0000fb];
const IP4 = [0x0a000001, 0x0a000002, 0x0a000101, 0xc0a80001];
const IP6 = [
  Uint8Array.from([0xfe, 0x80, ...new Array(13).fill(0), 1]),
  Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 5]),
  Uint8Array.from([...new Array(15).fill(0), 2]),
];
const PORTS = [80, 443, 53, 1000];

type Rng = () => number;
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

function randomPacket(r: Rng): PacketSpec & { inPort: number } {
  const p: PacketSpec & { inPort: number } = {
    inPort: 1 + Math.floor(r() * 4),
    src: pick(r, MACS),
    dst: pick(r, MACS),
    ethType: 0x88cc,
  };
  const v = r();
  if (v < 0.2) p.vlans = [{ tpid: 0x8100, tci: pick(r, [10, 20]) | (pick(r, [0, 3]) << 13) }];
  else if (v < 0.25)
    p.vlans = [
      { tpid: 0x88a8, tci: 100 },
      { tpid: 0x8100, tci: pick(r, [10, 20]) },
    ];
  const t = r();
  if (t < 0.5) {
    p.ethType = 0x0800;
    const proto = pick(r, [6, 17, 1, 47]);
    p.ipv4 = {
      src: pick(r, IP4),
      dst: pick(r, IP4),
      proto,
      tos: pick(r, [0, 0x10]),
      ttl: pick(r, [64, 1]),
      frag: r() < 0.85 ? 0 : pick(r, [1, 2]),
    };
    if (proto === 1) p.icmp = { type: pick(r, [0, 8]), code: 0 };
    else p.l4 = { src: pick(r, PORTS), dst: pick(r, PORTS), flags: pick(r, [0x2, 0x10, 0x12]) };
  } else if (t < 0.7) {
    p.ethType = 0x86dd;
    const proto = pick(r, [6, 17, 58]);
    p.ipv6 = {
      src: pick(r, IP6),
      dst: pick(r, IP6),
      proto,
      tclass: 0,
      hlimit: pick(r, [64, 255]),
      label: pick(r, [0, 5]),
      frag: r() < 0.9 ? 0 : pick(r, [1, 2]),
    };
    if (proto === 58) {
      const type = pick(r, [128, 135]);
      p.icmp = type === 135 ? { type, code: 0, ndTarget: pick(r, IP6), ll: pick(r, MACS) } : { type, code: 0 };
    } else p.l4 = { src: pick(r, PORTS), dst: pick(r, PORTS), flags: 0x10 };
  } else if (t < 0.9) {
    p.ethType = 0x0806;
    p.arp = { op: pick(r, [1, 2]), sha: pick(r, MACS), sip: pick(r, IP4), tha: pick(r, MACS), tip: pick(r, IP4) };
  }
  return p;
}

/** A random mask for one numeric field of `bits` width: exact, a prefix, or wildcard. */
function randMask(r: Rng, bits: number): number {
  const x = r();
  const ones = bits >= 48 ? 0xffffffffffff : bits === 32 ? 0xffffffff : (1 << bits) - 1;
  if (x < 0.4) return ones;
  if (x < 0.55 && bits <= 32) return (ones & ~((1 << Math.floor(bits / 2)) - 1)) >>> 0;
  return 0;
}

/** A flow derived from a packet key: same values, random masks, honouring the kernel's rules. */
function flowFromPacket(r: Rng, pk: FlowKey): { key: FlowKey; mask: FlowMask } {
  const key: FlowKey = {};
  const mask: FlowMask = {};
  if (r() < 0.7) {
    key.inPort = pk.inPort;
    mask.inPort = 0xffffffff;
  }
  key.eth = { ...(pk.eth as { src: number; dst: number }) };
  mask.eth = { src: randMask(r, 48), dst: randMask(r, 48) };
  let pl: FlowKey = pk,
    kl = key,
    ml = mask;
  while (pl.vlan !== undefined) {
    kl.ethType = pl.ethType;
    ml.ethType = 0xffff;
    kl.vlan = pl.vlan;
    ml.vlan = 0x1000 | (r() < 0.7 ? 0xfff : 0) | (r() < 0.3 ? 0xe000 : 0);
    kl.encap = {};
    ml.encap = {};
    kl = kl.encap;
    ml = ml.encap;
    pl = pl.encap as FlowKey;
  }
  kl.ethType = pl.ethType;
  ml.ethType = 0xffff;
  if (pl.ipv4) {
    const a = pl.ipv4;
    const protoMask = r() < 0.8 ? 0xff : 0;
    kl.ipv4 = { ...a };
    ml.ipv4 = {
      src: randMask(r, 32),
      dst: randMask(r, 32),
      proto: protoMask,
      tos: randMask(r, 8),
      ttl: randMask(r, 8),
      frag: r() < 0.5 ? 0xff : 0,
    };
    addL4(r, pl, kl, ml, protoMask === 0xff);
  } else if (pl.ipv6) {
    const a = pl.ipv6;
    const protoMask = r() < 0.8 ? 0xff : 0;
    kl.ipv6 = { ...a, src: a.src.slice(), dst: a.dst.slice() };
    ml.ipv6 = {
      src: new Uint8Array(16).fill(r() < 0.5 ? 0xff : 0),
      dst: new Uint8Array(16).fill(r() < 0.5 ? 0xff : 0),
      label: randMask(r, 20),
      proto: protoMask,
      tclass: 0,
      hlimit: randMask(r, 8),
      frag: r() < 0.5 ? 0xff : 0,
    };
    addL4(r, pl, kl, ml, protoMask === 0xff);
  } else if (pl.arp) {
    kl.arp = { ...pl.arp };
    ml.arp = { sip: randMask(r, 32), tip: randMask(r, 32), op: randMask(r, 16), sha: randMask(r, 48), tha: 0 };
  }
  return { key, mask };
}

function addL4(r: Rng, pl: FlowKey, kl: FlowKey, ml: FlowMask, protoExact: boolean): void {
  const m = (bits: number): number => (protoExact ? randMask(r, bits) : 0);
  for (const p of ['tcp', 'udp', 'sctp'] as const) {
    if (!pl[p]) continue;
    kl[p] = { ...(pl[p] as { src: number; dst: number }) };
    ml[p] = { src: m(16), dst: m(16) };
  }
  if (pl.tcpFlags !== undefined) {
    kl.tcpFlags = pl.tcpFlags;
    ml.tcpFlags = m(12);
  }
  for (const p of ['icmp', 'icmpv6'] as const) {
    if (!pl[p]) continue;
    kl[p] = { ...(pl[p] as { type: number; code: number }) };
    ml[p] = { type: m(8), code: m(8) };
  }
  if (pl.nd) {
    kl.nd = { target: pl.nd.target.slice(), sll: pl.nd.sll, tll: pl.nd.tll };
    const typeExact = (ml.icmpv6?.type ?? 0) === 0xff;
    ml.nd = {
      target: new Uint8Array(16).fill(typeExact && r() < 0.5 ? 0xff : 0),
      sll: typeExact ? randMask(r, 48) : 0,
      tll: 0,
    };
  }
}

describe('classifier agrees with a brute-force scan (seeded)', () => {
  const ROUNDS = 20;
  const PER_ROUND = 500;
  test(`${ROUNDS * PER_ROUND} random flows and ${ROUNDS * PER_ROUND} packets`, () => {
    const r = prng(20240601);
    const pk = newPacketKey();
    let inserted = 0,
      matched = 0,
      emcHits = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const table = new MegaflowTable({ emcSize: 1024, resortEvery: 97 });
      const flows: Array<{ key: FlowKey; mask: FlowMask; priority: number; id: number }> = [];
      for (let i = 0; i < PER_ROUND; i++) {
        const p = randomPacket(r);
        extractPacked(buildFrame(p), 0, buildFrame(p).length, p.inPort, pk);
        const f = flowFromPacket(r, unpackPacketKey(pk.words));
        const problems = validateFlow(f);
        if (problems.length)
          throw new Error(`generator made an invalid flow ${formatFlowKey(f.key, f.mask)}: ${problems[0].message}`);
        const priority = Math.floor(r() * 3);
        try {
          const e = table.insert(f, [{ type: 'output', port: i }], { priority });
          flows.push({ ...f, priority, id: e.id });
          inserted++;
        } catch (e) {
          if (!(e instanceof FlowTableError)) throw e;
        }
        if (i % 50 === 49 && flows.length > 3) {
          // Deletions must keep both views in sync.
          const victim = flows.splice(Math.floor(r() * flows.length), 1)[0];
          expect(table.delete(victim)).toBe(true);
        }
      }
      for (let i = 0; i < PER_ROUND; i++) {
        const p = randomPacket(r);
        const frame = buildFrame(p);
        extractPacked(frame, 0, frame.length, p.inPort, pk);
        const pkt = unpackPacketKey(pk.words);
        let best: { priority: number; id: number } | undefined;
        for (const f of flows) {
          if (!flowMatchesPacket(f.key, f.mask, pkt)) continue;
          if (!best || f.priority > best.priority) best = f;
          else if (f.priority === best.priority) throw new Error('overlapping flows of equal priority were admitted');
        }
        // Twice: the second lookup is served by the EMC.
        for (let k = 0; k < 2; k++) {
          const got = table.lookup(pk);
          expect(got?.id).toBe(best?.id);
        }
        if (best) matched++;
      }
      emcHits += table.emc?.hits ?? 0;
    }
    expect(inserted).toBeGreaterThan(ROUNDS * PER_ROUND * 0.2);
    expect(matched).toBeGreaterThan(ROUNDS * PER_ROUND * 0.1);
    expect(emcHits).toBeGreaterThan(0);
  });
});

describe('MegaflowTable semantics', () => {
  const f = (ip: number, m = 0xffffffff): { key: FlowKey; mask: FlowMask } => ({
    key: { eth: { src: 0, dst: 0 }, ethType: 0x0800, ipv4: { src: ip, dst: 0, proto: 0, tos: 0, ttl: 0, frag: 0 } },
    mask: { eth: { src: 0, dst: 0 }, ethType: 0xffff, ipv4: { src: m, dst: 0, proto: 0, tos: 0, ttl: 0, frag: 0 } },
  });
  test('identical key+mask is EEXIST; overlap of equal priority is EOVERLAP; put modifies', () => {
    const t = new MegaflowTable();
    const a = t.insert(f(0x0a000001), [{ type: 'output', port: 1 }]);
    expect(() => t.insert(f(0x0a000001), [])).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(() => t.insert(f(0x0a000000, 0xff000000), [])).toThrow(expect.objectContaining({ code: 'EOVERLAP' }));
    t.insert(f(0x0a000000, 0xff000000), [{ type: 'output', port: 2 }], { priority: 1 });
    const again = t.put(f(0x0a000001), [{ type: 'output', port: 3 }]);
    expect(again).toBe(a);
    expect(a.actions).toEqual([{ type: 'output', port: 3 }]);
    expect(() => t.put(f(0x0b000001), [])).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(t.size).toBe(2);
    expect(t.maskCount).toBe(2);
  });
  test('flows get a deterministic UFID from their key when none is given', () => {
    const t1 = new MegaflowTable();
    const t2 = new MegaflowTable();
    expect(t1.insert(f(1), []).ufid).toEqual(t2.insert(f(1), []).ufid);
    expect(t1.find({ ufid: t1.dump()[0].ufid })).toBeDefined();
  });
  test('stats accumulate and the EMC is invalidated on change', () => {
    const t = new MegaflowTable();
    const e = t.insert(f(0x0a000001), [{ type: 'output', port: 1 }]);
    const frame = buildFrame({
      src: 1,
      dst: 2,
      ethType: 0x0800,
      ipv4: { src: 0x0a000001, dst: 2, proto: 47, tos: 0, ttl: 1, frag: 0 },
    });
    const pk = newPacketKey();
    extractPacked(frame, 0, frame.length, 1, pk);
    expect(t.lookup(pk)).toBe(e);
    expect(t.lookup(pk)).toBe(e);
    expect(t.emc?.hits).toBe(1);
    t.recordHit(e, frame.length, 0x12, 1000);
    expect(e.stats).toEqual({ packets: 1, bytes: frame.length, used: 1000, tcpFlags: 0x12 });
    t.delete({ ufid: e.ufid });
    expect(t.lookup(pk)).toBeUndefined();
  });
  test("a delete leaves the other flows' cached hits in the EMC; the deleted flow's cached key misses", () => {
    const t = new MegaflowTable();
    const keyOf = (ip: number) => {
      const frame = buildFrame({
        src: 1,
        dst: 2,
        ethType: 0x0800,
        ipv4: { src: ip, dst: 2, proto: 47, tos: 0, ttl: 1, frag: 0 },
      });
      const pk = newPacketKey();
      extractPacked(frame, 0, frame.length, 1, pk);
      return pk;
    };
    const [a, b] = [t.insert(f(0x0a000001), []), t.insert(f(0x0a000002), [])];
    const [pa, pb] = [keyOf(0x0a000001), keyOf(0x0a000002)];
    expect([t.lookup(pa), t.lookup(pb)]).toEqual([a, b]);
    expect([t.lookup(pa), t.lookup(pb)]).toEqual([a, b]);
    const hits = t.emc!.hits;
    expect(t.delete({ ufid: a.ufid })).toBe(true);
    expect(a.dead).toBe(true);
    expect(t.lookup(pb)).toBe(b);
    expect(t.emc!.hits).toBe(hits + 1);
    expect(t.lookup(pa)).toBeUndefined();
    expect(t.emc!.hits).toBe(hits + 1);
    // The same match again is a new entry, found and then cached anew.
    const a2 = t.insert(f(0x0a000001), []);
    expect([t.lookup(pa), t.lookup(pa)]).toEqual([a2, a2]);
    expect(t.find({ ufid: a.ufid })).toBe(a2);
  });
});

test("the EMC takes a deleted flow's way as free: a live entry of the same pair is not evicted", () => {
  const emc = new ExactMatchCache(16);
  // Three keys whose hashes pick the same way of 16 (4, 4 + 16, 4 + 32): they compete for ways 4 and 5.
  const key = (w0: number) => {
    const pk = newPacketKey();
    pk.words.fill(0);
    pk.words[0] = w0;
    pk.len = 1;
    pk.hash = 4 + 16 * (w0 - 1);
    return pk;
  };
  const entry = (dead: boolean) => ({ dead }) as unknown as MegaflowEntry;
  const [k1, k2, k3] = [key(1), key(2), key(3)];
  const [e1, e2, e3] = [entry(false), entry(false), entry(false)];
  emc.insert(k1, e1);
  emc.insert(k2, e2);
  expect([emc.lookup(k1), emc.lookup(k2)]).toEqual([e1, e2]);
  e1.dead = true;
  emc.insert(k3, e3);
  expect([emc.lookup(k1), emc.lookup(k2), emc.lookup(k3)]).toEqual([undefined, e2, e3]);
});

test('the EMC finds both of two cached keys with the same hash', () => {
  const emc = new ExactMatchCache(16);
  const key = (w0: number) => {
    const pk = newPacketKey();
    pk.words.fill(0);
    pk.words[0] = w0;
    pk.len = 1;
    pk.hash = 7;
    return pk;
  };
  const [k1, k2] = [key(1), key(2)];
  const [e1, e2] = [{ dead: false }, { dead: false }] as unknown as MegaflowEntry[];
  emc.insert(k1, e1);
  emc.insert(k2, e2);
  expect([emc.lookup(k1), emc.lookup(k2), emc.lookup(key(3))]).toEqual([e1, e2, undefined]);
  expect([emc.hits, emc.misses]).toEqual([2, 1]);
});
