#!/usr/bin/env bash
# Data-plane benchmark: two network namespaces (hosts A and B, default offloads) joined by
#   veth          one veth pair, no switch (the ceiling)
#   bridge        Linux bridge in the root namespace, two veth pairs
#   ovs-veth      Open vSwitch userspace (netdev) datapath, userspace-tso-enable, veth ports
#   ovs-int       the same, internal (TAP) ports moved into the namespaces
#   netmgr-veth   netmgr's userspace datapath, veth ports
#   netmgr-int    netmgr's userspace datapath, internal ports
#   netmgr-learn-veth, netmgr-learn-int   the same two with the MAC-learning policy (the default) instead of two
#                 static flows
# measured in one run: TCP (iperf3, 1 stream, B serves, A sends; median of RUNS x SECS s), 60-byte frames per second
# received (bench/pktblast.c: sendmmsg in A, recvmmsg in B; median of RUNS x SECS s), ping RTT (50 pings, 10 ms
# apart), and the switch process's CPU time over the TCP + 60-byte runs. Prints a table, ratios and the goals.
# Then, on the learning switches (bridge, ovs-*, netmgr-learn-*), flow setup: 60-byte raw frames from A to B's MAC,
# each from a new source MAC (pktblast rawsend in A, rawsink in B), so every frame takes the miss path (learn +
# install a megaflow); new MAC pairs per second received, median of RUNS x SECS s.
# Open vSwitch is started privately (own ovsdb-server + ovs-vswitchd, run dir in a temp dir); the system's OVS
# service is never touched. Everything created is named with a per-run prefix and removed on exit.
#
# usage: bash bench/datapath.sh [--quick] [--only CASE,...]     (as root, from anywhere)
#   --quick   1 run of 2 s per measurement (smoke test)
#   --only    comma-separated subset of: veth,bridge,ovs-veth,ovs-int,netmgr-veth,netmgr-int,netmgr-learn-veth,
#             netmgr-learn-int
#   --keep    keep the temp dir with the logs (daemons, iperf3, pktblast, netmgr units) and print its path
set -uo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh

ALL_CASES=(veth bridge ovs-veth ovs-int netmgr-veth netmgr-int netmgr-learn-veth netmgr-learn-int)
# The cases whose switch learns MAC addresses: they get the flow-setup measurement too.
SETUP_CASES=(bridge ovs-veth ovs-int netmgr-learn-veth netmgr-learn-int)
RUNS=3
SECS=5
CASES=("${ALL_CASES[@]}")
KEEP=0
while [ $# -gt 0 ]; do
  case $1 in
    --quick) RUNS=1; SECS=2 ;;
    --keep) KEEP=1 ;;
    --only)
      [ $# -ge 2 ] || { echo "bench/datapath.sh: --only needs a list" >&2; exit 2; }
      IFS=, read -r -a CASES <<< "$2"; shift ;;
    --only=*) IFS=, read -r -a CASES <<< "${1#--only=}" ;;
    -h|--help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;;
    *) echo "bench/datapath.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
for c in "${CASES[@]}"; do
  [[ " ${ALL_CASES[*]} " == *" $c "* ]] || { echo "bench/datapath.sh: unknown case '$c' (cases: ${ALL_CASES[*]})" >&2; exit 2; }
done
want() { [[ " ${CASES[*]} " == *" $1 "* ]]; }
want_ovs() { want ovs-veth || want ovs-int; }
want_netmgr() { want netmgr-veth || want netmgr-int || want netmgr-learn-veth || want netmgr-learn-int; }
is_setup_case() { [[ " ${SETUP_CASES[*]} " == *" $1 "* ]]; }

[ "$(id -u)" = 0 ] || { echo "bench/datapath.sh: run as root" >&2; exit 1; }

# --- tools ----------------------------------------------------------------------------------------------------
declare -A PKG=([iperf3]=iperf3 [ip]=iproute2 [ss]=iproute2 [ping]=iputils-ping [cc]=build-essential [awk]=gawk
  [bc]=bc [ovsdb-tool]=openvswitch-switch [ovsdb-server]=openvswitch-switch [ovs-vswitchd]=openvswitch-switch
  [ovs-vsctl]=openvswitch-switch [node]=nodejs)
NEED=(iperf3 ip ss ping cc awk bc)
want_ovs && NEED+=(ovsdb-tool ovsdb-server ovs-vswitchd ovs-vsctl)
want_netmgr && NEED+=(node)
MISSING=()
for t in "${NEED[@]}"; do command -v "$t" >/dev/null 2>&1 || MISSING+=("${PKG[$t]}"); done
OVS_SCHEMA=/usr/share/openvswitch/vswitch.ovsschema
if want_ovs && [ ! -f "$OVS_SCHEMA" ]; then MISSING+=(openvswitch-switch); fi
if [ ${#MISSING[@]} -gt 0 ]; then
  echo "bench/datapath.sh: missing tools; install them with:" >&2
  echo "  apt-get install $(printf '%s\n' "${MISSING[@]}" | sort -u | tr '\n' ' ')" >&2
  exit 1
fi
if want_netmgr && [ ! -f dist/netmgr.js ]; then
  echo "dist/ is missing: running npm run build" >&2
  npm run build >/dev/null || { echo "bench/datapath.sh: npm run build failed" >&2; exit 1; }
fi

# --- per-run names, temp dir, cleanup -------------------------------------------------------------------------
P=nmC$(tr -dc 'a-z0-9' < /dev/urandom | head -c 3)
NSA=$P-ha
NSB=$P-hb
IPA=198.18.60.1
IPB=198.18.60.2
TMP=$(mktemp -d /tmp/netmgr-datapath.XXXXXX)
PIDS=()
HZ=$(getconf CLK_TCK)
T_START=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

exec 3>&2
log() { echo "[$(date +%H:%M:%S)] $*" >&3; }

# Stops one process this script started, by PID: only while it is still our child.
stop_pid() {
  local pid=$1 i
  [ -n "$pid" ] || return 0
  if [ -d "/proc/$pid" ] && [ "$(awk '{print $4}' "/proc/$pid/stat" 2>/dev/null)" = "$$" ]; then
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 50); do [ -d "/proc/$pid" ] && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] || break; sleep 0.1; done
    if [ -d "/proc/$pid" ] && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]; then kill -KILL "$pid" 2>/dev/null; fi
  fi
  wait "$pid" 2>/dev/null
  local keep=() p
  for p in "${PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
  PIDS=("${keep[@]}")
  return 0
}

