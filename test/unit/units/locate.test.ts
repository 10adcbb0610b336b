import * as fs from 'fs';
import * as path from 'path';
import { parse as parseToml } from 'smol-toml';
import { locate, pathKey } from '../../../src/units/locate';

/** Line/col of the first occurrence of `needle` (optionally the n-th) in text, for readable expectations. */
function at(text: string, needle: string, nth = 0): { line: number; col: number } {
  let i = -1;
  for (let k = 0; k <= nth; k++) {
    i = text.indexOf(needle, i + 1);
    if (i < 0) throw new Error(`${needle} not found`);
  }
  const before = text.slice(0, i).split('\n');
  return { line: before.length, col: before[before.length - 1].length + 1 };
}

describe('pathKey', () => {
  test('bare, indexed and quoted segments', () => {
    expect(pathKey(['bridge', 'mac-aging'])).toBe('bridge.mac-aging');
    expect(pathKey(['bridge', 'flow', 1, 'match'])).toBe('bridge.flow[1].match');
    expect(pathKey(['ipv4', 'addresses', 2])).toBe('ipv4.addresses[2]');
    expect(pathKey(['a.b', 'c d', 'é'])).toBe('"a.b"."c d"."é"');
  });
});

describe('locate', () => {
  test('tables, keys and values', () => {
    const t = '[unit]\ntype = "bridge"\n[bridge]\n  mac-aging   =   300\n';
    const l = locate(t);
    expect(l.headerAt('unit')).toEqual({ line: 1, col: 1 });
    expect(l.keyAt('unit.type')).toEqual({ line: 2, col: 1 });
    expect(l.valueAt('unit.type')).toEqual({ line: 2, col: 8 });
    expect(l.keyAt('bridge.mac-aging')).toEqual({ line: 4, col: 3 });
    expect(l.valueAt('bridge.mac-aging')).toEqual({ line: 4, col: 19 });
    expect(l.rawAt('bridge.mac-aging')).toBe('300');
    expect(l.rawAt('unit.type')).toBe('"bridge"');
  });

  test('arrays of tables are numbered per element, nested ones per parent element', () => {
    const t = [
      '[[bridge.flow]]',
      'match = "a"',
      '[[bridge.flow]]',
      'match = "b"',
      'actions = "c"',
      '[[x]]',
      '[[x.y]]',
      'k = 1',
      '[[x]]',
      '[[x.y]]',
      'k = 2',
      '[[x.y]]',
      'k = 3',
      '[x.y.z]',
      'q = 4',
    ].join('\n');
    const l = locate(t);
    expect(l.valueAt('bridge.flow[0].match')).toEqual(at(t, '"a"'));
    expect(l.valueAt('bridge.flow[1].match')).toEqual(at(t, '"b"'));
    expect(l.valueAt('bridge.flow[1].actions')).toEqual(at(t, '"c"'));
    expect(l.keyAt('bridge.flow[1]')).toEqual({ line: 3, col: 1 });
    expect(l.keyAt('bridge.flow')).toEqual({ line: 1, col: 1 });
    expect(l.valueAt('x[0].y[0].k')).toEqual(at(t, '1'));
    expect(l.valueAt('x[1].y[0].k')).toEqual(at(t, '2'));
    expect(l.valueAt('x[1].y[1].k')).toEqual(at(t, '3'));
    expect(l.valueAt('x[1].y[1].z.q')).toEqual(at(t, '4'));
  });

  test('quoted keys, dotted keys and spaces around dots', () => {
    const t = '"unit" . \'type\' = "port"\n[ "a.b" . c ]\n"mac-aging" = 5\nlink.mtu = 9\n"esc\\u0061ped" = 1\n';
    const l = locate(t);
    expect(l.keyAt('unit.type')).toEqual({ line: 1, col: 10 });
    expect(l.keyAt('unit')).toEqual({ line: 1, col: 1 });
    expect(l.valueAt('unit.type')).toEqual({ line: 1, col: 19 });
    expect(l.keyAt('"a.b".c.mac-aging')).toEqual({ line: 3, col: 1 });
    expect(l.keyAt('"a.b".c.link.mtu')).toEqual({ line: 4, col: 6 });
    expect(l.valueAt('"a.b".c.link.mtu')).toEqual({ line: 4, col: 12 });
    expect(l.keyAt('"a.b".c.escaped')).toEqual({ line: 5, col: 1 });
  });

  test('multi-line arrays with comments; strings with #, = and ]', () => {
    const t = [
      '[ipv4]',
      'addresses = [ # a comment ] = "',
      '  "198.18.0.1/24",  # first',
      '',
      '  "#=]", \'lit]#\',',
      '  [1, [2, 3]],',
      ']',
      'after = "x # y" # real comment',
    ].join('\n');
    const l = locate(t);
    expect(l.valueAt('ipv4.addresses')).toEqual({ line: 2, col: 13 });
    expect(l.valueAt('ipv4.addresses[0]')).toEqual({ line: 3, col: 3 });
    expect(l.valueAt('ipv4.addresses[1]')).toEqual({ line: 5, col: 3 });
    expect(l.valueAt('ipv4.addresses[2]')).toEqual({ line: 5, col: 10 });
    expect(l.valueAt('ipv4.addresses[3][1][0]')).toEqual({ line: 6, col: 8 });
    expect(l.valueAt('ipv4.after')).toEqual({ line: 8, col: 9 });
    expect(l.rawAt('ipv4.after')).toBe('"x # y"');
  });

  test('multi-line strings do not confuse the scanner', () => {
    const t = 'a = """\n[not.a.table]\nb = 1 """\nc = \'\'\'\nd = 2\'\'\'\ne = "q\\"uote" \nf = """x""""\ng = 7\n';
    const l = locate(t);
    expect(l.has('not.a.table')).toBe(false);
    expect(l.has('b')).toBe(false);
    expect(l.has('d')).toBe(false);
    expect(l.valueAt('c')).toEqual({ line: 4, col: 5 });
    expect(l.valueAt('e')).toEqual({ line: 6, col: 5 });
    expect(l.valueAt('g')).toEqual({ line: 8, col: 5 });
  });

  test('inline tables, including nested and multi-line ones', () => {
    const t = 'flow = [\n  { match = "a", actions = "b" },\n  {\n    match = "c", x.y = { z = 1 } },\n]\n';
    const l = locate(t);
    expect(l.valueAt('flow[0]')).toEqual({ line: 2, col: 3 });
    expect(l.valueAt('flow[0].actions')).toEqual(at(t, '"b"'));
    expect(l.valueAt('flow[1].match')).toEqual(at(t, '"c"'));
    expect(l.keyAt('flow[1].x.y')).toEqual(at(t, 'y ='));
    expect(l.valueAt('flow[1].x.y.z')).toEqual(at(t, '1 }'));
  });

  test('dates and numbers keep their raw text', () => {
    const t = 'd = 1979-05-27 07:32:00 # comment\nn = 0x1f\nf = 1e3\n';
    const l = locate(t);
    expect(l.rawAt('d')).toBe('1979-05-27 07:32:00');
    expect(l.rawAt('n')).toBe('0x1f');
    expect(l.rawAt('f')).toBe('1e3');
  });

  test('CRLF line ends and a BOM', () => {
    const t = '\ufeff[unit]\r\ntype = "port"\r\n[link]\r\nmtu = 1\r\n';
    const l = locate(t);
    expect(l.headerAt('unit')).toEqual({ line: 1, col: 2 });
    expect(l.valueAt('link.mtu')).toEqual({ line: 4, col: 7 });
    expect(l.rawAt('link.mtu')).toBe('1');
  });

  test('fallbacks: the enclosing header, then 1:1', () => {
    const t = '# c\n\n[bridge]\nx = 1\n[[bridge.flow]]\n';
    const l = locate(t);
    expect(l.keyAt('bridge.mac-aging')).toEqual({ line: 3, col: 1 });
    expect(l.valueAt('bridge.flow[0].match')).toEqual({ line: 5, col: 1 });
    expect(l.valueAt('bridge.flow[7].match')).toEqual({ line: 5, col: 1 });
    expect(l.keyAt('port.kind')).toEqual({ line: 1, col: 1 });
    expect(l.headerAt('port')).toBeUndefined();
  });

  test('the first definition of a path wins', () => {
    const t = '[a.b]\nx = 1\n[a]\ny = 2\n';
    const l = locate(t);
    expect(l.keyAt('a')).toEqual({ line: 1, col: 1 });
    expect(l.keyAt('a.y')).toEqual({ line: 4, col: 1 });
  });

  test('never throws on garbage', () => {
    const samples = [
      '[',
      '[[',
      '"',
      "'''",
      'a = [',
      'a = {',
      '= = =',
      '[a.]',
      'a."',
      '\\',
      'a = """',
      'x = [1,,]',
      '{}}}]]]',
    ];
    for (const s of samples) expect(() => locate(s)).not.toThrow();
    expect(() => locate(`a = ${'['.repeat(5000)}`)).not.toThrow();
  });
});

