/**
 * Runs a TypeScript module (workerData.script) as a worker_threads script in unit tests. ts-jest compiles what the
 * test itself imports, not what a Worker loads, so .ts files required from here are transpiled on the fly with
 * typescript's transpileModule (no type check: the test run's own compile of the same files does that).
 */
'use strict';
const fs = require('fs');
const ts = require('typescript');
const { workerData } = require('worker_threads');

const compilerOptions = { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true };
// require.extensions is deprecated for libraries, yet it is the one hook a plain worker has for loading .ts.
require.extensions['.ts'] = (module, file) => {
  const out = ts.transpileModule(fs.readFileSync(file, 'utf8'), { compilerOptions, fileName: file });
  module._compile(out.outputText, file);
};
require(workerData.script);
