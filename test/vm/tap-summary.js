#!/usr/bin/env node
'use strict';
/**
 * Reads the VM's serial console log (test/vm/run writes it), finds the TAP that test/vm/init printed between its
 * marker lines, and prints a per-test summary ending in `VM: N passed, N failed`. Writes the same as JSON.
 *
 * usage: node test/vm/tap-summary.js CONSOLE_LOG --json OUT.json [--qemu-status N] [--timed-out S] [--wall S]
 * Exit status 0 only when the guest's verdict is PASS and nothing failed.
 *
 * Counting: every leaf test (a test() or it() with no subtests) is one test, as jest counts them; a test with
 * subtests counts only when it fails by itself (a failing hook, say). A test file that exits non-zero without a
 * failing test (syntax error, crash, killed on its timeout) counts as one failure, as does a VM that panics, times
 * out or never prints its verdict.
 */
const fs = require('fs');

const argv = process.argv.slice(2);
const opt = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const logPath = argv[0];
const jsonPath = opt('--json');
const qemuStatus = opt('--qemu-status');
const timedOut = opt('--timed-out');
const wall = opt('--wall');

const MARK = /=====NETMGR-VM (BEGIN|FILE|END|VERDICT)\b ?(.*?) ?=====\s*$/;
// Terminal control sequences (SeaBIOS resets and clears the screen on the serial port) and carriage returns.
// eslint-disable-next-line no-control-regex -- matching escape sequences is the point
const ANSI = /\x1b(?:\[[0-9;?]*[A-Za-z]|[A-Za-z])/g;
const text = fs.existsSync(logPath) ? fs.readFileSync(logPath, 'latin1') : '';
const lines = text.split('\n').map((l) => l.replace(ANSI, '').replace(/\r/g, ''));

/** One file's TAP lines into a tree of {name, ok, directive, children, error, location}. */
function parseTap(tapLines) {
  const pending = new Map(); // indent -> finished nodes at that indent, waiting for their parent
  let last = null;
  let inYaml = false;
  let yamlIndent = 0;
  let block = null;
  for (const line of tapLines) {
    const m = /^( *)(ok|not ok) \d+(?: - (.*))?$/.exec(line);
    if (m) {
      const indent = m[1].length;
      let name = m[3] ?? '';
      let directive = null;
      const d = /^(.*?) # (SKIP|TODO)\b.*$/i.exec(name);
      if (d && !d[1].endsWith('\\')) {
        name = d[1];
        directive = d[2].toUpperCase();
      }
      name = name.replace(/\\#/g, '#').replace(/\\\\/g, '\\');
      const node = { name, ok: m[2] === 'ok', directive, children: pending.get(indent + 4) ?? [] };
      pending.set(indent + 4, []);
      if (!pending.has(indent)) pending.set(indent, []);
      pending.get(indent).push(node);
      last = node;
      inYaml = false;
      block = null;
      continue;
    }
    const y = /^( *)---$/.exec(line);
    if (y && last) {
      inYaml = true;
      yamlIndent = y[1].length;
      continue;
    }
    if (inYaml) {
      if (/^ *\.\.\.$/.test(line)) {
        inYaml = false;
        continue;
      }
      const indent = line.length - line.trimStart().length;
      if (block && indent > yamlIndent) {
        last[block] = (last[block] ? `${last[block]}\n` : '') + line.slice(yamlIndent + 2);
        continue;
      }
      block = null;
      const kv = /^ *(error|location|failureType|duration_ms): (.*)$/.exec(line);
      if (kv && indent === yamlIndent) {
        let v = kv[2];
        if (/^[|>][-+]?$/.test(v)) {
          block = kv[1]; // a block scalar: the more-indented lines that follow
          last[block] = '';
          continue;
        }
        if (/^'.*'$/.test(v)) v = v.slice(1, -1).replace(/''/g, "'");
        last[kv[1]] = v;
      }
    }
  }
  return pending.get(0) ?? [];
}

const result = {
  passed: 0,
  failed: 0,
  skipped: 0,
  todo: 0,
  tests: [],
  files: [],
  notes: [],
  verdict: null,
  error: null,
};
const add = (file, name, status, detail) => {
  result.tests.push({ file, name, status, ...(detail ? { detail } : {}) });
  if (status === 'pass') result.passed++;
  else if (status === 'fail') result.failed++;
  else if (status === 'skip') result.skipped++;
  else if (status === 'todo') result.todo++;
};

function collect(file, nodes, prefix) {
  let failures = 0;
  for (const n of nodes) {
    const name = prefix ? `${prefix} > ${n.name}` : n.name;
    if (n.children.length > 0) {
      const inner = collect(file, n.children, name);
      failures += inner;
      if (!n.ok && !n.directive && inner === 0) {
        add(file, name, 'fail', [n.error && n.error.trimEnd(), n.location].filter(Boolean).join('\n  at '));
        failures++;
      }
      continue;
    }
    if (n.directive === 'SKIP') add(file, name, 'skip');
    else if (n.directive === 'TODO') add(file, name, 'todo');
    else if (n.ok) add(file, name, 'pass');
    else {
      add(file, name, 'fail', [n.error && n.error.trimEnd(), n.location].filter(Boolean).join('\n  at '));
      failures++;
    }
  }
  return failures;
}

let began = false;
let cur = null;
for (const line of lines) {
  const m = MARK.exec(line);
  if (!m) {
    if (cur) {
      cur.tap.push(line);
      const note = /^# netmgr-vm: (.*)$/.exec(line);
      if (note) result.notes.push(note[1]);
    } else {
      const note = /^netmgr-vm: (.*)$/.exec(line);
      if (note) result.notes.push(note[1]);
    }
    continue;
  }
  const [, kind, rest] = m;
  if (kind === 'BEGIN') {
    began = true;
    const up = /uptime=([\d.]+)/.exec(rest);
    if (up) result.guestBootSeconds = Number(up[1]);
  } else if (kind === 'FILE') cur = { file: rest, tap: [], rc: null, seconds: null };
  else if (kind === 'END' && cur) {
    const e = /rc=(\d+) seconds=([\d.]+)/.exec(rest);
    cur.rc = e ? Number(e[1]) : null;
    cur.seconds = e ? Number(e[2]) : null;
    finishFile(cur);
    cur = null;
  } else if (kind === 'VERDICT') {
    result.verdict = rest.split(' ')[0];
    const up = /uptime=([\d.]+)/.exec(rest);
    if (up) result.guestUptime = Number(up[1]);
  }
}
if (cur) finishFile(cur, true);

function finishFile(f, unfinished = false) {
  const failures = collect(f.file, parseTap(f.tap), f.file);
  // A file that failed to load is one test named by its path; its stderr (the SyntaxError...) came as comments.
  const comments = f.tap.filter(
    (l) => /^# /.test(l) && !/^# (Subtest|tests|suites|pass|fail|cancelled|skipped|todo|duration_ms)\b/.test(l),
  );
  for (const t of result.tests) {
    if (t.file === f.file && t.status === 'fail' && /\.js$/.test(t.name) && comments.length)
      t.detail = `${t.detail ?? ''}\n${comments.slice(0, 12).join('\n')}`.trim();
  }
  const before = result.tests.filter((t) => t.file === f.file);
  if (unfinished) {
    add(f.file, `${f.file} (did not finish: the VM stopped during this file)`, 'fail');
  } else if (f.rc !== 0 && failures === 0) {
    const why = f.rc === 124 ? 'killed on its timeout, NETMGR_VM_FILE_TIMEOUT' : `test file exited with status ${f.rc}`;
    add(
      f.file,
      `${f.file} (${why})`,
      'fail',
      f.tap
        .filter((l) => /^# /.test(l))
        .slice(-8)
        .join('\n'),
    );
  } else if (before.length === 0 && f.rc === 0) {
    result.notes.push(`${f.file}: no tests reported`);
  }
  result.files.push({
    file: f.file,
    rc: f.rc,
    seconds: f.seconds,
    tests: result.tests.filter((t) => t.file === f.file).length,
  });
}

const panic = lines.find((l) => /Kernel panic/.test(l));
if (timedOut) result.error = `the VM did not finish within ${timedOut} s (NETMGR_VM_TIMEOUT); killed`;
else if (panic) result.error = `kernel panic: ${panic.trim()}`;
else if (!began) result.error = 'the guest never started the tests (see the console log)';
else if (result.verdict === null)
  result.error = 'no verdict line from the guest (it stopped early; see the console log)';
else if (result.verdict === 'NONE') result.error = 'no guest test file matched (test/vm/guest/*.test.js, --filter)';
else if (qemuStatus !== undefined && qemuStatus !== '0') result.error = `qemu exited with status ${qemuStatus}`;
if (result.error) add('(vm)', result.error, 'fail');
if (result.verdict === 'FAIL' && result.failed === 0)
  add('(vm)', 'the guest reported FAIL but no failing test was parsed', 'fail');
if (wall) result.wallSeconds = Number(wall);

// Summary
const icon = { pass: 'ok  ', fail: 'FAIL', skip: 'skip', todo: 'todo' };
console.log('---- VM test summary ----');
for (const f of result.files)
  console.log(`${f.file}: ${f.tests} tests, ${f.seconds ?? '?'} s in the guest, exit ${f.rc ?? '?'}`);
for (const t of result.tests) {
  console.log(`  ${icon[t.status]} ${t.name}`);
  if (t.status === 'fail' && t.detail) for (const d of String(t.detail).split('\n')) console.log(`         ${d}`);
}
for (const n of result.notes) console.log(`  note: ${n}`);
if (result.guestUptime) {
  const boot =
    result.guestBootSeconds !== undefined ? `guest kernel to /init's tests ${result.guestBootSeconds} s, ` : '';
  console.log(
    `${boot}guest uptime at verdict ${result.guestUptime} s${wall ? `; wall time ${wall} s (build + boot + tests)` : ''}`,
  );
}
console.log(`VM: ${result.passed} passed, ${result.failed} failed`);
if (jsonPath) fs.writeFileSync(jsonPath, JSON.stringify(result, null, 2) + '\n');
process.exitCode = result.failed === 0 && result.verdict === 'PASS' ? 0 : 1;
