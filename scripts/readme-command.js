#!/usr/bin/env node
// Prints one of the README's quick-start commands exactly as the README writes it, so that what CI runs
// (.ci/run, scripts/fresh-root-check.sh) and what a reader runs cannot drift apart.
// usage: node scripts/readme-command.js N [README]   N = 1 (install and demo) or 2 (test packages and the suite)
// The commands are the ```sh blocks of the section "## Quick start", in order; each is one line.
'use strict';
const fs = require('fs');
const path = require('path');

function quickStartCommands(markdown) {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => /^## Quick start\b/.test(l));
  if (start < 0) throw new Error('README has no "## Quick start" section');
  const end = lines.findIndex((l, i) => i > start && /^## /.test(l));
  const section = lines.slice(start + 1, end < 0 ? undefined : end);
  const commands = [];
  for (let i = 0; i < section.length; i++) {
    if (section[i].trim() !== '```sh') continue;
    const close = section.findIndex((l, j) => j > i && l.trim() === '```');
    if (close < 0) throw new Error('README: unclosed ```sh block in "Quick start"');
    const body = section.slice(i + 1, close).filter((l) => l.trim() !== '');
    if (body.length !== 1) throw new Error(`README: each quick-start command is one line, found ${body.length}`);
    commands.push(body[0].trim());
    i = close;
  }
  return commands;
}

const n = Number(process.argv[2]);
const readme = process.argv[3] ?? path.join(__dirname, '..', 'README.md');
const commands = quickStartCommands(fs.readFileSync(readme, 'utf8'));
if (!Number.isInteger(n) || n < 1 || n > commands.length) {
  console.error(`usage: readme-command.js N [README]: the README's quick start has ${commands.length} commands`);
  process.exit(2);
}
console.log(commands[n - 1]);
