import * as fs from 'fs';
import * as path from 'path';

export const GOLDEN_DIR = path.join(__dirname, '..', '..', 'golden', 'flow');

/** Non-empty, non-comment lines of a golden file. */
export function goldenLines(name: string): string[] {
  return fs
    .readFileSync(path.join(GOLDEN_DIR, name), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'));
}

/** Deterministic PRNG (mulberry32) so property tests are reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const portTable = (map: Record<string, number>) => ({
  byName: (n: string) => map[n],
  nameOf: (no: number) => Object.keys(map).find((k) => map[k] === no),
});
