/**
 * The Debian package, installed for real on this machine: `dpkg -i`, the installed CLI, unit and man pages, then
 * `dpkg -P` and nothing left behind. The .deb is $NETMGR_DEB (.ci/run builds it once) or, when unset, built here with
 * `dpkg-buildpackage -b -us -uc` in a temporary copy of the project (node_modules linked, not copied).
 *
 * Needs root (it installs a package). It refuses to run where netmgr is installed already, or where /etc/netmgr or
 * /var/lib/netmgr exist: purging the package would take an administrator's state with it. afterAll purges the
 * package even when a test failed.
 */
import { spawnSync, type SpawnSyncReturns } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const REPO = path.resolve(__dirname, '..', '..');
const VERSION = (JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
const isRoot = process.getuid?.() === 0;

const LIB = '/usr/lib/netmgr';
const UNIT = '/lib/systemd/system/netmgr.service';
const MAN_PAGES = ['/usr/share/man/man8/netmgr.8.gz', '/usr/share/man/man5/netmgr.units.5.gz'];
const EXAMPLES = '/usr/share/doc/netmgr/examples';
/** Everything the package or its maintainer scripts may create; all of it must be gone after the purge. */
const LEFTOVERS = [
  LIB,
  '/etc/netmgr',
  '/var/lib/netmgr',
  '/usr/bin/netmgr',
  UNIT,
  '/usr/share/doc/netmgr',
  ...MAN_PAGES,
  '/etc/systemd/system/multi-user.target.wants/netmgr.service',
  '/var/lib/systemd/deb-systemd-helper-enabled/netmgr.service.dsh-also',
];

const BUILD_TIMEOUT_MS = 15 * 60 * 1000;

function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {},
): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  if (r.error) throw new Error(`${what}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${what} exited ${r.status}\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-4000)}`);
  return r.stdout;
}

/** 'install ok installed', 'deinstall ok config-files', ... or '' when dpkg does not know the package. */
function packageStatus(): string {
  const r = run('dpkg-query', ['-W', '-f=${Status}', 'netmgr']);
  return r.status === 0 ? r.stdout.trim() : '';
}

/** Installed, half-installed, or only its configuration files left: anything a purge would still remove. */
const known = (status: string): boolean => status !== '' && !status.endsWith(' not-installed');

/** Top-level entries of the project that never go into the build copy (generated, or the CI's own output). */
const NOT_COPIED = new Set([
  'node_modules',
  'build',
  'dist',
  '.git',
  '.cache',
  '.ci/out',
  'bench/out',
  'test/vm/.out',
  'debian/netmgr',
  'debian/.debhelper',
  'debian/files',
  'debian/debhelper-build-stamp',
]);

/** dpkg-buildpackage in a copy of the project; returns the path of the netmgr .deb it wrote. */
function buildDeb(workDir: string): string {
  const src = path.join(workDir, 'netmgr');
  fs.cpSync(REPO, src, {
    recursive: true,
    filter: (from) => {
      const rel = path.relative(REPO, from);
      return !NOT_COPIED.has(rel) && !/^debian\/.*\.substvars$/.test(rel);
    },
  });
  // The build needs the dev tools of `npm ci` (TypeScript): use the project's own node_modules.
  fs.symlinkSync(fs.realpathSync(path.join(REPO, 'node_modules')), path.join(src, 'node_modules'));
  ok(
    run('dpkg-buildpackage', ['-b', '-us', '-uc'], { cwd: src, timeout: BUILD_TIMEOUT_MS - 60_000 }),
    'dpkg-buildpackage -b -us -uc',
  );
  const debs = fs.readdirSync(workDir).filter((f) => /^netmgr_.*\.deb$/.test(f));
  if (debs.length !== 1) throw new Error(`expected one netmgr_*.deb in ${workDir}, found ${JSON.stringify(debs)}`);
  return path.join(workDir, debs[0]);
}

/**
 * The production modules package-lock.json lists that `npm ci` installed here (an optional one for another platform
 * is not): what the package must ship, and nothing else.
 */
