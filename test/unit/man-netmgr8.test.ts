/**
 * man/netmgr.8 must document what the CLI actually has: every command of the COMMANDS table with every option of
 * its usage (in SYNOPSIS and OPTIONS), every option a command's parseOptions table accepts, every exit code, every
 * environment variable and state file the sources use, the signals netmgrd handles, the netmgrd.conf keys with
 * type, default, range and a working example, and the fields of the status JSON. Both man pages must render
 * without groff warnings.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as command from '../../src/cli/command';
import { COMMANDS } from '../../src/cli/main';
import { DAEMON_CONFIG_FILE, DEFAULT_DAEMON_CONFIG, parseDaemonConfig } from '../../src/daemon/config';
import { resolvePaths } from '../../src/util/paths';
import { haveTool } from '../helpers/sys';

const ROOT = path.join(__dirname, '..', '..');
const SRC = path.join(ROOT, 'src');
const MAN8 = path.join(ROOT, 'man', 'netmgr.8');
const MAN5 = path.join(ROOT, 'man', 'netmgr.units.5');

/** Roff source to plain text, keeping request lines (so `.SH`, `.TP` and `.br` still mark structure). */
const plain = fs
  .readFileSync(MAN8, 'utf8')
  .replace(/\\-/g, '-')
  .replace(/\\\(dq/g, '"')
  .replace(/\\\(aq/g, "'")
  .replace(/\\f[BIRP]/g, '')
  .replace(/\\&/g, '')
  .replace(/\\e/g, '\\');
const lines = plain.split('\n');

/** The lines of `.SH NAME` up to the next .SH. */
function section(name: string): string[] {
  const start = lines.indexOf(`.SH ${name}`);
  if (start < 0) throw new Error(`netmgr.8 has no section ${name}`);
  const end = lines.findIndex((l, i) => i > start && l.startsWith('.SH '));
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

/** A macro line (`.BR \-s ", " \-\-statistics`) or text line as the words it shows, quotes dropped. */
const text = (line: string): string =>
  line
    .replace(/^\.[A-Z]+\s*/, '')
    .replace(/"/g, '')
    .replace(/\s+/g, ' ')
    .trim();

/** Options in a piece of text: `--long-name` and `-x`, not the dash inside `add-flow` or `mtu 1400 -> 1500`. */
const optionsIn = (s: string): string[] => [...s.matchAll(/(?:^|[^\w-])(--?[a-zA-Z][\w-]*)/g)].map((m) => m[1]);

interface Item {
  tag: string;
  body: string;
}

/** The `.TP` items of a section (nested .RS blocks belong to the item they are in). */
function items(sectionLines: string[]): Item[] {
  const out: Item[] = [];
  let depth = 0;
  let cur: { tag: string; body: string[] } | undefined;
  for (let i = 0; i < sectionLines.length; i++) {
    const l = sectionLines[i];
    if (l === '.RS' || l.startsWith('.RS ')) depth++;
    else if (l === '.RE') depth--;
    if (depth === 0 && l === '.TP') {
      if (cur) out.push({ tag: cur.tag, body: cur.body.join('\n') });
      cur = { tag: text(sectionLines[++i] ?? ''), body: [] };
    } else if (depth === 0 && (l === '.PP' || l.startsWith('.SS '))) {
      if (cur) out.push({ tag: cur.tag, body: cur.body.join('\n') });
      cur = undefined;
    } else cur?.body.push(l);
  }
  if (cur) out.push({ tag: cur.tag, body: cur.body.join('\n') });
  return out;
}

/** The SYNOPSIS as entries (separated by .br), each with the command names it shows and its text. */
const synopsis = section('SYNOPSIS')
  .join('\n')
  .split('\n.br\n')
  .map((entry) => {
    const words = entry.split('\n').map(text).join(' ').replace(/\s+/g, ' ').trim();
    const tokens = words.split(' ');
    const names = [tokens[1]];
    for (let i = 2; tokens[i] === '|'; i += 2) names.push(tokens[i + 1]);
    return { tokens, names, words };
  });

const usageOptions = (usage: string): string[] => [...new Set(optionsIn(usage))];

/** Options the commands' parseOptions tables accept, read from their sources: `name: { type: ..., short: 'x' }`. */
function acceptedOptions(): string[] {
  const out = new Set<string>();
  for (const f of fs.readdirSync(path.join(SRC, 'cli')).filter((n) => n.endsWith('.ts'))) {
    const src = fs.readFileSync(path.join(SRC, 'cli', f), 'utf8');
    for (const m of src.matchAll(
      /['"]?([a-z][a-z-]*)['"]?\s*:\s*\{\s*type:\s*'(?:boolean|string)'(?:\s*,\s*short:\s*'(\w)')?/g,
    )) {
      out.add(`--${m[1]}`);
      if (m[2]) out.add(`-${m[2]}`);
    }
  }
  return [...out].sort();
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    return d.isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}
const sources = sourceFiles(SRC).map((f) => ({ file: f, text: fs.readFileSync(f, 'utf8') }));

describe('man/netmgr.8: commands and options', () => {
  const commandItems = items(section('COMMANDS'));
  const optionItems = items(section('OPTIONS'));
  const optionItem = (opt: string) => optionItems.find((it) => optionsIn(it.tag).includes(opt));

  test('the COMMANDS table is not empty', () => {
    expect(COMMANDS.length).toBeGreaterThan(10);
  });

  test.each([...COMMANDS.map((c) => c.name), 'version', 'help'].map((n) => [n]))(
    'command %s is in SYNOPSIS and COMMANDS',
    (name) => {
      expect(synopsis.some((e) => e.tokens[0] === 'netmgr' && e.names.includes(name))).toBe(true);
      expect(commandItems.some((it) => it.tag.split(' ')[0] === name)).toBe(true);
    },
  );

  test.each(COMMANDS.map((c) => [c.name, c]))(
    'every option in the usage of %s is in its SYNOPSIS and in OPTIONS',
    (name, c) => {
      const opts = usageOptions(c.usage);
      const synopsisText = synopsis
        .filter((e) => e.names.includes(name))
        .map((e) => e.words)
        .join(' ');
      for (const opt of opts) {
        expect({ opt, inSynopsis: optionsIn(synopsisText).includes(opt) }).toEqual({ opt, inSynopsis: true });
        expect({ opt, inOptions: optionItem(opt) !== undefined }).toEqual({ opt, inOptions: true });
      }
    },
  );

  test('an option only one command has names that command in its OPTIONS item', () => {
    const users = new Map<string, string[]>();
    for (const c of COMMANDS) for (const o of usageOptions(c.usage)) users.set(o, [...(users.get(o) ?? []), c.name]);
    for (const [opt, names] of users) {
      if (names.length !== 1) continue;
      expect({ opt, body: optionItem(opt)?.body.includes(names[0]) }).toEqual({ opt, body: true });
    }
  });

  test('every option a parseOptions table accepts is in OPTIONS', () => {
    const accepted = acceptedOptions();
    expect(accepted).toEqual(expect.arrayContaining(['--confirm', '--dir', '--json', '--no-watch', '--verbose', '-s']));
    expect(accepted.filter((o) => !optionItem(o))).toEqual([]);
  });

  test('SYNOPSIS shows no option the commands do not have', () => {
    const known = new Set([...COMMANDS.flatMap((c) => usageOptions(c.usage))]);
    const shown = synopsis.flatMap((e) => optionsIn(e.words));
    expect(shown.filter((o) => !known.has(o))).toEqual([]);
  });

  test('apply --confirm states its range and what confirm, rollback and reload do', () => {
    expect(optionItem('--confirm')?.body).toMatch(/1 to 86400/);
    const body = (name: string) => commandItems.find((it) => it.tag === name)?.body ?? '';
    expect(body('apply')).toContain('confirm.json');
    expect(body('confirm')).toMatch(/Exit 2 when no apply awaits confirmation/);
    expect(body('rollback')).toMatch(/Exit 2 when no apply awaits confirmation/);
    expect(body('reload')).toMatch(/exit 2/);
    expect(body('status')).toMatch(/netmgr\.status\/1/);
  });
});

describe('man/netmgr.8: exit status, environment, files, signals', () => {
  test('EXIT STATUS lists exactly the exit codes of src/cli/command.ts', () => {
    const codes = Object.entries(command)
      .filter(([k, v]) => k.startsWith('EXIT_') && typeof v === 'number')
      .map(([, v]) => String(v))
      .sort();
    expect(codes).toEqual(['0', '1', '2', '3']);
    const documented = items(section('EXIT STATUS'))
      .map((it) => it.tag)
      .filter((t) => /^\d+$/.test(t))
      .sort();
    expect(documented).toEqual(codes);
  });

  test('ENVIRONMENT lists every environment variable the sources read', () => {
    const vars = new Set<string>();
    for (const s of sources) {
      for (const m of s.text.matchAll(/\benv\.([A-Z][A-Z0-9_]+)/g)) vars.add(m[1]);
      for (const m of s.text.matchAll(/\benv\[['"]([A-Z][A-Z0-9_]+)['"]\]/g)) vars.add(m[1]);
    }
    expect([...vars]).toEqual(
      expect.arrayContaining(['NETMGR_DIR', 'NETMGR_STATE_DIR', 'NETMGR_SOCKET', 'NOTIFY_SOCKET', 'JOURNAL_STREAM']),
    );
    const documented = items(section('ENVIRONMENT')).map((it) => it.tag);
    expect([...vars].filter((v) => !documented.includes(v))).toEqual([]);
  });

  test('ENVIRONMENT gives the defaults of src/util/paths.ts', () => {
    const env = items(section('ENVIRONMENT'));
    const d = resolvePaths({});
    expect(env.find((it) => it.tag === 'NETMGR_DIR')?.body).toContain(d.unitDir);
    expect(env.find((it) => it.tag === 'NETMGR_STATE_DIR')?.body).toContain(d.stateDir);
    expect(env.find((it) => it.tag === 'NETMGR_SOCKET')?.body).toContain(d.socket);
  });

  test('FILES lists every file the sources name (*_FILE constants), the socket and the unit files', () => {
    const d = resolvePaths({});
    const names = new Set<string>();
    for (const s of sources) for (const m of s.text.matchAll(/\b[A-Z_]+_FILE = '([^']+)'/g)) names.add(m[1]);
    expect([...names]).toEqual(
      expect.arrayContaining([
        'owned.json',
        'journal.jsonl',
        'apply.lock',
        'kernel-bridges.json',
        'applied.json',
        'confirm.json',
        DAEMON_CONFIG_FILE,
      ]),
    );
    const files = items(section('FILES')).map((it) => it.tag);
    const where = (n: string) => path.join(n === DAEMON_CONFIG_FILE ? d.unitDir : d.stateDir, n);
    expect([...names].map(where).filter((f) => !files.includes(f))).toEqual([]);
    expect(files).toEqual(expect.arrayContaining([d.socket, `${d.unitDir}/*.toml`]));
  });

  test('SIGNALS lists every signal netmgrd handles', () => {
    const signals = new Set<string>();
    for (const s of sources) for (const m of s.text.matchAll(/process\.(?:on|once)\('(SIG[A-Z]+)'/g)) signals.add(m[1]);
    expect([...signals].sort()).toEqual(['SIGHUP', 'SIGINT', 'SIGTERM']);
    const documented = items(section('SIGNALS')).map((it) => it.tag);
    expect([...signals].filter((s) => !documented.includes(s))).toEqual([]);
  });
});

describe('man/netmgr.8: CONFIGURATION (netmgrd.conf)', () => {
  /** The keys netmgrd.conf takes, from the hint parseDaemonConfig gives for an unknown key. */
  const unknown = parseDaemonConfig('t.conf', 'no-such-key = 1').errors[0];
  const keys = /takes ([\w, -]+) \(/.exec(unknown?.hint ?? '')?.[1].split(', ') ?? [];
  const config = items(section('CONFIGURATION'));

  test('the keys are known', () => {
    expect(keys).toEqual(['watch', 'watch-delay', 'strict-permissions', 'http-listen', 'http-allow-remote']);
  });

  test.each(keys.map((k) => [k]))('%s is documented with type, default, range and an example that parse', (key) => {
    const it = config.find((i) => i.tag.startsWith(`${key} = `));
    expect(it).toBeDefined();
    const body = it?.body ?? '';
    // The type (and, for integers, the range) as parseDaemonConfig reports them for a value of the wrong type.
    const wrong = parseDaemonConfig('t.conf', `${key} = "x"`).errors[0]?.message ?? '';
    const range = /integer from (\d+) to (\d+)/.exec(wrong);
    const type = range
      ? 'integer'
      : /true or false/.test(wrong)
        ? 'boolean'
        : /ADDRESS:PORT/.test(wrong)
          ? 'address'
          : '?';
    expect(it?.tag).toBe(`${key} = ${type}`);
    if (range) expect(body).toContain(`Range ${range[1]}..${range[2]}.`);

    const def = /^Default: (.+)\.$/m.exec(body)?.[1];
    expect(def).toBeDefined();
    const parsedDefault = parseDaemonConfig('t.conf', `${key} = ${def}`);
    expect(parsedDefault.errors).toEqual([]);
    expect(parsedDefault.config).toEqual(DEFAULT_DAEMON_CONFIG);

    const example = /^Example: (.+)$/m.exec(body)?.[1] ?? '';
    expect(example.startsWith(`${key} = `)).toBe(true);
    expect(parseDaemonConfig('t.conf', example).errors).toEqual([]);
  });

  test('the example netmgrd.conf parses', () => {
    const block = section('CONFIGURATION').join('\n').split('.EX\n')[1]?.split('\n.EE')[0] ?? '';
    expect(block).toMatch(/^# \/etc\/netmgr\/netmgrd\.conf\n/);
    expect(parseDaemonConfig('netmgrd.conf', block).errors).toEqual([]);
  });
});

describe('man/netmgr.8: STATUS JSON', () => {
  /** The field names of an exported interface, read from its source. */
  function fields(file: string, name: string): string[] {
    const src = fs.readFileSync(path.join(SRC, file), 'utf8');
    const start = src.indexOf(`export interface ${name} {`);
    if (start < 0) throw new Error(`${file}: no interface ${name}`);
    const body = src.slice(start, src.indexOf('\n}', start));
    return [...body.matchAll(/^ {2}(\w+)\??:/gm)].map((m) => m[1]);
  }

  const doc = section('STATUS JSON').join('\n');
  const shown = new Set(doc.match(/\b\w+\b/g) ?? []);

  test.each([
    ['daemon/status.ts', 'StatusReport'],
    ['daemon/status.ts', 'DaemonStatus'],
    ['daemon/status.ts', 'ConfirmStatus'],
    ['daemon/status.ts', 'ObjectStatus'],
    ['daemon/status.ts', 'BridgeCounters'],
    ['daemon/status.ts', 'PortCounters'],
    ['model/host.ts', 'HostInterface'],
    ['daemon/records.ts', 'ApplyOutcome'],
    ['daemon/records.ts', 'ApplyCounters'],
    ['datapath/types.ts', 'DpStats'],
    ['datapath/types.ts', 'DpPortStats'],
  ])('%s %s: every field is documented', (file, name) => {
    const f = fields(file, name);
    expect(f.length).toBeGreaterThan(1);
    expect(f.filter((x) => !shown.has(x))).toEqual([]);
  });

  test('names the schema, the object states, triggers and results', () => {
    expect(doc).toContain('netmgr.status/1');
    for (const w of [
      'realised',
      'pending',
      'drifted',
      'failed',
      'start',
      'watch',
      'reload',
      'apply',
      'rollback',
      'confirm-timeout',
    ])
      expect(doc).toContain(w);
    for (const w of ['applied', 'unchanged', 'invalid', 'deferred', 'skipped', 'rolled-back']) expect(doc).toContain(w);
  });
});

describe('both man pages render without warnings', () => {
  const groff = haveTool('groff', ['--version'], 'groff-base');
  const man = haveTool('man', ['--version'], 'man-db');

  (groff ? test.each : test.skip.each)([[MAN8], [MAN5]])('groff -ww %s', (file) => {
    const r = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z', file], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  // man-db's `-w` prints the page's location instead of rendering it, so `man -l -ww` checks nothing; --warnings
  // renders the page at 80 columns with groff's warnings on (this is where "can't break line" shows).
  (groff && man ? test.each : test.skip.each)([[MAN8], [MAN5]])('man --warnings=all -l %s at 80 columns', (file) => {
    const r = spawnSync('man', ['--warnings=all', '-l', file], {
      encoding: 'utf8',
      env: { ...process.env, MANWIDTH: '80', MANPAGER: 'cat', PAGER: 'cat' },
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^NAME$/m);
  });
});
