#!/usr/bin/env bash
# Control-plane benchmark: netmgr apply of PAIRS veth pairs with addresses into NAMESPACES namespaces, against
# iproute2 doing the same work in batch mode; a no-op apply of the same set; deleting it all (netmgr apply of an
# empty unit set, against ip -batch deleting the same links and namespaces); and the CLI's start-up three ways.
# Median of ROUNDS runs each, measured in one run on this machine, printed as tables with ratios (compare ratios,
# not absolutes: the machine is shared). Sizes: SIZES="PAIRS:NAMESPACES ..." (default "200:20 1000:50").
#   usage: flock /tmp/netmgr-heavy.lock bash bench/apply.sh      (as root; ~4 min here)
# Names carry a per-run prefix bXXX, addresses are from 198.18.0.0/16, and everything is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench/apply.sh: run as root" >&2; exit 1; }
[ -f dist/netmgr.js ] || npm run build >/dev/null
SIZES=${SIZES:-"200:20 1000:50"}
ROUNDS=${ROUNDS:-3}
P=b$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' | head -c 3)
WORK=$(mktemp -d /tmp/netmgr-bench.XXXXXX)
export NETMGR_STATE_DIR=$WORK/state
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
T_START=$(date +%s)

cleanup() {
  for ns in $(ls /run/netns 2>/dev/null | grep "^$P-" || true); do ip netns del "$ns" 2>/dev/null || true; done
  for l in $(ip -br link | awk '{print $1}' | sed 's/@.*//' | grep "^$P-" || true); do ip link del "$l" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

now() { date +%s%N; }
ms() { echo "scale=1; ($2 - $1) / 1000000" | bc; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { printf '%.2fx' "$(echo "$1 / $2" | bc -l)"; }
# verdict VALUE LIMIT: "ok" when VALUE <= LIMIT
verdict() { if [ "$(echo "$1 <= $2" | bc)" = 1 ]; then echo ok; else echo MISS; fi; }
# time_ms CMD...: wall time of one run in ms, output discarded
time_ms() { local t0 t1; t0=$(now); "$@" >/dev/null; t1=$(now); ms "$t0" "$t1"; }

# One size: writes the units and the iproute2 batches, runs ROUNDS rounds, prints the table.
bench_size() {
  local pairs=$1 nss=$2 d=$WORK/$1
  local units=$d/units empty=$d/empty
  mkdir -p "$units" "$empty" "$NETMGR_STATE_DIR"
  ns_of() { printf '%s-ns%02d' "$P" $(( $1 % nss )); }
  addr_of() { echo "198.18.$(( $1 / 200 )).$(( $1 % 200 + 1 ))/16"; }
  local i j n f
  for i in $(seq 0 $((pairs - 1))); do
    n=$(printf '%04d' "$i")
    printf '[unit]\ntype = "port"\n[port]\nkind = "veth"\nnamespace = "%s"\npeer = "%s-p%s"\n[ipv4]\naddresses = ["%s"]\n' \
      "$(ns_of "$i")" "$P" "$n" "$(addr_of "$i")" > "$units/$P-v$n.toml"
  done
  # The same work for iproute2: one batch in the root namespace, one per namespace for what lives inside it;
  # and the deletion netmgr does (each root-side veth, then each namespace) as one batch.
  {
    for j in $(seq 0 $((nss - 1))); do printf 'netns add %s-ns%02d\n' "$P" "$j"; done
    for i in $(seq 0 $((pairs - 1))); do
      n=$(printf '%04d' "$i")
      echo "link add $P-v$n type veth peer name $P-p$n netns $(ns_of "$i")"
      echo "link set $P-v$n up"
    done
  } > "$d/root.batch"
  for j in $(seq 0 $((nss - 1))); do
    f=$(printf '%s/ns%02d.batch' "$d" "$j")
    echo "link set lo up" > "$f"
    for i in $(seq "$j" "$nss" $((pairs - 1))); do
      n=$(printf '%04d' "$i")
      echo "addr add $(addr_of "$i") dev $P-p$n"
      echo "link set $P-p$n up"
    done >> "$f"
  done
  {
    for i in $(seq 0 $((pairs - 1))); do printf 'link del %s-v%04d\n' "$P" "$i"; done
    for j in $(seq 0 $((nss - 1))); do printf 'netns del %s-ns%02d\n' "$P" "$j"; done
  } > "$d/delete.batch"
  ip_create() {
    ip -batch "$d/root.batch"
    for j in $(seq 0 $((nss - 1))); do ip -n "$(printf '%s-ns%02d' "$P" "$j")" -batch "$(printf '%s/ns%02d.batch' "$d" "$j")"; done
  }

  local -a t_ip t_ipdel t_apply t_noop t_del
  local r out
  for r in $(seq 1 "$ROUNDS"); do
    t_ip+=("$(time_ms ip_create)")
    t_ipdel+=("$(time_ms ip -batch "$d/delete.batch")")
    sleep 0.5
    t_apply+=("$(time_ms node bin/netmgr apply --dir "$units")")
    local t0 t1; t0=$(now); out=$(node bin/netmgr apply --dir "$units"); t1=$(now); t_noop+=("$(ms "$t0" "$t1")")
    [ "$out" = "No changes." ] || { echo "no-op apply was not a no-op: $out" >&2; exit 1; }
    t_del+=("$(time_ms node bin/netmgr apply --dir "$empty")")
    sleep 0.5
  done
  local ip_ms ipdel_ms apply_ms noop_ms del_ms
  ip_ms=$(printf '%s\n' "${t_ip[@]}" | median)
  ipdel_ms=$(printf '%s\n' "${t_ipdel[@]}" | median)
  apply_ms=$(printf '%s\n' "${t_apply[@]}" | median)
  noop_ms=$(printf '%s\n' "${t_noop[@]}" | median)
  del_ms=$(printf '%s\n' "${t_del[@]}" | median)

  echo
  echo "$pairs veth pairs with addresses into $nss namespaces (median of $ROUNDS)"
  echo
  echo "| operation | time (ms) | ratio | goal |"
  echo "|---|---|---|---|"
  printf '| ip -batch create (1 root batch + %d per-namespace batches) | %s | 1.00x | |\n' "$nss" "$ip_ms"
  printf '| netmgr apply (node start-up included) / ip -batch create | %s | %s | <= 3x |\n' "$apply_ms" "$(ratio "$apply_ms" "$ip_ms")"
  printf '| netmgr apply, nothing to change / node -e 0 | %s | %s | <= 1.5x %s |\n' "$noop_ms" "$(ratio "$noop_ms" "$NODE_MS")" \
    "$(verdict "$noop_ms" "$(echo "1.5 * $NODE_MS" | bc -l)")"
  printf '| ip -batch delete (%d link del + %d netns del, one batch) | %s | 1.00x | |\n' "$pairs" "$nss" "$ipdel_ms"
  printf '| netmgr apply of an empty unit set (delete all) / ip -batch delete | %s | %s | <= 1.5x %s |\n' "$del_ms" \
    "$(ratio "$del_ms" "$ipdel_ms")" "$(verdict "$del_ms" "$(echo "1.5 * $ipdel_ms" | bc -l)")"
}

# Start-up: the same command (`netmgr --version`) started the three ways, against node doing nothing.
startup() { for r in 1 2 3 4 5; do time_ms "$@"; done | median; }
NODE_MS=$(startup node -e 0)
UNBUNDLED_MS=$(startup node -e "require('./dist/cli/main.js').main(['--version'])")
BUNDLE_MS=$(startup node -e "require('./dist/netmgr.js').main(['--version'])")
CACHED_MS=$(startup node bin/netmgr --version)

echo "Control plane (median of $ROUNDS; $(nproc) cores, kernel $(uname -r), node $(node --version); load average at start: $LOAD_START)"
echo
echo "CLI start-up: netmgr --version, median of 5"
echo
echo "| start-up | time (ms) | / node -e 0 |"
echo "|---|---|---|"
printf '| node -e 0 | %s | 1.00x |\n' "$NODE_MS"
printf '| unbundled (dist/cli/main.js: ~1,300 modules) | %s | %s |\n' "$UNBUNDLED_MS" "$(ratio "$UNBUNDLED_MS" "$NODE_MS")"
printf '| bundled (dist/netmgr.js), no code cache | %s | %s |\n' "$BUNDLE_MS" "$(ratio "$BUNDLE_MS" "$NODE_MS")"
printf '| bundled with the V8 code cache (bin/netmgr) | %s | %s |\n' "$CACHED_MS" "$(ratio "$CACHED_MS" "$NODE_MS")"

for size in $SIZES; do bench_size "${size%%:*}" "${size##*:}"; done
echo
echo "total time: $(( $(date +%s) - T_START )) s; load average at start: $LOAD_START, at end: $(cut -d' ' -f1-3 /proc/loadavg)"
