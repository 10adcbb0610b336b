/**
 * test/packages.txt is the one list of Debian packages the tests need: the README's second command installs it,
 * and building the Debian package is part of the tests, so debian/control's Build-Depends must be in it (or in
 * the README's first command, which installs Node.js itself).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const REPO = path.resolve(__dirname, '..', '..');
const readmeCommand = (n: number): string =>
  execFileSync(process.execPath, [path.join(REPO, 'scripts', 'readme-command.js'), String(n)], {
    encoding: 'utf8',
  }).trim();

/** Package names, one per line, `#` comments dropped. */
function listedPackages(): string[] {
  const text = fs.readFileSync(path.join(REPO, 'test', 'packages.txt'), 'utf8');
  return text
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter((l) => l !== '');
}

/** Build-Depends as lists of alternatives, names only (versions and architecture qualifiers dropped). */
function buildDepends(): string[][] {
  const control = fs.readFileSync(path.join(REPO, 'debian', 'control'), 'utf8');
  const m = /^Build-Depends:((?:.*)(?:\n[ \t].*)*)/m.exec(control.replace(/^#.*\n/gm, ''));
  if (!m) throw new Error('debian/control has no Build-Depends');
  return m[1]
    .split(',')
    .map((d) => d.trim())
    .filter((d) => d !== '')
    .map((d) => d.split('|').map((alt) => alt.trim().split(/[\s(:[<]/)[0]));
}

/** The packages the first command installs with apt-get (all of its `apt-get install` lists). */
function firstCommandPackages(): string[] {
  const cmd = readmeCommand(1);
  return [...cmd.matchAll(/apt-get install -y ([a-z0-9.+\- ]+)/g)].flatMap((m) => m[1].trim().split(/\s+/));
}

// Virtual packages of Build-Depends, and the real package that provides them.
const PROVIDED_BY: Record<string, string> = { 'debhelper-compat': 'debhelper' };

test('test/packages.txt holds one Debian package name per line', () => {
  for (const p of listedPackages()) expect(p).toMatch(/^[a-z0-9][a-z0-9.+-]+$/);
});

test("every Build-Depends of debian/control is in test/packages.txt or the README's first command", () => {
  const have = new Set([...listedPackages(), ...firstCommandPackages()]);
  const missing = buildDepends().filter((alts) => !alts.some((a) => have.has(PROVIDED_BY[a] ?? a)));
  expect(missing.map((alts) => alts.join(' | '))).toEqual([]);
});

test("the README's second command installs test/packages.txt and runs the whole suite", () => {
  expect(readmeCommand(2)).toBe("sed 's/#.*//' test/packages.txt | xargs apt-get install -y && npm run test:all");
});