# Removes the namespaces and root-namespace links of this run's prefix (and nothing else).
remove_prefix_objects() {
  local ns l
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$P-" || true); do ip netns del "$ns" 2>/dev/null || true; done
  for l in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | grep "^$P-" || true); do
    ip link del "$l" 2>/dev/null || true
  done
}

cleanup() {
  trap - EXIT INT TERM
  local i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[i]}"; done
  remove_prefix_objects
  if [ "$KEEP" = 1 ]; then echo "logs kept in $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PB=$TMP/pktblast
cc -O2 -Wall -o "$PB" bench/pktblast.c || { echo "bench/datapath.sh: cannot compile bench/pktblast.c" >&2; exit 1; }

# --- helpers --------------------------------------------------------------------------------------------------
median() { sort -g | awk '{a[NR] = $1} END {if (NR) print a[int((NR + 1) / 2)]}'; }
num() { [[ ${1:-} =~ ^[0-9.]+$ ]]; }
# The end of each log (its first lines too when it is long: a usage error is often at the top).
tail_of() {
  local f
  for f in "$@"; do
    [ -s "$f" ] || continue
    echo "--- $(basename "$f")"
    if [ "$(wc -l < "$f")" -le 10 ]; then cat "$f"; else head -n 2 "$f"; echo "..."; tail -n 8 "$f"; fi
  done
}

# utime + stime of a process and its live descendants, in clock ticks.
cpu_ticks() {
  local pid=$1 sum=0 c t
  t=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{print $12 + $13}')
  sum=${t:-0}
  for c in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do sum=$((sum + $(cpu_ticks "$c"))); done
  echo "$sum"
}

mk_hosts() {
  ip netns add "$NSA" && ip netns add "$NSB" &&
    ip -n "$NSA" link set lo up && ip -n "$NSB" link set lo up
}

# Addresses and link state of the host ends: host_addr NS IFACE IP
host_addr() { ip -n "$1" addr add "$3/24" dev "$2" && ip -n "$1" link set "$2" up; }

wait_for() { # wait_for SECONDS COMMAND...
  local until=$(($(date +%s%N) + $1 * 1000000000)); shift
  until "$@" >/dev/null 2>&1; do [ "$(date +%s%N)" -lt "$until" ] || return 1; sleep 0.05; done
}

# --- results --------------------------------------------------------------------------------------------------
declare -A R_TCP R_RETR R_PPS R_OFF R_PING R_CPU R_FAIL
declare -A R_NEW R_NEWOFF R_NEWCPU R_FDB R_FDBX R_NEWFAIL
declare -A LABEL=(
  [veth]="direct veth (ceiling)"
  [bridge]="Linux bridge, veth ports"
  [ovs-veth]="OVS netdev+TSO, veth ports"
  [ovs-int]="OVS netdev+TSO, internal"
  [netmgr-veth]="netmgr userspace, veth ports"
  [netmgr-int]="netmgr userspace, internal"
  [netmgr-learn-veth]="netmgr learning, veth ports"
  [netmgr-learn-int]="netmgr learning, internal"
)
FAIL_MSG=""

