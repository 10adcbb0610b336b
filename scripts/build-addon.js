#!/usr/bin/env node
// Builds the C addon (build/Release/netmgr_native.node) with node-gyp: package.json's `install` script.
// node-gyp needs Node's headers (include/node/common.gypi, node_api.h). They are looked for where they are on a
// Debian machine or next to a Node from elsewhere, in this order, and the first found is passed as --nodedir:
//   1. $npm_config_nodedir (npm's `nodedir` setting), when it holds them;
//   2. the running node's own prefix (<prefix>/include/node: NodeSource's and nodejs.org's builds);
//   3. /usr (/usr/include/node: Debian's libnode-dev, which Debian's npm pulls in through node-gyp).
// The addon uses only N-API (NAPI_VERSION 8), so headers of another Node version build the same addon.
// With none of them, node-gyp is run without --nodedir (it uses its own cache, or downloads the headers); when
// that fails too, the message says what to install.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const DEBIAN_PREFIX = '/usr';

/** True when dir is a prefix node-gyp accepts as --nodedir. */
function hasHeaders(dir) {
  const inc = path.join(dir, 'include', 'node');
  return fs.existsSync(path.join(inc, 'common.gypi')) && fs.existsSync(path.join(inc, 'node_api.h'));
}

function candidates() {
  const own = path.resolve(process.execPath, '..', '..');
  return [process.env.npm_config_nodedir, own, DEBIAN_PREFIX].filter((d) => typeof d === 'string' && d !== '');
}

function nodeGyp(args) {
  // Under npm, the node-gyp npm names (its own, or Debian's node-gyp package for Debian's npm); outside npm, the
  // node-gyp on PATH (Debian's /usr/bin/node-gyp).
  const gyp = process.env.npm_config_node_gyp;
  const r = gyp
    ? spawnSync(process.execPath, [gyp, ...args], { stdio: 'inherit' })
    : spawnSync('node-gyp', args, { stdio: 'inherit' });
  if (r.error) {
    console.error(
      `build-addon: cannot run node-gyp (${r.error.message}): run this through npm (npm ci, npm run install), or apt-get install node-gyp`,
    );
    return 1;
  }
  return r.status ?? 1;
}

function main() {
  const nodedir = candidates().find(hasHeaders);
  if (nodedir) {
    console.error(`build-addon: Node.js headers from ${path.join(nodedir, 'include', 'node')}`);
    return nodeGyp(['rebuild', `--nodedir=${nodedir}`]);
  }
  console.error(
    `build-addon: no Node.js headers in ${candidates()
      .map((d) => path.join(d, 'include', 'node'))
      .join(', ')}; trying node-gyp's own`,
  );
  const status = nodeGyp(['rebuild']);
  if (status !== 0) {
    console.error(
      `build-addon: the addon needs Node.js's headers (include/node/node_api.h and common.gypi) and none were found.\n` +
        `  On Debian: apt-get install libnode-dev   (the headers of Debian's nodejs, in /usr/include/node)\n` +
        `  Otherwise: use a Node.js whose prefix has include/node (nodejs.org and NodeSource builds do),\n` +
        `  or point npm at them: npm config set nodedir <prefix containing include/node>`,
    );
  }
  return status;
}

process.exitCode = main();
