#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Test clients for the end-to-end tier. Exit 0 on success, 1 on failure
(the reason on stderr), 2 on bad usage. Every network wait has a timeout.

  client.py tcp HOST PORT [--src-port N] [--timeout S]
      Connect, send "hello", print the reply.
  client.py udp HOST PORT [--unconnected] [--src-port N] [--timeout S]
      Send "hello" from a UDP socket connect()ed to HOST:PORT (the kernel
      then accepts replies only from exactly HOST:PORT) or, with
      --unconnected, from a plain socket. Prints "from=IP:PORT DATA".
  client.py sweep HOST FIRST LAST [--timeout S] [--parallel N] [--src-base B]
      One TCP request to every port FIRST..LAST; lists the ports that failed.
      With --src-base, the request to port FIRST+i comes from port B+i.
  client.py load HOST PORT --count N [--parallel P] [--timeout S]
      N TCP requests, P at a time; counts errors.
  client.py pair HOST PORT1 PORT2 --src-port N [--timeout S]
      Two TCP connections open at the same time from the same source port N
      to HOST:PORT1 and HOST:PORT2; both must complete a request. Prints
      each reply, one per line.
  client.py reach HOST [--timeout S]
      Is HOST reachable? A datagram to its UDP port 9 (no listener) must come
      back as ICMP port unreachable; this image has no ping.
"""
import argparse
import asyncio
import socket
import sys
import time


def tcp_once(args):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(args.timeout)
    try:
        if args.src_port:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("0.0.0.0", args.src_port))
        s.connect((args.host, args.port))
        s.sendall(b"hello\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError as e:
        print("tcp %s:%d: %s" % (args.host, args.port, e), file=sys.stderr)
        return 1
    finally:
        s.close()
    sys.stdout.write(data.decode(errors="replace"))
    return 0 if data else 1


def udp_once(args):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(args.timeout)
    try:
        if args.src_port:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("0.0.0.0", args.src_port))
        if args.unconnected:
            s.sendto(b"hello", (args.host, args.port))
            data, frm = s.recvfrom(4096)
        else:
            s.connect((args.host, args.port))
            s.send(b"hello")
            data = s.recv(4096)
            frm = s.getpeername()
    except OSError as e:
        print("udp %s:%d: %s" % (args.host, args.port, e or "timed out"), file=sys.stderr)
        return 1
    finally:
        s.close()
    print("from=%s:%d %s" % (frm[0], frm[1], data.decode(errors="replace")))
    return 0


def pair(args):
    socks = []
    try:
        for port in (args.port1, args.port2):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(s)
            s.settimeout(args.timeout)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("0.0.0.0", args.src_port))
            s.connect((args.host, port))
        for s in socks:
            s.sendall(b"hello\n")
        for s, port in zip(socks, (args.port1, args.port2)):
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            if not data:
                raise OSError("no reply from port %d" % port)
            sys.stdout.write(data.decode(errors="replace"))
    except OSError as e:
        print("pair from port %d: %s" % (args.src_port, e or "timed out"), file=sys.stderr)
        return 1
    finally:
        for s in socks:
            s.close()
    return 0


def reach(args):
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.2)
        try:
            s.connect((args.host, 9))
            s.send(b"probe")
            s.recv(16)
            return 0
        except ConnectionRefusedError:
            return 0
        except OSError:
            pass
        finally:
            s.close()
    print("%s unreachable" % args.host, file=sys.stderr)
    return 1


async def request(host, port, timeout, src_port=None):
    """One TCP request; returns None on success or the reason it failed."""
    writer = None
    local = ("0.0.0.0", src_port) if src_port else None
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, local_addr=local), timeout)
        writer.write(b"hello\n")
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), timeout)
        if b"data=hello" not in data:
            return "bad reply %r" % data[:80]
        return None
    except asyncio.TimeoutError:
        return "timeout"
    except OSError as e:
        return str(e)
    finally:
        if writer is not None:
            writer.close()


async def run_many(host, ports, parallel, timeout, src_base=None):
    sem = asyncio.Semaphore(parallel)
    failures = []

    async def one(i, port):
        async with sem:
            why = await request(host, port, timeout, src_base + i if src_base else None)
            if why:
                failures.append((port, why))

    await asyncio.gather(*(one(i, p) for i, p in enumerate(ports)))
    return failures


def sweep(args):
    ports = list(range(args.first, args.last + 1))
    failures = asyncio.run(run_many(args.host, ports, args.parallel, args.timeout,
                                    args.src_base))
    for port, why in sorted(failures):
        print("FAILED %d %s" % (port, why))
    print("ok=%d failed=%d" % (len(ports) - len(failures), len(failures)))
    return 1 if failures else 0


def load(args):
    start = time.monotonic()
    failures = asyncio.run(run_many(args.host, [args.port] * args.count, args.parallel,
                                    args.timeout))
    reasons = {}
    for _, why in failures:
        reasons[why] = reasons.get(why, 0) + 1
    for why, n in sorted(reasons.items()):
        print("FAILED %d x %s" % (n, why))
    print("ok=%d failed=%d seconds=%.1f" % (args.count - len(failures), len(failures),
                                            time.monotonic() - start))
    return 1 if failures else 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("tcp")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--src-port", type=int)
    p.add_argument("--timeout", type=float, default=3)
    p = sub.add_parser("udp")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--unconnected", action="store_true")
    p.add_argument("--src-port", type=int)
    p.add_argument("--timeout", type=float, default=2)
    p = sub.add_parser("sweep")
    p.add_argument("host")
    p.add_argument("first", type=int)
    p.add_argument("last", type=int)
    p.add_argument("--parallel", type=int, default=50)
    p.add_argument("--timeout", type=float, default=5)
    p.add_argument("--src-base", type=int)
    p = sub.add_parser("load")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--parallel", type=int, default=8)
    p.add_argument("--timeout", type=float, default=5)
    p = sub.add_parser("pair")
    p.add_argument("host")
    p.add_argument("port1", type=int)
    p.add_argument("port2", type=int)
    p.add_argument("--src-port", type=int, required=True)
    p.add_argument("--timeout", type=float, default=3)
    p = sub.add_parser("reach")
    p.add_argument("host")
    p.add_argument("--timeout", type=float, default=10)
    args = ap.parse_args()
    return {"tcp": tcp_once, "udp": udp_once, "sweep": sweep, "load": load,
            "pair": pair, "reach": reach}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
