#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Test servers for the end-to-end tier. Every reply names the peer as the
server saw it, so a test can check that the client address was preserved.

  server.py tcp --port P [--port P ...] [--addr A] --ready FILE
      One request per connection, then the server closes. HTTP/1.0 answers:
        GET /bulk/N   N bytes of bytes(range(256)) repeated
        GET others    "peer=IP:PORT local=IP:PORT"
        POST/PUT      "peer=IP:PORT local=IP:PORT received=N sha256=HEX"
      Any other first line LINE gets "peer=IP:PORT local=IP:PORT data=LINE".
  server.py udp --port P [--addr A] --ready FILE
      Echo: answers each datagram with "peer=IP:PORT local=A:P data=DATA".

The ready file is written once every socket listens.
"""
import argparse
import asyncio
import hashlib
import os
import re


def endpoint(sockaddr):
    return "%s:%d" % (sockaddr[0], sockaddr[1])


PATTERN = bytes(range(256)) * 256  # 64 KiB, repeated for bulk responses


def bulk(n):
    return (PATTERN * (n // len(PATTERN) + 1))[:n]


async def handle_http(reader, writer, request, peer, local):
    headers = {}
    while True:
        h = await asyncio.wait_for(reader.readline(), 10)
        if h in (b"\r\n", b"\n", b""):
            break
        k, _, v = h.decode(errors="replace").partition(":")
        headers[k.strip().lower()] = v.strip()
    method, path = (request.decode(errors="replace").split() + ["", ""])[:2]
    if method in ("POST", "PUT"):
        n = int(headers.get("content-length", "0"))
        body = await asyncio.wait_for(reader.readexactly(n), 30)
        text = "peer=%s local=%s received=%d sha256=%s\n" % (
            peer, local, n, hashlib.sha256(body).hexdigest())
        body = text.encode()
    elif path.startswith("/bulk/"):
        body = bulk(int(path[len("/bulk/"):]))
    else:
        body = ("peer=%s local=%s\n" % (peer, local)).encode()
    writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
                 b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body))
    writer.write(body)


async def handle_tcp(reader, writer):
    peer = endpoint(writer.get_extra_info("peername"))
    local = endpoint(writer.get_extra_info("sockname"))
    try:
        line = await asyncio.wait_for(reader.readline(), 10)
        if re.match(rb"(GET|POST|PUT) ", line):
            await handle_http(reader, writer, line, peer, local)
        else:
            data = line.decode(errors="replace").strip()
            writer.write(("peer=%s local=%s data=%s\n" % (peer, local, data)).encode())
        await writer.drain()
    except (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


class UdpEcho(asyncio.DatagramProtocol):
    def __init__(self, local):
        self.local = local

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        msg = "peer=%s local=%s data=%s" % (endpoint(addr), self.local,
                                            data.decode(errors="replace").strip())
        self.transport.sendto(msg.encode(), addr)


def mark_ready(path):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % os.getpid())
    os.rename(tmp, path)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("proto", choices=["tcp", "udp"])
    ap.add_argument("--port", type=int, action="append", required=True)
    ap.add_argument("--addr", default="0.0.0.0")
    ap.add_argument("--ready", required=True)
    args = ap.parse_args()

    loop = asyncio.get_running_loop()
    servers = []
    for port in args.port:
        if args.proto == "tcp":
            servers.append(await asyncio.start_server(handle_tcp, args.addr, port,
                                                      reuse_address=True, backlog=4096))
        else:
            local = "%s:%d" % (args.addr, port)
            await loop.create_datagram_endpoint(lambda l=local: UdpEcho(l),
                                                local_addr=(args.addr, port))
    mark_ready(args.ready)
    await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
