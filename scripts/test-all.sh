#!/usr/bin/env bash
# The whole test suite (`npm run test:all`, the README's second command after its apt-get install), part by part:
#   static checks   each of package.json's scripts lint, format:check, deps that exists (one check each)
#   deb             the Debian package built as a packager would (dpkg-buildpackage -b -us -uc) into .ci/out/;
#                   jest's test/package/deb.test.ts installs, checks and purges that very .deb (NETMGR_DEB)
#   build, typecheck  tsc
#   jest            unit, integration and package tests (test/**/*.test.ts), then the few that run alone
#                   (jest.config.js: latency bounds under a load of their own)
#   vm              the kernel datapath in a qemu VM (test/vm/run)
#   system          the .deb on a Debian 12 guest booted by systemd, a switch at every boot (test/system/run)
# Not as root: the deb, vm and system parts are not run (they install a package, boot a VM), and jest's closing lines say
# which tests need root. Ends with each part's time and counts, then `N passed, N failed` summed over all parts.
# NETMGR_TEST_RESULT=FILE: also write "PASSED FAILED" there (for .ci/run's own total).
set -uo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

SUMMARY=()
FAILURES=() # "part: file > test" of every failed test, printed at the end so a log's tail names them
TOTAL_PASSED=0
TOTAL_FAILED=0
is_root() { [ "$(id -u)" = 0 ]; }

# record NAME SECONDS PASSED FAILED [NOTE]
record() {
  SUMMARY+=("$(printf '%-22s %5ss  %5s passed, %s failed %s' "$1" "$2" "$3" "$4" "${5:-}")")
  TOTAL_PASSED=$((TOTAL_PASSED + $3))
  TOTAL_FAILED=$((TOTAL_FAILED + $4))
}
not_run() { SUMMARY+=("$(printf '%-22s  not run: %s' "$1" "$2")"); }

# check NAME COMMAND...: one check, passed when the command exits 0.
check() {
  local name=$1 start=$SECONDS
  shift
  echo "== $name: $*"
  if "$@"; then record "$name" $((SECONDS - start)) 1 0; else record "$name" $((SECONDS - start)) 0 1; FAILURES+=("$name"); fi
}

has_script() { node -e 'process.exit(require("./package.json").scripts[process.argv[1]] ? 0 : 1)' "$1"; }

static_checks() {
  local s
  for s in lint format:check deps; do has_script "$s" && check "$s" npm run --silent "$s"; done
}

DEB_FAILED=0
deb_part() {
  if ! is_root; then not_run deb "needs root (test/package installs the .deb)"; return; fi
  local start=$SECONDS version
  echo "== deb: dpkg-buildpackage -b -us -uc (log: .ci/out/dpkg-buildpackage.log)"
  mkdir -p .ci/out
  rm -f .ci/out/netmgr_* .ci/out/netmgr-dbgsym_*
  version=$(dpkg-parsechangelog -S Version)
  if dpkg-buildpackage -b -us -uc >.ci/out/dpkg-buildpackage.log 2>&1; then
    # dpkg-buildpackage writes next to the project; keep the results inside it.
    mv ../netmgr_"$version"_* ../netmgr-dbgsym_"$version"_* .ci/out/ 2>/dev/null
    NETMGR_DEB=$(ls "$PWD"/.ci/out/netmgr_"$version"_*.deb)
    export NETMGR_DEB
    echo "built $NETMGR_DEB"
    record deb $((SECONDS - start)) 1 0
  else
    tail -n 40 .ci/out/dpkg-buildpackage.log
    echo "dpkg-buildpackage failed: test/package is left out rather than failing again for the same reason"
    DEB_FAILED=1
    # Its clean step removed build/ and dist/: put the addon back (the build part rebuilds dist/).
    [ -f build/Release/netmgr_native.node ] || npm run install
    record deb $((SECONDS - start)) 0 1
    FAILURES+=("deb: dpkg-buildpackage")
  fi
}

