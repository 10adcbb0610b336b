#!/usr/bin/env bash
# The quick-start job: apply the example units, show the plan before and "No changes." after, ping across,
# then remove everything netmgr created (KEEP=1 leaves it running).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "demo: run as root (it creates network namespaces)" >&2; exit 1; }
[ -f dist/cli/main.js ] || npm run build
netmgr() { node bin/netmgr "$@"; }
UNITS=${UNITS:-examples/veth-pair}
export NETMGR_STATE_DIR=${NETMGR_STATE_DIR:-$(mktemp -d /tmp/netmgr-demo.XXXXXX)}
EMPTY=$(mktemp -d /tmp/netmgr-demo-empty.XXXXXX)
cleanup() {
  if [ "${KEEP:-0}" != 1 ]; then
    echo; echo "== cleaning up: applying an empty unit set removes what netmgr created"
    netmgr apply --dir "$EMPTY" || true
    rm -rf "$NETMGR_STATE_DIR"
  else
    echo "KEEP=1: left running; state in $NETMGR_STATE_DIR"
  fi
  rmdir "$EMPTY"
}
trap cleanup EXIT
step() { echo; echo "== $*"; }
step "netmgr validate --dir $UNITS";   netmgr validate --dir "$UNITS"
step "netmgr plan --dir $UNITS";       netmgr plan --dir "$UNITS"
step "netmgr apply --dir $UNITS";      netmgr apply --dir "$UNITS"
step "ping from nmdemo-a to 198.18.0.2 (in nmdemo-b)"
ip netns exec nmdemo-a ping -c 3 -i 0.2 -W 1 198.18.0.2
step "netmgr plan --dir $UNITS (again)"; netmgr plan --dir "$UNITS"
step "netmgr show --dir $UNITS";       netmgr show --dir "$UNITS"
