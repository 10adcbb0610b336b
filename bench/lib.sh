# Shared by the bench scripts (sourced): per-run names, stopping what a script started, removing what it made.

# in_use PREFIX: true when a namespace or a root-namespace link already carries PREFIX- (another run's).
in_use() { ip netns list | grep -q "^$1-" || ip -o link show | grep -q ": $1-"; }

# run_prefix STEM: STEM and three hex digits that no namespace or link carries yet (this run's names start with it).
run_prefix() {
  local p
  p=$1$(printf '%03x' $((RANDOM % 4096)))
  while in_use "$p"; do p=$1$(printf '%03x' $((RANDOM % 4096))); done
  echo "$p"
}

# ns_exists NAME: true when the named network namespace exists (`ip netns list` prints a name with or without its id).
ns_exists() { ip netns list | awk '{print $1}' | grep -qx "$1"; }

# log MESSAGE: a time-stamped progress line on stderr.
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

# remove_tmp DIR: removes the run's temp dir, or keeps it when KEEP=1 and says where.
remove_tmp() { if [ "${KEEP:-0}" = 1 ]; then echo "logs kept in $1" >&2; else rm -rf "$1"; fi; }

# stop_pid PID: ends one process the script started, by its PID: TERM, then KILL after 10 s.
stop_pid() {
  local pid=$1 i
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# remove_prefixed PREFIX: deletes the namespaces (the veths inside go with them) and the root-namespace links named
# PREFIX-*, and nothing else.
remove_prefixed() {
  local ns l
  for ns in $(ip netns list | awk '{print $1}' | grep "^$1-" || true); do ip netns del "$ns" 2>/dev/null || true; done
  for l in $(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep "^$1-" || true); do ip link del "$l" 2>/dev/null || true; done
}

# write_netmgr_units DIR KIND POLICY: the unit set of a two-host bench (bench/datapath.sh, bench/profile.sh): bridge
# $P-sw on the userspace datapath joining hosts $P-ha ($IPA) and $P-hb ($IPB) on ports $P-a and $P-b of KIND
# (veth or internal), switched by POLICY: learning, or flows (two static flows between the ports).
write_netmgr_units() {
  local d=$1 kind=$2 policy=$3 x ip
  if [ "$policy" = learning ]; then
    # No policy line: "learning" is the default. No flows (they are an error with learning).
    printf '[unit]\ntype = "bridge"\n[bridge]\ndatapath = "userspace"\n' > "$d/$P-sw.toml"
  else
    cat > "$d/$P-sw.toml" <<UNIT
[unit]
type = "bridge"
[bridge]
datapath = "userspace"
policy = "flows"
[[bridge.flow]]
match = "in_port($P-a),eth()"
actions = "$P-b"
[[bridge.flow]]
match = "in_port($P-b),eth()"
actions = "$P-a"
UNIT
  fi
  for x in a b; do
    [ $x = a ] && ip=$IPA || ip=$IPB
    {
      printf '[unit]\ntype = "port"\n[port]\nbridge = "%s"\nkind = "%s"\nnamespace = "%s"\n' "$P-sw" "$kind" "$P-h$x"
      [ "$kind" = veth ] && printf 'peer = "%s"\n' "$P-p$x"
      printf '[ipv4]\naddresses = ["%s/24"]\n' "$ip"
    } > "$d/$P-$x.toml"
  done
}