# jest_run NAME ARGS...: one jest run with --json; records its passed, failed and not-run counts under NAME.
jest_run() {
  local name=$1 start=$SECONDS report counts passed=0 failed=1 skipped=0
  shift
  report=$(mktemp /tmp/netmgr-jest.XXXXXX.json)
  echo "== $name"
  npx jest --json --outputFile="$report" "$@"
  if [ -s "$report" ] && counts=$(node -e '
      const r = require(process.argv[1]);
      const failedSuites = r.testResults.filter((s) => s.status === "failed" && s.assertionResults.length === 0).length;
      console.log(`${r.numPassedTests} ${r.numFailedTests + failedSuites} ${r.numPendingTests + r.numTodoTests}`);
    ' "$report"); then
    read -r passed failed skipped <<<"$counts"
    mapfile -t -O "${#FAILURES[@]}" FAILURES < <(node -e '
      const r = require(process.argv[1]);
      const rel = (f) => require("path").relative(process.cwd(), f);
      for (const s of r.testResults) {
        const failed = s.assertionResults.filter((a) => a.status === "failed");
        // The first lines of the failure say why; the summary is often all that is kept of a CI log.
        const firstLines = (text) =>
          (text || "").replace(/\x1b\[[0-9;]*m/g, "").split("\n").map((l) => l.trim())
            .filter((l) => l && !l.startsWith("at ")).slice(0, 6).join(" | ").slice(0, 600);
        if (failed.length === 0 && s.status === "failed")
          console.log(`${process.argv[2]}: ${rel(s.name)} (suite did not run)\n      ${firstLines(s.message)}`);
        for (const a of failed)
          console.log(`${process.argv[2]}: ${rel(s.name)} > ${a.fullName}\n      ${firstLines(a.failureMessages[0])}`);
      }
    ' "$report" "$name")
  fi
  rm -f "$report"
  record "$name" $((SECONDS - start)) "$passed" "$failed" "($skipped not run)"
}

# The suite two files at a time, then the tests that must run alone (jest.config.js, NETMGR_JEST_ALONE).
jest_part() {
  local extra=()
  if [ "$DEB_FAILED" = 1 ]; then
    read -r -a extra <<<"$(node -p "require('./jest.config.js').testPathIgnorePatterns.join(' ')")"
    extra=(--testPathIgnorePatterns "${extra[@]}" /test/package/)
  fi
  jest_run jest "${extra[@]}"
  NETMGR_JEST_ALONE=1 jest_run "jest (alone)" --runInBand
}

vm_part() {
  if ! is_root; then not_run vm "needs root (test/vm/run)"; return; fi
  local start=$SECONDS report counts passed=0 failed=1 status
  report=$(mktemp /tmp/netmgr-vm.XXXXXX.json)
  echo "== vm: test/vm/run"
  # Without KVM the VM is emulated (tcg): on a busy machine the guest suite can take several times its ~90 s.
  NETMGR_VM_TIMEOUT=${NETMGR_VM_TIMEOUT:-900} test/vm/run --json "$report"
  status=$?
  if [ -s "$report" ] && counts=$(node -e 'const r = require(process.argv[1]); console.log(`${r.passed} ${r.failed}`);' "$report"); then
    read -r passed failed <<<"$counts"
    mapfile -t -O "${#FAILURES[@]}" FAILURES < <(node -e '
      const r = require(process.argv[1]);
      for (const t of r.tests) if (t.status === "fail") console.log(`vm: ${t.file} > ${t.name}`);
    ' "$report")
  fi
  [ "$status" != 0 ] && [ "$failed" = 0 ] && failed=1
  rm -f "$report"
  record vm $((SECONDS - start)) "$passed" "$failed"
}

system_part() {
  if ! is_root; then not_run system "needs root (test/system/run)"; return; fi
  if [ "$DEB_FAILED" = 1 ]; then not_run system "the package did not build (counted under deb)"; return; fi
  local start=$SECONDS report counts passed=0 failed=1 status
  report=$(mktemp /tmp/netmgr-system.XXXXXX.json)
  echo "== system: test/system/run"
  # Uses the package the deb part built (NETMGR_DEB); without it test/system/run finds or builds one.
  test/system/run --json "$report"
  status=$?
  if [ -s "$report" ] && counts=$(node -e 'const r = require(process.argv[1]); console.log(`${r.passed} ${r.failed}`);' "$report"); then
    read -r passed failed <<<"$counts"
    mapfile -t -O "${#FAILURES[@]}" FAILURES < <(node -e '
      const r = require(process.argv[1]);
      for (const t of r.tests) if (t.status === "fail") console.log(`system: ${t.name}`);
    ' "$report")
  fi
  [ "$status" != 0 ] && [ "$failed" = 0 ] && failed=1
  rm -f "$report"
  record system $((SECONDS - start)) "$passed" "$failed"
}

all_start=$SECONDS
static_checks
deb_part
check build npm run --silent build
check typecheck npm run --silent typecheck
jest_part
vm_part
system_part

echo
echo "== summary (npm run test:all, $((SECONDS - all_start)) s)"
printf '  %s\n' "${SUMMARY[@]}"
if [ "${#FAILURES[@]}" -gt 0 ]; then
  echo "failed:"
  printf '  %s\n' "${FAILURES[@]}"
  [ -n "${NETMGR_TEST_FAILURES:-}" ] && printf '%s\n' "${FAILURES[@]}" >>"$NETMGR_TEST_FAILURES"
fi
[ -n "${NETMGR_TEST_RESULT:-}" ] && echo "$TOTAL_PASSED $TOTAL_FAILED" >"$NETMGR_TEST_RESULT"
echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
[ "$TOTAL_FAILED" = 0 ]
