#!/usr/bin/env bash
# Control-plane benchmark: netmgr apply of 200 veth pairs with addresses into 20 namespaces, against iproute2
# doing the same work in batch mode, and a no-op apply of the same set. Median of ROUNDS runs each, measured in
# one run on this machine, printed as a table with ratios (compare ratios, not absolutes: the machine is shared).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench/apply.sh: run as root" >&2; exit 1; }
[ -f dist/cli/main.js ] || npm run build >/dev/null
PAIRS=${PAIRS:-200}
NAMESPACES=${NAMESPACES:-20}
ROUNDS=${ROUNDS:-3}
P=b$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' | head -c 3)
WORK=$(mktemp -d /tmp/netmgr-bench.XXXXXX)
UNITS=$WORK/units; EMPTY=$WORK/empty; STATE=$WORK/state
mkdir -p "$UNITS" "$EMPTY" "$STATE"
export NETMGR_STATE_DIR=$STATE

cleanup() {
  for ns in $(ls /run/netns 2>/dev/null | grep "^$P-" || true); do ip netns del "$ns" 2>/dev/null || true; done
  for l in $(ip -br link | awk '{print $1}' | sed 's/@.*//' | grep "^$P-" || true); do ip link del "$l" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

ns_of() { printf '%s-ns%02d' "$P" $(( $1 % NAMESPACES )); }
addr_of() { echo "198.18.$(( $1 / 200 )).$(( $1 % 200 + 1 ))/16"; }

for i in $(seq 0 $((PAIRS - 1))); do
  n=$(printf '%03d' "$i")
  cat > "$UNITS/$P-v$n.toml" <<UNIT
[unit]
type = "port"
[port]
kind = "veth"
namespace = "$(ns_of "$i")"
peer = "$P-p$n"
[ipv4]
addresses = ["$(addr_of "$i")"]
UNIT
done

# The same work for iproute2: one batch in the root namespace, one per namespace for what lives inside it.
{
  for j in $(seq 0 $((NAMESPACES - 1))); do printf 'netns add %s-ns%02d\n' "$P" "$j"; done
  for i in $(seq 0 $((PAIRS - 1))); do
    n=$(printf '%03d' "$i")
    echo "link add $P-v$n type veth peer name $P-p$n netns $(ns_of "$i")"
    echo "link set $P-v$n up"
  done
} > "$WORK/root.batch"
for j in $(seq 0 $((NAMESPACES - 1))); do
  f=$(printf '%s/ns%02d.batch' "$WORK" "$j")
  echo "link set lo up" > "$f"
  for i in $(seq "$j" "$NAMESPACES" $((PAIRS - 1))); do
    n=$(printf '%03d' "$i")
    echo "addr add $(addr_of "$i") dev $P-p$n"
    echo "link set $P-p$n up"
  done >> "$f"
done

now() { date +%s%N; }
ms() { echo "scale=1; ($2 - $1) / 1000000" | bc; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

ip_batch() {
  ip -batch "$WORK/root.batch"
  for j in $(seq 0 $((NAMESPACES - 1))); do ip -n "$(printf '%s-ns%02d' "$P" "$j")" -batch "$(printf '%s/ns%02d.batch' "$WORK" "$j")"; done
}
ip_cleanup() { for j in $(seq 0 $((NAMESPACES - 1))); do ip netns del "$(printf '%s-ns%02d' "$P" "$j")"; done; }

declare -a T_IP T_APPLY T_NOOP T_DEL
for r in $(seq 1 "$ROUNDS"); do
  t0=$(now); ip_batch; t1=$(now); T_IP+=("$(ms "$t0" "$t1")")
  ip_cleanup; sleep 0.5
  t0=$(now); node bin/netmgr apply --dir "$UNITS" >/dev/null; t1=$(now); T_APPLY+=("$(ms "$t0" "$t1")")
  t0=$(now); out=$(node bin/netmgr apply --dir "$UNITS"); t1=$(now); T_NOOP+=("$(ms "$t0" "$t1")")
  [ "$out" = "No changes." ] || { echo "no-op apply was not a no-op: $out" >&2; exit 1; }
  t0=$(now); node bin/netmgr apply --dir "$EMPTY" >/dev/null; t1=$(now); T_DEL+=("$(ms "$t0" "$t1")")
  sleep 0.5
done
ip_ms=$(printf '%s\n' "${T_IP[@]}" | median)
apply_ms=$(printf '%s\n' "${T_APPLY[@]}" | median)
noop_ms=$(printf '%s\n' "${T_NOOP[@]}" | median)
del_ms=$(printf '%s\n' "${T_DEL[@]}" | median)
node_ms=$( { for r in 1 2 3; do t0=$(now); node -e 0; t1=$(now); ms "$t0" "$t1"; done; } | median)

echo
echo "Control plane: $PAIRS veth pairs with addresses into $NAMESPACES namespaces (median of $ROUNDS, $(nproc) cores, kernel $(uname -r))"
echo
echo "| operation | time (ms) | ratio to ip -batch | goal |"
echo "|---|---|---|---|"
printf '| ip -batch (1 root batch + %d per-namespace batches) | %s | 1.00x | |\n' "$NAMESPACES" "$ip_ms"
printf '| netmgr apply (node start-up included) | %s | %.2fx | <= 3x |\n' "$apply_ms" "$(echo "$apply_ms / $ip_ms" | bc -l)"
printf '| netmgr apply, nothing to change | %s | %.2fx | <= 150 ms |\n' "$noop_ms" "$(echo "$noop_ms / $ip_ms" | bc -l)"
printf '| netmgr apply of an empty unit set (delete all) | %s | %.2fx | |\n' "$del_ms" "$(echo "$del_ms / $ip_ms" | bc -l)"
printf '| node -e 0 (start-up alone) | %s | %.2fx | |\n' "$node_ms" "$(echo "$node_ms / $ip_ms" | bc -l)"
