#!/usr/bin/env bash
# The quick-start job: an unmanaged switch. netmgrd runs a MAC-learning bridge from examples/unmanaged-switch
# with four hosts in namespaces; every host pings every other, then the learned MAC table, its counters, a
# trace of one decision and the megaflows are shown. Everything netmgr created is removed at the end (KEEP=1
# leaves it running).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "demo: run as root (it creates network namespaces)" >&2; exit 1; }
[ -f dist/netmgr.js ] || npm run build
netmgr() { node bin/netmgr "$@"; }
EXAMPLE=${UNITS:-examples/unmanaged-switch}
# As root, netmgr applies only files root alone can change (netmgr.units(5), FILE PERMISSIONS): a copy made here
# by root is, whoever owns this checkout and wherever it is.
UNITS=$(mktemp -d /tmp/netmgr-demo-units.XXXXXX)
export NETMGR_STATE_DIR=${NETMGR_STATE_DIR:-$(mktemp -d /tmp/netmgr-demo.XXXXXX)}
export NETMGR_SOCKET=${NETMGR_SOCKET:-$NETMGR_STATE_DIR/netmgrd.sock}
EMPTY=$(mktemp -d /tmp/netmgr-demo-empty.XXXXXX)
DAEMON_PID=
cleanup() {
  if [ "${KEEP:-0}" != 1 ]; then
    echo; echo "== cleaning up: applying an empty unit set removes what netmgr created, then netmgrd stops"
    netmgr apply --dir "$EMPTY" || true
    if [ -n "$DAEMON_PID" ]; then kill "$DAEMON_PID" 2>/dev/null || true; wait "$DAEMON_PID" 2>/dev/null || true; fi
    rm -rf "$NETMGR_STATE_DIR" "$UNITS"
  else
    echo "KEEP=1: left running (netmgrd pid $DAEMON_PID, NETMGR_SOCKET=$NETMGR_SOCKET)"
  fi
  rmdir "$EMPTY"
}
trap cleanup EXIT
step() { echo; echo "== $*"; }

step "install -m 0644 $EXAMPLE/*.toml $UNITS/   (root's own copy of the units)"
install -m 0644 "$EXAMPLE"/*.toml "$UNITS"/

step "netmgr daemon --dir $UNITS --no-apply &   (netmgrd runs the bridges; log: $NETMGR_STATE_DIR/netmgrd.log)"
# node directly, not the netmgr function: $! must be the daemon itself, stopped by PID.
node bin/netmgr daemon --dir "$UNITS" --no-apply 2>"$NETMGR_STATE_DIR/netmgrd.log" &
DAEMON_PID=$!
for _ in $(seq 100); do [ -S "$NETMGR_SOCKET" ] && break; sleep 0.1; done
[ -S "$NETMGR_SOCKET" ] || { cat "$NETMGR_STATE_DIR/netmgrd.log" >&2; exit 1; }
step "netmgr validate --dir $UNITS";   netmgr validate --dir "$UNITS"
step "netmgr plan --dir $UNITS";       netmgr plan --dir "$UNITS"
step "netmgr apply --dir $UNITS";      netmgr apply --dir "$UNITS"

step "every host pings every other host through the switch"
for a in 1 2 3 4; do
  for b in 1 2 3 4; do
    [ "$a" = "$b" ] && continue
    if ip netns exec "sw-h$a" ping -c 1 -W 1 "198.18.100.$b" >/dev/null; then r=ok; else r=FAILED; fi
    printf 'sw-h%s -> 198.18.100.%s  %s\n' "$a" "$b" "$r"
    [ "$r" = ok ]
  done
done

step "netmgr fdb show sw0   (the learned MAC table: each host on its port)"; netmgr fdb show sw0
step "netmgr fdb stats sw0";   netmgr fdb stats sw0
step "netmgr trace sw0 \"in_port(sw-p1),eth(src=02:00:00:00:64:01,dst=02:00:00:00:64:03)\""
netmgr trace sw0 "in_port(sw-p1),eth(src=02:00:00:00:64:01,dst=02:00:00:00:64:03),eth_type(0x0800),ipv4()"
step "netmgr trace sw0 for a MAC nobody has: flooded"
netmgr trace sw0 "in_port(sw-p1),eth(src=02:00:00:00:64:01,dst=02:00:00:00:64:99),eth_type(0x0800),ipv4()"
step "netmgr dpctl dump-flows sw0   (megaflows: in_port + MAC pair, no L3/L4 fields)"; netmgr dpctl dump-flows sw0
step "netmgr plan --dir $UNITS (again)"; netmgr plan --dir "$UNITS"
