#!/usr/bin/env bash
# Builds the initramfs (uncompressed newc cpio) that test/vm/run boots with Debian 12's stock kernel, whose
# openvswitch module this machine's kernel lacks. See test/vm/README.md.
#
# usage: test/vm/build-initramfs.sh [OUTPUT]        (default: test/vm/.out/initramfs.cpio)
#
# The initramfs is two cpio archives one after the other (the kernel unpacks both, later files win):
#   base    kernel modules, busybox, dash, iproute2, iputils ping, tcpdump, ovs-dpctl, node, Open vSwitch's daemons
#           and tools when the host has them (ovsdb-server, ovs-vswitchd, ovs-vsctl, ...: a benchmark's peer), their
#           shared libraries, /etc files. Cached in $NETMGR_VM_CACHE, keyed on everything that goes into it, so a
#           rebuild only redoes it when the kernel, a host binary or a library changes (or this script).
#   project /init (test/vm/init) and the project at /netmgr: bin/, dist/, the native addon, package.json,
#           production node_modules, test/vm/guest/, examples/, units/, bench/pktblast, bench/arpprobe, bench/pingprobe. Rebuilt every time (~3 MiB).
# The kernel package (the linux-image-6.1.0-*-amd64 that linux-image-amd64 depends on) is fetched with
# `apt-get download` and unpacked with `dpkg-deb -x` into $NETMGR_VM_CACHE/kernel/<package>_<version>/: no install.
#
# Environment:
#   NETMGR_VM_CACHE        cache folder (default /var/cache/netmgr-vm; about 0.6 GiB)
#   NETMGR_VM_MODULES      modules to load, in addition to their dependencies (tun: the userspace datapath's TAPs;
#                          vxlan, geneve: tunnel ports; bridge: the overlay test's underlay switch and a peer in
#                          benchmarks; sch_tbf: the rate limit on a benchmark's storm)
#                          (default: openvswitch veth sch_ingress cls_matchall cls_bpf act_gact tun vxlan geneve bridge
#                          sch_tbf)
# On success the last two lines on stdout are `kernel=<vmlinuz>` and `initramfs=<OUTPUT>`; progress goes to stderr.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${NETMGR_VM_CACHE:-/var/cache/netmgr-vm}
OUT=${1:-$HERE/.out/initramfs.cpio}
MODULES=${NETMGR_VM_MODULES:-openvswitch veth sch_ingress cls_matchall cls_bpf act_gact tun vxlan geneve bridge sch_tbf}
# Guest paths of the host tools (each copied with the shared libraries ldd lists).
TOOLS=(ip tc bridge ss genl ping tcpdump ovs-dpctl node dash)

log() { echo "build-initramfs: $*" >&2; }
die() { echo "build-initramfs: error: $*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------- host prerequisites
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found; install it: $2"; }
need busybox 'apt-get install busybox-static'
need depmod 'apt-get install kmod'
need modprobe 'apt-get install kmod'
need dpkg-deb 'apt-get install dpkg'
need apt-get 'a Debian host is required'
need ldd 'apt-get install libc-bin'
need flock 'apt-get install util-linux'
need sha256sum 'apt-get install coreutils'
declare -A TOOLPATH
for t in "${TOOLS[@]}"; do
  p=$(command -v "$t" 2>/dev/null || true)
  case "$t" in
    ip | tc | bridge | ss | genl) [ -n "$p" ] || die "'$t' not found; apt-get install iproute2" ;;
    ping) [ -n "$p" ] || die "'ping' not found; apt-get install iputils-ping" ;;
    tcpdump) [ -n "$p" ] || die "'tcpdump' not found; apt-get install tcpdump" ;;
    ovs-dpctl) [ -n "$p" ] || die "'ovs-dpctl' not found; apt-get install openvswitch-common" ;;
    node) [ -n "$p" ] || die "'node' not found" ;;
    dash) [ -n "$p" ] || die "'dash' not found; apt-get install dash" ;;
  esac
  TOOLPATH[$t]=$(readlink -f "$p")
done
# Open vSwitch's own daemons, when the host has them (openvswitch-switch): the peer bench/kernel-vm.sh measures
# on the same kernel datapath. The tests do not need them.
OVS_SCHEMA=/usr/share/openvswitch/vswitch.ovsschema
if [ -f "$OVS_SCHEMA" ]; then
  for t in ovsdb-tool ovsdb-server ovs-vswitchd ovs-vsctl ovs-appctl; do
    p=$(command -v "$t" 2>/dev/null || true)
    if [ -n "$p" ]; then TOOLS+=("$t"); TOOLPATH[$t]=$(readlink -f "$p"); fi
  done
else
  OVS_SCHEMA=
fi
# busybox-static's busybox, not the dynamically linked one of the busybox package (either works, static is smaller).
BUSYBOX=$(readlink -f "$(command -v busybox)")