# measure CASE [SWITCH_PID]: ping, TCP and 60-byte runs between the two hosts.
measure() {
  local case=$1 spid=${2:-} i out ok=0
  for i in $(seq 1 20); do
    if ip netns exec "$NSA" ping -c 1 -W 1 "$IPB" >/dev/null 2>&1; then ok=1; break; fi
    sleep 0.25
  done
  [ $ok = 1 ] || { FAIL_MSG="no ping from $NSA to $IPB"; return 1; }

  out=$(ip netns exec "$NSA" ping -q -c 50 -i 0.01 -W 1 "$IPB" 2>&1)
  R_PING[$case]=$(echo "$out" | awk -F/ '/^(rtt|round-trip)/ {printf "%.3f", $5}')
  local loss; loss=$(echo "$out" | grep -o '[0-9.]*% packet loss' | cut -d% -f1)
  [ -n "${R_PING[$case]}" ] || { FAIL_MSG="ping: $out"; return 1; }
  [ "${loss:-0}" = 0 ] || R_PING[$case]="${R_PING[$case]}*"
  log "  ping avg ${R_PING[$case]} ms (loss ${loss:-?}%)"

  local cpu0=0
  [ -n "$spid" ] && cpu0=$(cpu_ticks "$spid")

  # TCP: one iperf3 server in B for all runs.
  ip netns exec "$NSB" iperf3 -s -B "$IPB" -p 5201 >"$TMP/iperf3-server-$case.log" 2>&1 &
  local srv=$!; PIDS+=("$srv")
  if ! wait_for 5 sh -c "ip netns exec $NSB ss -Hltn 'sport = :5201' | grep -q 5201"; then
    FAIL_MSG="iperf3 server did not start: $(tail -n 3 "$TMP/iperf3-server-$case.log")"; stop_pid "$srv"; return 1
  fi
  local tcps=() retrs=() g r
  for i in $(seq 1 "$RUNS"); do
    out=$(ip netns exec "$NSA" timeout $((SECS + 20)) iperf3 -c "$IPB" -p 5201 -t "$SECS" -f g 2>&1)
    g=$(echo "$out" | awk '/receiver$/ {for (i = 1; i <= NF; i++) if ($i == "Gbits/sec") print $(i - 1)}' | tail -n 1)
    r=$(echo "$out" | awk '/sender$/ {for (i = 1; i <= NF; i++) if ($i == "Gbits/sec") print $(i + 1)}' | tail -n 1)
    if [ -n "$g" ]; then tcps+=("$g"); retrs+=("${r:-0}"); log "  TCP run $i: $g Gbit/s, $r retransmits"
    else log "  TCP run $i failed: $(echo "$out" | tail -n 2 | tr '\n' ' ')"; fi
    sleep 0.5
  done
  stop_pid "$srv"
  if [ ${#tcps[@]} -gt 0 ]; then
    R_TCP[$case]=$(printf '%s\n' "${tcps[@]}" | median)
    R_RETR[$case]=$(printf '%s\n' "${retrs[@]}" | median)
  else
    R_TCP[$case]=fail; R_RETR[$case]=-
  fi

  # 60-byte frames: sink in B first, then the sender in A; the sink's count over the sender's window.
  local rates=() offs=() sink sent secs rcvd port
  for i in $(seq 1 "$RUNS"); do
    port=$((9000 + i))
    ip netns exec "$NSB" "$PB" sink "$port" $((SECS + 5)) >"$TMP/sink-$case-$i.out" 2>&1 &
    sink=$!; PIDS+=("$sink")
    wait_for 5 sh -c "ip netns exec $NSB ss -Hlun 'sport = :$port' | grep -q $port"
    out=$(ip netns exec "$NSA" "$PB" send "$IPB" "$port" "$SECS" 2>&1)
    wait "$sink" 2>/dev/null; stop_pid "$sink"
    sent=$(echo "$out" | awk '/^sent/ {print $2}')
    secs=$(echo "$out" | awk '/^sent/ {print $6}')
    rcvd=$(awk '/^received/ {print $2}' "$TMP/sink-$case-$i.out")
    if [ -n "$sent" ] && [ -n "$rcvd" ] && [ -n "$secs" ]; then
      rates+=("$(echo "$rcvd / $secs" | bc -l)"); offs+=("$(echo "$sent / $secs" | bc -l)")
      log "  60-byte run $i: received $(printf '%.0f' "${rates[-1]}") pps of $(printf '%.0f' "${offs[-1]}") pps sent"
    else
      log "  60-byte run $i failed: $out $(cat "$TMP/sink-$case-$i.out")"
    fi
    sleep 0.5
  done
  if [ ${#rates[@]} -gt 0 ]; then
    R_PPS[$case]=$(printf '%s\n' "${rates[@]}" | median)
    R_OFF[$case]=$(printf '%s\n' "${offs[@]}" | median)
  else
    R_PPS[$case]=fail; R_OFF[$case]=-
  fi

  if [ -n "$spid" ]; then
    local cpu1; cpu1=$(cpu_ticks "$spid")
    R_CPU[$case]=$(printf '%.2f' "$(echo "($cpu1 - $cpu0) / $HZ" | bc -l)")
  else
    R_CPU[$case]=-
  fi
  [ "${R_TCP[$case]}" != fail ] || [ "${R_PPS[$case]}" != fail ] || { FAIL_MSG="no TCP and no 60-byte run succeeded"; return 1; }
}

# The interface that holds address IP in namespace NS: ns_ifname NS IP
ns_ifname() { ip -n "$1" -o -4 addr show to "$2/32" 2>/dev/null | awk '{sub(/@.*/, "", $2); print $2; exit}'; }
ns_mac() { ip -n "$1" -o link show dev "$2" 2>/dev/null | grep -o 'link/ether [0-9a-f:]*' | awk '{print $2}'; }

# The switch's own counters, for the flow-setup sanity check (nothing for the Linux bridge: `bridge fdb show` of
# millions of entries would take longer than the run):
#   "learned evicted entries capacity megaflows missed lost"
sw_counters() {
  local f d
  case $1 in
    netmgr-learn-*)
      f=$(nm fdb stats "$P-sw" --json 2>>"$TMP/counters.err") && d=$(nm dpctl show "$P-sw" --json 2>>"$TMP/counters.err") || return 0
      node -e '
        const [br, f, d] = [process.argv[1], ...process.argv.slice(2).map((s) => JSON.parse(s))];
        const s = f.find((x) => x.bridge === br).stats, t = d.find((x) => x.name === br).stats;
        console.log([s.learned, s.evicted, s.entries, s.capacity, s.flows, t.missed, t.lost].join(" "));
      ' "$P-sw" "$f" "$d" 2>>"$TMP/counters.err" ;;
    ovs-*)
      f=$(ovs_env ovs-appctl -t "$OVSDIR/vswitchd.ctl" fdb/stats-show "$P-ovs" 2>>"$TMP/counters.err") || return 0
      d=$(ovs_env ovs-appctl -t "$OVSDIR/vswitchd.ctl" dpctl/show 2>>"$TMP/counters.err") || return 0
      { echo "$f"; echo "$d"; } | awk -F': *' '
        /Current\/maximum MAC entries/ {split($2, m, "/"); e = m[1]; c = m[2]}
        /learned MAC entries/ {l = $2} /evicted MAC entries/ {ev = $2}
        /^ *flows:/ {fl = $2}
        /lookups:/ {n = split($0, w, /[ :]+/); for (i = 1; i < n; i++) {if (w[i] == "missed") mi = w[i + 1]; if (w[i] == "lost") lo = w[i + 1]}}
        END {if (l != "") print l + 0, ev + 0, e + 0, c + 0, fl + 0, mi + 0, lo + 0}' ;;
  esac
}

# Whether the switch still has MAC (B's) in its table, on the port toward B: b_learned CASE MAC -> yes/NO/?
b_learned() {
  local out
  case $1 in
    netmgr-learn-*)
      # Through a file: the table (thousands of entries) is too long for an argument.
      nm fdb show "$P-sw" --json >"$TMP/fdb-show.json" 2>>"$TMP/counters.err" || { echo "?"; return; }
      node -e '
        const [br, mac, port, file] = process.argv.slice(1);
        const t = JSON.parse(require("fs").readFileSync(file, "utf8"));
        const e = t.find((b) => b.bridge === br).entries.find((x) => x.mac === mac);
        console.log(e === undefined ? "NO" : e.portName === port ? "yes" : `NO (on ${e.portName})`);
      ' "$P-sw" "$2" "$P-b" "$TMP/fdb-show.json" 2>>"$TMP/counters.err" || echo "?" ;;
    ovs-*)
      out=$(ovs_env ovs-appctl -t "$OVSDIR/vswitchd.ctl" fdb/show "$P-ovs" 2>>"$TMP/counters.err") || { echo "?"; return; }
      local port; port=$(vsctl get interface "$P-b" ofport 2>/dev/null)
      echo "$out" | awk -v m="$2" -v p="$port" '$3 == m {f = ($1 == p) ? "yes" : "NO (on port " $1 ")"} END {print f ? f : "NO"}' ;;
    bridge)
      out=$(bridge fdb get "$2" br "$P-br" 2>/dev/null)
      [[ $out == *"dev $P-b "* ]] && echo yes || echo "NO${out:+ ($out)}" ;;
    *) echo "?" ;;
  esac
}

