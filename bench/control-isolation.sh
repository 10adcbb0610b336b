#!/usr/bin/env bash
# Control work against forwarding (issue 20): how long does a userspace bridge stop forwarding while netmgrd
# does control work? Bridge A (userspace datapath, learning policy) joins hosts h1 and h2 (network namespaces,
# veth ports); h1 pings h2 every 10 ms (bench/pingprobe: ICMP echo on a strict schedule, at nice -20: the prober is
# the instrument, it must not wait for a CPU behind netmgrd's control work or anything else on the box; iputils
# ping's own send timing shows 20 ms gaps over a plain veth pair with nothing else running) while netmgrd
#   (a) applies a unit set adding 200, then 1,000 veth pairs (in the bench's namespaces), and removes them again
#       (netmgr apply through the bench's netmgrd),
#   (b) parses and refuses a 5 MB invalid unit set (one huge flows-bridge unit whose last flow is wrong; sent the
#       way `netmgr apply` sends units, since the CLI refuses an invalid set itself and never hands it over),
#   (c) answers `netmgr status` in a loop for STATUS_SECS seconds,
#   (d) adds 200 ports to bridge A itself (veth ports into the bench's namespaces) and removes them again: the
#       forwarding thread opens and closes their sockets between the frames it forwards (issue 17's goal for
#       this one: longest gap <= 50 ms).
# Per case: the longest gap between two ping replies (ms; 10 ms is no gap at all), median and max over RUNS runs,
# and the ping loss. Also TCP (iperf3, h1 -> h2) during (a) (apply +200 / remove in a loop) against quiet, as a
# ratio. Goals: longest gap <= 20 ms, TCP during control work >= 80 % of quiet. A first row runs the same ping over
# a plain veth pair (no bridge, no netmgr): the instrument's own floor on this machine. The slowest reply's round
# trip is printed too.
#
# usage: bash bench/control-isolation.sh     (as root, from anywhere; ~4 min, QUICK=1 ~1.5 min)
#   QUICK=1          one run of each case, 2 s windows
#   RUNS=N           runs per case (default 3)
#   KEEP=1           keep the temp dir (logs of netmgrd, ping, iperf3, the unit sets) and print its path
# The machine is shared: run it as `flock /tmp/netmgr-heavy.lock bash bench/control-isolation.sh`.
# Everything it creates (namespaces, links) is named with a per-run prefix nmcbXXX and removed on exit; addresses
# are from 198.18.140.0/24 only; the bench's netmgrd has its own unit dir, state dir and socket in a temp dir.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh

QUICK=${QUICK:-0}
RUNS=${RUNS:-3}
WIN=5 # seconds of the quiet, status-loop and TCP windows
if [ "$QUICK" = 1 ]; then RUNS=1; WIN=2; fi
SIZES=(200 1000)
HUGE_BYTES=$((5 * 1024 * 1024))
VETH_NS=10 # the applied veth pairs are spread over this many namespaces
LEAD=0.5   # s of pinging before and after each operation, so a stall at its start or end is inside the window

[ "$(id -u)" = 0 ] || { echo "bench/control-isolation.sh: run as root" >&2; exit 1; }
for t in ip ping iperf3 node awk cc; do
  command -v "$t" >/dev/null || { echo "bench/control-isolation.sh: $t is missing (apt-get install iproute2 iputils-ping iperf3 nodejs gawk)" >&2; exit 1; }
done
[ -f dist/netmgr.js ] || npm run build >/dev/null
command -v cc >/dev/null || { echo "bench/control-isolation.sh: cc is missing (apt-get install gcc): it builds bench/pingprobe.c" >&2; exit 1; }

# --- per-run names, temp dir, cleanup -------------------------------------------------------------------------
P=$(run_prefix nmcb)
NSA=$P-h1
NSB=$P-h2
IPB=198.18.140.2
IPR=198.18.140.202 # the plain veth pair's far end
TMP=$(mktemp -d /tmp/netmgr-ctlbench.XXXXXX)
STATE=$TMP/state
BASE=$TMP/units-base
mkdir -p "$STATE" "$BASE" "$TMP/res"
PROBE=$TMP/pingprobe
cc -O2 -Wall -o "$PROBE" bench/pingprobe.c
export NETMGR_DIR=$BASE NETMGR_STATE_DIR=$STATE NETMGR_SOCKET=$STATE/netmgrd.sock
NETMGR=(node bin/netmgr)
T_START=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
DAEMON_PID=
IPERF_PID=
PING_PID=
CHURN_PID=

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  touch "$TMP/stop-churn"
  for p in "$CHURN_PID" "$PING_PID" "$IPERF_PID" "$DAEMON_PID"; do stop_pid "$p"; done
  # Deleting the namespaces takes the veths inside with them (faster than netmgr's one-by-one removal).
  remove_prefixed "$P"
  remove_tmp "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- unit sets ------------------------------------------------------------------------------------------------
