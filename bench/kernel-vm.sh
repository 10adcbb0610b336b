#!/usr/bin/env bash
# Flow setups per second through the miss path: netmgr on the kernel openvswitch datapath, netmgr's userspace
# datapath, and ovs-vswitchd on the same kernel datapath (NORMAL action; when the host has openvswitch-switch, whose
# daemons test/vm/build-initramfs.sh copies into the VM), all measured in the same qemu VM (Debian 12's kernel,
# which has the module this machine's lacks).
# The guest side is bench/vm/flow-setup.js; this builds the project and boots the VM (test/vm/run --run).
# Usage: bench/kernel-vm.sh   (as root; RUNS=3 SECS=3 are the guest defaults)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench/kernel-vm.sh: run as root" >&2; exit 1; }
npm run build >/dev/null
NETMGR_VM_TIMEOUT=${NETMGR_VM_TIMEOUT:-600} bash test/vm/run --run bench/vm/flow-setup.js