# measure_setup CASE [SWITCH_PID]: flow setup. A sends 60-byte raw frames to B's MAC, each from a new source MAC, so
# a learning switch learns a MAC and sets up a flow per frame (the Linux bridge only learns: no flows, the ceiling);
# B counts them. Frames that do not make it (queues overflowing while the switch is busy) are simply not counted.
measure_setup() {
  local case=$1 spid=${2:-} ifa ifb macb i out sink sent secs rsecs wsecs rcvd rates=() offs=() c0 c1 cpu0=0 bl
  ifa=$(ns_ifname "$NSA" "$IPA"); ifb=$(ns_ifname "$NSB" "$IPB")
  macb=$(ns_mac "$NSB" "$ifb")
  if [ -z "$ifa" ] || [ -z "$ifb" ] || [ -z "$macb" ]; then
    R_NEWFAIL[$case]="flow setup: cannot find the hosts' interfaces (A '$ifa', B '$ifb' $macb)"; return 1
  fi
  c0=$(sw_counters "$case")
  [ -n "$spid" ] && cpu0=$(cpu_ticks "$spid")
  for i in $(seq 1 "$RUNS"); do
    # The switch must know B's MAC (else the frames are flooded, not switched): B's ping replies teach it.
    ip netns exec "$NSA" ping -c 2 -i 0.1 -W 1 "$IPB" >/dev/null 2>&1 || log "  flow-setup run $i: ping A -> B failed"
    ip netns exec "$NSB" "$PB" rawsink "$ifb" $((SECS + 2)) >"$TMP/rawsink-$case-$i.out" 2>&1 &
    sink=$!; PIDS+=("$sink")
    wait_for 5 sh -c "ip netns exec $NSB ss -H -0 | grep -qF '[34997]:$ifb '"
    out=$(ip netns exec "$NSA" "$PB" rawsend "$ifa" "$macb" "$SECS" 2>&1)
    echo "$out" >"$TMP/rawsend-$case-$i.out"
    wait "$sink" 2>/dev/null; stop_pid "$sink"
    sent=$(echo "$out" | awk '/^sent/ {print $2}')
    secs=$(echo "$out" | awk '/^sent/ {print $6}')
    rcvd=$(awk '/^received/ {print $2}' "$TMP/rawsink-$case-$i.out")
    # Over the sender's window, or the sink's first-to-last frame when longer: frames a switch queued while it fell
    # behind and delivered after the sender stopped do not raise the rate.
    rsecs=$(awk '/^received/ {print $6}' "$TMP/rawsink-$case-$i.out")
    if [ -n "$sent" ] && [ -n "$rcvd" ] && [ -n "$secs" ]; then
      wsecs=$secs; num "${rsecs:-}" && [ "$(echo "$rsecs > $secs" | bc)" = 1 ] && wsecs=$rsecs
      rates+=("$(echo "$rcvd / $wsecs" | bc -l)"); offs+=("$(echo "$sent / $secs" | bc -l)")
      log "  flow-setup run $i: received $(printf '%.0f' "${rates[-1]}") new MAC pairs/s of $(printf '%.0f' "${offs[-1]}")/s sent" \
        "($rcvd frames in $wsecs s)"
    else
      log "  flow-setup run $i failed: $out $(cat "$TMP/rawsink-$case-$i.out")"
    fi
    sleep 0.5
  done
  if [ -n "$spid" ]; then
    R_NEWCPU[$case]=$(printf '%.2f' "$(echo "($(cpu_ticks "$spid") - $cpu0) / $HZ" | bc -l)")
  else
    R_NEWCPU[$case]=-
  fi
  c1=$(sw_counters "$case")
  bl=$(b_learned "$case" "$macb")
  R_FDBX[$case]="B's MAC still learned on B's port: $bl"
  if [ -n "$c0" ] && [ -n "$c1" ]; then
    local a b
    read -r -a a <<< "$c0"; read -r -a b <<< "$c1"
    R_FDB[$case]="$((b[0] - a[0])) / $((b[1] - a[1]))"
    log "  MAC table over the flow-setup runs: learned $((b[0] - a[0])), evicted $((b[1] - a[1])), entries now ${b[2]}/${b[3]};" \
      "megaflows now ${b[4]}; datapath upcalls (missed) $((b[5] - a[5])), lost $((b[6] - a[6]))"
    R_FDBX[$case]="entries ${b[2]}/${b[3]}, megaflows ${b[4]}, upcalls $((b[5] - a[5])), lost $((b[6] - a[6])); ${R_FDBX[$case]}"
  fi
  if [ ${#rates[@]} -gt 0 ]; then
    R_NEW[$case]=$(printf '%s\n' "${rates[@]}" | median)
    R_NEWOFF[$case]=$(printf '%s\n' "${offs[@]}" | median)
  else
    R_NEW[$case]=fail; R_NEWOFF[$case]=-
    R_NEWFAIL[$case]="flow setup: no run succeeded"; return 1
  fi
}

# --- kernel cases ---------------------------------------------------------------------------------------------
setup_veth() {
  mk_hosts &&
    ip link add "$P-a" netns "$NSA" type veth peer name "$P-b" netns "$NSB" &&
    host_addr "$NSA" "$P-a" "$IPA" && host_addr "$NSB" "$P-b" "$IPB"
}

setup_bridge() {
  mk_hosts &&
    ip link add "$P-br" type bridge forward_delay 0 stp_state 0 &&
    ip link add "$P-a" type veth peer name "$P-pa" netns "$NSA" &&
    ip link add "$P-b" type veth peer name "$P-pb" netns "$NSB" &&
    ip link set "$P-a" master "$P-br" && ip link set "$P-b" master "$P-br" &&
    ip link set "$P-a" up && ip link set "$P-b" up && ip link set "$P-br" up &&
    host_addr "$NSA" "$P-pa" "$IPA" && host_addr "$NSB" "$P-pb" "$IPB"
}

# --- Open vSwitch, private instance ---------------------------------------------------------------------------
OVSDIR=$TMP/ovs
OVS_PID=""
OVSDB_PID=""
ovs_env() {
  OVS_RUNDIR=$OVSDIR OVS_LOGDIR=$OVSDIR OVS_DBDIR=$OVSDIR OVS_SYSCONFDIR=$OVSDIR OVS_PKGDATADIR=/usr/share/openvswitch "$@"
}
vsctl() { ovs_env ovs-vsctl --db="unix:$OVSDIR/db.sock" --timeout=20 "$@"; }

ovs_start() {
  [ -n "$OVS_PID" ] && return 0
  mkdir -p "$OVSDIR"
  ovs_env ovsdb-tool create "$OVSDIR/conf.db" "$OVS_SCHEMA" || return 1
  # Not --detach, and not through a shell function (that would background a subshell): these are our direct
  # children and are stopped by PID.
  OVS_RUNDIR=$OVSDIR OVS_LOGDIR=$OVSDIR OVS_DBDIR=$OVSDIR OVS_SYSCONFDIR=$OVSDIR OVS_PKGDATADIR=/usr/share/openvswitch \
    ovsdb-server "$OVSDIR/conf.db" --remote="punix:$OVSDIR/db.sock" --unixctl="$OVSDIR/ovsdb.ctl" \
    --log-file="$OVSDIR/ovsdb.log" >"$OVSDIR/ovsdb.out" 2>&1 &
  OVSDB_PID=$!; PIDS+=("$OVSDB_PID")
  wait_for 10 test -S "$OVSDIR/db.sock" || { FAIL_MSG="ovsdb-server did not start"; return 1; }
  vsctl --no-wait init || return 1
  # Read once at start-up, so set before ovs-vswitchd runs.
  vsctl --no-wait set Open_vSwitch . other_config:userspace-tso-enable=true || return 1
  OVS_RUNDIR=$OVSDIR OVS_LOGDIR=$OVSDIR OVS_DBDIR=$OVSDIR OVS_SYSCONFDIR=$OVSDIR OVS_PKGDATADIR=/usr/share/openvswitch \
    ovs-vswitchd "unix:$OVSDIR/db.sock" --disable-system --unixctl="$OVSDIR/vswitchd.ctl" \
    --log-file="$OVSDIR/vswitchd.log" >"$OVSDIR/vswitchd.out" 2>&1 &
  OVS_PID=$!; PIDS+=("$OVS_PID")
  wait_for 10 test -S "$OVSDIR/vswitchd.ctl" || { FAIL_MSG="ovs-vswitchd did not start"; return 1; }
  grep -q 'Userspace TCP Segmentation Offloading support enabled' "$OVSDIR/vswitchd.log" ||
    log "  warning: ovs-vswitchd did not log that userspace TSO is enabled"
}

setup_ovs_veth() {
  ovs_start && mk_hosts &&
    vsctl add-br "$P-ovs" -- set bridge "$P-ovs" datapath_type=netdev &&
    ip link add "$P-a" type veth peer name "$P-pa" netns "$NSA" &&
    ip link add "$P-b" type veth peer name "$P-pb" netns "$NSB" &&
    ip link set "$P-a" up && ip link set "$P-b" up &&
    vsctl add-port "$P-ovs" "$P-a" -- add-port "$P-ovs" "$P-b" &&
    host_addr "$NSA" "$P-pa" "$IPA" && host_addr "$NSB" "$P-pb" "$IPB"
}

setup_ovs_int() {
  ovs_start && mk_hosts &&
    vsctl add-br "$P-ovs" -- set bridge "$P-ovs" datapath_type=netdev &&
    vsctl add-port "$P-ovs" "$P-a" -- set interface "$P-a" type=internal \
      -- add-port "$P-ovs" "$P-b" -- set interface "$P-b" type=internal &&
    wait_for 10 ip link show "$P-a" && wait_for 10 ip link show "$P-b" &&
    ip link set "$P-a" netns "$NSA" && ip link set "$P-b" netns "$NSB" &&
    host_addr "$NSA" "$P-a" "$IPA" && host_addr "$NSB" "$P-b" "$IPB"
}

teardown_ovs() {
  [ -n "$OVS_PID" ] && vsctl --if-exists del-br "$P-ovs" >/dev/null 2>&1
  remove_prefix_objects
}

# --- netmgr ---------------------------------------------------------------------------------------------------
NM_PID=""
NM_DIR=""
NETMGR=${NETMGR:-bin/netmgr}   # for testing this script against a stand-in
nm() { NETMGR_SOCKET=$NM_DIR/netmgrd.sock NETMGR_STATE_DIR=$NM_DIR/state timeout 60 node "$NETMGR" "$@"; }

setup_netmgr() { # setup_netmgr KIND POLICY   (POLICY: flows or learning)
  local kind=$1 policy=$2
  NM_DIR=$TMP/netmgr-$kind$([ "$policy" = learning ] && echo -learn)
  mkdir -p "$NM_DIR/units" "$NM_DIR/state" "$NM_DIR/empty"
  write_netmgr_units "$NM_DIR/units" "$kind" "$policy"
  nm validate --dir "$NM_DIR/units" >"$NM_DIR/validate.log" 2>&1 || { FAIL_MSG="validate: $(tail_of "$NM_DIR/validate.log")"; return 1; }
  NETMGR_SOCKET=$NM_DIR/netmgrd.sock NETMGR_STATE_DIR=$NM_DIR/state node "$NETMGR" daemon >"$NM_DIR/netmgrd.log" 2>&1 &
  NM_PID=$!; PIDS+=("$NM_PID")
  local i
  for i in $(seq 1 200); do
    [ -S "$NM_DIR/netmgrd.sock" ] && break
    kill -0 "$NM_PID" 2>/dev/null || break
    sleep 0.05
  done
  [ -S "$NM_DIR/netmgrd.sock" ] || { FAIL_MSG="daemon did not create its socket: $(tail_of "$NM_DIR/netmgrd.log")"; return 1; }
  nm apply --dir "$NM_DIR/units" >"$NM_DIR/apply.log" 2>&1 ||
    { FAIL_MSG="apply: $(tail_of "$NM_DIR/apply.log" "$NM_DIR/netmgrd.log")"; return 1; }
}

teardown_netmgr() {
  [ -n "$NM_DIR" ] || { remove_prefix_objects; return; }
  if [ -n "$NM_PID" ] && kill -0 "$NM_PID" 2>/dev/null; then
    # Remove everything while the daemon still runs, then stop it.
    nm apply --dir "$NM_DIR/empty" >"$NM_DIR/teardown.log" 2>&1
  fi
  stop_pid "$NM_PID"
  nm apply --dir "$NM_DIR/empty" >>"$NM_DIR/teardown.log" 2>&1
  remove_prefix_objects
  NM_PID=""; NM_DIR=""
}

# --- run ------------------------------------------------------------------------------------------------------
run_case() {
  local case=$1 setup teardown spid=""
  case $case in
    veth) setup=setup_veth; teardown=remove_prefix_objects ;;
    bridge) setup=setup_bridge; teardown=remove_prefix_objects ;;
    ovs-veth) setup=setup_ovs_veth; teardown=teardown_ovs ;;
    ovs-int) setup=setup_ovs_int; teardown=teardown_ovs ;;
    netmgr-veth) setup="setup_netmgr veth flows"; teardown=teardown_netmgr ;;
    netmgr-int) setup="setup_netmgr internal flows"; teardown=teardown_netmgr ;;
    netmgr-learn-veth) setup="setup_netmgr veth learning"; teardown=teardown_netmgr ;;
    netmgr-learn-int) setup="setup_netmgr internal learning"; teardown=teardown_netmgr ;;
  esac
  log "== $case: ${LABEL[$case]}"
  FAIL_MSG=""
  local errf=$TMP/setup-$case.err
  if $setup 2>"$errf"; then
    case $case in ovs-*) spid=$OVS_PID ;; netmgr-*) spid=$NM_PID ;; esac
    if measure "$case" "$spid"; then :; else R_FAIL[$case]=${FAIL_MSG:-measurement failed}; fi
    # Flow setup on the learning switches, once the hosts have reached each other.
    if is_setup_case "$case" && [ -n "${R_PING[$case]:-}" ]; then
      measure_setup "$case" "$spid" || echo "$case: ${R_NEWFAIL[$case]}" >&2
    fi
  else
    R_FAIL[$case]="setup failed: ${FAIL_MSG:-}$( [ -s "$errf" ] && tail -n 5 "$errf")"
  fi
  if [ -n "${R_FAIL[$case]:-}" ]; then
    case $case in
      netmgr-*) echo "netmgr case failed: ${R_FAIL[$case]}" >&2 ;;
      *) echo "$case case failed: ${R_FAIL[$case]}" >&2
         case $case in ovs-*) tail_of "$OVSDIR/vswitchd.log" >&2 ;; esac ;;
    esac
  fi
  $teardown 2>/dev/null
  sleep 1
}

