#!/usr/bin/env bash
# CI's fresh-root check (run by .ci/run, as root): the README's quick start on a fresh Debian 12 with only Debian's
# packages, Node.js included.
#   1. a fresh root: `mmdebstrap --variant=apt bookworm`, cached as a tarball per ISO week in $NETMGR_CI_CACHE
#      (default /var/cache/netmgr-ci; built when absent, older weeks removed), unpacked into a temp directory;
#   2. what an admin's machine has: this host's CA trust (/etc/ssl/certs, /usr/local/share/ca-certificates), apt
#      sources and apt.conf.d, /etc/npmrc, resolv.conf; and what a booted system has: the root bind-mounted onto
#      itself (so / is a mount point), /proc, /sys, /dev, a tmpfs /run;
#   3. the project cloned into /root/netmgr (git clone of this checkout's HEAD: commit before running this);
#   4. the README's first command, read out of README.md (scripts/readme-command.js), run exactly as written: it
#      must succeed, with all 12 of the demo's pings ok, and leave no namespace or link behind;
#   5. the README's second command's install step (everything before `&& npm run test:all`), then jest's unit
#      tests; with --full, the whole second command instead (the complete suite, VM included: ~20+ minutes).
# Everything is unmounted and removed at the end, also on failure or interruption. Prints each step's time and
# `N passed, N failed`; NETMGR_TEST_RESULT=FILE also gets "PASSED FAILED" (for .ci/run's total).
# usage: scripts/fresh-root-check.sh [--full] [--keep]   (--keep: leave the root unpacked, unmounted, for a look)
set -uo pipefail
cd "$(dirname "$0")/.."
PROJECT=$PWD
FULL=0 KEEP=0
for a in "$@"; do
  case "$a" in
    --full) FULL=1 ;;
    --keep) KEEP=1 ;;
    *) echo "usage: $0 [--full] [--keep]" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "fresh-root-check: needs root (mmdebstrap, mounts, chroot)"; echo "0 passed, 1 failed"; exit 1; }

CACHE=${NETMGR_CI_CACHE:-/var/cache/netmgr-ci}
TARBALL=$CACHE/bookworm-$(date -u +%GW%V).tar
ROOT=
PASSED=0 FAILED=0
STEPS=()
T0=$SECONDS

# result NAME OK(0|1) SECONDS [DETAIL]
result() {
  if [ "$2" = 0 ]; then PASSED=$((PASSED + 1)); else
    FAILED=$((FAILED + 1))
    [ -n "${NETMGR_TEST_FAILURES:-}" ] && echo "fresh root: $1" >>"$NETMGR_TEST_FAILURES"
  fi
  STEPS+=("$(printf '%-34s %5ss  %s %s' "$1" "$3" "$([ "$2" = 0 ] && echo ok || echo FAILED)" "${4:-}")")
}

finish() {
  local status=$?
  [ -n "$ROOT" ] && cleanup_root
  echo
  echo "== fresh-root check summary ($((SECONDS - T0)) s)"
  printf '  %s\n' "${STEPS[@]}"
  [ -n "${NETMGR_TEST_RESULT:-}" ] && echo "$PASSED $FAILED" >"$NETMGR_TEST_RESULT"
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" = 0 ] && [ "$status" = 0 ] && exit 0
  exit 1
}
trap finish EXIT
trap 'exit 130' INT TERM

ensure_tarball() {
  local start=$SECONDS
  if [ -s "$TARBALL" ]; then result "fresh root: cached $(basename "$TARBALL")" 0 0; return 0; fi
  echo "== mmdebstrap --variant=apt bookworm (cache: $TARBALL)"
  mkdir -p "$CACHE"
  rm -f "$CACHE"/bookworm-*.tar "$CACHE"/bookworm-*.tmp.tar
  if mmdebstrap --variant=apt bookworm "${TARBALL%.tar}.tmp.tar" && mv "${TARBALL%.tar}.tmp.tar" "$TARBALL"; then
    result "fresh root: mmdebstrap" 0 $((SECONDS - start))
  else
    rm -f "${TARBALL%.tar}.tmp.tar"
    result "fresh root: mmdebstrap" 1 $((SECONDS - start))
    return 1
  fi
}

