/** man/netmgr.units.5 must document every section and key of the schema table, and its examples must be valid. */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { SCHEMA, SECTIONS, describeDefault, parseUnits, sectionLabel } from '../../../src/units';
import { haveTool } from '../../helpers/sys';

const MAN = path.join(__dirname, '..', '..', '..', 'man', 'netmgr.units.5');
const roff = fs.readFileSync(MAN, 'utf8');

/** Roff source to plain text, keeping request lines (so `.SS` and `.TP` still mark structure). */
const plain = roff
  .replace(/\\-/g, '-')
  .replace(/\\\(dq/g, '"')
  .replace(/\\f[BIRP]/g, '')
  .replace(/\\&/g, '')
  .replace(/\\e/g, '\\');

/** The text of `.SS "<label>"` up to the next .SS or .SH. */
function subsection(label: string): string | undefined {
  const lines = plain.split('\n');
  const start = lines.findIndex((l) => l === `.SS "${label}"`);
  if (start < 0) return undefined;
  const end = lines.findIndex((l, i) => i > start && (l.startsWith('.SS') || l.startsWith('.SH')));
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

/** The paragraph of a `.TP` item whose tag line starts with `key =`, up to the next `.TP` outside nested .RS blocks. */
function item(text: string, key: string): string | undefined {
  const lines = text.split('\n');
  const start = lines.findIndex((l, i) => l === '.TP' && (lines[i + 1] ?? '').startsWith(`${key} = `));
  if (start < 0) return undefined;
  const out: string[] = [];
  let depth = 0;
  for (const l of lines.slice(start + 1)) {
    if (l === '.RS' || l.startsWith('.RS ')) depth++;
    else if (l === '.RE') depth--;
    else if (l === '.TP' && depth === 0) break;
    out.push(l);
  }
  return out.join('\n');
}

describe('man/netmgr.units.5', () => {
  test.each(SECTIONS.map((s) => [sectionLabel(s.name)]))('documents section %s', (label) => {
    expect(subsection(label)).toBeDefined();
  });

  test.each(SCHEMA.map((e) => [`${e.section}.${e.key}`, e]))(
    'documents %s with type, range, default and example',
    (_n, e) => {
      const text = subsection(sectionLabel(e.section)) ?? '';
      const para = item(text, e.key);
      expect(para).toBeDefined();
      const p = para ?? '';
      expect(p).toContain(`Example: ${e.key} = ${e.example}`);
      if (e.range) expect(p).toContain(`${e.range[0]}..${e.range[1]}`);
      for (const v of e.values ?? []) expect(p).toContain(`"${v}"`);
      if (e.step) expect(p).toContain(`in steps of ${e.step}`);
      if (e.required) expect(p).toContain('Required');
      else if (e.default !== undefined) expect(p).toContain(`Default: ${describeDefault(e)}.`);
      else expect(p).toMatch(/Default: /);
      const type =
        e.type === 'integer'
          ? 'integer'
          : e.type === 'boolean'
            ? 'boolean'
            : e.type === 'enum-or-boolean'
              ? 'string or boolean'
              : e.type === 'integer-list'
                ? 'array of integers'
                : e.type === 'cidr-list' || e.type === 'underlay-ip-list'
                  ? 'array of strings'
                  : 'string';
      expect(p.split('\n')[0]).toBe(`${e.key} = ${type}`);
    },
  );

  test.each(SECTIONS.map((s) => [sectionLabel(s.name), s.name]))(
    '%s documents no key the schema does not have',
    (label, name) => {
      const lines = (subsection(label) ?? '').split('\n');
      const documented = lines
        .flatMap((l, i) => (l === '.TP' ? [/^([a-z][a-z-]*) = /.exec(lines[i + 1] ?? '')?.[1]] : []))
        .filter((k): k is string => !!k);
      expect(documented.sort()).toEqual(
        SCHEMA.filter((e) => e.section === name)
          .map((e) => e.key)
          .sort(),
      );
    },
  );

  test.each(SCHEMA.map((e) => [`${e.section}.${e.key}`, e]))(
    '%s: one example, one default or "Required", a range when numeric',
    (_n, e) => {
      const p = item(subsection(sectionLabel(e.section)) ?? '', e.key) ?? '';
      expect(p.match(/^Example: /gm)?.length).toBe(1);
      const defaults = p.match(/^Default: /gm)?.length ?? 0;
      const required = /^Required\b|\bRequired[.;]/m.test(p);
      expect({ defaults, required }).toEqual(
        e.required ? { defaults: 0, required: true } : { defaults: 1, required: false },
      );
      if (e.type === 'integer' || e.type === 'integer-list') {
        expect(e.range).toBeDefined();
        const [lo, hi] = e.range ?? [NaN, NaN];
        expect(p).toMatch(new RegExp(`\\b[Rr]ange ${lo}\\.\\.${hi}\\b`));
      }
    },
  );

  test('the example unit files are valid together', () => {
    const sources: { file: string; text: string }[] = [];
    for (const block of plain.split('.EX\n').slice(1)) {
      const body = block.split('\n.EE')[0];
      const m = /^# (\/etc\/netmgr\/\S+\.toml)\n/.exec(body);
      if (m) sources.push({ file: m[1], text: body });
    }
    expect(sources.map((s) => path.basename(s.file))).toEqual([
      'br0.toml',
      'p1.toml',
      'eth1.toml',
      'sw.toml',
      'va.toml',
    ]);
    expect(parseUnits(sources).errors).toEqual([]);
  });

  test('has the FILES and EXAMPLES sections', () => {
    expect(plain).toMatch(/^\.SH FILES$/m);
    expect(plain).toMatch(/^\.SH EXAMPLES$/m);
    expect(plain).toContain('/etc/netmgr/');
  });

  (haveTool('groff', ['--version'], 'groff-base') ? test : test.skip)('renders without groff warnings', () => {
    const r = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z', MAN], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