for c in "${ALL_CASES[@]}"; do want "$c" && run_case "$c"; done
if [ -n "$OVS_PID" ]; then
  OVS_WARN=$(grep -c '|WARN|' "$OVSDIR/vswitchd.log" 2>/dev/null); OVS_ERR=$(grep -c '|ERR|' "$OVSDIR/vswitchd.log" 2>/dev/null)
  OVS_LOG_SAMPLE=$(grep -E '\|(WARN|ERR)\|' "$OVSDIR/vswitchd.log" 2>/dev/null | sed 's/^[^|]*|[^|]*|//' | sort | uniq -c | sort -rn | head -n 5)
  stop_pid "$OVS_PID"; stop_pid "$OVSDB_PID"
fi

# --- report ---------------------------------------------------------------------------------------------------
val() { local -n a=$1; local v=${a[$2]:-}; [ -n "$v" ] && echo "$v" || echo "-"; }
kpps() { num "$1" && printf '%.0f' "$(echo "$1 / 1000" | bc -l)" || echo "$1"; }
ratio() { num "${1:-}" && num "${2:-}" && [ "$(echo "$2 > 0" | bc)" = 1 ] && printf '%.2f' "$(echo "$1 / $2" | bc -l)" || echo "n/a"; }
check() { # check VALUE OP GOAL -> "0.93x ok" / "0.62x MISS"
  [ "$1" = n/a ] && { echo "n/a"; return; }
  if [ "$(echo "$1 $2 $3" | bc)" = 1 ]; then echo "${1}x ok"; else echo "${1}x MISS"; fi
}
best_ovs() { # best_ovs ARRAY -> the larger of ovs-veth / ovs-int
  local -n a=$1; local b="" v
  for v in "${a[ovs-veth]:-}" "${a[ovs-int]:-}"; do num "$v" && { [ -z "$b" ] || [ "$(echo "$v > $b" | bc)" = 1 ]; } && b=$v; done
  echo "$b"
}

