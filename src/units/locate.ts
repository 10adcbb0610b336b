/**
 * Source positions for TOML key paths. The `toml` parser returns plain values without positions, so this module
 * re-scans the text lexically and records where each key, value, array element and table header starts.
 *
 * Paths are written `section.key`, `section.array[0].key`, `section.key[2]` (indices 0-based); segments that are not
 * bare TOML keys are double-quoted (see pathKey). The scanner is tolerant: it is meant for text that `toml` has
 * already accepted, but it never throws and always makes progress on anything else.
 */

export interface Loc {
  line: number;
  col: number;
}

interface Spot {
  key?: Loc;
  value?: Loc;
  header?: Loc;
  /** The value's source text (for scalars), used to tell a quoted string from a bare date. */
  raw?: string;
}

export type PathSegment = string | number;

const BARE_KEY = /^[A-Za-z0-9_-]+$/;

/** Canonical path string for segments: `a.b[0]."x.y"`. */
export function pathKey(segments: readonly PathSegment[]): string {
  let out = '';
  for (const s of segments) out = joinPath(out, s);
  return out;
}

/** Append one segment to a path string (the empty string is the root). */
export function joinPath(parent: string, segment: PathSegment): string {
  if (typeof segment === 'number') return `${parent}[${segment}]`;
  const k = BARE_KEY.test(segment) ? segment : JSON.stringify(segment);
  return parent === '' ? k : `${parent}.${k}`;
}

/** Positions found in one file; lookups fall back to the enclosing key or table header, then to 1:1. */
export class SourceLocator {
  private readonly spots = new Map<string, Spot>();
  private readonly parents = new Map<string, string | null>();

  /** @internal used by the scanner: `parent` is the enclosing path ('' at the top). */
  record(parent: string, k: string, what: 'key' | 'value' | 'header', at: Loc, raw?: string): void {
    let spot = this.spots.get(k);
    if (!spot) {
      spot = {};
      this.spots.set(k, spot);
      this.parents.set(k, parent === '' ? null : parent);
    }
    // The first occurrence wins: for `[a.b]` then `[a]`, `a` is first mentioned by the earlier header.
    if (spot[what] === undefined) spot[what] = at;
    if (raw !== undefined && spot.raw === undefined) spot.raw = raw;
  }

  /** Whether the scanner saw this exact path. */
  has(path: string): boolean {
    return this.spots.has(path);
  }

  /** Position of the key (or of the table header that introduced the path). */
  keyAt(path: string): Loc {
    const s = this.spots.get(path);
    const hit = s && (s.key ?? s.header ?? s.value);
    return hit ?? this.fallback(path);
  }

  /** Position of the value (array element, inline table, scalar); falls back to the key. */
  valueAt(path: string): Loc {
    const s = this.spots.get(path);
    const hit = s && (s.value ?? s.key ?? s.header);
    return hit ?? this.fallback(path);
  }

  /** Position of the `[table]` / `[[table]]` header for a path, if it had one. */
  headerAt(path: string): Loc | undefined {
    return this.spots.get(path)?.header;
  }

  /** Raw source text of a scalar value. */
  rawAt(path: string): string | undefined {
    return this.spots.get(path)?.raw;
  }

  private fallback(path: string): Loc {
    // Walk up the recorded parents; paths never seen are resolved by trimming their textual tail.
    let p: string | null = this.parents.has(path) ? (this.parents.get(path) ?? null) : trimPath(path);
    while (p !== null) {
      const s = this.spots.get(p);
      const hit = s && (s.header ?? s.key ?? s.value);
      if (hit) return hit;
      p = this.parents.has(p) ? (this.parents.get(p) ?? null) : trimPath(p);
    }
    return { line: 1, col: 1 };
  }
}

/** Drop the last segment of a path string (`a.b[0]` -> `a.b`, `a.b` -> `a`, `a` -> null). */
function trimPath(path: string): string | null {
  if (path.endsWith(']')) {
    const i = path.lastIndexOf('[');
    return i > 0 ? path.slice(0, i) : null;
  }
  // Find the last '.' that is not inside a quoted segment.
  let last = -1;
  let quoted = false;
  for (let i = 0; i < path.length; i++) {
    const c = path[i];
    if (c === '\\' && quoted) i++;
    else if (c === '"') quoted = !quoted;
    else if (c === '.' && !quoted) last = i;
  }
  return last > 0 ? path.slice(0, last) : null;
}

/** Scan TOML text and return its locator. Pure; never throws. */
export function locate(text: string): SourceLocator {
  return new Scanner(text).run();
}

