#!/usr/bin/env bash
# netmgrd killed (kill -9) and restarted the way systemd's Restart=on-failure would (issue 20): what happens to
# forwarding? h1 pings h2 every 10 ms (ping -D -i 0.01) through a learning bridge; per run netmgrd is SIGKILLed and
# a supervisor starts it again after RestartSec (read from units/netmgr.service).
#   userspace  (here) the bridge lives in netmgrd: forwarding stops at the kill and comes back once the new netmgrd
#              has rebuilt the bridge. Measured: kill -> first ping reply after it, and its parts (RestartSec, then
#              the new netmgrd's start-up to forwarding).
#   kernel     (in the qemu VM, bench/vm/restart.js: the VM has the openvswitch module) the bridge stays in the
#              kernel: the longest gap between ping replies around the kill and the restart (goal: no gap), and
#              the userspace datapath measured the same way in the same VM for contrast.
# Median and max over RUNS runs. If systemd is PID 1, the supervisor here is a transient systemd-run unit with
# Restart=on-failure; otherwise (a container) a shell loop that does what systemd would, and the output says so.
#
# usage: bash bench/restart.sh [--no-vm | --vm-only]     (as root, from anywhere; ~15 s here, ~2 min in the VM)
#   --no-vm         only the userspace datapath here
#   --vm-only       only the VM
#   QUICK=1         one run each
#   RUNS=N          runs (default 3); RESTART_SEC=S overrides the unit's RestartSec (here only; the VM reads the
#                   unit)
#   KEEP=1          keep the temp dir (netmgrd logs, ping output) and print its path
# The machine is shared: run it as `flock /tmp/netmgr-heavy.lock bash bench/restart.sh`.
# Names carry a per-run prefix nmrsXXX, addresses are from 198.18.140.0/24 only, and everything is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh

VM=1
HOST=1
case "${1:-}" in
  --no-vm) VM=0 ;;
  --vm-only) HOST=0 ;;
  '') ;;
  *) echo "usage: bash bench/restart.sh [--no-vm | --vm-only]" >&2; exit 2 ;;
esac
QUICK=${QUICK:-0}
RUNS=${RUNS:-3}
[ "$QUICK" = 1 ] && RUNS=1
UNIT_RESTART_SEC=$(sed -n 's/^RestartSec=\([0-9.]*\)\(ms\|s\)\?$/\1 \2/p' units/netmgr.service |
  awk '{ print ($2 == "ms" ? $1 / 1000 : $1) }')
RESTART_SEC=${RESTART_SEC:-${UNIT_RESTART_SEC:-0.1}}

[ "$(id -u)" = 0 ] || { echo "bench/restart.sh: run as root" >&2; exit 1; }
for t in ip ping node awk; do
  command -v "$t" >/dev/null || { echo "bench/restart.sh: $t is missing" >&2; exit 1; }
done
npm run build >/dev/null

P=$(run_prefix nmrs)
NSA=$P-h1
NSB=$P-h2
IPB=198.18.140.2
TMP=$(mktemp -d /tmp/netmgr-restart.XXXXXX)
UNITS=$TMP/units
STATE=$TMP/state
mkdir -p "$UNITS" "$STATE"
export NETMGR_DIR=$UNITS NETMGR_STATE_DIR=$STATE NETMGR_SOCKET=$STATE/netmgrd.sock
T_START=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
SUP_PID=
PING_PID=
SD_UNIT=
if [ "$(ps -p 1 -o comm=)" = systemd ]; then SUPERVISOR=systemd; else SUPERVISOR=loop; fi