echo
echo "Data plane: two namespaces joined by each path, default offloads in the hosts"
echo "machine: $(nproc) cores ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)), kernel $(uname -r), $(iperf3 --version | head -n 1 | awk '{print "iperf3", $2}')$(want_ovs && echo ", $(ovs-vswitchd --version | head -n 1)")$(want_netmgr && echo ", node $(node --version), $(node "$NETMGR" version 2>/dev/null | head -n 1)")"
echo "method: TCP = iperf3 1 stream A->B, median of $RUNS x ${SECS} s; 60-byte = pktblast sendmmsg A -> recvmmsg B, frames/s received, median of $RUNS x ${SECS} s;"
echo "        ping = avg of 50 pings 10 ms apart (idle); switch CPU = utime+stime of the switch process over all TCP and 60-byte runs"
echo
printf '| %-30s | %10s | %7s | %15s | %12s | %8s | %12s |\n' "path" "TCP Gbit/s" "retr" "60-byte kpps rx" "kpps sent" "ping ms" "switch CPU s"
printf '|%s|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..32})" "$(printf -- '-%.0s' {1..12})" "$(printf -- '-%.0s' {1..9})" \
  "$(printf -- '-%.0s' {1..17})" "$(printf -- '-%.0s' {1..14})" "$(printf -- '-%.0s' {1..10})" "$(printf -- '-%.0s' {1..14})"