describe('locate agrees with the toml parser', () => {
  // Every value `toml` returns must have a recorded position, for every golden unit file that parses.
  const root = path.join(__dirname, '..', '..', 'golden', 'units');
  const files = fs.readdirSync(root).flatMap((d) =>
    fs
      .readdirSync(path.join(root, d))
      .filter((f) => f.endsWith('.toml'))
      .map((f) => path.join(root, d, f)),
  );

  function leaves(v: unknown, p: (string | number)[], out: string[]): string[] {
    if (Array.isArray(v)) v.forEach((x, i) => leaves(x, [...p, i], out));
    else if (typeof v === 'object' && v !== null && !(v instanceof Date)) {
      for (const k of Object.keys(v)) leaves((v as Record<string, unknown>)[k], [...p, k], out);
    } else out.push(pathKey(p));
    return out;
  }

  test.each(files.map((f) => [path.relative(root, f), f]))('%s', (_name, file) => {
    const text = fs.readFileSync(file, 'utf8').replace(/^\ufeff/, '');
    let doc: unknown;
    try {
      doc = parseToml(text, { integersAsBigInt: true });
    } catch {
      return; // syntax-error cases
    }
    const l = locate(text);
    for (const p of leaves(doc, [], [])) expect({ p, found: l.has(p) }).toEqual({ p, found: true });
  });
});
