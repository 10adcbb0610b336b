/**
 * Strict unit files (src/units/permissions.ts): the decision over stat-like records, table-driven; then, as root,
 * the same check over real files, directories and symlinks (chmod, chown to nobody), through loadUnitDir.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { formatUnitError } from '../../../src/model/types';
import { loadUnitDir } from '../../../src/units';
import {
  checkUnitPaths,
  directoriesAbove,
  permissionError,
  permissionProblems,
  shellQuote,
  type PathFacts,
  type PathRole,
} from '../../../src/units/permissions';
import { isRoot } from '../../helpers/sys';

const NOBODY = 65534;
const file = (mode: number, uid = 0, p = '/etc/netmgr/a.toml'): PathFacts => ({ path: p, kind: 'file', mode, uid });
const dir = (mode: number, uid = 0, p = '/etc/netmgr'): PathFacts => ({ path: p, kind: 'directory', mode, uid });

describe('permissionProblems: owned by root, writable by root alone', () => {
  const F = '/etc/netmgr/a.toml';
  const D = '/etc/netmgr';
  test.each<[string, PathFacts, PathRole, string[]]>([
    ['a root file 0644', file(0o644), 'file', []],
    ['a root file 0600', file(0o600), 'file', []],
    ['a root file 0444', file(0o444), 'file', []],
    ['a root directory 0755', dir(0o755), 'unit-dir', []],
    ['a root directory 0700', dir(0o700), 'unit-dir', []],
    ['a file of nobody 0644', file(0o644, NOBODY), 'file', [`owned by uid 65534, not root|chown root:root ${F}`]],
    ['a root file 0666', file(0o666), 'file', [`writable by group and others (mode 0666)|chmod go-w ${F}`]],
    ['a root file 0646', file(0o646), 'file', [`writable by others (mode 0646)|chmod go-w ${F}`]],
    ['a root file 0664', file(0o664), 'file', [`writable by group (mode 0664)|chmod go-w ${F}`]],
    [
      'a file of nobody 0666',
      file(0o666, NOBODY),
      'file',
      [`owned by uid 65534, not root|chown root:root ${F}`, `writable by group and others (mode 0666)|chmod go-w ${F}`],
    ],
    ['a root directory 0775', dir(0o775), 'unit-dir', [`writable by group (mode 0775)|chmod go-w ${D}`]],
    [
      'a directory of uid 1000 0755',
      dir(0o755, 1000),
      'unit-dir',
      [`owned by uid 1000, not root|chown root:root ${D}`],
    ],
    // The sticky bit lets others add entries, not replace root's: fine above the unit directory, not as it.
    ['/tmp (1777) above the unit directory', dir(0o1777, 0, '/tmp'), 'ancestor', []],
    [
      'a sticky 1777 unit directory',
      dir(0o1777),
      'unit-dir',
      [`writable by group and others (mode 1777)|chmod go-w ${D}`],
    ],
    [
      'a 0777 directory above',
      dir(0o777, 0, '/srv'),
      'ancestor',
      ['writable by group and others (mode 0777)|chmod go-w /srv'],
    ],
    [
      'a sticky directory of uid 1000 above',
      dir(0o1777, 1000, '/srv'),
      'ancestor',
      ['owned by uid 1000, not root|chown root:root /srv'],
    ],
    [
      'a sticky file is no directory',
      file(0o1666, 0, '/srv/x'),
      'ancestor',
      ['writable by group and others (mode 1666)|chmod go-w /srv/x'],
    ],
    [
      'a path that needs quoting',
      file(0o646, 0, "/srv/a b's.toml"),
      'file',
      [`writable by others (mode 0646)|chmod go-w '/srv/a b'\\''s.toml'`],
    ],
  ])('%s', (_name, facts, role, expected) => {
    expect(permissionProblems(facts, role).map((p) => `${p.what}|${p.fix}`)).toEqual(expected);
  });
});

describe('permissionError: located at the name netmgr reads, saying what fails and how to fix it', () => {
  test.each<[string, Parameters<typeof permissionError>, string | undefined]>([
    ['a file that passes', ['/u/a.toml', 'unit file', { facts: file(0o644, 0, '/u/a.toml'), role: 'file' }], undefined],
    [
      'a world-writable file',
      ['/u/a.toml', 'unit file', { facts: file(0o666, 0, '/u/a.toml'), role: 'file' }],
      '/u/a.toml:1:1: error: unit file is writable by group and others (mode 0666)\n  hint: chmod go-w /u/a.toml',
    ],
    [
      "a file of nobody's",
      ['/u/a.toml', 'unit file', { facts: file(0o644, NOBODY, '/u/a.toml'), role: 'file' }],
      '/u/a.toml:1:1: error: unit file is owned by uid 65534, not root\n  hint: chown root:root /u/a.toml',
    ],
    [
      'a symlink to a world-writable file',
      [
        '/u/a.toml',
        'unit file',
        { facts: file(0o666, 0, '/srv/a.toml'), role: 'file' },
        { target: '/srv/a.toml', symlink: true },
      ],
      '/u/a.toml:1:1: error: unit file is a symlink to /srv/a.toml, which is writable by group and others (mode 0666)\n  hint: chmod go-w /srv/a.toml',
    ],
    [
      'a symlink into a directory others may write',
      [
        '/u/a.toml',
        'unit file',
        { facts: dir(0o757, 0, '/srv'), role: 'ancestor' },
        { target: '/srv/a.toml', symlink: true },
      ],
      '/u/a.toml:1:1: error: unit file is a symlink to /srv/a.toml, in /srv, which is writable by others (mode 0757)\n  hint: chmod go-w /srv, or keep the units (and what they link to) where only root can change them, such as /etc/netmgr',
    ],
    [
      'a group-writable unit directory',
      ['/u', 'unit directory', { facts: dir(0o775, 0, '/u'), role: 'unit-dir' }],
      '/u:1:1: error: unit directory is writable by group (mode 0775)\n  hint: chmod go-w /u',
    ],
    [
      'a unit directory under a home directory',
      ['/home/dev/u', 'unit directory', { facts: dir(0o755, 1000, '/home/dev'), role: 'ancestor' }],
      '/home/dev/u:1:1: error: unit directory is in /home/dev, which is owned by uid 1000, not root\n  hint: chown root:root /home/dev, or keep the units (and what they link to) where only root can change them, such as /etc/netmgr',
    ],
    [
      'a unit directory reached through a symlinked parent',
      [
        '/x/u',
        'unit directory',
        { facts: dir(0o777, 0, '/y/u'), role: 'unit-dir' },
        { target: '/y/u', symlink: false },
      ],
      '/x/u:1:1: error: unit directory resolves to /y/u, which is writable by group and others (mode 0777)\n  hint: chmod go-w /y/u',
    ],
    [
      'netmgrd.conf',
      ['/u/netmgrd.conf', 'netmgrd.conf', { facts: file(0o664, 0, '/u/netmgrd.conf'), role: 'file' }],
      '/u/netmgrd.conf:1:1: error: netmgrd.conf is writable by group (mode 0664)\n  hint: chmod go-w /u/netmgrd.conf',
    ],
  ])('%s', (_name, args, expected) => {
    const e = permissionError(...args);
    expect(e && formatUnitError(e)).toBe(expected);
  });
});

test('directoriesAbove: nearest first, up to /', () => {
  expect(directoriesAbove('/etc/netmgr')).toEqual(['/etc', '/']);
  expect(directoriesAbove('/a/b/c.toml')).toEqual(['/a/b', '/a', '/']);
  expect(directoriesAbove('/')).toEqual(['/']);
});

test('shellQuote leaves plain paths alone', () => {
  expect(shellQuote('/etc/netmgr/br-0_x.toml')).toBe('/etc/netmgr/br-0_x.toml');
  expect(shellQuote('/tmp/a b')).toBe("'/tmp/a b'");
});

/** Real files: a unit directory of root's (mkdtemp: 0700 under /tmp, which is 1777) with one good unit. */
(isRoot() ? describe : describe.skip)('checkUnitPaths and loadUnitDir on real files (as root)', () => {
  const GOOD = '[unit]\ntype = "bridge"\n';
  let units: string;
  let elsewhere: string;
  const errorsOf = (strictPermissions: boolean) =>
    loadUnitDir(units, { strictPermissions }).errors.map(
      (e) => `${path.relative(units, e.file) || '.'}: ${e.message} | ${e.hint}`,
    );

  beforeEach(() => {
    units = fs.mkdtempSync(path.join(os.tmpdir(), 'netmgr-perm-'));
    elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'netmgr-perm-target-'));
    fs.writeFileSync(path.join(units, 'br0.toml'), GOOD);
  });
  afterEach(() => {
    fs.rmSync(units, { recursive: true, force: true });
    fs.rmSync(elsewhere, { recursive: true, force: true });
  });

  test('a directory of root files 0644 passes (and so does /tmp above it, sticky)', () => {
    expect(fs.statSync(os.tmpdir()).mode & 0o1000).toBe(0o1000);
    expect(errorsOf(true)).toEqual([]);
    expect(loadUnitDir(units, { strictPermissions: true }).state?.bridges.has('br0')).toBe(true);
  });

  test('a unit file 0666 is refused with chmod go-w; without the check it is read as before', () => {
    fs.chmodSync(path.join(units, 'br0.toml'), 0o666);
    expect(errorsOf(true)).toEqual([
      `br0.toml: unit file is writable by group and others (mode 0666) | chmod go-w ${path.join(units, 'br0.toml')}`,
    ]);
    expect(loadUnitDir(units, { strictPermissions: true }).state).toBeNull();
    expect(errorsOf(false)).toEqual([]);
  });

  test('a unit file owned by nobody is refused with chown root:root', () => {
    fs.chownSync(path.join(units, 'br0.toml'), NOBODY, NOBODY);
    expect(errorsOf(true)).toEqual([
      `br0.toml: unit file is owned by uid 65534, not root | chown root:root ${path.join(units, 'br0.toml')}`,
    ]);
  });

  test('a group-writable unit directory is refused, once, before its files', () => {
    fs.chmodSync(units, 0o775);
    fs.writeFileSync(path.join(units, 'br1.toml'), GOOD.replace('bridge"', 'bridge"\nname = "br1"'));
    expect(errorsOf(true)).toEqual([`.: unit directory is writable by group (mode 0775) | chmod go-w ${units}`]);
  });

  test('a symlink to a world-writable file is refused, naming the target', () => {
    const target = path.join(elsewhere, 'br1.toml');
    fs.writeFileSync(target, GOOD.replace('bridge"', 'bridge"\nname = "br1"'));
    fs.chmodSync(target, 0o666);
    fs.symlinkSync(target, path.join(units, 'br1.toml'));
    expect(errorsOf(true)).toEqual([
      `br1.toml: unit file is a symlink to ${target}, which is writable by group and others (mode 0666) | chmod go-w ${target}`,
    ]);
  });

  test('a symlink through a chain to a file in a directory others may write: the final target and its directory', () => {
    const target = path.join(elsewhere, 'br1.toml');
    fs.writeFileSync(target, GOOD.replace('bridge"', 'bridge"\nname = "br1"'));
    fs.chmodSync(elsewhere, 0o777);
    fs.symlinkSync(target, path.join(elsewhere, 'link'));
    fs.symlinkSync(path.join(elsewhere, 'link'), path.join(units, 'br1.toml'));
    expect(errorsOf(true)).toEqual([
      `br1.toml: unit file is a symlink to ${target}, in ${elsewhere}, which is writable by group and others (mode 0777) | chmod go-w ${elsewhere}, or keep the units (and what they link to) where only root can change them, such as /etc/netmgr`,
    ]);
  });

  test('a unit directory inside a directory of nobody is refused for that directory', () => {
    fs.chownSync(elsewhere, NOBODY, NOBODY);
    const inner = path.join(elsewhere, 'units');
    fs.mkdirSync(inner, { mode: 0o755 });
    fs.writeFileSync(path.join(inner, 'br0.toml'), GOOD);
    expect(checkUnitPaths(inner, ['br0.toml']).map(formatUnitError)).toEqual([
      `${inner}:1:1: error: unit directory is in ${elsewhere}, which is owned by uid 65534, not root\n  hint: chown root:root ${elsewhere}, or keep the units (and what they link to) where only root can change them, such as /etc/netmgr`,
    ]);
  });

  test('what cannot be stat-ed is left to the read: a dangling symlink is "cannot read", not a permission error', () => {
    fs.symlinkSync(path.join(elsewhere, 'gone.toml'), path.join(units, 'gone.toml'));
    expect(errorsOf(true)).toEqual([
      expect.stringMatching(/^gone\.toml: cannot read unit file: .*ENOENT.* \| undefined$/),
    ]);
  });

  test('other files are checked only when asked, and only when they exist', () => {
    fs.writeFileSync(path.join(units, 'netmgrd.conf'), '');
    fs.chmodSync(path.join(units, 'netmgrd.conf'), 0o646);
    expect(errorsOf(true)).toEqual([]);
    const r = loadUnitDir(units, { strictPermissions: true, alsoCheck: ['netmgrd.conf', 'absent.conf'] });
    expect(r.errors.map((e) => e.message)).toEqual(['netmgrd.conf is writable by others (mode 0646)']);
  });
});