daemon_pid() {
  if [ "$SUPERVISOR" = systemd ]; then systemctl show -p MainPID --value "$SD_UNIT"; else cat "$TMP/daemon.pid" 2>/dev/null || true; fi
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  touch "$TMP/stop"
  stop_pid "$PING_PID"
  if [ -n "$SD_UNIT" ]; then systemctl stop "$SD_UNIT" 2>/dev/null || true; fi
  # The loop supervisor stops restarting once $TMP/stop exists; then its netmgrd gets a SIGTERM (a clean exit).
  if [ -n "$SUP_PID" ]; then stop_pid "$(daemon_pid)"; wait "$SUP_PID" 2>/dev/null || true; fi
  remove_prefixed "$P"
  remove_tmp "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
now() { date +%s.%N; }

cat > "$UNITS/$P-br.toml" <<EOF
[unit]
type = "bridge"
[bridge]
datapath = "userspace"
policy = "learning"
EOF
for n in 1 2; do
  printf '[unit]\ntype = "port"\n[port]\nbridge = "%s"\nkind = "veth"\nnamespace = "%s"\npeer = "%s"\n[ipv4]\naddresses = ["198.18.140.%s/24"]\n[link]\nmac = "02:00:00:8c:01:0%s"\n' \
    "$P-br" "$P-h$n" "$P-e$n" "$n" "$n" > "$UNITS/$P-p$n.toml"
done

# The loop supervisor: what Restart=on-failure does. A clean exit (status 0) ends it; a crash or a kill by a
# signal restarts netmgrd after RESTART_SEC. Each start's time goes to $TMP/starts (for the breakdown).
supervise() {
  local pid rc
  while :; do
    node bin/netmgr daemon --no-watch >> "$TMP/netmgrd.log" 2>&1 &
    pid=$!
    echo "$pid" > "$TMP/daemon.pid"
    now >> "$TMP/starts"
    rc=0
    wait "$pid" || rc=$?
    [ "$rc" = 0 ] && return 0
    [ -e "$TMP/stop" ] && return 0
    sleep "$RESTART_SEC"
  done
}

# The userspace datapath here: the supervisor, then RUNS kills.
host_bench() {
  if [ "$SUPERVISOR" = systemd ]; then
    SD_UNIT=$P-netmgrd.service
    log "supervisor: systemd (PID 1): transient unit $SD_UNIT, Type=notify, Restart=on-failure, RestartSec=$RESTART_SEC"
    systemd-run --quiet --unit="$SD_UNIT" --collect -p Type=notify -p Restart=on-failure -p "RestartSec=$RESTART_SEC" \
      -p "WorkingDirectory=$PWD" --setenv=NETMGR_DIR="$UNITS" --setenv=NETMGR_STATE_DIR="$STATE" \
      --setenv=NETMGR_SOCKET="$NETMGR_SOCKET" "$(command -v node)" "$PWD/bin/netmgr" daemon --no-watch
  else
    log "supervisor: systemd is not PID 1 here ($(ps -p 1 -o comm=)): a shell loop restarts netmgrd ${RESTART_SEC} s after it dies, as Restart=on-failure with RestartSec=${RESTART_SEC} would"
    # Its stderr (bash's "Killed" notices) goes to the log.
    supervise 2>> "$TMP/netmgrd.log" &
    SUP_PID=$!
  fi

  wait_forwarding() {
    local i
    for ((i = 0; i < 300; i++)); do
      ip netns exec "$NSA" ping -c 1 -W 1 "$IPB" > /dev/null 2>&1 && return 0
      sleep 0.1
    done
    tail -n 20 "$TMP/netmgrd.log" >&2
    echo "bench/restart.sh: the bridge does not forward" >&2
    exit 1
  }
  wait_forwarding
  for ns in "$NSA" "$NSB"; do ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done

  # From ping -D output and the kill's time: "kill->forwarding_ms longest_gap_ms loss_pct". kill->forwarding is
  # the first reply that ends the longest gap after the kill (a reply already on its way at the kill does not
  # count as forwarding again); lost: replies missing up to the last one received.
  outage_of() {
    awk -v kill="$2" '
      /bytes from/ { t = substr($1, 2, length($1) - 2); if (base == "") { base = int(t); k = kill - base }; t -= base
                     if (prev != "" && t - prev > max) max = t - prev
                     if (prev != "" && t > k && t - prev > bgap) { bgap = t - prev; back = t }
                     prev = t; got++
                     seq = $0; sub(/.*icmp_seq=/, "", seq); sub(/ .*/, "", seq); if (seq + 0 > last) last = seq + 0 }
      END { printf "%.1f %.1f %d\n", (back - k) * 1000, max * 1000, last - got }' "$1"
  }

  for ((RUN = 1; RUN <= RUNS; RUN++)); do
    log "run $RUN/$RUNS: kill -9 netmgrd with pings going through the userspace bridge"
    out=$TMP/ping-$RUN.txt
    ip netns exec "$NSA" ping -D -n -i 0.01 "$IPB" > "$out" 2>&1 &
    PING_PID=$!
    sleep 1
    old=$(daemon_pid)
    starts_before=$(wc -l < "$TMP/starts" 2>/dev/null || echo 0)
    t_kill=$(now)
    kill -KILL "$old"
    # Until a reply after the kill, then one more second of pinging.
    for ((i = 0; i < 300; i++)); do
      last=$(awk '/bytes from/ { t = substr($1, 2, length($1) - 2) } END { print t + 0 }' "$out")
      awk -v a="$last" -v b="$t_kill" 'BEGIN { exit !(a > b + 0.05) }' && break
      sleep 0.1
    done
    sleep 1
    kill -INT "$PING_PID"
    wait "$PING_PID" || true
    PING_PID=
    new=$(daemon_pid)
    if [ -z "$new" ] || [ "$new" = "$old" ] || [ "$new" = 0 ]; then
      echo "bench/restart.sh: netmgrd was not restarted" >&2
      exit 1
    fi
    read -r back gap loss <<< "$(outage_of "$out" "$t_kill")"
    # When the new netmgrd was started (loop supervisor only: systemd's start time is not this precise).
    restart=-
    if [ "$SUPERVISOR" = loop ] && [ "$(wc -l < "$TMP/starts")" -gt "$starts_before" ]; then
      restart=$(awk -v k="$t_kill" -v s="$(tail -n 1 "$TMP/starts")" 'BEGIN { printf "%.1f", (s - k) * 1000 }')
    fi
    echo "$back $gap $loss $restart" >> "$TMP/results"
    log "  kill -> forwarding $back ms (longest gap $gap ms, $loss pings lost, kill -> new netmgrd started $restart ms)"
    wait_forwarding
  done

  median() { sort -g | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }'; }
  col() { awk -v c="$1" '{ print $c }' "$TMP/results"; }
  echo
  if [ "$SUPERVISOR" = loop ]; then
    echo "netmgrd SIGKILLed and restarted ${RESTART_SEC} s later by a shell loop (systemd is not PID 1 here; this is what"
    echo "Restart=on-failure with RestartSec=${RESTART_SEC} does), userspace learning bridge, ping every 10 ms; $RUNS run(s)"
  else
    echo "netmgrd SIGKILLed and restarted by systemd (transient unit, Restart=on-failure, RestartSec=${RESTART_SEC}),"
    echo "userspace learning bridge, ping every 10 ms; $RUNS run(s)"
  fi
  echo
  echo "| datapath | runs | kill -> forwarding ms (median) | (max) | kill -> new netmgrd started ms | new netmgrd started -> forwarding ms | pings lost |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  b=$(col 1 | median)
  s=$(col 4 | median)
  awk -v b="$b" -v m="$(col 1 | sort -g | tail -n 1)" -v s="$s" -v l="$(col 3 | median)" -v r="$RUNS" 'BEGIN {
    printf "| userspace (here) | %d | %s | %s | %s | %s | %s |\n", r, b, m, s, (s == "-" ? "-" : sprintf("%.1f", b - s)), l }'
  echo
  echo "machine: $(nproc) cores, kernel $(uname -r), node $(node --version); load average at start: $LOAD_START, now: $(cut -d' ' -f1-3 /proc/loadavg)"
}
[ "$HOST" = 0 ] || host_bench

if [ "$VM" = 1 ]; then
  echo
  log "the kernel datapath in the qemu VM (bench/vm/restart.js; RestartSec from units/netmgr.service)"
  script=bench/vm/restart.js
  [ "$QUICK" = 1 ] && script=bench/vm/restart-quick.js
  NETMGR_VM_TIMEOUT=${NETMGR_VM_TIMEOUT:-600} bash test/vm/run --run "$script" > "$TMP/vm.log" 2>&1 || {
    tail -n 40 "$TMP/vm.log" >&2
    echo "bench/restart.sh: the VM run failed" >&2
    exit 1
  }
  # The guest's table, from the serial console (which ends lines with CR).
  tr -d '\r' < test/vm/.out/console.log | sed -n '/^=====RESTART-TABLE=====$/,/^=====RESTART-TABLE-END=====$/p' | sed '1d;$d'
fi
echo "total time $(($(date +%s) - T_START)) s"