# The host's client configuration, as an admin's machine would have it.
configure_root() {
  mkdir -p "$ROOT/etc/ssl" "$ROOT/usr/local/share"
  cp -aL /etc/ssl/certs "$ROOT/etc/ssl/"
  [ -d /usr/local/share/ca-certificates ] && cp -a /usr/local/share/ca-certificates "$ROOT/usr/local/share/"
  rm -f "$ROOT/etc/apt/sources.list" "$ROOT"/etc/apt/sources.list.d/*
  [ -f /etc/apt/sources.list ] && cp /etc/apt/sources.list "$ROOT/etc/apt/"
  cp /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources "$ROOT/etc/apt/sources.list.d/" 2>/dev/null
  cp -a /etc/apt/apt.conf.d/. "$ROOT/etc/apt/apt.conf.d/"
  [ -d /etc/apt/auth.conf.d ] && cp -a /etc/apt/auth.conf.d/. "$ROOT/etc/apt/auth.conf.d/"
  [ -f /etc/npmrc ] && cp /etc/npmrc "$ROOT/etc/npmrc"
  cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
  # CI-only: nothing in a chroot may start services (openvswitch-switch's postinst would start its daemons, which
  # would outlive the check); on a booted machine they start as usual, and the tests run their own private ones.
  printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
  chmod +x "$ROOT/usr/sbin/policy-rc.d"
}

mount_root() {
  mount --bind "$ROOT" "$ROOT" && mount --make-private "$ROOT" &&
    mount -t proc proc "$ROOT/proc" &&
    mount --rbind /sys "$ROOT/sys" && mount --make-rslave "$ROOT/sys" &&
    mount --rbind /dev "$ROOT/dev" && mount --make-rslave "$ROOT/dev" &&
    mount -t tmpfs -o mode=755 tmpfs "$ROOT/run"
}

cleanup_root() {
  local p
  # Whatever still runs inside the root (a daemon a command left behind) would keep its mounts busy.
  for p in /proc/[0-9]*; do [ "$(readlink "$p/root" 2>/dev/null)" = "$ROOT" ] && kill -9 "${p#/proc/}" 2>/dev/null; done
  sleep 0.5
  umount -R "$ROOT" 2>/dev/null || umount -R -l "$ROOT"
  if findmnt -rn -o TARGET | grep -q "^$ROOT"; then echo "fresh-root-check: $ROOT is still mounted: not removing it" >&2; return; fi
  if [ "$KEEP" = 1 ]; then echo "--keep: the root is left in $ROOT"; else rm -rf --one-file-system "$ROOT"; fi
  ROOT=
}

# in_root COMMAND: bash -c COMMAND in the project's clone, with a login-like environment and nothing of ours.
in_root() {
  chroot "$ROOT" /usr/bin/env -i HOME=/root USER=root LOGNAME=root TERM=dumb LANG=C.UTF-8 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    /bin/bash -c "cd /root/netmgr && $1"
}

# Network namespaces and links of the (shared) host, less those of a jest run going on meanwhile (their names
# start with a per-run prefix "t" + 3 characters, test/helpers/sys.ts runPrefix).
net_inventory() {
  { ls "$ROOT/run/netns" 2>/dev/null | sed 's/^/netns /'
    ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print "link " $2 }'
  } | grep -Ev '^(netns|link) t[0-9a-z]{3}' | sort
}

first_command() {
  local cmd start=$SECONDS log=$ROOT.first.log status pings before after left
  cmd=$(node scripts/readme-command.js 1) || return 1
  echo "== in the fresh root, the README's first command: $cmd"
  before=$(net_inventory)
  in_root "$cmd" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  result "README command 1 exits 0" "$([ "$status" = 0 ] && echo 0 || echo 1)" $((SECONDS - start)) "(exit $status)"
  pings=$(grep -cE '^sw-h[1-4] -> 198\.18\.100\.[1-4] +ok$' "$log")
  result "demo pings" "$([ "$pings" = 12 ] && echo 0 || echo 1)" 0 "($pings/12 ok)"
  after=$(net_inventory)
  left=$(comm -13 <(echo "$before") <(echo "$after") | paste -sd' ')
  result "nothing left behind (netns, links)" "$([ -z "$left" ] && echo 0 || echo 1)" 0 "${left:+(left: $left)}"
  rm -f "$log"
}

second_command() {
  local cmd install start=$SECONDS status report counts passed=0 failed=1
  cmd=$(node scripts/readme-command.js 2) || return 1
  if [ "$FULL" = 1 ]; then
    echo "== in the fresh root, the README's second command (--full): $cmd"
    in_root "export NETMGR_TEST_RESULT=/root/test-all.result; $cmd"
    status=$?
    [ -s "$ROOT/root/test-all.result" ] && read -r passed failed <"$ROOT/root/test-all.result"
    [ "$status" != 0 ] && [ "$failed" = 0 ] && failed=1
    PASSED=$((PASSED + passed)) FAILED=$((FAILED + failed))
    STEPS+=("$(printf '%-34s %5ss  %s passed, %s failed' "README command 2 (whole suite)" $((SECONDS - start)) "$passed" "$failed")")
    return
  fi
  case "$cmd" in *' && npm run test:all') install=${cmd% && npm run test:all} ;;
    *) result "README command 2 is <install> && npm run test:all" 1 0 "($cmd)"; return 1 ;; esac
  echo "== in the fresh root, the README's second command's install step: $install"
  in_root "$install"
  status=$?
  result "README command 2: install step" "$([ "$status" = 0 ] && echo 0 || echo 1)" $((SECONDS - start)) "(exit $status)"
  start=$SECONDS
  echo "== in the fresh root: jest's unit tests"
  in_root "npx jest --maxWorkers=2 --json --outputFile=/root/jest-unit.json test/unit"
  if [ -s "$ROOT/root/jest-unit.json" ] && counts=$(node -e '
      const r = require(process.argv[1]);
      const failedSuites = r.testResults.filter((s) => s.status === "failed" && s.assertionResults.length === 0).length;
      console.log(`${r.numPassedTests} ${r.numFailedTests + failedSuites}`);' "$ROOT/root/jest-unit.json"); then
    read -r passed failed <<<"$counts"
  fi
  PASSED=$((PASSED + passed)) FAILED=$((FAILED + failed))
  STEPS+=("$(printf '%-34s %5ss  %s passed, %s failed' "jest test/unit" $((SECONDS - start)) "$passed" "$failed")")
}

ensure_tarball || exit 1
start=$SECONDS
ROOT=$(mktemp -d /var/tmp/netmgr-fresh-root.XXXXXX)
if ! { tar -C "$ROOT" -xf "$TARBALL" && configure_root && mount_root &&
  git clone -q --no-checkout "$PROJECT" "$ROOT/root/netmgr" && git -C "$ROOT/root/netmgr" checkout -q "$(git rev-parse HEAD)"; }; then
  result "fresh root: unpack, configure, mount, clone" 1 $((SECONDS - start))
  exit 1
fi
result "fresh root: unpack, configure, mount, clone" 0 $((SECONDS - start)) "($(git rev-parse --short HEAD))"
first_command
second_command