# Bridge A and its two hosts: in every unit set, so applying a set adds or removes only the veth pairs.
cat > "$BASE/$P-br.toml" <<EOF
[unit]
type = "bridge"
[bridge]
datapath = "userspace"
policy = "learning"
EOF
for n in 1 2; do
  cat > "$BASE/$P-p$n.toml" <<EOF
[unit]
type = "port"
[port]
bridge = "$P-br"
kind = "veth"
namespace = "$P-h$n"
peer = "$P-e$n"
[ipv4]
addresses = ["198.18.140.$n/24"]
[link]
mac = "02:00:00:8c:00:0$n"
EOF
done
# unit_set NAME COUNT STEM UNIT_FN: $TMP/units-NAME, the base units and COUNT more, $P-STEM0000.toml and on, the
# text of unit i from UNIT_FN NAMESPACE NUMBER (its namespace one of the bench's VETH_NS, its number 4 digits).
unit_set() {
  local d=$TMP/units-$1 i n
  mkdir -p "$d"
  cp "$BASE"/*.toml "$d/"
  for ((i = 0; i < $2; i++)); do
    n=$(printf '%04d' "$i")
    "$4" "$P-n$((i % VETH_NS))" "$n" > "$d/$P-$3$n.toml"
  done
}
# Both ends inside one of the bench's namespaces: nothing lands in the root namespace. No addresses.
veth_pair_unit() {
  printf '[unit]\ntype = "port"\n[port]\nkind = "veth"\nlocal-namespace = "%s"\nnamespace = "%s"\npeer = "%s"\n' \
    "$1" "$1" "$P-w$2"
}
# A port of bridge A, its host's end in one of the bench's namespaces (no address: nothing to answer).
bridge_port_unit() {
  printf '[unit]\ntype = "port"\n[port]\nbridge = "%s"\nkind = "veth"\nnamespace = "%s"\npeer = "%s"\n' \
    "$P-br" "$1" "$P-q$2"
}
for size in "${SIZES[@]}"; do unit_set "$size" "$size" v veth_pair_unit; done
# (d): 200 more ports of bridge A, named to sort before h1's and h2's: when ports were numbered in unit-name
# order, that re-plumbed h1's and h2's ports (75-80 % of the pings lost). Numbers are kept now (netmgr.units(5),
# [port] number), so it must cost them nothing.
PORTS=200
unit_set ports "$PORTS" a bridge_port_unit
HUGE=$TMP/units-huge
mkdir -p "$HUGE"
cp "$BASE"/*.toml "$HUGE/"
node bench/control-helper.js huge-invalid "$HUGE/$P-zz.toml" "$HUGE_BYTES"

# --- netmgrd and bridge A -------------------------------------------------------------------------------------
log "prefix $P; starting the bench's netmgrd (socket $NETMGR_SOCKET)"
# --no-watch: only the bench's explicit applies change anything. It applies $BASE at start (bridge A, hosts).
"${NETMGR[@]}" daemon --dir "$BASE" --no-watch > "$TMP/netmgrd.log" 2>&1 &
DAEMON_PID=$!
for ((i = 0; i < 300; i++)); do
  kill -0 "$DAEMON_PID" 2>/dev/null || { cat "$TMP/netmgrd.log" >&2; echo "netmgrd exited" >&2; exit 1; }
  ip netns exec "$NSA" ping -c 1 -W 1 "$IPB" > /dev/null 2>&1 && break
  sleep 0.2
done
ip netns exec "$NSA" ping -c 1 -W 1 "$IPB" > /dev/null || { tail "$TMP/netmgrd.log" >&2; echo "bridge A does not forward" >&2; exit 1; }
# Quiet hosts: no IPv6 router/neighbour solicitations through the switch.
for ns in "$NSA" "$NSB"; do ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done
ip netns exec "$NSB" iperf3 -s -B "$IPB" > "$TMP/iperf3-server.log" 2>&1 &
IPERF_PID=$!

# The instrument's own floor: the same ping over a plain veth pair between two namespaces, no bridge, no netmgr.
ip netns add "$P-r1"
ip netns add "$P-r2"
ip link add "$P-x1" netns "$P-r1" type veth peer name "$P-x2" netns "$P-r2"
ip -n "$P-r1" addr add 198.18.140.201/24 dev "$P-x1"
ip -n "$P-r2" addr add "$IPR/24" dev "$P-x2"
for ns in "$P-r1" "$P-r2"; do ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done
ip -n "$P-r1" link set "$P-x1" up
ip -n "$P-r2" link set "$P-x2" up

# --- measurement ----------------------------------------------------------------------------------------------
now() { date +%s.%N; }
# From pingprobe's line: "gap_ms loss_pct max_rtt_ms".
gap_of() {
  awk '/^probes/ { printf "%s %.2f %s\n", $8, ($2 ? $6 * 100 / $2 : 100), $12; found = 1 }
       END { if (!found) print "nan 100 nan" }' "$1"
}
# measure CASE CMD...: probes through bridge A from LEAD s before CMD to LEAD s after; appends
# "gap_ms loss_pct max_rtt_ms op_s" to $TMP/res/CASE. CMD must succeed; a refusal that is the point is wrapped by
# the caller. PING_FROM/PING_TO (default h1 -> h2) name another path (the instrument's reference).
measure() {
  local case=$1 out t0 t1
  shift
  out=$TMP/ping-$case-$RUN.txt
  nice -n -20 ip netns exec "${PING_FROM:-$NSA}" "$PROBE" "${PING_TO:-$IPB}" 10 > "$out" 2>&1 &
  PING_PID=$!
  sleep "$LEAD"
  t0=$(now)
  "$@" >> "$TMP/ops.log" 2>&1 || { tail -n 20 "$TMP/ops.log" >&2; echo "bench: '$*' failed" >&2; exit 1; }
  t1=$(now)
  sleep "$LEAD"
  kill -INT "$PING_PID"
  wait "$PING_PID" || true
  PING_PID=
  echo "$(gap_of "$out") $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')" >> "$TMP/res/$case"
}
apply_set() { "${NETMGR[@]}" apply --dir "$1" > /dev/null; }
# The huge set must be refused as invalid (exit 2) by netmgrd itself.
refuse_huge() {
  local rc=0
  node bench/control-helper.js send-apply "$HUGE" || rc=$?
  [ "$rc" = 2 ]
}
status_loop() {
  local end calls=0
  end=$(($(date +%s%N) + WIN * 1000000000))
  while [ "$(date +%s%N)" -lt "$end" ]; do "${NETMGR[@]}" status > /dev/null; calls=$((calls + 1)); done
  echo "$calls" >> "$TMP/res/status-calls"
}
veths_in_bench_ns() {
  local ns c=0
  for ((ns = 0; ns < VETH_NS; ns++)); do
    c=$((c + $(ip -n "$P-n$ns" -o link show type veth 2> /dev/null | wc -l)))
  done
  echo "$c"
}
churn() {
  while [ ! -e "$TMP/stop-churn" ]; do apply_set "$TMP/units-200"; apply_set "$BASE"; done
}
tcp() {
  ip netns exec "$NSA" iperf3 -c "$IPB" -t "$WIN" -J > "$TMP/iperf-$1-$RUN.json"
  node bench/control-helper.js iperf-gbps "$TMP/iperf-$1-$RUN.json" >> "$TMP/res/tcp-$1"
}

for ((RUN = 1; RUN <= RUNS; RUN++)); do
  log "run $RUN/$RUNS: the instrument: ping over a plain veth pair"
  PING_FROM=$P-r1 PING_TO=$IPR measure plain sleep "$WIN"
  log "run $RUN/$RUNS: quiet"
  measure quiet sleep "$WIN"
  for size in "${SIZES[@]}"; do
    log "run $RUN/$RUNS: apply +$size veth pairs, then remove them"
    measure "add$size" apply_set "$TMP/units-$size"
    have=$(veths_in_bench_ns)
    [ "$have" = $((2 * size)) ] || { echo "bench: expected $((2 * size)) veths in the bench namespaces, found $have" >&2; exit 1; }
    measure "del$size" apply_set "$BASE"
  done
  log "run $RUN/$RUNS: apply +$PORTS ports on bridge A, then remove them"
  measure addports apply_set "$TMP/units-ports"
  have=$("${NETMGR[@]}" dpctl show "$P-br" --json | node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>console.log(JSON.parse(s)[0].ports.length))')
  [ "$have" -ge $((PORTS + 2)) ] || { echo "bench: expected $((PORTS + 2)) or more ports on $P-br, found $have" >&2; exit 1; }
  measure delports apply_set "$BASE"
  log "run $RUN/$RUNS: 5 MB invalid unit set"
  measure huge refuse_huge
  log "run $RUN/$RUNS: netmgr status for $WIN s"
  measure status status_loop
  log "run $RUN/$RUNS: TCP quiet, then during apply/remove of 200 veth pairs"
  tcp quiet
  rm -f "$TMP/stop-churn"
  churn &
  CHURN_PID=$!
  tcp churn
  touch "$TMP/stop-churn"
  wait "$CHURN_PID"
  CHURN_PID=
done

# --- report ---------------------------------------------------------------------------------------------------
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }'; }
col() { awk -v c="$2" '{ print $c }' "$TMP/res/$1"; }
row() {
  local case=$1 label=$2 gmed gmax loss rmed rmax op goal
  gmed=$(col "$case" 1 | median)
  gmax=$(col "$case" 1 | sort -g | tail -n 1)
  loss=$(col "$case" 2 | median)
  rmed=$(col "$case" 3 | median)
  rmax=$(col "$case" 3 | sort -g | tail -n 1)
  op=$(col "$case" 4 | median)
  local limit=20
  case $case in addports | delports) limit=50 ;; esac
  goal="<= $limit ms$(awk -v g="$gmed" -v l="$limit" 'BEGIN { if (g > l) print ": missed" }')"
  # The plain veth pair is the instrument's own floor (ping's send schedule and the machine's scheduling); the
  # quiet bridge is the reference for the control-work rows.
  case $case in plain | quiet) op=-; goal="(reference)" ;; esac
  printf '| %s | %d | %s | %s | %s | %s | %s | %s %% | %s |\n' "$label" "$(wc -l < "$TMP/res/$case")" "$op" \
    "$gmed" "$gmax" "$rmed" "$rmax" "$loss" "$goal"
}
echo
echo "Forwarding through a userspace learning bridge while netmgrd does control work: ping every 10 ms h1 -> h2,"
echo "longest gap between replies (10 ms = no gap) and slowest reply (round trip), median of $RUNS run(s)"
echo
echo "| case | runs | operation s | longest gap ms (median) | longest gap ms (max) | slowest reply ms (median) | slowest reply ms (max) | ping loss (median) | goal (gap) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---|"
row plain "instrument: the same ping over a plain veth pair, ${WIN} s (no bridge)"
row quiet "quiet, ${WIN} s (no control work)"
for size in "${SIZES[@]}"; do
  row "add$size" "apply: + $size veth pairs"
  row "del$size" "apply: - $size veth pairs (removed)"
done
row addports "apply: + $PORTS ports on the bridge carrying the pings"
row delports "apply: - $PORTS ports on that bridge (removed)"
row huge "5 MB invalid unit set, parsed and refused by netmgrd"
row status "netmgr status in a loop, ${WIN} s ($(median < "$TMP/res/status-calls") calls)"
q=$(median < "$TMP/res/tcp-quiet")
c=$(median < "$TMP/res/tcp-churn")
echo
echo "| TCP h1 -> h2 (iperf3, 1 stream, ${WIN} s) | Gbit/s (median of $RUNS) | ratio | goal |"
echo "|---|---:|---:|---|"
echo "| quiet | $q | 1.00 | |"
awk -v q="$q" -v c="$c" 'BEGIN { r = c / q; printf "| during apply + / - 200 veth pairs in a loop | %s | %.2f | >= 0.80%s |\n", c, r, (r < 0.8 ? ": missed" : "") }'
echo
echo "machine: $(nproc) cores, kernel $(uname -r), node $(node --version), $("${NETMGR[@]}" --version 2>/dev/null | head -n 1)"
echo "load average at start: $LOAD_START, at end: $(cut -d' ' -f1-3 /proc/loadavg); total time $(($(date +%s) - T_START)) s"
