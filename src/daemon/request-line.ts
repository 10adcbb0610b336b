/**
 * From one request line to a request netmgrd may run, or the `invalid` answer saying why not: the line's nesting
 * checked by a bracket scan before JSON.parse sees it, then parsed, then the op looked up and the line held to
 * that op's length limit, then the params checked against the op's schema (./protocol), the first problem
 * answered with the JSON pointer of the member it is in (`/sources/0/file: expected string`).
 * Pure apart from a cache of compiled schemas.
 */
import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { messageOf } from '../util/errors';
import { MAX_JSON_DEPTH } from './limits';
import type { ErrorBody, RequestType } from './protocol';

/** An unknown op is quoted in its answer up to this length (ops are short words; the rest is noise). */
const MAX_QUOTED_OP_LENGTH = 64;

/** Any request definition, whatever its params and result. */
export type AnyRequestType = RequestType<unknown, unknown>;

/** A request line, read: the definition and params to run, or the refusal to answer. */
export type ParsedRequest =
  { ok: true; type: AnyRequestType; params: Record<string, unknown> } | { ok: false; error: ErrorBody };

const OPEN_BRACKET = 0x5b; // [
const CLOSE_BRACKET = 0x5d; // ]
const OPEN_BRACE = 0x7b; // {
const CLOSE_BRACE = 0x7d; // }
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \

/**
 * The offset of the first `[` or `{` that nests deeper than maxDepth, counting only brackets outside strings; -1
 * when the text stays within it. Linear, no recursion, no allocation: safe on any input, JSON or not (closing
 * brackets never make the depth negative, so `]]]][[[[` is measured like `[[[[`).
 */
export function nestingTooDeepAt(text: string, maxDepth: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      if (++depth > maxDepth) return i;
    } else if ((c === CLOSE_BRACKET || c === CLOSE_BRACE) && depth > 0) depth--;
  }
  return -1;
}

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();

/** The schema's compiled check, compiled once per schema. */
function checkerOf(schema: TSchema): TypeCheck<TSchema> {
  let check = compiled.get(schema);
  if (!check) {
    check = TypeCompiler.Compile(schema);
    compiled.set(schema, check);
  }
  return check;
}

/** What a TypeBox error says, in the answer's words: `expected string`, `is required`, `expected one of ...`. */
function problemOf(e: ValueError): string {
  if (e.type === ValueErrorType.ObjectRequiredProperty) return 'is required';
  if (e.type === ValueErrorType.ObjectAdditionalProperties) return 'is not a member of this request';
  const options = (e.schema as { anyOf?: { const?: unknown }[] }).anyOf;
  if (e.type === ValueErrorType.Union && options?.every((o) => typeof o.const === 'string'))
    return `expected one of ${options.map((o) => JSON.stringify(o.const)).join(', ')}`;
  return e.message.charAt(0).toLowerCase() + e.message.slice(1);
}

/** An `invalid` answer about one member of the request ('' is the whole line). */
export const invalidAt = (path: string, problem: string): ErrorBody => ({
  kind: 'invalid',
  message: `${path === '' ? 'the request' : path}: ${problem}`,
  path,
});

/** The first problem of a value against a schema (as an `invalid` answer), or undefined when it conforms. */
export function schemaProblem(schema: TSchema, value: unknown): ErrorBody | undefined {
  const check = checkerOf(schema);
  if (check.Check(value)) return undefined;
  const first = check.Errors(value).First();
  return first ? invalidAt(first.path, problemOf(first)) : invalidAt('', 'does not conform to its schema');
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * One request line (newline excluded; lineBytes its length in bytes) against the requests netmgrd knows.
 * Never throws: whatever the line holds, the result is a request to run or an answer to send.
 */
export function parseRequestLine(
  line: string,
  lineBytes: number,
  lookup: (op: string) => AnyRequestType | undefined,
): ParsedRequest {
  const tooDeep = nestingTooDeepAt(line, MAX_JSON_DEPTH);
  if (tooDeep >= 0)
    return { ok: false, error: invalidAt('', `nested deeper than ${MAX_JSON_DEPTH} levels (at byte ${tooDeep})`) };
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    return { ok: false, error: { kind: 'invalid', message: `bad request: ${messageOf(e)}`, path: '' } };
  }
  if (!isObject(value)) return { ok: false, error: invalidAt('', 'expected an object {"op": ..., ...}') };
  const { op, ...params } = value;
  if (typeof op !== 'string') return { ok: false, error: invalidAt('/op', 'expected string') };
  const type = lookup(op);
  // (No `path` here: the message names the op, and the body is the one netmgrd has always answered.)
  if (!type)
    return {
      ok: false,
      error: { kind: 'invalid', message: `unknown request ${JSON.stringify(op.slice(0, MAX_QUOTED_OP_LENGTH))}` },
    };
  if (lineBytes > type.maxLineBytes)
    return {
      ok: false,
      error: invalidAt('', `a ${op} request line is at most ${type.maxLineBytes} bytes; this one has ${lineBytes}`),
    };
  const problem = schemaProblem(type.params, params);
  return problem ? { ok: false, error: problem } : { ok: true, type, params };
}