# -------------------------------------------------------------------------------------------- project prerequisites
[ -f "$ROOT/dist/netmgr.js" ] || die "dist/ is missing: run 'npm run build' first"
newest() { find "$@" -type f -printf '%T@\n' 2>/dev/null | sort -n | tail -1; }
src_t=$(newest "$ROOT/src")
dist_t=$(newest "$ROOT/dist")
if [ -n "$src_t" ] && awk -v s="$src_t" -v d="$dist_t" 'BEGIN { exit !(s > d) }'; then
  die "dist/ is older than src/ (a source file changed after the last build): run 'npm run build' first"
fi
[ -f "$ROOT/build/Release/netmgr_native.node" ] || die "build/Release/netmgr_native.node is missing: run 'npm ci' (it builds the addon)"
[ -d "$ROOT/node_modules" ] || die "node_modules/ is missing: run 'npm ci' first"
[ -f "$ROOT/test/vm/init" ] || die "test/vm/init is missing"

mkdir -p "$CACHE" "$(dirname "$OUT")"
exec 9>"$CACHE/.lock"
flock 9   # one build at a time per cache (a second run waits; the cache stays consistent)

# ------------------------------------------------------------------------------------------------------ the kernel
kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }' || true)
kpver=
[ -n "$kpkg" ] && kpver=$(apt-cache policy "$kpkg" 2>/dev/null | awk '$1 == "Candidate:" { print $2; exit }' || true)
if [ -z "$kpkg" ] || [ -z "$kpver" ] || [ "$kpver" = "(none)" ]; then
  # apt lists missing (no apt-get update yet): fall back to a kernel unpacked earlier.
  KDIR=$(ls -d "$CACHE"/kernel/linux-image-*/ 2>/dev/null | tail -1 || true)
  [ -n "$KDIR" ] && [ -f "$KDIR/.complete" ] || die "cannot resolve linux-image-amd64 with apt-cache (run 'apt-get update') and no kernel in $CACHE/kernel"
  KDIR=${KDIR%/}
  log "apt-cache cannot resolve linux-image-amd64; using the cached $(basename "$KDIR")"
else
  KDIR=$CACHE/kernel/${kpkg}_${kpver}
fi
if [ ! -f "$KDIR/.complete" ]; then
  log "fetching $kpkg $kpver (cold cache: download and unpack, ~10 s)"
  mkdir -p "$CACHE/kernel"
  tmp=$(mktemp -d "$CACHE/kernel/.tmp.XXXXXX")
  if ! (cd "$tmp" && apt-get -q download "$kpkg=$kpver") 2>&1 | sed '/unsandboxed as root/d' >&2; then
    rm -rf "$tmp"; die "apt-get download $kpkg=$kpver failed"
  fi
  dpkg-deb -x "$tmp"/"$kpkg"_*.deb "$tmp/root" || { rm -rf "$tmp"; die "dpkg-deb -x failed"; }
  rm -f "$tmp"/*.deb
  kv=$(ls "$tmp/root/lib/modules")
  depmod -b "$tmp/root" "$kv" || { rm -rf "$tmp"; die "depmod failed"; }
  touch "$tmp/.complete"
  rm -rf "$KDIR"
  mv "$tmp" "$KDIR"
  # Keep only this kernel (each unpacked kernel is ~470 MiB).
  for old in "$CACHE"/kernel/linux-image-*; do [ "$old" = "$KDIR" ] || rm -rf "$old"; done
fi
KROOT=$KDIR/root
KVER=$(ls "$KROOT/lib/modules")
VMLINUZ=$KROOT/boot/vmlinuz-$KVER
[ -f "$VMLINUZ" ] || die "no $VMLINUZ"

# Load order: dependencies first. crc32c_generic explicitly before libcrc32c: in a bare initramfs nothing answers
# libcrc32c's request for a crc32c implementation (crc32c-intel comes from the softdep; it is optional).
# shellcheck disable=SC2086
modlist=$(modprobe -d "$KROOT" -S "$KVER" -a --show-depends crc32c_generic $MODULES) || die "modprobe --show-depends $MODULES failed"
mods=$(echo "$modlist" | awk '$1 == "insmod" { print $2 }' | awk '!seen[$0]++' | sed "s|^$KROOT/lib/modules/$KVER/||")
[ -n "$mods" ] || die "no modules resolved for: $MODULES"

# ------------------------------------------------------------------------------------------------ the base archive
libs_of() { ldd "$1" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $2 ~ /^\(0x/ { print $1 }' || true; }
declare -A LIBS=()
for f in "${TOOLPATH[@]}" "$BUSYBOX"; do
  for l in $(libs_of "$f"); do LIBS[$l]=1; done
done
libfiles=$(printf '%s\n' "${!LIBS[@]}" | sort)
# Debian's node (libnode) loads some builtins from /usr/share/nodejs at start-up ("externalized builtins":
# cjs-module-lexer, acorn, undici); without them it aborts. Their paths are in the library; they travel with it.
builtins=$(for l in $libfiles; do case "$l" in */libnode.so*) grep -aoE '/usr/share/nodejs/[A-Za-z0-9_./@-]+[.]js' "$l" || true ;; esac; done |
  sort -u | while read -r f; do if [ -f "$f" ]; then echo "$f"; fi; done)
