#!/usr/bin/env bash
# Builds the classifier benchmark with tsc into a temp dir and runs it with plain node.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
cd "$root"
npx tsc --outDir "$out" --rootDir "$root" --module commonjs --target ES2022 --strict --skipLibCheck --types node \
  bench/classifier.ts
node "$out/bench/classifier.js"
