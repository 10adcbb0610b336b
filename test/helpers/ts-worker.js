/**
 * Runs TypeScript in worker threads of unit tests. ts-jest compiles what the test itself imports, not what a Worker
 * loads, so .ts files required in a worker are transpiled on the fly with typescript's transpileModule (no type
 * check: the test run's own compile of the same files does that). As a worker's script it runs workerData.script;
 * a worker whose workerData the code under test builds uses a small .js script that calls register() first.
 */
'use strict';
const fs = require('fs');
const ts = require('typescript');
const { workerData } = require('worker_threads');

const compilerOptions = { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true };

/** Lets require() load .ts files in this thread. */
function register() {
  // require.extensions is deprecated for libraries, yet it is the one hook a plain worker has for loading .ts.
  require.extensions['.ts'] = (module, file) => {
    const out = ts.transpileModule(fs.readFileSync(file, 'utf8'), { compilerOptions, fileName: file });
    module._compile(out.outputText, file);
  };
}

module.exports = { register };

if (workerData && typeof workerData.script === 'string') {
  register();
  require(workerData.script);
}
