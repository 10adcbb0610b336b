/**
 * Classifier benchmark: lookups per second with 1,000 megaflows over 10 masks, with and without the exact-match
 * cache, next to a plain Map lookup of the same keys measured in the same run. Run with bench/classifier.sh
 * (EMC=8192 PACKETS=4096 to change the cache size / distinct packets; the default cache holds all 4096 keys).
 */
import { MegaflowTable } from '../src/flow/classifier';
import { extractPacked } from '../src/flow/extract';
import { newPacketKey, type PacketKey } from '../src/flow/packed';
import type { FlowKey, FlowMask } from '../src/flow/types';

const FLOWS = 1000;
const MASKS = 10;
const PACKETS = Number(process.env.PACKETS ?? 4096);
const ROUNDS = 2_000_000;

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Ten mask shapes over IPv4/UDP (dst prefix x port mask, plus one with a source prefix): ten subtables. */
function flowFor(i: number): { key: FlowKey; mask: FlowMask } {
  const shape = i % MASKS;
  const n = Math.floor(i / MASKS);
  const prefix = [16, 24, 32][shape % 3];
  const portMask = shape === 9 ? 0xffff : [0, 0xff00, 0xffff][Math.floor(shape / 3)];
  const srcMask = shape === 9 ? 0xff000000 : 0;
  const ipMask = (0xffffffff << (32 - prefix)) >>> 0;
  const dst = ((10 << 24) | (n << 16) | (shape << 8) | 1) >>> 0;
  return {
    key: {
      inPort: 1,
      eth: { src: 0, dst: 0 },
      ethType: 0x0800,
      ipv4: { src: 0x0a090909, dst, proto: 17, tos: 0, ttl: 0, frag: 0 },
      udp: { src: 0, dst: 1000 + n },
    },
    mask: {
      inPort: 0xffffffff,
      eth: { src: 0, dst: 0 },
      ethType: 0xffff,
      ipv4: { src: srcMask, dst: ipMask, proto: 0xff, tos: 0, ttl: 0, frag: 0 },
      udp: { src: 0, dst: portMask },
    },
  };
}

function udpFrame(dst: number, dport: number, sport: number): Uint8Array {
  const b = new Uint8Array(42);
  b.set([0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 9, 9, 9]);
  b[30] = dst >>> 24;
  b[31] = (dst >>> 16) & 0xff;
  b[32] = (dst >>> 8) & 0xff;
  b[33] = dst & 0xff;
  b[34] = sport >> 8;
  b[35] = sport & 0xff;
  b[36] = dport >> 8;
  b[37] = dport & 0xff;
  return b;
}

function main(): void {
  const r = rng(1);
  const withEmc = new MegaflowTable({ emcSize: Number(process.env.EMC ?? 32768) });
  const noEmc = new MegaflowTable({ emcSize: 0 });
  for (let i = 0; i < FLOWS; i++) {
    const f = flowFor(i);
    withEmc.insert(f, [{ type: 'output', port: 2 }], { allowOverlap: true });
    noEmc.insert(f, [{ type: 'output', port: 2 }], { allowOverlap: true });
  }
  // Packets that hit flows of every mask.
  const keys: PacketKey[] = [];
  for (let p = 0; p < PACKETS; p++) {
    const i = Math.floor(r() * FLOWS);
    const shape = i % MASKS,
      n = Math.floor(i / MASKS);
    const pk = newPacketKey();
    extractPacked(udpFrame(((10 << 24) | (n << 16) | (shape << 8) | 1) >>> 0, 1000 + n, 5000 + p), 0, 42, 1, pk);
    keys.push(pk);
  }
  // Plain Map baseline: the same keys, as strings built once (a Map keyed by the full key).
  const strings = keys.map((k) => Array.from(k.words).join(','));
  const plain = new Map<string, number>(strings.map((s, i) => [s, i]));

  // One explicit loop per measurement so each call site stays monomorphic (a shared harness calling different
  // closures would charge the later measurements for a megamorphic call).
  const mask = PACKETS - 1;
  const rate = (t0: bigint, n: number): number => (n / Number(process.hrtime.bigint() - t0)) * 1e9;
  const measureMap = (n: number): number => {
    let hits = 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) if (plain.get(strings[i & mask]) !== undefined) hits++;
    if (hits !== n) throw new Error('map misses');
    return rate(t0, n);
  };
  const measureTable = (table: MegaflowTable, n: number): number => {
    let hits = 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) if (table.lookup(keys[i & mask]) !== undefined) hits++;
    if (hits !== n) throw new Error('table misses');
    return rate(t0, n);
  };
  const extractBuf = udpFrame(0x0a000101, 1000, 5000);
  const scratch = newPacketKey();
  const measureExtract = (n: number): number => {
    let hits = 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      extractPacked(extractBuf, 0, 42, 1, scratch);
      if (withEmc.lookup(scratch) !== undefined) hits++;
    }
    if (hits !== n) throw new Error('extract misses');
    return rate(t0, n);
  };
  // Warm up every path, then take the best of three runs of each.
  const best = (f: (n: number) => number): number => {
    f(200_000);
    return Math.max(f(ROUNDS), f(ROUNDS), f(ROUNDS));
  };
  const mapRate = best(measureMap);
  const emcRate = best((n) => measureTable(withEmc, n));
  const tssRate = best((n) => measureTable(noEmc, n));
  const extractEmcRate = best(measureExtract);

  const row = (name: string, rate: number): string =>
    `| ${name.padEnd(44)} | ${(rate / 1e6).toFixed(2).padStart(10)} | ${(mapRate / rate).toFixed(2).padStart(13)} |`;
  console.log(
    `classifier: ${FLOWS} flows over ${withEmc.maskCount} masks, ${PACKETS} distinct packets, ${ROUNDS} lookups each (node ${process.version})`,
  );
  console.log('| lookup                                       | Mlookups/s | Map time ratio |');
  console.log('|----------------------------------------------|-----------:|--------------:|');
  console.log(row('plain Map.get (string key, prebuilt)', mapRate));
  console.log(row('MegaflowTable.lookup, EMC hit', emcRate));
  console.log(row('MegaflowTable.lookup, no EMC (tuple space)', tssRate));
  console.log(row('extractPacked + lookup (EMC hit)', extractEmcRate));
  console.log(`EMC: ${withEmc.emc?.hits} hits, ${withEmc.emc?.misses} misses over all runs.`);
  const emcRatio = mapRate / emcRate;
  const verdict = emcRatio <= 1.5 ? 'ok' : 'MISS';
  console.log(
    `EMC hit lookup costs ${emcRatio.toFixed(2)}x a plain Map lookup (issue 17's goal: <= 1.5x: ${verdict}).`,
  );
}

main();
