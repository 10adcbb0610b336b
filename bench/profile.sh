#!/usr/bin/env bash
# bench/profile.sh: where a frame's time goes in netmgr's userspace datapath (issue 17). As root.
#
# Per port kind (internal = TAP, veth = AF_PACKET) and load (tcp = iperf3, 64 KB GSO super-frames; udp60 = pktblast,
# 60-byte frames) one netmgrd with two static flows (as bench/datapath.sh's netmgr-veth/netmgr-int cases), started
# with --perf-basic-prof-only-functions (JS names for perf). Three runs of the same load, each SECS long, so the
# tools do not distort one another's figures:
#   1. clean: the forwarding thread's CPU (schedstat, utime/stime) and the frames the ports received
#   2. perf stat (syscalls, context switches) and perf record -g of the forwarding thread only
#   3. strace -c of the forwarding thread only (strace slows every syscall: counts per frame, not times)
# then a second netmgrd with node's --cpu-prof (the worker writes its own profile) for a fourth run: the JS share.
# In the tcp case, on the idle switch before the TCP runs: ping RTT, the steps of single pings (perf record -a of
# scheduler and syscall tracepoints), the thread's wake-ups (perf sched), its samples over 40 pings and one ping's
# syscalls (strace -tt -T); the RTT and the steps again after the TCP runs. First, a direct veth pair's ping.
#
#   sudo bash bench/profile.sh [--kinds internal,veth] [--loads tcp,udp60] [--secs 3] [--keep]
#
# Names: namespaces and links carry a per-run prefix (pfA + 3 hex digits), addresses are 198.18.60.1/.2; on exit
# (also on error) the processes started here are stopped by PID and the prefix's objects removed.
set -u
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh

# The forwarding thread is told apart by its nice -10: the rest of netmgrd (and the loads) run at nice 0.
n=$(nice)
[ "$n" = 0 ] || exec nice -n $((0 - n)) bash "$0" "$@"

KINDS=(internal veth)
LOADS=(tcp udp60)
SECS=3
KEEP=0
while [ $# -gt 0 ]; do
  case $1 in
    --kinds) IFS=, read -r -a KINDS <<< "$2"; shift ;;
    --loads) IFS=, read -r -a LOADS <<< "$2"; shift ;;
    --secs) SECS=$2; shift ;;
    --keep) KEEP=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;;
    *) echo "bench/profile.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
[ "$(id -u)" = 0 ] || { echo "bench/profile.sh: run as root" >&2; exit 1; }
for t in perf strace iperf3 node cc; do
  command -v "$t" >/dev/null || { echo "bench/profile.sh: $t is missing (perf: apt-get install linux-perf)" >&2; exit 1; }
done
[ -f dist/netmgr.js ] || { echo "bench/profile.sh: dist/ is missing: npm run build" >&2; exit 1; }

P=$(run_prefix pfA)
IPA=198.18.60.1
IPB=198.18.60.2
TMP=$(mktemp -d /tmp/netmgr-profile.XXXXXX)
PIDS=()
NM_DIR=""
NM_PID=""
nm() { NETMGR_SOCKET=$NM_DIR/netmgrd.sock NETMGR_STATE_DIR=$NM_DIR/state timeout 60 node bin/netmgr "$@"; }

cleanup() {
  trap - EXIT INT TERM
  local i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[i]}"; done
  [ -n "$NM_DIR" ] && nm apply --dir "$NM_DIR/empty" >/dev/null 2>&1
  remove_prefixed "$P"
  remove_tmp "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# stop PID: ends a process this script started and forgets it (so cleanup never signals a reused PID).
