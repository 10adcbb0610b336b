#!/usr/bin/env bash
# Builds the Debian 12 disk image that test/system/run boots with systemd as PID 1 (or finds it in the cache).
#
# usage: test/system/build-image.sh
#
# Two cached layers in $NETMGR_SYSTEM_CACHE (default /var/cache/netmgr-system), one build at a time per cache:
#   rootfs-<ISO week>-<hash>.tar  `mmdebstrap --variant=apt --include=<PACKAGES> bookworm`: Debian's packages only
#                                 (~4 minutes; rebuilt each ISO week, so security updates come in, and when the
#                                 package list changes). Older ones are removed.
#   image-<hash>/                 the tarball made bootable (fstab, host name, the guest agent, apt's timers
#                                 masked) as a sparse raw ext4 image `disk.raw` (mkfs.ext4 -d: no loop mount), with
#                                 the kernel and initrd of its /boot beside it. The hash covers the tarball's name,
#                                 this script and test/system/guest/. The image is read-only: each run boots it with
#                                 qemu's snapshot=on (writes go to a temporary overlay), so it stays fresh.
# The netmgr package is not in the image: the harness installs it in the running guest, as an admin would.
# On success the last lines on stdout are `image=`, `kernel=` and `initrd=`; progress goes to stderr.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${NETMGR_SYSTEM_CACHE:-/var/cache/netmgr-system}
# What the story needs in the guest besides netmgr: systemd as init (with udev and dbus, as any Debian 12 box),
# Debian's kernel (it has the openvswitch module), the package's dependencies (nodejs, dhcpcd-base: `apt install
# ./netmgr_*.deb` then needs no network), ovs-dpctl (in bookworm it is in openvswitch-switch, whose daemons are
# masked below), tcpdump, ping, and ps/pgrep for the leftovers check.
PACKAGES=(systemd-sysv udev dbus kmod procps iproute2 iputils-ping linux-image-amd64 nodejs dhcpcd-base
  openvswitch-switch tcpdump)