function productionModules(): string[] {
  const lock = JSON.parse(fs.readFileSync(path.join(REPO, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  return Object.entries(lock.packages)
    .filter(([key, meta]) => key.startsWith('node_modules/') && !meta.dev && fs.existsSync(path.join(REPO, key)))
    .map(([key]) => key)
    .sort();
}

/** Every node_modules/<name> and node_modules/@scope/<name> under dir, recursively (nested node_modules too). */
function installedModules(dir: string, prefix = ''): string[] {
  const nm = path.join(dir, 'node_modules');
  if (!fs.existsSync(nm)) return [];
  const out: string[] = [];
  for (const name of fs.readdirSync(nm)) {
    if (name.startsWith('.')) continue;
    const names = name.startsWith('@') ? fs.readdirSync(path.join(nm, name)).map((n) => `${name}/${n}`) : [name];
    for (const n of names) {
      const rel = `${prefix}node_modules/${n}`;
      out.push(rel, ...installedModules(path.join(nm, n), `${rel}/`));
    }
  }
  return out.sort();
}

const describeRoot = isRoot ? describe : describe.skip;
if (!isRoot) test.skip('Debian package: installing it needs root (dpkg -i / dpkg -P)', () => {});

describeRoot('Debian package: install, use, purge', () => {
  let workDir: string | undefined;
  let deb = '';
  let installedHere = false;

  beforeAll(() => {
    const before = packageStatus();
    if (known(before)) {
      throw new Error(`netmgr is already known to dpkg here (${before}): refusing to install over it and purge it`);
    }
    for (const p of ['/etc/netmgr', '/var/lib/netmgr']) {
      if (fs.existsSync(p)) throw new Error(`${p} exists already: refusing, purging the package would remove it`);
    }
    if (process.env.NETMGR_DEB) {
      deb = path.resolve(process.env.NETMGR_DEB);
      if (!fs.existsSync(deb)) throw new Error(`NETMGR_DEB=${deb} does not exist`);
    } else {
      workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'netmgr-deb-'));
      deb = buildDeb(workDir);
    }
  }, BUILD_TIMEOUT_MS);

  afterAll(() => {
    if (installedHere && known(packageStatus())) run('dpkg', ['-P', 'netmgr']);
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  });

  test('the .deb is netmgr at the version of package.json, for this architecture', () => {
    const field = (f: string) => ok(run('dpkg-deb', ['-f', deb, f]), `dpkg-deb -f ${f}`).trim();
    expect(field('Package')).toBe('netmgr');
    expect(field('Version')).toBe(`${VERSION}-1`);
    expect(field('Architecture')).toBe(ok(run('dpkg', ['--print-architecture']), 'dpkg --print-architecture').trim());
    expect(field('Depends')).toMatch(/\bnodejs \(>= \d+\)/);
  });

  test('dpkg -i installs it', () => {
    installedHere = true;
    ok(run('dpkg', ['-i', deb]), `dpkg -i ${deb}`);
    expect(packageStatus()).toBe('install ok installed');
  });

  test('netmgr on PATH is /usr/bin/netmgr and prints the version', () => {
    expect(ok(run('sh', ['-c', 'command -v netmgr']), 'command -v netmgr').trim()).toBe('/usr/bin/netmgr');
    expect(ok(run('netmgr', ['--version']), 'netmgr --version')).toBe(`netmgr ${VERSION}\n`);
  });

  test('/usr/lib/netmgr holds the program, the addon and only the production modules', () => {
    for (const f of [
      'package.json',
      'bin/netmgr',
      'dist/netmgr.js',
      'dist/netmgr.js.cache',
      'dist/bridge/worker.js',
      'build/Release/netmgr_native.node',
    ]) {
      expect(fs.existsSync(path.join(LIB, f))).toBe(true);
    }
    expect(installedModules(LIB)).toEqual(productionModules());
    const addon = ok(
      run(process.execPath, [
        '-e',
        `console.log(Object.keys(require('${LIB}/build/Release/netmgr_native.node')).includes('sdNotify'))`,
      ]),
      'load the addon',
    );
    expect(addon.trim()).toBe('true');
  });

  test('systemd-analyze verify accepts the installed unit, silently', () => {
    const r = run('systemd-analyze', ['verify', UNIT]);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
  });

  /**
   * groff's -ww (every warning category) through man-db, the way lintian checks pages. Not `man -l -ww`: for man-db, -w is --where, which
   * prints the page's location without formatting it, so it can never warn.
   */
  test.each(MAN_PAGES)('man renders %s without a warning (groff -ww)', (page) => {
    expect(fs.existsSync(page)).toBe(true);
    const r = run('man', ['--warnings=w', '-E', 'UTF-8', '-l', '-Tutf8', page], {
      env: { ...process.env, LC_ALL: 'C.UTF-8', MANROFFSEQ: '', MANWIDTH: '80' },
    });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    // It was formatted (bold and underline come as overstrike: char, backspace, char).
    // eslint-disable-next-line no-control-regex -- a backspace is exactly what overstrike formatting is made of
    expect(r.stdout.replace(/.\x08/g, '')).toMatch(/^NAME$/m);
  });

  test('/etc/netmgr is there, empty, root:root 0755 (netmgr, as root, refuses units others may change)', () => {
    const st = fs.statSync('/etc/netmgr');
    expect(st.isDirectory()).toBe(true);
    expect({ uid: st.uid, gid: st.gid, mode: (st.mode & 0o7777).toString(8) }).toEqual({ uid: 0, gid: 0, mode: '755' });
    expect(fs.readdirSync('/etc/netmgr')).toEqual([]);
  });

  test("iproute2 names netmgr's routing protocol: `ip route` prints proto netmgr for its routes", () => {
    expect(fs.readFileSync('/etc/iproute2/rt_protos.d/netmgr.conf', 'utf8')).toMatch(/^44\tnetmgr$/m);
    // iproute2 reads rt_protos.d: a protocol number given as its name is understood.
    const r = run('ip', ['-4', 'route', 'show', 'proto', 'netmgr']);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
  });

  test('the shipped examples are root:root, files 0644 and directories 0755', () => {
    const wrong: string[] = [];
    const walk = (p: string): void => {
      const st = fs.lstatSync(p);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.uid !== 0 || st.gid !== 0 || mode !== (st.isDirectory() ? '755' : '644'))
        wrong.push(`${p}: ${st.uid}:${st.gid} ${mode}`);
      if (st.isDirectory()) for (const n of fs.readdirSync(p)) walk(path.join(p, n));
    };
    walk(EXAMPLES);
    expect(wrong).toEqual([]);
  });

  test('netmgr validate (as root: permissions checked) accepts the shipped veth-pair example', () => {
    const out = ok(run('netmgr', ['validate', '--dir', `${EXAMPLES}/veth-pair`]), 'netmgr validate');
    expect(out).toContain('1 unit valid');
    expect(out).not.toContain('permissions not checked');
  });

  test('netmgr apply of the empty /etc/netmgr changes nothing (and keeps its state in /var/lib/netmgr)', () => {
    const r = run('netmgr', ['apply']);
    expect({ status: r.status, stdout: r.stdout }).toEqual({
      status: 0,
      stdout: expect.stringContaining('No changes.'),
    });
    expect(fs.existsSync('/var/lib/netmgr')).toBe(true);
  });

  test('dpkg -P removes everything', () => {
    ok(run('dpkg', ['-P', 'netmgr']), 'dpkg -P netmgr');
    expect(LEFTOVERS.filter((p) => fs.existsSync(p))).toEqual([]);
    const listed = run('dpkg', ['-L', 'netmgr']);
    expect(listed.status).not.toBe(0);
    expect(listed.stdout).toBe('');
    expect(known(packageStatus())).toBe(false);
  });
});
