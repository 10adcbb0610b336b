/**
 * Strict unit files, for real, as root (netmgr.units(5), FILE PERMISSIONS): a unit file 0666, a unit file owned
 * by nobody, a group-writable unit directory and a symlink to a world-writable file are each refused, located
 * with the fix, by `netmgr validate`, `plan` and `apply` (exit 2, nothing applied) and by netmgrd on `netmgr
 * reload` and on a watched edit (the running configuration stays: the veth is still there); a netmgrd.conf others
 * may write keeps netmgrd from starting and makes a reload apply nothing; strict-permissions = false in a
 * netmgrd.conf of root's turns the check off; a user other than root validates a copy of units it owns.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { startDaemon, stopAndClean, type TestDaemon } from '../helpers/daemon';
import { isRoot, namespacesWithPrefix, netmgr, NETMGR, runPrefix, sh, tempDir } from '../helpers/sys';

const P = `${runPrefix()}sp`;
const NOBODY = 65534;
const units = tempDir('sp-units');
const elsewhere = tempDir('sp-target');
const state = tempDir('sp-state');
const cliState = tempDir('sp-cli-state');
/** The CLI alone: a socket of its own that no netmgrd answers. */
const cliEnv = { NETMGR_STATE_DIR: cliState, NETMGR_SOCKET: path.join(cliState, 'none.sock') };
const daemonEnv = { NETMGR_STATE_DIR: state, NETMGR_SOCKET: path.join(state, 'netmgrd.sock') };
let daemon: TestDaemon | undefined;

const UNIT = path.join(units, `${P}-a.toml`);
const TARGET = path.join(elsewhere, `${P}-a.toml`);
const CONF = path.join(units, 'netmgrd.conf');

const veth = (end: string, n: number, addresses: string[]) => `[unit]
type = "port"
name = "${P}-${end}"
[port]
kind = "veth"
local-namespace = "${P}-n1"
namespace = "${P}-n2"
peer = "${P}-${end}p"
local-addresses = ["198.18.156.${n}/24"]
[ipv4]
addresses = [${addresses.map((a) => `"${a}"`).join(', ')}]
`;
const GOOD = veth('a', 1, ['198.18.156.2/24']);

/** One way a unit directory fails the check. */
interface Case {
  /** What is wrong, as the test titles say it. */
  name: string;
  /** Makes it so (on the good unit set). */
  make(): void;
  /** Puts the good unit set back. */
  undo(): void;
  /** The error line (FILE:1:1: error: ...) and its hint line. */
  error: string;
  hint: string;
}

const CASES: Case[] = [
  {
    name: 'a unit file with mode 0666',
    make: () => fs.chmodSync(UNIT, 0o666),
    undo: () => fs.chmodSync(UNIT, 0o644),
    error: `${UNIT}:1:1: error: unit file is writable by group and others (mode 0666)`,
    hint: `  hint: chmod go-w ${UNIT}`,
  },
  {
    name: 'a unit file owned by nobody',
    make: () => fs.chownSync(UNIT, NOBODY, NOBODY),
    undo: () => fs.chownSync(UNIT, 0, 0),
    error: `${UNIT}:1:1: error: unit file is owned by uid 65534, not root`,
    hint: `  hint: chown root:root ${UNIT}`,
  },
  {
    name: 'a group-writable unit directory (0775)',
    make: () => fs.chmodSync(units, 0o775),
    undo: () => fs.chmodSync(units, 0o700),
    error: `${units}:1:1: error: unit directory is writable by group (mode 0775)`,
    hint: `  hint: chmod go-w ${units}`,
  },
  {
    name: 'a symlink to a world-writable file',
    make: () => {
      fs.writeFileSync(TARGET, fs.readFileSync(UNIT));
      fs.chmodSync(TARGET, 0o666);
      fs.rmSync(UNIT);
      fs.symlinkSync(TARGET, UNIT);
    },
    undo: () => {
      fs.rmSync(UNIT);
      fs.rmSync(TARGET);
      fs.writeFileSync(UNIT, GOOD);
    },
    error: `${UNIT}:1:1: error: unit file is a symlink to ${TARGET}, which is writable by group and others (mode 0666)`,
    hint: `  hint: chmod go-w ${TARGET}`,
  },
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until check() holds, or fails saying what. */
async function until(ms: number, check: () => boolean, what: string): Promise<void> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(50);
  }
}

