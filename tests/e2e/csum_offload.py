#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Turn a device's checksum offload on or off, like `ethtool -K IFACE tx off`,
without needing ethtool (this image does not ship it).

  csum_offload.py IFACE tx|rx on|off

Why the tests need it: between veths a packet keeps CHECKSUM_PARTIAL, and a
receiver trusts it without looking at the checksum field, so a datapath that
mangles checksums goes unnoticed. With tx checksum offload off on a device,
the kernel completes the checksum in software before sending (after TC
egress), as a real NIC would in hardware; the receiver then verifies it.
Uses the legacy ETHTOOL_S{TX,RX}CSUM ioctls, which the kernel still maps
onto its feature flags (and it drops TSO with tx checksumming by itself).
"""
import array
import fcntl
import socket
import struct
import sys

SIOCETHTOOL = 0x8946
ETHTOOL_SRXCSUM = 0x15
ETHTOOL_STXCSUM = 0x17


def main():
    if len(sys.argv) != 4 or sys.argv[2] not in ("tx", "rx") or sys.argv[3] not in ("on", "off"):
        print("usage: csum_offload.py IFACE tx|rx on|off", file=sys.stderr)
        return 2
    iface, which, state = sys.argv[1:]
    cmd = ETHTOOL_STXCSUM if which == "tx" else ETHTOOL_SRXCSUM
    value = array.array("I", [cmd, 1 if state == "on" else 0])
    addr, _ = value.buffer_info()
    ifreq = struct.pack("16sP", iface.encode(), addr)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            fcntl.ioctl(s.fileno(), SIOCETHTOOL, ifreq)
        except OSError as e:
            print("%s %s %s: %s" % (iface, which, state, e), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
