/**
 * A request line to a request or an `invalid` answer: table-driven (line -> answer kind and the JSON pointer of
 * the member at fault), the bracket scan that keeps deep nesting from JSON.parse, and the per-op line limits.
 */
import { MAX_APPLY_LINE_BYTES, MAX_JSON_DEPTH, MAX_LINE_BYTES } from '../../../src/daemon/limits';
import { REQUESTS } from '../../../src/daemon/protocol';
import { nestingTooDeepAt, parseRequestLine, type AnyRequestType } from '../../../src/daemon/request-line';

const byOp = new Map<string, AnyRequestType>(REQUESTS.map((t) => [t.method, t as AnyRequestType]));
const parse = (line: string) => parseRequestLine(line, Buffer.byteLength(line), (op) => byOp.get(op));
const unit = { file: '/etc/netmgr/a.toml', text: '[unit]\ntype = "namespace"\n' };

describe('valid requests reach their definition with their params', () => {
  test.each([
    ['{"op":"ping"}', 'ping', {}],
    ['{"op":"live"}', 'live', {}],
    ['{"op":"status","unitDir":"/etc/netmgr"}', 'status', { unitDir: '/etc/netmgr' }],
    [
      JSON.stringify({ op: 'apply', sources: [unit], dir: '/etc/netmgr' }),
      'apply',
      { sources: [unit], dir: '/etc/netmgr' },
    ],
    [
      JSON.stringify({ op: 'apply', sources: [], dir: '/u', confirmSeconds: 30 }),
      'apply',
      { sources: [], dir: '/u', confirmSeconds: 30 },
    ],
    ['{"op":"dpctl","command":"show"}', 'dpctl', { command: 'show' }],
    [
      '{"op":"dpctl","command":"mod-flow","bridge":"br0","flow":"in_port(1)","actions":"2","clear":true,"mayCreate":false}',
      'dpctl',
      { command: 'mod-flow', bridge: 'br0', flow: 'in_port(1)', actions: '2', clear: true, mayCreate: false },
    ],
    ['{"op":"fdb","command":"flush"}', 'fdb', { command: 'flush' }],
    ['{"op":"trace","bridge":"sw0","flow":"in_port(1),eth()"}', 'trace', { bridge: 'sw0', flow: 'in_port(1),eth()' }],
    ['  {"bridge":"sw0","flow":"x","op":"trace"}\r', 'trace', { bridge: 'sw0', flow: 'x' }],
  ])('%s', (line, op, params) => {
    const r = parse(line);
    expect(r.ok && { op: r.type.method, params: r.params }).toEqual({ op, params });
  });
});

describe('malformed requests answer invalid, naming the member at fault', () => {
  test.each([
    // The examples.
    ['{"op":"status","unitDir":5}', '/unitDir', '/unitDir: expected string'],
    ['{"op":"apply"}', '/sources', '/sources: is required'],
    ['{"op":"trace","bridge":"sw0"}', '/flow', '/flow: is required'],
    ['{"op":"apply","sources":[null],"dir":"/u"}', '/sources/0', '/sources/0: expected object'],
    [
      '{"op":"apply","sources":[{"file":5,"text":""}],"dir":"/u"}',
      '/sources/0/file',
      '/sources/0/file: expected string',
    ],
    ['{"op":"apply","sources":[{"text":""}],"dir":"/u"}', '/sources/0/file', '/sources/0/file: is required'],
    ['{"op":"frobnicate"}', undefined, 'unknown request "frobnicate"'],
    // The retired test hooks are not members of apply any more.
    ['{"op":"apply","sources":[],"dir":"/u","killAfterStep":3}', '/killAfterStep', 'is not a member of this request'],
    ['{"op":"apply","sources":[],"dir":"/u","confirmSeconds":1.5}', '/confirmSeconds', 'expected integer'],
    ['{"op":"apply","sources":[],"dir":"/u","confirmSeconds":0}', '/confirmSeconds', 'greater or equal to 1'],
    ['{"op":"apply","sources":[],"dir":""}', '/dir', 'length greater or equal to 1'],
    ['{"op":"dpctl","command":"drop-table"}', '/command', 'expected one of "show", "dump-flows", "add-flow"'],
    ['{"op":"dpctl","command":"show","more":"yes"}', '/more', 'expected boolean'],
    ['{"op":"fdb"}', '/command', 'is required'],
    ['{"op":"ping","extra":1}', '/extra', 'is not a member of this request'],
    [`{"op":"trace","bridge":"${'b'.repeat(256)}","flow":"x"}`, '/bridge', 'less or equal to 255'],
    ['{"op":5}', '/op', '/op: expected string'],
    ['{"unitDir":"/x"}', '/op', '/op: expected string'],
    ['null', '', 'the request: expected an object'],
    ['[{"op":"ping"}]', '', 'the request: expected an object'],
    ['"ping"', '', 'the request: expected an object'],
    ['{op', '', 'bad request: '],
    ['', '', 'bad request: '],
    ['{"op":"ping"} {"op":"ping"}', '', 'bad request: '],
  ])('%s', (line, path, message) => {
    const r = parse(line);
    if (r.ok) throw new Error(`accepted: ${line}`);
    expect(r.error.kind).toBe('invalid');
    expect(r.error.path).toBe(path);
    expect(r.error.message).toContain(message);
  });
});

