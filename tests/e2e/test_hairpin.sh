#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Hairpin: with the containers' bridge attached in bridge mode, a container
# reaches a published port through the host's address, another container's
# or its own, TCP and UDP, IPv4 and IPv6; replies come from the published
# address; many connections at once do not collide; outside clients keep
# their own address.
. "$(dirname "$0")/lib.sh"
e2e_init test_hairpin

from_ct() { http_get "$1" "$CT_NS"; }

UDP_CONNECTED='
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.settimeout(3)
s.connect((sys.argv[1], int(sys.argv[2])))
s.send(b"hello")
print(s.recv(512).decode())'

test_tcp_other_container() {
	local got
	got=$(from_ct "http://$HOST_IP:80/" 2>&1)
	if [[ $got == "peer=$BRIDGE_IP:"*"local=$CT2_IP:8080"* ]]; then
		pass hairpin_tcp_other_container
	else
		fail hairpin_tcp_other_container "$got"
	fi
}

test_tcp_own_port() {
	local got
	got=$(from_ct "http://$HOST_IP:81/" 2>&1)
	if [[ $got == "peer=$BRIDGE_IP:"*"local=$CT_IP:8080"* ]]; then
		pass hairpin_tcp_own_port
	else
		fail hairpin_tcp_own_port "$got"
	fi
}

test_udp() {
	local got
	got=$(timeout 10 nsenter --net="/run/netns/$CT_NS" -- "$PYTHON" -c "$UDP_CONNECTED" "$HOST_IP" 53 2>&1)
	if [[ $got == "peer=$BRIDGE_IP:"* ]]; then
		pass hairpin_udp_connected
	else
		fail hairpin_udp_connected "$got"
	fi
}

test_ipv6() {
	local got
	got=$(from_ct "http://[$HOST_IP6]:80/" 2>&1)
	if [[ $got == "peer=$BRIDGE_IP6:"* || $got == "peer=::ffff:$BRIDGE_IP:"* ]]; then
		pass hairpin_tcp_ipv6
	else
		fail hairpin_tcp_ipv6 "$got"
	fi
}

# The target container's port unreachable reaches the hairpin client's socket.
test_icmp() {
	local got
	got=$(udp_refused "$CT_NS" "$HOST_IP" 54 2>&1)
	if [ "$got" = refused ]; then
		pass hairpin_icmp_port_unreachable
	else
		fail hairpin_icmp_port_unreachable "connected UDP socket got '$got', want refused"
	fi
}

test_many() {
	capture client "$CT_NS" load "$HOST_IP" 80 --count 300 --parallel 16 --timeout 60
	if [ "$RC" -eq 0 ]; then
		pass hairpin_300_connections
	else
		fail hairpin_300_connections "$OUT $ERR"
	fi
}

test_outside_client() {
	local got
	got=$(http_get "http://$HOST_IP:80/" 2>&1)
	if [[ $got == "peer=$CLIENT_IP:"*"local=$CT2_IP:8080"* ]]; then
		pass hairpin_outside_client_keeps_address
	else
		fail hairpin_outside_client_keeps_address "$got"
	fi
}

setup_topology --second-container || die "topology setup failed"
bpl load || die "load failed"
bpl attach ext0 --mode native || die "attach ext0"
bpl attach br0 --mode bridge || die "attach br0"
start_tcp_server "$CT_NS" 8080 || die "server 1"
start_tcp_server "$CT2_NS" 8080 || die "server 2"
_start_server "$CT2_NS" tcp --port 8080 --addr :: || die "IPv6 server 2"
start_udp_server "$CT2_NS" 5353 || die "UDP server 2"
wait_until 10 http_get "http://[$CT2_IP6]:8080/" >/dev/null 2>&1 || die "container 2 unreachable over IPv6"
bp add --id two "0.0.0.0:80 -> $CT2_IP:8080/tcp" || die "add 80"
bp add --id one "0.0.0.0:81 -> $CT_IP:8080/tcp" || die "add 81"
bp add --id two "0.0.0.0:53 -> $CT2_IP:5353/udp" || die "add 53"
bp add --id two6 "[::]:80 -> [$CT2_IP6]:8080/tcp" || die "add [::]:80"
bp add --id two "0.0.0.0:54 -> $CT2_IP:5454/udp" || die "add 54 (closed)"

test_tcp_other_container
test_tcp_own_port
test_udp
test_icmp
test_ipv6
test_many
test_outside_client
e2e_finish