stop() {
  local keep=() p
  stop_pid "$1"
  for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

PB=$TMP/pktblast
cc -O2 -Wall -o "$PB" bench/pktblast.c || exit 1

# The forwarding worker's thread: the one netmgrd task at nice -10 (src/bridge/priority.ts).
worker_tid() {
  local t
  for t in /proc/"$NM_PID"/task/*; do
    [ "$(sed 's/^.*) //' "$t/stat" 2>/dev/null | awk '{print $17}')" = -10 ] && { basename "$t"; return; }
  done
}

# "ns_on_cpu ns_waiting utime_ticks stime_ticks" of one thread.
thread_cpu() {
  local s; s=$(sed 's/^.*) //' "/proc/$NM_PID/task/$1/stat" | awk '{print $12, $13}')
  echo "$(awk '{print $1, $2}' "/proc/$NM_PID/task/$1/schedstat") $s"
}
proc_ticks() { sed 's/^.*) //' "/proc/$NM_PID/stat" | awk '{print $12 + $13}'; }

# "frames bytes" received by the bridge's ports so far.
port_rx() {
  nm dpctl show --json 2>/dev/null | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const j = JSON.parse(s); const bs = Array.isArray(j) ? j : j.bridges || [j];
      let f = 0, b = 0;
      for (const br of bs) for (const p of br.ports || []) { f += p.stats.rxPackets; b += p.stats.rxBytes; }
      console.log(f, b);
    });'
}

start_load() { # start_load LOAD TAG: runs the load for SECS in the background, its PID in LOAD_PID
  local load=$1 tag=$2
  if [ "$load" = tcp ]; then
    ip netns exec "$P-ha" iperf3 -c "$IPB" -p 5201 -t "$SECS" -f g >"$CASE_DIR/iperf3-$tag.log" 2>&1 &
  else
    ( ip netns exec "$P-hb" "$PB" sink 9001 $((SECS + 2)) >"$CASE_DIR/sink-$tag.log" 2>&1 &
      sleep 0.3; ip netns exec "$P-ha" "$PB" send "$IPB" 9001 "$SECS" >"$CASE_DIR/send-$tag.log" 2>&1; wait ) &
  fi
  LOAD_PID=$!; PIDS+=("$LOAD_PID")
}
wait_load() { wait "$LOAD_PID" 2>/dev/null; stop "$LOAD_PID"; }

# start_daemon [NODE_FLAGS...]: netmgrd with the case's units applied; its PID in NM_PID, the worker's thread in TID.
start_daemon() {
  local i
  rm -rf "$NM_DIR/state"; mkdir -p "$NM_DIR/state"
  NETMGR_SOCKET=$NM_DIR/netmgrd.sock NETMGR_STATE_DIR=$NM_DIR/state node "$@" bin/netmgr daemon >>"$NM_DIR/netmgrd.log" 2>&1 &
  NM_PID=$!; PIDS+=("$NM_PID")
  for i in $(seq 1 200); do [ -S "$NM_DIR/netmgrd.sock" ] && break; sleep 0.05; done
  nm apply --dir "$NM_DIR/units" >"$NM_DIR/apply.log" 2>&1 || { log "apply failed: $(tail -n 5 "$NM_DIR/apply.log")"; return 1; }
  TID=$(worker_tid)
  [ -n "$TID" ] || { log "no forwarding thread at nice -10"; return 1; }
  wait_ping
}

# stop_daemon: removes the case's bridge and ports while netmgrd runs, then stops it.
stop_daemon() {
  nm apply --dir "$NM_DIR/empty" >/dev/null 2>&1
  stop "$NM_PID"
  rm -f "/tmp/perf-$NM_PID.map"   # the JIT symbol map node wrote for perf (this daemon's only)
  NM_PID=""
  remove_prefixed "$P"
  rm -f "$NM_DIR/netmgrd.sock"
}

# ping_steps TID TAG: one ping at a time (8, 0.25 s apart) with perf record -a of scheduler and syscall tracepoints,
# which give each step of a ping's round trip; and the RTT of 30 pings 20 ms apart without tracing.
ping_steps() {
  local tid=$1 tag=$2 pp
  ip netns exec "$P-ha" ping -q -c 30 -i 0.02 "$IPB" >"$CASE_DIR/ping-$tag.log" 2>&1
  ip netns exec "$P-ha" ping -c 8 -i 0.25 "$IPB" >"$CASE_DIR/ping-trace-ping-$tag.log" 2>&1 &
  pp=$!; PIDS+=("$pp")
  perf record -a -e sched:sched_waking,sched:sched_switch,raw_syscalls:sys_enter,raw_syscalls:sys_exit \
    -o "$CASE_DIR/ping-trace-$tag.data" -- sleep 2.2 >/dev/null 2>&1
  wait "$pp"; stop "$pp"
  perf script -i "$CASE_DIR/ping-trace-$tag.data" -F tid,time,event,trace 2>/dev/null |
    awk -v ping="$pp" -v w="$tid" -f <(ping_awk) >"$CASE_DIR/ping-steps-$tag.txt"
}

profile_case() { # profile_case KIND LOAD
  local kind=$1 load=$2 i tid
  CASE_DIR=$TMP/$kind-$load
  NM_DIR=$CASE_DIR/nm
  mkdir -p "$NM_DIR/units" "$NM_DIR/state" "$NM_DIR/empty" "$CASE_DIR/cpuprof"
  write_netmgr_units "$NM_DIR/units" "$kind" flows
  log "== $kind ports, $load load (uptime:$(uptime | sed 's/.*load average/ load average/'))"
  start_daemon --perf-basic-prof-only-functions || return 1
  tid=$TID
  local f0 b0 f1 b1 c0 c1 fall0 fall1 t0 t1

  if [ "$load" = tcp ]; then
    # Idle switch, before any load: one ping at a time.
    perf sched record -o "$CASE_DIR/sched.data" -- sleep 2.2 >/dev/null 2>&1 &
    local sp=$!; PIDS+=("$sp")
    sleep 0.1; ip netns exec "$P-ha" ping -q -c 10 -i 0.2 "$IPB" >/dev/null 2>&1
    wait "$sp"; stop "$sp"
    perf sched timehist -i "$CASE_DIR/sched.data" -t "$tid" >"$CASE_DIR/sched-timehist.txt" 2>/dev/null
    ping_steps "$tid" before
    # Where the forwarding thread's time goes on a ping's wake-up: samples of it alone, 40 pings 50 ms apart.
    perf record -F 20000 -g -t "$tid" -o "$CASE_DIR/ping-perf.data" -- sleep 2.3 >/dev/null 2>&1 &
    local pr=$!; PIDS+=("$pr")
    sleep 0.1; ip netns exec "$P-ha" ping -q -c 40 -i 0.05 "$IPB" >/dev/null 2>&1
    wait "$pr"; stop "$pr"
    perf_split "$CASE_DIR/ping-perf.data" >"$CASE_DIR/ping-perf-dso.txt"
    perf_syms "$CASE_DIR/ping-perf.data" 30 >"$CASE_DIR/ping-perf-syms.txt"
    strace -tt -T -p "$tid" -o "$CASE_DIR/ping-strace.txt" &
    local st=$!; PIDS+=("$st")
    sleep 0.5; ip netns exec "$P-ha" ping -c 5 -i 0.3 "$IPB" >"$CASE_DIR/ping-strace-ping.log" 2>&1
    stop "$st"
    ip netns exec "$P-hb" iperf3 -s -B "$IPB" -p 5201 >"$CASE_DIR/iperf3-server.log" 2>&1 &
    PIDS+=("$!"); IPERF_SRV=$!
    sleep 0.5
  fi

  # 1. clean
  read -r f0 b0 < <(port_rx); c0=$(thread_cpu "$tid"); t0=$(proc_ticks); local w0; w0=$(date +%s%N)
  start_load "$load" clean; wait_load
  read -r f1 b1 < <(port_rx); c1=$(thread_cpu "$tid"); t1=$(proc_ticks); local w1; w1=$(date +%s%N)
  echo "$f0 $b0 $c0 $t0 $w0 $f1 $b1 $c1 $t1 $w1" >"$CASE_DIR/clean.txt"
  sleep 0.5

  # 2. perf
  read -r f0 b0 < <(port_rx)
  start_load "$load" perf
  perf stat -t "$tid" -e task-clock,context-switches,cpu-migrations,raw_syscalls:sys_enter -o "$CASE_DIR/perf-stat.txt" -- sleep "$SECS" &
  local ps=$!; PIDS+=("$ps")
  perf record -F 1999 -g -t "$tid" -o "$CASE_DIR/perf.data" -- sleep "$SECS" >/dev/null 2>&1
  wait "$ps"; stop "$ps"; wait_load
  read -r f1 b1 < <(port_rx)
  echo "$f0 $b0 $f1 $b1" >"$CASE_DIR/perf-frames.txt"
  sleep 0.5

  # 3. strace -c
  read -r f0 b0 < <(port_rx)
  strace -c -p "$tid" -o "$CASE_DIR/strace-c.txt" &
  local sc=$!; PIDS+=("$sc")
  sleep 0.3; start_load "$load" strace; wait_load
  stop "$sc"
  read -r f1 b1 < <(port_rx)
  echo "$f0 $b0 $f1 $b1" >"$CASE_DIR/strace-frames.txt"

  [ -n "${IPERF_SRV:-}" ] && stop "$IPERF_SRV"; IPERF_SRV=""
  # The same ping steps on the idle switch after the TCP runs (the forwarding code has been optimized by now).
  [ "$load" = tcp ] && ping_steps "$tid" after
  # Symbols of the JIT code must be resolved while node's map file is still there.
  perf_split "$CASE_DIR/perf.data" >"$CASE_DIR/perf-dso.txt"
  perf_syms "$CASE_DIR/perf.data" 400 >"$CASE_DIR/perf-syms.txt"
  stop_daemon

  # 4. the JS profile, from a second daemon with --cpu-prof (its 1 ms SIGPROF sampling would distort runs 1-3).
  # The worker inherits execArgv, so it writes its own profile when it stops (--cpu-prof is not allowed in
  # NODE_OPTIONS).
  start_daemon --cpu-prof --cpu-prof-dir="$CASE_DIR/cpuprof" || return 1
  [ "$load" = tcp ] && { ip netns exec "$P-hb" iperf3 -s -B "$IPB" -p 5201 >>"$CASE_DIR/iperf3-server.log" 2>&1 &
    PIDS+=("$!"); IPERF_SRV=$!; sleep 0.5; }
  read -r fall0 _ < <(port_rx)
  start_load "$load" cpuprof; wait_load
  read -r fall1 _ < <(port_rx)
  echo "$fall0 $fall1" >"$CASE_DIR/all-frames.txt"
  [ -n "${IPERF_SRV:-}" ] && stop "$IPERF_SRV"; IPERF_SRV=""
  stop_daemon
  NM_DIR=""
  report_case "$kind" "$load" "$tid"
}

# Steps of each ping's round trip from perf script lines "TID TIME: EVENT: TRACE" (x86-64 syscall numbers: 44
# sendto, 47 recvmsg, 1 write, 307 sendmmsg): ping's send -> the forwarding thread woken -> running -> request
# written out -> reply written out -> ping's recvmsg returns.
ping_awk() {
  cat <<'AWK'
{ t = $2; sub(/:$/, "", t); t *= 1e6 }
$1 == ping && /sys_enter: NR 44 / { s = t; wk = rn = o1 = o2 = 0; next }
!s { next }
/sched_waking:/ && $0 ~ ("pid=" w " ") && !wk { wk = t }
/sched_switch:/ && $0 ~ ("next_pid=" w " ") && wk && !rn { rn = t }
$1 == w && /sys_exit: NR (1|307) = [1-9]/ { if (!o1) o1 = t; else if (!o2) o2 = t }
$1 == ping && /sys_exit: NR 47 = [1-9]/ {
  if (wk && rn && o1 && o2) {
    n++; a += wk - s; b += rn - wk; c += o1 - rn; d += o2 - o1; e += t - o2; f += t - s
    printf "ping %d: send->woken %.0f, woken->running %.0f, running->request out %.0f, ->reply out %.0f, ->ping has it %.0f, total %.0f us\n", n, wk - s, rn - wk, o1 - rn, o2 - o1, t - o2, t - s
  }
  s = 0
}
END { if (n) printf "average of %d: send->woken %.0f, woken->running %.0f, running->request out %.0f, ->reply out %.0f, ->ping has it %.0f, total %.0f us\n", n, a / n, b / n, c / n, d / n, e / n, f / n }
AWK
}

# perf report lines "pct dso" and "pct symbol" (no children: self time).
perf_split() {
  perf report -i "$1" --no-children --sort dso --stdio -g none 2>/dev/null | awk '/^ +[0-9.]+%/ {print $1, $2}' | head -n 8
}
perf_syms() {
  perf report -i "$1" --no-children --sort dso,sym --stdio -g none 2>/dev/null | awk '/^ +[0-9.]+%/' | head -n "${2:-25}"
}

report_case() {
  local kind=$1 load=$2 tid=$3 d=$CASE_DIR
  echo
  echo "### $kind ports, $load ($SECS s per run; load average now $(cut -d' ' -f1-3 /proc/loadavg))"
  read -r f0 b0 r0 q0 u0 s0 t0 w0 f1 b1 r1 q1 u1 s1 t1 w1 < "$d/clean.txt"
  local fr=$((f1 - f0)) by=$((b1 - b0)) wall on
  wall=$(echo "($w1 - $w0) / 1000000000" | bc -l)
  on=$(echo "($r1 - $r0) / 1000" | bc -l)   # microseconds on CPU
  printf 'clean run: %d frames received by the ports (%.0f/s), %.0f bytes per frame\n' "$fr" "$(echo "$fr / $wall" | bc -l)" "$(echo "$by / ($fr + ($fr == 0))" | bc -l)"
  printf '  forwarding thread: %.2f s on CPU (%.0f %% of the run), %.2f s runnable but waiting for a CPU; user %d / system %d ticks; whole netmgrd %d ticks\n' \
    "$(echo "$on / 1000000" | bc -l)" "$(echo "$on / 10000 / $wall" | bc -l)" "$(echo "($q1 - $q0) / 1000000000" | bc -l)" $((u1 - u0)) $((s1 - s0)) $((t1 - t0))
  printf '  per frame: %.2f us of forwarding-thread CPU (user %.0f %%, system %.0f %%)\n' "$(echo "$on / ($fr + ($fr == 0))" | bc -l)" \
    "$(echo "100 * ($u1 - $u0) / ($u1 - $u0 + $s1 - $s0 + 0.0001)" | bc -l)" "$(echo "100 * ($s1 - $s0) / ($u1 - $u0 + $s1 - $s0 + 0.0001)" | bc -l)"
  read -r pf0 _ pf1 _ < "$d/perf-frames.txt"
  local pfr=$((pf1 - pf0)) sys cs tc
  sys=$(awk '/raw_syscalls:sys_enter/ {gsub(",", "", $1); print $1}' "$d/perf-stat.txt")
  cs=$(awk '/context-switches/ {gsub(",", "", $1); print $1}' "$d/perf-stat.txt")
  tc=$(awk '/task-clock/ {gsub(",", "", $1); print $1}' "$d/perf-stat.txt")
  printf 'perf run: %d frames; forwarding thread %s ms task-clock, %s syscalls (%.2f per frame), %s context switches (%.3f per frame)\n' \
    "$pfr" "$tc" "$sys" "$(echo "${sys:-0} / ($pfr + ($pfr == 0))" | bc -l)" "$cs" "$(echo "${cs:-0} / ($pfr + ($pfr == 0))" | bc -l)"
  echo "  perf record, self time by object:"
  sed 's/^/    /' "$d/perf-dso.txt"
  echo "  top symbols (self):"
  head -n 25 "$d/perf-syms.txt" | sed 's/^/    /'
  echo "  copies (self %, kernel and libc): $(awk '/copy|memcpy|memmove|movs/ {gsub("%", "", $1); s += $1} END {printf "%.1f %%", s}' "$d/perf-syms.txt")"
  echo "  checksums (self %): $(awk '/csum/ {gsub("%", "", $1); s += $1} END {printf "%.1f %%", s}' "$d/perf-syms.txt")"
  read -r sf0 _ sf1 _ < "$d/strace-frames.txt"
  local sfr=$((sf1 - sf0))
  echo "strace -c run (slowed): $sfr frames; calls per frame:"
  awk -v fr="$sfr" '$1 ~ /^[0-9.]+$/ && NF >= 5 {n = $4; name = $NF; if (name != "total") printf "    %-16s %9d calls  %.3f per frame\n", name, n, n / (fr + (fr == 0))}' "$d/strace-c.txt" | sort -k2 -rn | head -n 8
  read -r a0 a1 < "$d/all-frames.txt"
  echo "JS profile of the forwarding worker (--cpu-prof, a fourth run with its own daemon: $((a1 - a0)) frames):"
  local prof
  prof=$(ls "$d"/cpuprof/*.cpuprofile 2>/dev/null | awk -F. '$(NF-2) != 0' | head -n 1)
  if [ -n "$prof" ]; then node - "$prof" $((a1 - a0)) <<'JS' | sed 's/^/    /'
const fs = require('fs');
const [file, framesArg] = process.argv.slice(2);
const p = JSON.parse(fs.readFileSync(file, 'utf8'));
const frames = Number(framesArg) || 1;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const self = new Map();
let total = 0;
for (let i = 0; i < p.samples.length; i++) {
  const dt = p.timeDeltas[i + 1] ?? 0;
  const n = byId.get(p.samples[i]);
  const cf = n.callFrame;
  const where = cf.url ? `${cf.url.split('/').pop()}:${cf.lineNumber + 1}` : '';
  const key = `${cf.functionName || '(anonymous)'} ${where}`.trim();
  self.set(key, (self.get(key) ?? 0) + dt);
  total += dt;
}
const idle = self.get('(idle)') ?? 0;
const busy = total - idle;
console.log(`profile ${(total / 1e6).toFixed(2)} s wall, idle ${(idle / 1e6).toFixed(2)} s, busy ${(busy / 1e6).toFixed(2)} s = ${(busy / frames).toFixed(2)} us per frame`);
const rows = [...self].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, 18);
for (const [k, v] of rows) console.log(`${((100 * v) / busy).toFixed(1).padStart(5)} %  ${(v / frames).toFixed(3).padStart(7)} us/frame  ${k}`);
JS
  else echo "    (no worker profile written)"; fi
  if [ "$load" = tcp ]; then
    echo "ping on the idle switch, before the TCP runs: $(grep -o 'rtt.*' "$d/ping-before.log"); after them: $(grep -o 'rtt.*' "$d/ping-after.log")"
    echo "  forwarding thread wake-ups during 10 pings (perf sched timehist: wait time, scheduling delay, run time in ms):"
    awk 'NR > 3 && NF >= 6 {n++; w += $4; d += $5; r += $6; if ($5 > m) m = $5} END {if (n) printf "    %d switches in: avg sch delay %.3f ms (max %.3f), avg run %.3f ms\n", n, d / n, m, r / n}' "$d/sched-timehist.txt"
    echo "  steps of one ping (perf record -a of scheduler and syscall tracepoints, 8 pings 0.25 s apart; us), before the TCP runs:"
    sed 's/^/    /' "$d/ping-steps-before.txt"
    echo "  after the TCP runs:"
    sed 's/^/    /' "$d/ping-steps-after.txt"
    echo "  the forwarding thread's samples over 40 pings (perf record -F 20000), by object and top symbols:"
    sed 's/^/    /' "$d/ping-perf-dso.txt"
    head -n 20 "$d/ping-perf-syms.txt" | sed 's/^/    /'
    echo "  one ping's path through the forwarding thread (strace -tt -T, 5 pings; strace slows each syscall):"
    # From each epoll_pwait's return to the thread's next epoll_pwait: the work one wake-up does.
    awk 'function t(s, a) {split(s, a, ":"); return a[1] * 3600 + a[2] * 60 + a[3]}
      /epoll_pwait/ {st = t($1); if (end) {w = (st - end) * 1e6; n++; sum += w; list = list sprintf(" %.0f", w)}
        d = $NF; gsub(/[<>]/, "", d); end = (/= 0 </ ? 0 : st + d)}
      END {if (n) printf "    %d wake-ups with events: %.0f us from epoll_pwait return to the next epoll_pwait on average (each:%s)\n", n, sum / n, list}' \
      "$d/ping-strace.txt"
    grep -v 'resumed>\|unfinished' "$d/ping-strace.txt" | head -n 12 | sed 's/^/    /'
  fi
}

# The ceiling for the ping: the two hosts joined by one veth pair, no switch.
direct_ping() {
  ip netns add "$P-ha" && ip netns add "$P-hb" && ip link add "$P-a" netns "$P-ha" type veth peer name "$P-b" netns "$P-hb" &&
    ip -n "$P-ha" addr add "$IPA/24" dev "$P-a" && ip -n "$P-hb" addr add "$IPB/24" dev "$P-b" &&
    ip -n "$P-ha" link set "$P-a" up && ip -n "$P-hb" link set "$P-b" up || return 1
  wait_ping
  echo "direct veth (no switch), 30 pings 20 ms apart: $(ip netns exec "$P-ha" ping -q -c 30 -i 0.02 "$IPB" | grep -o 'rtt.*')"
  remove_prefixed "$P"
}
wait_ping() {
  local i
  for i in $(seq 1 20); do ip netns exec "$P-ha" ping -c 1 -W 1 "$IPB" >/dev/null 2>&1 && return 0; sleep 0.25; done
  return 1
}

echo "machine: $(nproc) cores, kernel $(uname -r), node $(node --version); load average at start $(cut -d' ' -f1-3 /proc/loadavg)"
direct_ping || log "direct veth ping failed"
for k in "${KINDS[@]}"; do
  for l in "${LOADS[@]}"; do profile_case "$k" "$l" || log "case $k/$l failed"; done
done