for c in "${ALL_CASES[@]}"; do
  want "$c" || continue
  if [ -n "${R_FAIL[$c]:-}" ] && [ -z "${R_PING[$c]:-}" ]; then
    printf '| %-30s | %10s | %7s | %15s | %12s | %8s | %12s |\n' "${LABEL[$c]}" failed - - - - -
    continue
  fi
  printf '| %-30s | %10s | %7s | %15s | %12s | %8s | %12s |\n' "${LABEL[$c]}" "$(val R_TCP "$c")" "$(val R_RETR "$c")" \
    "$(kpps "$(val R_PPS "$c")")" "$(kpps "$(val R_OFF "$c")")" "$(val R_PING "$c")" "$(val R_CPU "$c")"
done
[[ " ${R_PING[*]:-} " == *"*"* ]] && echo "(* = some pings lost)"

BEST_TCP=$(best_ovs R_TCP)
BEST_PPS=$(best_ovs R_PPS)
PING0=$(num "${R_PING[veth]:-}" && echo "${R_PING[veth]}" || true)
echo
echo "Ratios (goals apply to netmgr, issue 17: TCP >= 0.9x Linux bridge with veth ports, >= 1.0x with internal ports, and >= 1.0x"
echo "        OVS userspace; 60-byte rate >= 1.0x the best OVS; added ping latency over the direct veth <= 0.1 ms)"
echo
printf '| %-30s | %14s | %16s | %14s | %16s | %14s | %16s |\n' "path" "TCP / bridge" "TCP / OVS same" "TCP / best OVS" "60B / OVS same" "60B / best OVS" "ping added ms"
printf '|%s|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..32})" "$(printf -- '-%.0s' {1..16})" "$(printf -- '-%.0s' {1..18})" \
  "$(printf -- '-%.0s' {1..16})" "$(printf -- '-%.0s' {1..18})" "$(printf -- '-%.0s' {1..16})" "$(printf -- '-%.0s' {1..18})"
for c in bridge ovs-veth ovs-int netmgr-veth netmgr-int netmgr-learn-veth netmgr-learn-int; do
  want "$c" || continue
  case $c in *-veth) same=ovs-veth ;; *-int) same=ovs-int ;; *) same="" ;; esac
  tb=$(ratio "${R_TCP[$c]:-}" "${R_TCP[bridge]:-}")
  ts=-; ps=-
  if [ -n "$same" ] && [ "$same" != "$c" ]; then ts=$(ratio "${R_TCP[$c]:-}" "${R_TCP[$same]:-}"); ps=$(ratio "${R_PPS[$c]:-}" "${R_PPS[$same]:-}"); fi
  tbest=-; pbest=-
  [ "$c" != bridge ] && { tbest=$(ratio "${R_TCP[$c]:-}" "$BEST_TCP"); pbest=$(ratio "${R_PPS[$c]:-}" "$BEST_PPS"); }
  added=n/a
  pv=${R_PING[$c]:-}; pv=${pv%\*}
  num "$pv" && [ -n "$PING0" ] && added=$(printf '%.3f' "$(echo "$pv - $PING0" | bc -l)")
  if [[ $c == netmgr-* ]]; then
    tbgoal=0.9; [[ $c == *-int ]] && tbgoal=1.0
    tb=$(check "$tb" '>=' "$tbgoal"); ts=$(check "$ts" '>=' 1.0); tbest=$(check "$tbest" '>=' 1.0)
    ps=$(check "$ps" '>=' 1.0); pbest=$(check "$pbest" '>=' 1.0)
    [ "$added" != n/a ] && { if [ "$(echo "$added <= 0.1" | bc)" = 1 ]; then added="$added ok"; else added="$added MISS"; fi; }
  else
    for v in tb ts tbest ps pbest; do [[ ${!v} =~ ^[0-9.]+$ ]] && printf -v "$v" '%sx' "${!v}"; done
  fi
  printf '| %-30s | %14s | %16s | %14s | %16s | %14s | %16s |\n' "${LABEL[$c]}" "$tb" "$ts" "$tbest" "$ps" "$pbest" "$added"
