/**
 * "Did you mean ...?" for unknown keys, sections, enum values and bridge names.
 * Pure; used only to build error text.
 */

/**
 * Optimal-string-alignment distance: Levenshtein plus adjacent transpositions, because the commonest typos in
 * hand-written keys are a dropped, doubled or swapped character ("mac-agin", "namesapce").
 */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  if (m === 0) return n;
  if (n === 0) return m;
  // Three rolling rows are enough for the transposition look-back.
  let prev2: number[] = new Array<number>(n + 1).fill(0);
  let prev: number[] = Array.from({ length: n + 1 }, (_, j) => j);
  let cur: number[] = new Array<number>(n + 1).fill(0);
  for (let i = 1; i <= m; i++) {
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2] + 1);
      cur[j] = d;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[n];
}

/** Case and `_`/`-` differences are not real typos: compare in one canonical form. */
function canonical(s: string): string {
  return s.toLowerCase().replace(/_/g, '-');
}

/**
 * The closest candidate, or undefined when nothing is close enough to be a plausible typo. The threshold grows
 * with the word so that short words do not "match" unrelated short keys. Ties go to the alphabetically first
 * candidate so output is stable.
 */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  const w = canonical(word);
  let best: string | undefined;
  let bestDist = Infinity;
  for (const c of candidates) {
    if (c === word) continue;
    const d = editDistance(w, canonical(c));
    if (d < bestDist || (d === bestDist && best !== undefined && c < best)) {
      best = c;
      bestDist = d;
    }
  }
  if (best === undefined) return undefined;
  const limit = Math.max(1, Math.floor(Math.max(w.length, best.length) / 3));
  return bestDist <= limit ? best : undefined;
}
