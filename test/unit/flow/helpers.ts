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

export { prng } from '../../helpers/prng';

export const portTable = (map: Record<string, number>) => ({
  byName: (n: string) => map[n],
  nameOf: (no: number) => Object.keys(map).find((k) => map[k] === no),
});
