#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Start a userland proxy the way dockerd does, for the docker tier.

  spawn_proxy.py --status FILE [--listen-fd] [--timeout S] -- PROXY ARGS...

fd 3 of the proxy is the write end of a status pipe; with --listen-fd, fd 4
is a socket bound here to the -host-ip/-host-port/-proto of ARGS (TCP bound
and listening with SO_REUSEADDR, UDP with IP_PKTINFO / IPV6_RECVPKTINFO, IPv6
V6ONLY), as Docker 28 passes it with -use-listen-fd, and closed here once the
proxy started, as the daemon does. Writes to FILE what the proxy reported
("0" or "1 <message>", or "timeout"), then "pid=N" and "ready_ms=T" (from
the fork to the status), then waits for the proxy and appends "exit=N" (its
status, or -SIGNAL).
Exit status: 0 if the proxy reported ready, 1 otherwise.
"""
import argparse
import os
import select
import socket
import subprocess
import sys
import time


def flag(args, name):
    for i, a in enumerate(args):
        if a == "-" + name and i + 1 < len(args):
            return args[i + 1]
        if a.startswith("-" + name + "="):
            return a.split("=", 1)[1]
    return None


def bound_socket(args):
    proto = flag(args, "proto") or "tcp"
    ip = flag(args, "host-ip") or "0.0.0.0"
    port = int(flag(args, "host-port"))
    fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
    typ = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
    s = socket.socket(fam, typ)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    if typ == socket.SOCK_DGRAM:
        if fam == socket.AF_INET:
            s.setsockopt(socket.IPPROTO_IP, 8, 1)  # IP_PKTINFO
        else:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
    s.bind((ip, port))
    if typ == socket.SOCK_STREAM:
        s.listen(128)
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--status", required=True)
    ap.add_argument("--listen-fd", action="store_true")
    ap.add_argument("--timeout", type=float, default=16.0)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    r, w = os.pipe()
    sock = bound_socket(cmd) if a.listen_fd else None
    if sock:
        cmd = cmd + ["-use-listen-fd"]
    # Out of the way of 3 and 4 before the child moves them there.
    w_hi = os.dup2(w, 100, inheritable=True)
    s_hi = os.dup2(sock.fileno(), 101, inheritable=True) if sock else None

    def child():
        os.dup2(w_hi, 3)
        if s_hi is not None:
            os.dup2(s_hi, 4)
        os.close(w_hi)
        if s_hi is not None:
            os.close(s_hi)

    t0 = time.monotonic()
    p = subprocess.Popen(cmd, preexec_fn=child, close_fds=False,
                         stdin=subprocess.DEVNULL)
    os.close(w)
    os.close(w_hi)
    if sock:
        os.close(s_hi)
        sock.close()
    got = b""
    ready, _, _ = select.select([r], [], [], a.timeout)
    if ready:
        while True:
            chunk = os.read(r, 4096)
            if not chunk:
                break
            got += chunk
    ready_ms = (time.monotonic() - t0) * 1000
    os.close(r)
    text = got.decode(errors="replace")
    if not ready:
        line = "timeout"
    elif text.startswith("0\n"):
        line = "0"
    else:
        line = "1 " + text[2:].replace("\n", " ").strip()
    with open(a.status, "w") as f:
        f.write(line + "\npid=%d\nready_ms=%.1f\n" % (p.pid, ready_ms))
    rc = p.wait()
    with open(a.status, "a") as f:
        f.write("exit=%d\n" % rc)
    return 0 if line == "0" else 1


if __name__ == "__main__":
    sys.exit(main())