key=$( {
  sha256sum "$0" | cut -d' ' -f1
  echo "$KDIR $KVER"
  echo "$mods"
  for f in "${TOOLPATH[@]}" "$BUSYBOX" $libfiles $builtins /etc/protocols /etc/services $OVS_SCHEMA; do
    if [ -e "$f" ]; then stat -L -c '%n %s %Y' "$f"; fi
  done
} | sha256sum | cut -c1-16)
BASE=$CACHE/base-$key.cpio

if [ ! -f "$BASE" ]; then
  t0=$(date +%s.%N)
  log "building the base archive ($KVER, $(echo "$mods" | wc -l) modules, busybox, iproute2, ping, tcpdump, ovs-dpctl, node)"
  S=$(mktemp -d "$CACHE/.base.XXXXXX")
  trap 'rm -rf "$S"' EXIT
  # Merged /usr, as on the host: /bin/ip and /sbin/ip are the same file, library paths from ldd are valid as they are.
  mkdir -p "$S"/usr/{bin,sbin,lib/x86_64-linux-gnu,lib64} "$S"/{etc,proc,sys,dev,run,tmp,root,var/lib,var/log,mnt}
  ln -s usr/bin "$S/bin"; ln -s usr/sbin "$S/sbin"; ln -s usr/lib "$S/lib"; ln -s usr/lib64 "$S/lib64"
  ln -s ../run "$S/var/run"
  chmod 1777 "$S/tmp"
  if [ "$(id -u)" = 0 ]; then mknod -m 600 "$S/dev/console" c 5 1; mknod -m 666 "$S/dev/null" c 1 3; fi

  # Kernel modules, at their usual paths, with a modules.dep for them (busybox modprobe can use it interactively).
  for m in $mods; do install -D -m 644 "$KROOT/lib/modules/$KVER/$m" "$S/lib/modules/$KVER/$m"; done
  cp "$KROOT/lib/modules/$KVER"/modules.{order,builtin,builtin.modinfo} "$S/lib/modules/$KVER/" 2>/dev/null || true
  depmod -b "$S" "$KVER" 2>/dev/null || true
  mkdir -p "$S/etc/netmgr-vm"
  echo "$mods" > "$S/etc/netmgr-vm/modules"
  echo "$KVER" > "$S/etc/netmgr-vm/kernel"

  # Real tools at their host paths (PATH lookups find them, not busybox applets).
  # Each at its real path, plus the host's /usr/bin and /usr/sbin symlinks to it (/sbin/ip and /bin/ip both work).
  usrpath() { local d=${1#/}; case "$d" in bin/* | sbin/* | lib/* | lib64/*) d=usr/$d ;; esac; echo "$d"; }
  for t in "${TOOLS[@]}"; do
    real=$(usrpath "${TOOLPATH[$t]}")
    install -D -m 755 "${TOOLPATH[$t]}" "$S/$real"
    for d in usr/bin usr/sbin; do
      if [ -e "/$d/$t" ] && [ "$(readlink -f "/$d/$t")" = "${TOOLPATH[$t]}" ] && [ ! -e "$S/$d/$t" ]; then ln -s "/$real" "$S/$d/$t"; fi
    done
  done
  install -m 755 "$BUSYBOX" "$S/usr/bin/busybox"
  for l in $libfiles; do install -D -m 755 "$l" "$S/$(usrpath "$l")"; done
  for f in $builtins $OVS_SCHEMA; do install -D -m 644 "$f" "$S$f"; done
  # /bin/sh is dash, not busybox: busybox sh runs its own applets before PATH (its `ip` has no netns), and
  # node's execSync and friends run commands through /bin/sh.
  ln -sf dash "$S/usr/bin/sh"
  # busybox applets, except where a real tool is installed (ip, ping, tc, ...) and sh.
  busybox --list-full | while read -r a; do
    n=${a##*/}
    case "$n" in ip | ping | ping6 | tc | sh | busybox) continue ;; esac
    d=${a#/}; case "$d" in bin/* | sbin/*) d=usr/$d ;; esac
    [ -e "$S/$d" ] || [ -L "$S/$d" ] || ln -s /usr/bin/busybox "$S/$d"
  done
  ln -sf ping "$S/usr/bin/ping6"

  # /etc
  printf 'root:x:0:0:root:/root:/bin/sh\ntcpdump:x:103:106::/nonexistent:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' > "$S/etc/passwd"
  printf 'root:x:0:\ntcpdump:x:106:\nnogroup:x:65534:\n' > "$S/etc/group"
  printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$S/etc/hosts"
  printf 'passwd: files\ngroup: files\nhosts: files\nprotocols: files\nservices: files\n' > "$S/etc/nsswitch.conf"
  echo netmgr-vm > "$S/etc/hostname"
  for f in /etc/protocols /etc/services; do if [ -f "$f" ]; then cp "$f" "$S$f"; fi; done
  printf '/usr/lib/x86_64-linux-gnu\n/usr/local/lib\n' > "$S/etc/ld.so.conf"
  ldconfig -r "$S" 2>/dev/null || true

  (cd "$S" && find . -mindepth 1 | LC_ALL=C sort | busybox cpio -o -H newc -R 0:0 > "$S.cpio" 2>/dev/null) || die "cpio (base) failed"
  rm -f "$CACHE"/base-*.cpio
  mv "$S.cpio" "$BASE"
  rm -rf "$S"; trap - EXIT
  log "base archive: $(du -m "$BASE" | cut -f1) MiB in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
fi

# --------------------------------------------------------------------------------------------- the project archive
P=$(mktemp -d /tmp/netmgr-vm-project.XXXXXX)
trap 'rm -rf "$P"' EXIT
install -m 755 "$ROOT/test/vm/init" "$P/init"
N=$P/netmgr
mkdir -p "$N/build/Release" "$N/test/vm" "$N/node_modules"
cp -a "$ROOT/bin" "$ROOT/dist" "$ROOT/package.json" "$N/"
cp -a "$ROOT/build/Release/netmgr_native.node" "$N/build/Release/"
cp -a "$ROOT/test/vm/guest" "$N/test/vm/"
# Example and default unit sets (guest tests copy them into temp unit dirs).
for d in examples units; do if [ -d "$ROOT/$d" ]; then cp -a "$ROOT/$d" "$N/"; fi; done
# Production dependencies only: package-lock.json's packages without "dev" (what `npm ls --omit=dev` lists).
(cd "$ROOT" && node -e '
  const lock = require("./package-lock.json");
  const fs = require("fs");
  for (const [p, e] of Object.entries(lock.packages || {})) {
    if (!p.startsWith("node_modules/") || e.dev || e.link) continue;
    if (p.split("node_modules/").length > 2) continue;   // nested: copied with its top-level parent
    if (fs.existsSync(p)) console.log(p);
  }') | while read -r d; do
  mkdir -p "$N/$(dirname "$d")"
  cp -a "$ROOT/$d" "$N/$d"
done
# The small C traffic tools, for guest tests and benchmarks that need a traffic source (pktblast) or a prober
# (arpprobe, pingprobe): a built
# bench/TOOL if there is one, else compiled here from bench/TOOL.c (cached on its hash) when a C compiler is present.
mkdir -p "$N/bench"
for tool in pktblast arpprobe pingprobe; do
  if [ -x "$ROOT/bench/$tool" ]; then
    cp -a "$ROOT/bench/$tool" "$N/bench/"
  elif [ -f "$ROOT/bench/$tool.c" ] && command -v cc >/dev/null 2>&1; then
    pb=$CACHE/$tool-$(cat "$ROOT/bench/$tool.c" "$ROOT/bench/probe-common.h" | sha256sum | cut -c1-16)
    if [ ! -x "$pb" ]; then
      rm -f "$CACHE/$tool"-*
      cc -O2 -Wall -o "$pb.tmp" "$ROOT/bench/$tool.c" 2>/dev/null && mv "$pb.tmp" "$pb" || { rm -f "$pb.tmp"; log "note: bench/$tool.c did not compile; the guest has no $tool"; }
    fi
    if [ -x "$pb" ]; then cp "$pb" "$N/bench/$tool"; fi
  fi
done
# Benchmarks that run inside the guest (test/vm/run --run bench/vm/...).
[ -d "$ROOT/bench/vm" ] && cp -a "$ROOT/bench/vm" "$N/bench/"
rmdir "$N/bench" 2>/dev/null || true

(cd "$P" && find . -mindepth 1 | LC_ALL=C sort | busybox cpio -o -H newc -R 0:0 > "$P.cpio" 2>/dev/null) || die "cpio (project) failed"
cat "$BASE" "$P.cpio" > "$OUT.tmp"
rm -f "$P.cpio"
mv "$OUT.tmp" "$OUT"
log "initramfs: $OUT ($(du -m "$OUT" | cut -f1) MiB; base $(basename "$BASE"))"
echo "kernel=$VMLINUZ"
echo "initramfs=$OUT"