log() { echo "build-image: $*" >&2; }
die() { echo "build-image: error: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (mmdebstrap, file ownership in the image)"
for t in mmdebstrap mkfs.ext4 tar sha256sum flock; do command -v "$t" >/dev/null || die "'$t' not found"; done

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9

pkghash=$(printf '%s\n' "${PACKAGES[@]}" | LC_ALL=C sort | sha256sum | cut -c1-12)
TAR=$CACHE/rootfs-$(date -u +%GW%V)-$pkghash.tar
if [ ! -s "$TAR" ]; then
  t0=$SECONDS
  log "mmdebstrap --variant=apt bookworm with ${PACKAGES[*]} (cold cache: ~4-6 minutes)"
  rm -f "$CACHE"/rootfs-*.tmp.tar
  if ! mmdebstrap --variant=apt --include="$(IFS=,; echo "${PACKAGES[*]}")" bookworm "${TAR%.tar}.tmp.tar" >&2; then
    rm -f "${TAR%.tar}.tmp.tar"
    die "mmdebstrap failed"
  fi
  for old in "$CACHE"/rootfs-*.tar; do [ "$old" = "${TAR%.tar}.tmp.tar" ] || rm -f "$old"; done
  mv "${TAR%.tar}.tmp.tar" "$TAR"
  log "rootfs: $(du -m "$TAR" | cut -f1) MiB in $((SECONDS - t0)) s"
fi

key=$({
  basename "$TAR"
  sha256sum "$0" "$HERE"/guest/* | cut -d' ' -f1
} | sha256sum | cut -c1-12)
IMG=$CACHE/image-$key
if [ ! -f "$IMG/.complete" ]; then
  t0=$SECONDS
  log "making the disk image from $(basename "$TAR")"
  S=$(mktemp -d "$CACHE/.root.XXXXXX")
  trap 'rm -rf --one-file-system "$S" "$IMG.tmp"' EXIT
  tar -C "$S" --numeric-owner --xattrs --xattrs-include='*' -xf "$TAR"

  echo '/dev/vda / ext4 rw,errors=remount-ro 0 1' >"$S/etc/fstab"
  echo netmgr-system >"$S/etc/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\tnetmgr-system\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$S/etc/hosts"
  # A machine id of its own, so that the first boot is not a "first boot" (no systemd-firstboot questions).
  systemd-machine-id-setup --root="$S" >/dev/null 2>&1 || od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$S/etc/machine-id"
  # Root without a password: only for a look at the console (`test/system/run --keep` then the printed qemu line).
  chroot "$S" passwd -dq root
  install -D -m 644 "$HERE/guest/netmgr-system-agent.js" "$S/usr/local/lib/netmgr-system/agent.js"
  install -D -m 644 "$HERE/guest/netmgr-system-agent.service" "$S/etc/systemd/system/netmgr-system-agent.service"
  install -D -m 644 "$HERE/guest/60-netmgr-system-agent.rules" "$S/etc/udev/rules.d/60-netmgr-system-agent.rules"
  systemctl --root="$S" enable netmgr-system-agent.service >/dev/null 2>&1
  # eth0 is the box's management NIC, configured by systemd-networkd as a Debian 12 box may have it (netmgr must
  # leave it alone; the harness pings it from its own namespace). eth1..eth4 match no .network file: networkd
  # leaves them unmanaged, for netmgr.
  printf '[Match]\nName=eth0\n\n[Network]\nAddress=198.18.167.2/24\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n' \
    >"$S/etc/systemd/network/10-eth0.network"
  systemctl --root="$S" enable systemd-networkd.service >/dev/null 2>&1
  # apt's daily runs would take dpkg's lock in the middle of the story (and find no network): off, as are the other
  # periodic jobs that would only add noise to the timing.
  systemctl --root="$S" mask apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer \
    fstrim.timer >/dev/null 2>&1
  # Open vSwitch's own daemons stay off: only ovs-dpctl is wanted, to read what netmgr builds. Their start would load
  # the openvswitch module (ovs-ctl) and hide whether netmgr gets it loaded on demand, or not when blacklisted.
  systemctl --root="$S" mask openvswitch-switch.service ovs-vswitchd.service ovsdb-server.service >/dev/null 2>&1

  kver=$(ls "$S/lib/modules")
  [ -f "$S/boot/vmlinuz-$kver" ] && [ -f "$S/boot/initrd.img-$kver" ] || die "no kernel and initrd for $kver in /boot"
  # The initrd mounts the root from /dev/vda: it needs virtio_blk and ext4 (initramfs-tools' MODULES=most has them).
  mods=$(chroot "$S" lsinitramfs "/boot/initrd.img-$kver" 2>/dev/null | grep -cE '/(virtio_blk|ext4)\.ko')
  [ "$mods" -ge 2 ] || die "the initrd lacks virtio_blk or ext4"

  rm -rf "$IMG.tmp"
  mkdir -p "$IMG.tmp"
  cp "$S/boot/vmlinuz-$kver" "$IMG.tmp/vmlinuz"
  cp "$S/boot/initrd.img-$kver" "$IMG.tmp/initrd.img"
  # Room for the package, the journal and the story's files; the file stays sparse (only used blocks count).
  size=$(($(du -sm --one-file-system "$S" | cut -f1) + 1024))
  mkfs.ext4 -q -F -L netmgr-root -E root_owner=0:0 -d "$S" "$IMG.tmp/disk.raw" "${size}M" || die "mkfs.ext4 -d failed"
  chmod a-w "$IMG.tmp/disk.raw"
  touch "$IMG.tmp/.complete"
  for old in "$CACHE"/image-*; do [ "$old" = "$IMG.tmp" ] || rm -rf "$old"; done
  mv "$IMG.tmp" "$IMG"
  rm -rf --one-file-system "$S"
  trap - EXIT
  log "image: $IMG ($kver; $(du -m "$IMG/disk.raw" | cut -f1) MiB used of ${size} MiB) in $((SECONDS - t0)) s"
fi
echo "image=$IMG/disk.raw"
echo "kernel=$IMG/vmlinuz"
echo "initrd=$IMG/initrd.img"