done
echo "goals (netmgr rows): TCP/bridge >= 0.9x (veth) and >= 1.0x (internal), TCP/OVS >= 1.0x, 60B/OVS >= 1.0x, ping added <= 0.1 ms"
for k in veth int; do
  want "netmgr-$k" && want "netmgr-learn-$k" || continue
  pl=${R_PING[netmgr-learn-$k]:-}; pl=${pl%\*}; pf=${R_PING[netmgr-$k]:-}; pf=${pf%\*}
  pd=n/a; num "$pl" && num "$pf" && pd="$(printf '%+.3f' "$(echo "$pl - $pf" | bc -l)") ms"
  echo "netmgr learning vs static flows, $([ $k = int ] && echo internal || echo veth) ports: TCP $(ratio "${R_TCP[netmgr-learn-$k]:-}" "${R_TCP[netmgr-$k]:-}")x," \
    "60-byte $(ratio "${R_PPS[netmgr-learn-$k]:-}" "${R_PPS[netmgr-$k]:-}")x, ping $pd"
done

ANY_SETUP=0
for c in "${SETUP_CASES[@]}"; do want "$c" && ANY_SETUP=1; done
if [ $ANY_SETUP = 1 ]; then
  echo
  echo "Flow setup: new MAC pairs per second through the miss path. pktblast rawsend in A sends 60-byte frames to B's MAC,"
  echo "        each from a new source MAC (so each is a new pair: learn + a new megaflow); rawsink in B counts them; received /"
  echo "        the sender's window (or the sink's first-to-last frame when longer), median of $RUNS x ${SECS} s. The Linux bridge"
  echo "        learns in the kernel with no flow setup: the ceiling (it forwards all the sender sends)."
  echo "        MAC table = learned / evicted over the runs by the switch's own count (netmgr fdb stats, ovs-appctl fdb/stats-show)"
  echo "        goal (netmgr rows, issue 17): new pairs/s >= 1.5x Open vSwitch with the same ports"
  echo
  printf '| %-30s | %14s | %10s | %14s | %12s | %12s | %27s |\n' "path" "new pairs/s rx" "sent/s" "/ Linux bridge" "/ OVS same" "switch CPU s" "MAC table learned / evicted"
  printf '|%s|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..32})" "$(printf -- '-%.0s' {1..16})" "$(printf -- '-%.0s' {1..12})" \
    "$(printf -- '-%.0s' {1..16})" "$(printf -- '-%.0s' {1..14})" "$(printf -- '-%.0s' {1..14})" "$(printf -- '-%.0s' {1..29})"
  for c in "${SETUP_CASES[@]}"; do
    want "$c" || continue
    case $c in *-veth) same=ovs-veth ;; *-int) same=ovs-int ;; *) same="" ;; esac
    nb=-; ns=-
    [ "$c" != bridge ] && nb="$(ratio "${R_NEW[$c]:-}" "${R_NEW[bridge]:-}")x"
    [ -n "$same" ] && [ "$same" != "$c" ] && ns="$(ratio "${R_NEW[$c]:-}" "${R_NEW[$same]:-}")x"
    nb=${nb/n\/ax/n\/a}; ns=${ns/n\/ax/n\/a}
    [[ $c == netmgr-* && $ns =~ ^[0-9.]+x$ ]] && ns=$(check "${ns%x}" '>=' 1.5)
    rx=$(val R_NEW "$c"); num "$rx" && rx=$(printf '%.0f' "$rx")
    off=$(val R_NEWOFF "$c"); num "$off" && off=$(printf '%.0f' "$off")
    [ -z "${R_PING[$c]:-}" ] && rx=failed
    printf '| %-30s | %14s | %10s | %14s | %12s | %12s | %27s |\n' "${LABEL[$c]}" "$rx" "$off" "$nb" "$ns" "$(val R_NEWCPU "$c")" "$(val R_FDB "$c")"
  done
  for c in "${SETUP_CASES[@]}"; do
    want "$c" && [ -n "${R_FDBX[$c]:-}" ] && echo "  ${LABEL[$c]}: ${R_FDBX[$c]}"
  done
  echo "  (switch CPU s = over the flow-setup runs; upcalls/lost = the datapath's missed/lost lookups over them)"
fi

FAILED=0
for c in "${ALL_CASES[@]}"; do
  want "$c" || continue
  [ -n "${R_FAIL[$c]:-}" ] && { [ $FAILED = 0 ] && echo; FAILED=1; echo "$c: ${R_FAIL[$c]}" | head -n 12; }
  [ -n "${R_NEWFAIL[$c]:-}" ] && { [ $FAILED = 0 ] && echo; FAILED=1; echo "$c: ${R_NEWFAIL[$c]}" | head -n 12; }
done
if [ -n "${OVS_WARN:-}" ]; then
  echo
  echo "ovs-vswitchd log: ${OVS_WARN} warnings, ${OVS_ERR} errors$( [ -n "$OVS_LOG_SAMPLE" ] && printf '; most frequent:\n%s' "$OVS_LOG_SAMPLE")"
fi
echo
echo "total time: $(($(date +%s) - T_START)) s; load average at start: $LOAD_START, at end: $(cut -d' ' -f1-3 /proc/loadavg) (this run's own load is ~2-3)"