/**
 * netmgrd's log since `from`, once it holds `text`: its standard error is read by this process's event loop,
 * which a synchronous `netmgr` run holds up.
 */
async function logged(from: number, text: string): Promise<string> {
  await until(5000, () => daemon!.log().slice(from).includes(text), `netmgrd logs ${JSON.stringify(text)}`);
  return daemon!.log().slice(from);
}

/** The veth end in the first namespace, with its address, or '' when it is not there. */
const vethEnd = (end: string): string =>
  sh('ip', ['-n', `${P}-n1`, '-br', '-4', 'addr', 'show', 'dev', `${P}-${end}`], { allowFail: true }).trim();

/** `ip -br` of both namespaces: what an apply would have changed. */
const live = (): string =>
  namespacesWithPrefix(P)
    .map((ns) => sh('ip', ['-n', ns, '-br', 'addr', 'show']))
    .join('\n');

const rootTest = isRoot() ? test : test.skip;
if (!isRoot()) test.skip('strict unit files: chown and a real netmgrd need root', () => {});

beforeAll(() => {
  if (!isRoot()) return;
  fs.writeFileSync(UNIT, GOOD);
});

afterAll(async () => {
  if (!isRoot()) return;
  await stopAndClean(daemon, state, P, [units, elsewhere, cliState]);
  expect(namespacesWithPrefix(P)).toEqual([]);
}, 60_000);

describe('netmgr validate, plan and apply refuse, located, with the fix; nothing is applied', () => {
  rootTest('the good unit set passes (its directory is mkdtemp 0700 under /tmp, 1777)', () => {
    const r = netmgr(['validate', '--offline', '--dir', units], cliEnv);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.stdout).not.toContain('permissions not checked');
  });

  describe.each(CASES)('$name', (c) => {
    beforeAll(() => isRoot() && c.make());
    afterAll(() => isRoot() && c.undo());

    rootTest.each([['validate', '--offline'], ['plan'], ['apply']])('netmgr %s', (...args) => {
      const before = live();
      const r = netmgr([...args, '--dir', units], cliEnv);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${c.error}\n${c.hint}\n`);
      expect(r.stderr).toMatch(/\d+ errors?; nothing was applied\n$/);
      expect(r.stdout).toBe('');
      expect(live()).toBe(before);
      expect(namespacesWithPrefix(P)).toEqual([]);
    });
  });

  rootTest('strict-permissions = false in a netmgrd.conf of root 0644 turns the check off', () => {
    CASES[0].make();
    try {
      fs.writeFileSync(CONF, 'strict-permissions = false\n');
      expect(netmgr(['validate', '--offline', '--dir', units], cliEnv)).toMatchObject({ code: 0, stderr: '' });
      expect(netmgr(['plan', '--dir', units], cliEnv)).toMatchObject({ code: 0, stderr: '' });
      // The same netmgrd.conf writable by others is not believed, and is refused with the units.
      fs.chmodSync(CONF, 0o666);
      const r = netmgr(['plan', '--dir', units], cliEnv);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${CASES[0].error}\n`);
      expect(r.stderr).toContain(`${CONF}:1:1: error: netmgrd.conf is writable by group and others (mode 0666)\n`);
    } finally {
      fs.rmSync(CONF, { force: true });
      CASES[0].undo();
    }
  });

  rootTest('a user other than root validates units it owns, and is told the check was skipped', () => {
    const copy = tempDir('sp-user');
    try {
      fs.chmodSync(copy, 0o755);
      fs.writeFileSync(path.join(copy, 'a.toml'), GOOD);
      fs.chownSync(path.join(copy, 'a.toml'), NOBODY, NOBODY);
      const asRoot = netmgr(['validate', '--offline', '--dir', copy], cliEnv);
      expect(asRoot.code).toBe(2);
      expect(asRoot.stderr).toContain('unit file is owned by uid 65534, not root');
      const asNobody = spawnSync(process.execPath, [NETMGR, 'validate', '--dir', copy], {
        encoding: 'utf8',
        uid: NOBODY,
        gid: NOBODY,
        env: { PATH: process.env.PATH, ...cliEnv },
      });
      expect({ status: asNobody.status, stderr: asNobody.stderr }).toEqual({ status: 0, stderr: '' });
      expect(asNobody.stdout).toContain(`${copy}: 1 unit valid (`);
      expect(asNobody.stdout).toContain(
        'permissions not checked: as root, netmgr refuses units that root does not own or others may write',
      );
    } finally {
      fs.rmSync(copy, { recursive: true, force: true });
    }
  });
});

