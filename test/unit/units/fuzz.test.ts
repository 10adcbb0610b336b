/**
 * Deterministic fuzzing of parseUnits: 5,000 mutated unit files. Whatever the input, parseUnits must not throw and
 * must either return a state with no errors, or null with located, non-empty errors.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseUnits, UnitSource } from '../../../src/units';
import { prng } from '../../helpers/prng';

const GOLDEN = path.join(__dirname, '..', '..', 'golden', 'units');
const corpus: string[] = fs
  .readdirSync(GOLDEN)
  .sort()
  .flatMap((d) => {
    const dir = path.join(GOLDEN, d);
    return fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.toml'))
      .sort()
      .map((f) => fs.readFileSync(path.join(dir, f), 'utf8'));
  });

const CHARS = [
  '[',
  ']',
  '{',
  '}',
  '"',
  "'",
  '=',
  '#',
  '.',
  ',',
  '\n',
  ' ',
  '\t',
  '\r',
  '\\',
  '0',
  '9',
  'a',
  '-',
  '_',
  ':',
  '/',
];
const UNICODE = ['é', 'ü', 'ß', '🙂', '\u0000', '\u200b', '\ufeff', '\ud800', '\u202e', 'ﬁ', '١'];
const VALUES = [
  '"str"',
  '""',
  '12',
  '-0',
  '1.5',
  'true',
  '[1, 2]',
  '[]',
  '{ a = 1 }',
  '1979-05-27',
  '07:32:00',
  'inf',
  'nan',
  '"02:00:00:00:00:01"',
  '["198.18.0.1/24"]',
  '"veth"',
  '"br0"',
];
const HUGE = [
  '99999999999999999999999',
  '9223372036854775807',
  '-9223372036854775808',
  '1e400',
  '0xffffffffffffffff',
  '9007199254740993',
  '4095',
  '0',
];
const NAMES = ['u', 'br0', 'p1', 'a b', 'very-long-unit-name', 'é', '..', 'x:y'];

function mutate(text: string, rnd: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const pos = (): number => Math.floor(rnd() * (text.length + 1));
  const lines = (): string[] => text.split('\n');
  const kv = /^(\s*[^=\s[#][^=]*?=\s*)(.*)$/;
  switch (Math.floor(rnd() * 14)) {
    case 0: {
      const i = pos();
      return text.slice(0, i) + text.slice(i + 1);
    }
    case 1: {
      const i = pos();
      return text.slice(0, i) + pick(CHARS) + text.slice(i);
    }
    case 2: {
      const i = pos();
      return text.slice(0, i) + text.slice(i, i + 1) + text.slice(i);
    }
    case 3: {
      const l = lines();
      l.splice(Math.floor(rnd() * l.length), 1);
      return l.join('\n');
    }
    case 4: {
      const l = lines();
      const i = Math.floor(rnd() * l.length);
      l.splice(i, 0, l[i]);
      return l.join('\n');
    }
    case 5: {
      const l = lines();
      const i = Math.floor(rnd() * l.length);
      const j = Math.floor(rnd() * l.length);
      [l[i], l[j]] = [l[j], l[i]];
      return l.join('\n');
    }
    case 6: {
      // Swap the values of two `key = value` lines.
      const l = lines();
      const idx = l.map((x, i) => (kv.test(x) ? i : -1)).filter((i) => i >= 0);
      if (idx.length < 2) return text;
      const [a, b] = [pick(idx), pick(idx)];
      const ma = kv.exec(l[a]) as RegExpExecArray;
      const mb = kv.exec(l[b]) as RegExpExecArray;
      l[a] = ma[1] + mb[2];
      l[b] = mb[1] + ma[2];
      return l.join('\n');
    }
    case 7:
    case 8: {
      // A random type, or a huge number, for some value.
      const l = lines();
      const idx = l.map((x, i) => (kv.test(x) ? i : -1)).filter((i) => i >= 0);
      if (idx.length === 0) return text;
      const i = pick(idx);
      l[i] = (kv.exec(l[i]) as RegExpExecArray)[1] + pick(rnd() < 0.5 ? VALUES : HUGE);
      return l.join('\n');
    }
    case 9: {
      const i = pos();
      return text.slice(0, i) + pick(UNICODE) + text.slice(i);
    }
    case 10: {
      // Deep nesting, around and beyond the parser's depth limit.
      const n = pick([3, 64, 499, 500, 501, 3000]);
      const v = rnd() < 0.5 ? `${'['.repeat(n)}${']'.repeat(n)}` : `${'{ a = '.repeat(n)}1${' }'.repeat(n)}`;
      const l = lines();
      l.splice(Math.floor(rnd() * (l.length + 1)), 0, `${pick(['mtu', 'deep', 'addresses', 'match'])} = ${v}`);
      return l.join('\n');
    }
    case 11:
      return text.slice(0, pos());
    case 12: {
      // A line from another file.
      const other = pick(corpus).split('\n');
      const l = lines();
      l.splice(Math.floor(rnd() * (l.length + 1)), 0, pick(other));
      return l.join('\n');
    }
    default: {
      const l = lines();
      l.splice(
        Math.floor(rnd() * (l.length + 1)),
        0,
        pick([
          '[unit]',
          '[port]',
          '[bridge]',
          '[[bridge.flow]]',
          '[ipv4]',
          '[[ipv4.route]]',
          '[[ipv6.route]]',
          'gateway = "198.18.20.1"',
          'take-over = true',
          'dhcp = true',
          '[ipv6]',
          'accept-ra = false',
          'slaac = true',
          'link-local = false',
          '[link]',
          '[x.y.z]',
          'a.b.c = 1',
        ]),
      );
      return l.join('\n');
    }
  }
}

test('5,000 mutated unit files: parseUnits never throws and always reports located errors or a state', () => {
  const rnd = prng(20240531);
  let valid = 0;
  let invalid = 0;
  for (let n = 0; n < 5000; n++) {
    let text = corpus[Math.floor(rnd() * corpus.length)];
    const rounds = 1 + Math.floor(rnd() * 3);
    for (let r = 0; r < rounds; r++) text = mutate(text, rnd);
    const sources: UnitSource[] = [{ file: `${NAMES[Math.floor(rnd() * NAMES.length)]}.toml`, text }];
    if (rnd() < 0.5) sources.push({ file: 'zz-br0.toml', text: '[unit]\ntype = "bridge"\nname = "br0"\n' });
    const lineCount = new Map(sources.map((s) => [s.file, s.text.split('\n').length]));

    let result: ReturnType<typeof parseUnits>;
    try {
      result = parseUnits(sources);
    } catch (e) {
      throw new Error(`iteration ${n} threw ${String(e)} on:\n${JSON.stringify(text)}`);
    }
    const { state, errors } = result;
    if (state) {
      expect(errors).toEqual([]);
      valid++;
      continue;
    }
    invalid++;
    if (errors.length === 0) throw new Error(`iteration ${n}: null state without errors on ${JSON.stringify(text)}`);
    for (const e of errors) {
      const max = (lineCount.get(e.file) ?? 0) + 1;
      const ok =
        Number.isInteger(e.line) &&
        Number.isInteger(e.col) &&
        e.line >= 1 &&
        e.col >= 1 &&
        e.line <= max &&
        e.message.length > 0;
      if (!ok) throw new Error(`iteration ${n}: bad error ${JSON.stringify(e)} on ${JSON.stringify(text)}`);
    }
  }
  // The mutations must exercise both outcomes, or the fuzzer is not testing much.
  expect(valid).toBeGreaterThan(50);
  expect(invalid).toBeGreaterThan(1000);
});
