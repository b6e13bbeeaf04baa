#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Processes on the host reach published ports at the socket level: through
# 127.0.0.1, ::1 and the host's own addresses, with the published endpoint as
# the peer they see; a 127.0.0.1 binding stays local; sockets of other
# namespaces (the client's) are never rewritten.
. "$(dirname "$0")/lib.sh"
e2e_init test_hostlocal

# py NS CODE ARGS...: python in namespace NS, inside the run's cgroup.
py() {
	local ns=$1 code=$2
	shift 2
	in_cgroup "$ns" timeout 10 "$PYTHON" -c "$code" "$@"
}

TCP_PEER='
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.settimeout(3)
s.connect((sys.argv[1], int(sys.argv[2])))
s.sendall(b"GET / HTTP/1.0\r\n\r\n")
data = b""
while True:
    c = s.recv(4096)
    if not c:
        break
    data += c
print("getpeername=%s:%d" % s.getpeername()[:2])
print(data.decode().split("\r\n\r\n", 1)[-1])'

UDP_PEER='
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
dst = (sys.argv[1], int(sys.argv[2]))
c = socket.socket(fam, socket.SOCK_DGRAM)
c.settimeout(3)
c.connect(dst)
c.send(b"hello")
print("connected=" + c.recv(512).decode())
u = socket.socket(fam, socket.SOCK_DGRAM)
u.settimeout(3)
u.sendto(b"hello", dst)
data, src = u.recvfrom(512)
print("recvfrom=%s:%d" % src[:2])'

# tcp_case NAME HOST PORT: a host process reaches the container; it sees the
# published endpoint as its peer, the container sees the host's bridge address.
tcp_case() {
	local name=$1 host=$2 port=$3
	capture py "$HOST_NS" "$TCP_PEER" "$host" "$port"
	if [ "$RC" -ne 0 ]; then
		fail "$name" "connect to $host:$port failed: $ERR"
	elif [[ $OUT != "getpeername=$host:$port"* ]]; then
		fail "$name" "getpeername shows '$(head -1 <<<"$OUT")', want $host:$port"
	elif [[ $OUT != *"local=$CT_IP:8080"* && $OUT != *"local=$CT_IP6:8080"* && $OUT != *"local=:::8080"* ]]; then
		fail "$name" "not the container's answer: $OUT"
	else
		pass "$name"
	fi
}

test_udp() {
	capture py "$HOST_NS" "$UDP_PEER" 127.0.0.1 53
	if [ "$RC" -eq 0 ] && [[ $OUT == "connected=peer="*"recvfrom=127.0.0.1:53"* ]]; then
		pass hostlocal_udp_loopback
	else
		fail hostlocal_udp_loopback "rc $RC, '$OUT' $ERR"
	fi
}

# A 127.0.0.1 binding is not reachable from outside the host.
test_loopback_binding_stays_local() {
	if http_get "http://$HOST_IP:8081/" >/dev/null 2>&1; then
		fail hostlocal_loopback_binding_local_only "$HOST_IP:8081 answered from the client"
	else
		pass hostlocal_loopback_binding_local_only
	fi
}

# The client namespace's sockets sit in the same cgroup but another namespace:
# its connect() to 127.0.0.1:80 must not be rewritten (nothing listens there).
test_other_netns_untouched() {
	capture py "$CLIENT_NS" "$TCP_PEER" 127.0.0.1 80
	if [ "$RC" -ne 0 ] && [[ $ERR == *"refused"* ]]; then
		pass hostlocal_client_netns_untouched
	else
		fail hostlocal_client_netns_untouched "rc $RC, '$OUT' $ERR"
	fi
	capture http_get "http://$HOST_IP:80/"
	if [ "$RC" -eq 0 ] && [[ $OUT == "peer=$CLIENT_IP:"* ]]; then
		pass hostlocal_client_still_via_datapath
	else
		fail hostlocal_client_still_via_datapath "rc $RC, '$OUT' $ERR"
	fi
}

setup_topology || die "topology setup failed"
# Load in the host namespace: the socket path serves that namespace only.
bplh load || die "load failed"
attach native || die "attach failed"
_start_server "$CT_NS" tcp --port 8080 || die "TCP server"
_start_server "$CT_NS" tcp --port 8080 --addr :: || die "IPv6 TCP server"
_start_server "$CT_NS" udp --port 5353 || die "UDP server"
wait_until 10 http_get "http://[$CT_IP6]:8080/" >/dev/null 2>&1 || die "container unreachable over IPv6"
bp add --id web '0.0.0.0:80 -> 198.51.100.8:8080/tcp' || die "add"
bp add --id web '127.0.0.1:8081 -> 198.51.100.8:8080/tcp' || die "add loopback"
bp add --id web '0.0.0.0:53 -> 198.51.100.8:5353/udp' || die "add udp"
bp add --id web6 "[::]:80 -> [$CT_IP6]:8080/tcp" || die "add v6"

tcp_case hostlocal_tcp_loopback 127.0.0.1 80
tcp_case hostlocal_tcp_own_address "$HOST_IP" 80
tcp_case hostlocal_tcp_second_address "$HOST_IP2" 80
tcp_case hostlocal_tcp_loopback_binding 127.0.0.1 8081
tcp_case hostlocal_tcp_ipv6_loopback ::1 80
tcp_case hostlocal_tcp_ipv6_own_address "$HOST_IP6" 80
test_udp
test_loopback_binding_stays_local
test_other_netns_untouched
e2e_finish
