/**
 * Request generators for the daemon fuzz test, driven by the protocol's own schemas (src/daemon/protocol.ts):
 * a value sampled from a params schema is a valid request; one deliberate mutation of it (a wrong type, a missing
 * required member, an unknown member, an over-long string, an unknown op) is an invalid one whose answer must name
 * the member mutated. Deterministic: everything comes from the caller's seeded PRNG.
 */
import type { TSchema } from '@sinclair/typebox';
import { REQUESTS } from '../../src/daemon/protocol';

export type Rng = () => number;

/** Per-member value pools: a member named here takes one of these instead of a random value. */
export type Pools = Record<string, readonly unknown[]>;

const pick = <T>(rnd: Rng, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
const int = (rnd: Rng, lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));

/** Characters that stress escaping: quotes, backslashes, control characters, non-ASCII, a lone surrogate. */
const ALPHABET = [
  'a',
  'b',
  'z',
  '0',
  '9',
  '-',
  '_',
  '/',
  ' ',
  '"',
  '\\',
  '\n',
  '\t',
  '\u0000',
  'é',
  '€',
  '🦀',
  '\ud800',
];

export const randomString = (rnd: Rng, max: number): string =>
  Array.from({ length: int(rnd, 0, max) }, () => pick(rnd, ALPHABET)).join('');

interface SchemaShape {
  type?: string;
  anyOf?: SchemaShape[];
  const?: unknown;
  properties?: Record<string, SchemaShape>;
  required?: string[];
  items?: SchemaShape;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
}

/** A value the schema accepts; members named in pools come from there. */
export function sampleValue(schema: TSchema, rnd: Rng, pools: Pools = {}): unknown {
  const s = schema as SchemaShape;
  if (s.anyOf) return sampleValue(pick(rnd, s.anyOf) as TSchema, rnd, pools);
  if ('const' in s) return s.const;
  switch (s.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [key, prop] of Object.entries(s.properties ?? {})) {
        if (!s.required?.includes(key) && rnd() < 0.5) continue;
        out[key] = pools[key] ? pick(rnd, pools[key]) : sampleValue(prop as TSchema, rnd, pools);
      }
      return out;
    }
    case 'string': {
      const min = s.minLength ?? 0;
      const text = randomString(rnd, Math.min(s.maxLength ?? 24, 24));
      return text.length >= min ? text : text + 'x'.repeat(min - text.length);
    }
    case 'integer':
      return int(rnd, s.minimum ?? 0, Math.min(s.maximum ?? 1000, 1000));
    case 'boolean':
      return rnd() < 0.5;
    case 'array':
      return Array.from({ length: int(rnd, 0, 2) }, () => sampleValue(s.items as TSchema, rnd, pools));
    default:
      return null;
  }
}

/** A JSON value of another type than the schema's (so the member is wrong whatever it holds). */
function wrongTypeFor(schema: SchemaShape, rnd: Rng): unknown {
  const type = schema.anyOf ? 'string' : (schema.type ?? 'null');
  const candidates: [string, unknown][] = [
    ['string', randomString(rnd, 8)],
    ['integer', int(rnd, -5, 5)],
    ['number', 0.5],
    ['boolean', true],
    ['null', null],
    ['array', [1, 'x']],
    ['object', { a: 1 }],
  ];
  const other = candidates.filter(([t]) => t !== type && !(type === 'number' && t === 'integer'));
  return pick(rnd, other)[1];
}

/** An invalid request: the wire object and the JSON pointer its answer must name ('' for the whole request). */
export interface MutatedRequest {
  wire: unknown;
  path: string;
  how: string;
}

/** One deliberate mutation of a valid params object of the request `op` with schema `schema`. */
export function mutate(op: string, schema: TSchema, params: Record<string, unknown>, rnd: Rng): MutatedRequest {
  const s = schema as SchemaShape;
  const props = Object.entries(s.properties ?? {});
  const required = s.required ?? [];
  const choice = rnd();
  if (choice < 0.3 && props.length) {
    const [key, prop] = pick(rnd, props);
    return { wire: { op, ...params, [key]: wrongTypeFor(prop, rnd) }, path: `/${key}`, how: 'wrong type' };
  }
  if (choice < 0.45 && required.length) {
    const key = pick(rnd, required);
    const rest = { ...params };
    delete rest[key];
    return { wire: { op, ...rest }, path: `/${key}`, how: 'missing' };
  }
  if (choice < 0.6) {
    const key = `zz${int(rnd, 0, 99)}`;
    return {
      wire: { op, ...params, [key]: sampleValue({ type: 'string' } as unknown as TSchema, rnd) },
      path: `/${key}`,
      how: 'unknown member',
    };
  }
  const strings = props.filter(([, p]) => p.type === 'string' && p.maxLength !== undefined && p.maxLength < 30_000);
  if (choice < 0.7 && strings.length) {
    const [key, prop] = pick(rnd, strings);
    return { wire: { op, ...params, [key]: 'x'.repeat(prop.maxLength! + 1) }, path: `/${key}`, how: 'too long' };
  }
  if (choice < 0.8)
    return { wire: { ...params, op: wrongTypeFor({ type: 'string' }, rnd) }, path: '/op', how: 'op type' };
  if (choice < 0.9) return { wire: pick(rnd, [null, 7, 'ping', [{ op }], true]), path: '', how: 'not an object' };
  return { wire: { op: unknownOp(rnd), ...params }, path: 'unknown', how: 'unknown op' };
}

const OPS = new Set(REQUESTS.map((t) => t.method));

/** An op netmgrd does not know: near misses of real ones, and random text. */
export function unknownOp(rnd: Rng): string {
  const base = pick(rnd, [...OPS]);
  const candidates = [
    base.toUpperCase(),
    base + 's',
    ' ' + base,
    base.slice(1),
    randomString(rnd, 12),
    '__proto__',
    'constructor',
    'toString',
    '',
  ];
  const op = pick(rnd, candidates);
  return OPS.has(op) ? op + '!' : op;
}

/** A line nested `depth` levels deep inside an apply request (within apply's line limit, so the scan refuses it). */
export const deeplyNested = (depth: number): string =>
  `{"op":"apply","sources":${'['.repeat(depth)}${']'.repeat(depth)},"dir":"/"}`;
