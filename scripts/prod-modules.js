'use strict';
/**
 * Prints the installed production modules of the project in the current directory, one path relative to it per
 * line (node_modules/<name>, node_modules/@scope/<name>, nested node_modules/<a>/node_modules/<b> too): every
 * package-lock.json entry not marked dev whose directory exists. debian/rules copies exactly these into the
 * package. Read from the lockfile rather than `npm ls --omit=dev`: npm ls misjudges a tree reached through a
 * symlinked node_modules (the package test builds in a copy of the project that links the original's).
 */
const fs = require('node:fs');

const lock = JSON.parse(fs.readFileSync('package-lock.json', 'utf8'));
if (lock.lockfileVersion < 2 || !lock.packages) {
  console.error('scripts/prod-modules.js: package-lock.json has no "packages" (lockfileVersion 2 or 3 needed)');
  process.exit(1);
}
for (const [dir, entry] of Object.entries(lock.packages)) {
  if (!dir.startsWith('node_modules/') || entry.dev || entry.link) continue;
  if (fs.existsSync(dir)) console.log(dir);
}