describe('netmgrd keeps the running configuration and logs the refusal', () => {
  rootTest(
    'netmgrd applies the good unit set: the veth is there',
    async () => {
      daemon = await startDaemon(units, state, ['--no-apply']);
      const r = netmgr(['apply', '--dir', units], daemonEnv);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
      expect(vethEnd('a')).toContain('198.18.156.1/24');
    },
    60_000,
  );

  describe.each(CASES)('$name', (c) => {
    beforeAll(() => isRoot() && c.make());
    afterAll(() => isRoot() && c.undo());

    rootTest('netmgr reload: exit 2 with the located error; logged; the veth stays', async () => {
      const logBefore = daemon!.log().length;
      const r = netmgr(['reload'], daemonEnv);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${c.error}\n${c.hint}\n`);
      const log = await logged(logBefore, `netmgrd: error: ${c.error}\nnetmgrd: error: ${c.hint}\n`);
      expect(log).toMatch(
        /netmgrd: error: reload: \d+ problems? in the units; nothing applied, the running configuration stays/,
      );
      expect(vethEnd('a')).toContain('198.18.156.1/24');
    });

    rootTest('netmgr apply refuses before it hands anything to netmgrd', () => {
      const r = netmgr(['apply', '--dir', units], daemonEnv);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${c.error}\n${c.hint}\n`);
      expect(vethEnd('a')).toContain('198.18.156.1/24');
    });
  });

  rootTest(
    'a watched edit that adds a unit 0666 is refused and logged; fixed, it is applied',
    async () => {
      const added = path.join(units, `${P}-b.toml`);
      const logBefore = daemon!.log().length;
      fs.writeFileSync(added, veth('b', 3, ['198.18.156.4/24']));
      fs.chmodSync(added, 0o666); // within the watch delay: the settled read sees 0666
      const refusal = `netmgrd: error: ${added}:1:1: error: unit file is writable by group and others (mode 0666)`;
      await until(5000, () => daemon!.log().slice(logBefore).includes(refusal), 'the refusal logged');
      expect(daemon!.log().slice(logBefore)).toContain('watch: ');
      expect(vethEnd('b')).toBe('');
      expect(vethEnd('a')).toContain('198.18.156.1/24');

      fs.chmodSync(added, 0o644);
      const r = netmgr(['reload'], daemonEnv);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
      expect(vethEnd('b')).toContain('198.18.156.3/24');
      fs.rmSync(added);
      await until(5000, () => vethEnd('b') === '', 'the removed unit unapplied');
    },
    30_000,
  );

  rootTest(
    'a netmgrd.conf others may write: a reload applies nothing and keeps the settings in force',
    async () => {
      // An edit waits in the unit: a new address that must not be applied while netmgrd.conf is refused.
      fs.writeFileSync(UNIT, veth('a', 1, ['198.18.156.2/24', '198.18.156.12/24']));
      fs.writeFileSync(CONF, 'watch = false\n', { mode: 0o644 });
      fs.chmodSync(CONF, 0o666);
      const logBefore = daemon!.log().length;
      const r = netmgr(['reload'], daemonEnv);
      expect(r.code).toBe(2);
      const error = `${CONF}:1:1: error: netmgrd.conf is writable by group and others (mode 0666)\n  hint: chmod go-w ${CONF}\n`;
      expect(r.stderr).toContain(error);
      const log = await logged(logBefore, `netmgrd: error: ${CONF}:1:1: error: netmgrd.conf is writable`);
      expect(log).toContain(
        'netmgrd: error: reload: netmgrd.conf fails the permission check; nothing applied, the settings in force and the running configuration stay',
      );
      const peer = () => sh('ip', ['-n', `${P}-n2`, '-br', '-4', 'addr', 'show', 'dev', `${P}-ap`]);
      expect(peer()).not.toContain('198.18.156.12/24');
      // watch = false was not taken: netmgrd still watches.
      const status = JSON.parse(netmgr(['status', '--json', '--dir', units], daemonEnv).stdout);
      expect(status.daemon.watching).toBe(true);
      // The last apply is this reload's, or the watcher's for the same edit (refused alike).
      expect(status.lastApply).toMatchObject({ result: 'invalid', message: expect.stringContaining('netmgrd.conf') });

      fs.chmodSync(CONF, 0o644);
      const fixed = netmgr(['reload'], daemonEnv);
      expect({ code: fixed.code, stderr: fixed.stderr }).toEqual({ code: 0, stderr: '' });
      expect(peer()).toContain('198.18.156.12/24');
    },
    30_000,
  );

  rootTest('strict-permissions = false in netmgrd.conf: netmgrd applies a unit file 0666', () => {
    fs.rmSync(CONF, { force: true });
    fs.writeFileSync(CONF, 'watch = false\nstrict-permissions = false\n');
    fs.writeFileSync(UNIT, GOOD);
    fs.chmodSync(UNIT, 0o666);
    try {
      const r = netmgr(['reload'], daemonEnv);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
      expect(sh('ip', ['-n', `${P}-n2`, '-br', '-4', 'addr', 'show', 'dev', `${P}-ap`])).not.toContain(
        '198.18.156.12/24',
      );
      // Without the key the check is back on.
      fs.writeFileSync(CONF, 'watch = false\n');
      expect(netmgr(['reload'], daemonEnv).code).toBe(2);
    } finally {
      fs.chmodSync(UNIT, 0o644);
    }
  });

  rootTest(
    'netmgrd does not start on a netmgrd.conf others may write: exit 2, the error and its fix, no socket',
    async () => {
      await daemon?.stop();
      daemon = undefined;
      fs.chmodSync(CONF, 0o666);
      const r = spawnSync(process.execPath, [NETMGR, 'daemon', '--dir', units], {
        encoding: 'utf8',
        env: { ...process.env, ...daemonEnv },
        timeout: 30_000,
      });
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(
        `netmgrd: error: ${CONF}:1:1: error: netmgrd.conf is writable by group and others (mode 0666)\nnetmgrd: error:   hint: chmod go-w ${CONF}\n`,
      );
      expect(r.stderr).toContain(
        'netmgr daemon: netmgrd.conf fails the permission check; netmgrd does not start on settings someone other than root may have written\n',
      );
      expect(r.stderr).not.toContain('ready:');
      expect(fs.existsSync(daemonEnv.NETMGR_SOCKET)).toBe(false);
      // The veth netmgrd applied before is untouched.
      expect(vethEnd('a')).toContain('198.18.156.1/24');
      fs.chmodSync(CONF, 0o644);
    },
    60_000,
  );
});