// `toml` refuses nesting deeper than 500, so deeper input never reaches validation; stop well before the stack does.
const MAX_DEPTH = 600;

class Scanner {
  private i = 0;
  private readonly lineStarts: number[] = [0];
  private readonly out = new SourceLocator();
  /** Number of `[[x]]` elements seen per concrete path, to number table-array elements. */
  private readonly arrayCounts = new Map<string, number>();

  constructor(private readonly s: string) {
    for (let k = 0; k < s.length; k++) if (s.charCodeAt(k) === 10) this.lineStarts.push(k + 1);
  }

  run(): SourceLocator {
    let table = '';
    const s = this.s;
    if (s.charCodeAt(0) === 0xfeff) this.i = 1;
    while (this.i < s.length) {
      this.skipTrivia(true);
      if (this.i >= s.length) break;
      const start = this.i;
      if (s[this.i] === '[') table = this.header();
      else this.keyValue(table, 0);
      this.skipLineRest();
      if (this.i === start) this.i++; // guarantee progress on garbage
    }
    return this.out;
  }

  private loc(offset: number): Loc {
    // Binary search for the line containing offset.
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - this.lineStarts[lo] + 1 };
  }

  /** Skip spaces, tabs, CR, comments, and (if allowed) newlines. */
  private skipTrivia(newlines: boolean): void {
    const s = this.s;
    while (this.i < s.length) {
      const c = s[this.i];
      if (c === ' ' || c === '\t' || c === '\r' || (newlines && c === '\n')) this.i++;
      else if (c === '#') {
        while (this.i < s.length && s[this.i] !== '\n') this.i++;
      } else break;
    }
  }

  /** After a statement only a comment may follow; skip to the next line regardless. */
  private skipLineRest(): void {
    const s = this.s;
    while (this.i < s.length && s[this.i] !== '\n') this.i++;
  }

  /** `[a.b]` or `[[a.b]]`; returns the concrete table path with table-array indices resolved. */
  private header(): string {
    const s = this.s;
    const at = this.loc(this.i);
    const isArray = s[this.i + 1] === '[';
    this.i += isArray ? 2 : 1;
    const keys = this.keyPath();
    let concrete = '';
    keys.forEach((k, n) => {
      const parent = concrete;
      concrete = joinPath(concrete, k.name);
      if (n === keys.length - 1) {
        this.out.record(parent, concrete, 'header', at);
        if (isArray) {
          const count = this.arrayCounts.get(concrete) ?? 0;
          this.arrayCounts.set(concrete, count + 1);
          const element = joinPath(concrete, count);
          this.out.record(concrete, element, 'header', at);
          concrete = element;
        }
        return;
      }
      this.out.record(parent, concrete, 'header', at);
      // A header path through an array of tables refers to its latest element.
      const count = this.arrayCounts.get(concrete);
      if (count !== undefined) {
        const element = joinPath(concrete, count - 1);
        this.out.record(concrete, element, 'header', at);
        concrete = element;
      }
    });
    return concrete;
  }

  /** A dotted key: `a`, `"a.b".c`, `'x' . y`. */
  private keyPath(): { name: string; at: Loc }[] {
    const s = this.s;
    const keys: { name: string; at: Loc }[] = [];
    for (;;) {
      this.skipTrivia(false);
      if (this.i >= s.length) break;
      const start = this.i;
      const c = s[this.i];
      let name: string;
      if (c === '"') name = this.basicString();
      else if (c === "'") name = this.literalString();
      else {
        while (this.i < s.length && !/[\s.=\]#[{},"']/.test(s[this.i])) this.i++;
        name = s.slice(start, this.i);
        if (name === '') break;
      }
      keys.push({ name, at: this.loc(start) });
      this.skipTrivia(false);
      if (s[this.i] === '.') this.i++;
      else break;
    }
    return keys;
  }

  /** `key = value` relative to `base`. */
  private keyValue(base: string, depth: number): void {
    const keys = this.keyPath();
    if (keys.length === 0) return;
    let p = base;
    let parent = base;
    for (const k of keys) {
      parent = p;
      p = joinPath(p, k.name);
      this.out.record(parent, p, 'key', k.at);
    }
    this.skipTrivia(false);
    if (this.s[this.i] !== '=') return;
    this.i++;
    this.skipTrivia(false);
    this.value(parent, p, depth);
  }

  /** The value at path `p`, whose enclosing path is `parent`. */
  private value(parent: string, p: string, depth: number): void {
    const s = this.s;
    if (this.i >= s.length) return;
    if (depth > MAX_DEPTH) {
      this.skipLineRest();
      return;
    }
    const start = this.i;
    const at = this.loc(start);
    const c = s[this.i];
    if (c === '[') {
      this.out.record(parent, p, 'value', at, '[');
      this.i++;
      for (let n = 0; ; n++) {
        this.skipTrivia(true);
        if (this.i >= s.length) return;
        if (s[this.i] === ']') {
          this.i++;
          return;
        }
        const before = this.i;
        this.value(p, joinPath(p, n), depth + 1);
        this.skipTrivia(true);
        if (s[this.i] === ',') this.i++;
        else if (s[this.i] === ']') {
          this.i++;
          return;
        } else if (this.i === before) return; // not an array we understand; give up on it
      }
    }
    if (c === '{') {
      this.out.record(parent, p, 'value', at, '{');
      this.i++;
      for (;;) {
        this.skipTrivia(true);
        if (this.i >= s.length) return;
        if (s[this.i] === '}') {
          this.i++;
          return;
        }
        const before = this.i;
        this.keyValue(p, depth + 1);
        this.skipTrivia(true);
        if (s[this.i] === ',') this.i++;
        else if (s[this.i] === '}') {
          this.i++;
          return;
        } else if (this.i === before) return;
      }
    }
    if (c === '"') this.basicString();
    else if (c === "'") this.literalString();
    else {
      // Numbers, booleans, dates (a local date-time may contain one space).
      while (this.i < s.length && !/[,\]}#\n]/.test(s[this.i])) this.i++;
      let end = this.i;
      while (end > start && /[ \t\r]/.test(s[end - 1])) end--;
      this.out.record(parent, p, 'value', at, s.slice(start, end));
      return;
    }
    this.out.record(parent, p, 'value', at, s.slice(start, this.i));
  }

  /** `"..."` or `"""..."""`; returns the (unescaped enough for keys) content. */
  private basicString(): string {
    const s = this.s;
    if (s.startsWith('"""', this.i)) {
      this.i += 3;
      const from = this.i;
      while (this.i < s.length && !s.startsWith('"""', this.i)) this.i += s[this.i] === '\\' ? 2 : 1;
      const body = s.slice(from, Math.min(this.i, s.length));
      this.i = Math.min(this.i + 3, s.length);
      // Up to two quotes may directly precede the closing delimiter.
      for (let k = 0; k < 2 && s[this.i] === '"'; k++) this.i++;
      return body;
    }
    this.i++;
    let out = '';
    while (this.i < s.length && s[this.i] !== '"' && s[this.i] !== '\n') {
      if (s[this.i] === '\\') {
        out += unescapeAt(s, this.i);
        this.i += escapeLength(s, this.i);
      } else out += s[this.i++];
    }
    if (s[this.i] === '"') this.i++;
    return out;
  }

  /** `'...'` or `'''...'''`. */
  private literalString(): string {
    const s = this.s;
    if (s.startsWith("'''", this.i)) {
      this.i += 3;
      const end = s.indexOf("'''", this.i);
      const stop = end < 0 ? s.length : end;
      const body = s.slice(this.i, stop);
      this.i = Math.min(stop + 3, s.length);
      for (let k = 0; k < 2 && s[this.i] === "'"; k++) this.i++;
      return body;
    }
    this.i++;
    const from = this.i;
    while (this.i < s.length && s[this.i] !== "'" && s[this.i] !== '\n') this.i++;
    const body = s.slice(from, this.i);
    if (s[this.i] === "'") this.i++;
    return body;
  }
}

const SIMPLE_ESCAPES: Record<string, string> = {
  b: '\b',
  t: '\t',
  n: '\n',
  f: '\f',
  r: '\r',
  e: '\x1b',
  '"': '"',
  '\\': '\\',
};

function escapeLength(s: string, i: number): number {
  const c = s[i + 1];
  if (c === 'u') return 6;
  if (c === 'U') return 10;
  if (c === 'x') return 4;
  return 2;
}

/** Decode one escape in a quoted key, so `"mac\u002daging"` is found as `mac-aging` like `toml` sees it. */
function unescapeAt(s: string, i: number): string {
  const c = s[i + 1];
  if (c === undefined) return '';
  if (c in SIMPLE_ESCAPES) return SIMPLE_ESCAPES[c];
  if (c === 'u' || c === 'U' || c === 'x') {
    const hex = s.slice(i + 2, i + escapeLength(s, i));
    const cp = /^[0-9a-fA-F]+$/.test(hex) ? parseInt(hex, 16) : NaN;
    return Number.isFinite(cp) && cp <= 0x10ffff ? String.fromCodePoint(cp) : '';
  }
  return c;
}