describe('line limits per op', () => {
  test('a status line over MAX_LINE_BYTES is refused by its op; an apply line of that size is not', () => {
    const status = JSON.stringify({ op: 'status', unitDir: 'x'.repeat(MAX_LINE_BYTES) });
    const r = parse(status);
    expect(r.ok || r.error).toMatchObject({ kind: 'invalid', path: '' });
    expect(r.ok || r.error.message).toMatch(/a status request line is at most 65536 bytes/);
    const apply = JSON.stringify({
      op: 'apply',
      sources: [{ file: '/a', text: 'x'.repeat(MAX_LINE_BYTES) }],
      dir: '/',
    });
    expect(parse(apply).ok).toBe(true);
  });

  test('a unit text over its own limit is refused with its path, within the apply line limit', () => {
    const text = 'x'.repeat(2 * 1024 * 1024);
    const r = parse(JSON.stringify({ op: 'apply', sources: [{ file: '/a', text }], dir: '/' }));
    expect(r.ok || r.error).toMatchObject({ kind: 'invalid', path: '/sources/0/text' });
    expect(MAX_APPLY_LINE_BYTES).toBeGreaterThan(text.length);
  });
});

describe('the nesting scan before JSON.parse', () => {
  test.each([
    ['{}', 1, -1],
    ['{}', 0, 0],
    ['[[[]]]', 3, -1],
    ['[[[[]]]]', 3, 3],
    ['{"a":[{"b":[1]}]}', 4, -1],
    ['{"a":[{"b":[1]}]}', 3, 11],
    // Brackets inside strings do not count, escaped quotes do not end the string.
    ['["[[[[[[", "\\"[[[[["]', 1, -1],
    ['["\\\\", [[1]]]', 2, 8],
    // Closing brackets first do not buy depth.
    [']]]]]][[[', 2, 8],
    ['not json at all {', 1, -1],
  ])('%j with at most %d levels: too deep at %d', (text, max, at) => {
    expect(nestingTooDeepAt(text, max)).toBe(at);
  });

  test('100,000 levels are refused without recursion, fast, and never reach JSON.parse', () => {
    const deep = '{"op":"status","unitDir":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}';
    const parseSpy = jest.spyOn(JSON, 'parse');
    const t0 = process.hrtime.bigint();
    const r = parse(deep);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    expect(parseSpy).not.toHaveBeenCalled();
    parseSpy.mockRestore();
    expect(r.ok || r.error.message).toBe(
      `the request: nested deeper than ${MAX_JSON_DEPTH} levels (at byte ${25 + MAX_JSON_DEPTH - 1})`,
    );
    expect(ms).toBeLessThan(200);
  });

  test('the deepest valid request is well within the limit', () => {
    const apply = JSON.stringify({ op: 'apply', sources: [unit], dir: '/' });
    expect(nestingTooDeepAt(apply, 3)).toBe(-1);
    expect(MAX_JSON_DEPTH).toBeGreaterThan(3);
  });
});
