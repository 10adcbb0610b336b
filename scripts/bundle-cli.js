#!/usr/bin/env node
// Second half of `npm run build` (after tsc): bundles the CLI, dist/cli/main.js and everything it imports, into
// one file, dist/netmgr.js, and writes V8's code cache for it, dist/netmgr.js.cache; bin/netmgr loads both.
// Why: start-up of the unbundled CLI resolves, reads and compiles ~1,300 modules (typebox alone is ~500 files),
// which cost more than the work of a no-op `netmgr apply` (bench/apply.sh measures the three ways to start).
// Left out of the bundle, loaded from node_modules when a command needs them: the addon (a .node file),
// systeminformation (`status` only) and chokidar (netmgrd's unit watcher). netmgrd's forwarding worker is bundled
// the same way into dist/netmgr-worker.js.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '..');
const outfile = path.join(root, 'dist', 'netmgr.js');

const common = {
  bundle: true,
  platform: 'node',
  target: 'node18',
  format: 'cjs',
  external: ['*.node', 'systeminformation', 'chokidar'],
  logLevel: 'warning',
};
esbuild.buildSync({ ...common, entryPoints: [path.join(root, 'dist', 'cli', 'main.js')], outfile });
// netmgrd's forwarding worker is a second V8 isolate that loads its own modules: bundled too (bridge/remote.ts).
esbuild.buildSync({
  ...common,
  entryPoints: [path.join(root, 'dist', 'bridge', 'worker.js')],
  outfile: path.join(root, 'dist', 'netmgr-worker.js'),
});

// The cache holds what V8 compiled while running a command that parses units (the functions every command
// needs); it is only used by the node (same V8 version and flags) that wrote it, else V8 compiles as usual.
const cache = `${outfile}.cache`;
fs.rmSync(cache, { force: true });
const run = spawnSync(
  process.execPath,
  [path.join(root, 'bin', 'netmgr'), 'validate', '--offline', '--dir', path.join(root, 'examples', 'veth-pair')],
  { env: { ...process.env, NETMGR_WRITE_CODE_CACHE: cache }, encoding: 'utf8' },
);
if (run.status !== 0 || !fs.existsSync(cache)) {
  process.stderr.write(`scripts/bundle-cli.js: the bundled CLI failed its first run:\n${run.stdout}${run.stderr}`);
  process.exit(1);
}
