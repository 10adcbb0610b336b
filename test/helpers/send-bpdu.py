"""Sends spanning-tree BPDUs built with scapy (an encoder independent of netmgr's) out of one interface.

Usage: send-bpdu.py IFACE KIND COUNT INTERVAL_S
  KIND: "config" (802.1D Configuration BPDU, 9.3.1) or "rst" (RST BPDU, 9.3.3, role designated, learning and
  forwarding set). Every BPDU claims a root of priority 0 from 02:aa:00:00:00:01 (superior to any bridge that
  has priority > 0), hello 1 s, max age 6 s, forward delay 4 s.
Run it with Debian's python3 (python3-scapy).
"""
import sys
import time

from scapy.all import Dot3, LLC, STP, Raw, sendp

PEER = "02:aa:00:00:00:01"
BRIDGE_GROUP = "01:80:c2:00:00:00"
# 802.1D-2004 9.3.3 flags: Port Role "designated" (bits 3-4 = 11), Learning (bit 5), Forwarding (bit 6).
RST_FLAGS = 0x0C | 0x10 | 0x20


def bpdu(kind):
    common = dict(
        proto=0,
        rootid=0,
        rootmac=PEER,
        pathcost=0,
        bridgeid=0,
        bridgemac=PEER,
        portid=0x8001,
        age=0,
        maxage=6,
        hellotime=1,
        fwddelay=4,
    )
    llc = LLC(dsap=0x42, ssap=0x42, ctrl=3)
    if kind == "config":
        return Dot3(dst=BRIDGE_GROUP, src=PEER) / llc / STP(version=0, bpdutype=0x00, bpduflags=0, **common)
    if kind == "rst":
        # The Version 1 Length octet (9.3.3, octet 36) is not in scapy's STP layer: appended, 0.
        return (
            Dot3(dst=BRIDGE_GROUP, src=PEER)
            / llc
            / STP(version=2, bpdutype=0x02, bpduflags=RST_FLAGS, **common)
            / Raw(b"\x00")
        )
    raise SystemExit(f"send-bpdu.py: unknown KIND {kind!r} (config or rst)")


def main():
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    iface, kind, count, interval = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    frame = bpdu(kind)
    for i in range(count):
        sendp(frame, iface=iface, verbose=False)
        if i + 1 < count:
            time.sleep(interval)


if __name__ == "__main__":
    main()
