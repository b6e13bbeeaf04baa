#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# IPv6 through published ports in every attach mode: TCP and UDP (a connected
# socket accepts only replies from the published address), the client's own
# address preserved, a specific-address binding answering only there, and
# `bpfport port` printing IPv6 as Docker does.
. "$(dirname "$0")/lib.sh"
e2e_init test_ipv6

# udp6 HOST PORT: one datagram from a connected socket; prints the reply.
udp6() {
	timeout 10 nsenter --net="/run/netns/$CLIENT_NS" -- "$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.settimeout(2)
s.connect((sys.argv[1], int(sys.argv[2])))
s.send(b"hello")
print(s.recv(512).decode())' "$1" "$2"
}

test_mode() {
	local mode=$1
	capture attach "$mode"
	[ "$RC" -eq 0 ] || { fail "ipv6_${mode}_attach" "attach exited $RC: $ERR"; return; }
	capture http_get "http://[$HOST_IP6]:80/"
	if [ "$RC" -eq 0 ] && [[ $OUT == "peer=$CLIENT_IP6:"*"local=::"* || $OUT == "peer=$CLIENT_IP6:"*"local=$CT_IP6"* ]]; then
		pass "ipv6_${mode}_tcp"
	else
		fail "ipv6_${mode}_tcp" "rc $RC, '$OUT' $ERR"
	fi
	capture udp6 "$HOST_IP6" 53
	if [ "$RC" -eq 0 ] && [[ $OUT == "peer=$CLIENT_IP6:"* ]]; then
		pass "ipv6_${mode}_udp_connected"
	else
		fail "ipv6_${mode}_udp_connected" "rc $RC, '$OUT' $ERR"
	fi
	capture bulk_check "http://[$HOST_IP6]:80"
	if [ "$RC" -eq 0 ]; then
		pass "ipv6_${mode}_bulk"
	else
		fail "ipv6_${mode}_bulk" "$ERR"
	fi
	detach >/dev/null 2>&1
}

test_specific_address() {
	attach tc >/dev/null 2>&1
	capture bp add --id web6 "[$HOST_IP6_2]:82 -> [$CT_IP6]:8080/tcp"
	[ "$RC" -eq 0 ] || { fail ipv6_specific_address "add exited $RC: $ERR"; return; }
	if ! http_get "http://[$HOST_IP6_2]:82/" >/dev/null 2>&1; then
		fail ipv6_specific_address "no answer on [$HOST_IP6_2]:82"
	elif http_get "http://[$HOST_IP6]:82/" >/dev/null 2>&1; then
		fail ipv6_specific_address "[$HOST_IP6]:82 answered, but only $HOST_IP6_2 is published"
	else
		pass ipv6_specific_address
	fi
}

test_port_output() {
	local want
	# docker/cli's natural order: a digit sorts before ':' ("[2001:..." < "[::]").
	want=$(printf '5353/udp -> [::]:53\n8080/tcp -> [%s]:82\n8080/tcp -> [::]:80' "$HOST_IP6_2")
	capture bp port web6
	if [ "$RC" -eq 0 ] && [ "$OUT" = "$want" ]; then
		pass ipv6_port_output
	else
		fail ipv6_port_output "got '$OUT', want '$want'"
	fi
}

setup_topology || die "topology setup failed"
bpl load || die "load failed"
_start_server "$CT_NS" tcp --port 8080 --addr :: || die "IPv6 TCP server"
_start_server "$CT_NS" udp --port 5353 --addr :: || die "IPv6 UDP server"
# Neighbour discovery settles before timing starts: the container, directly.
wait_until 10 http_get "http://[$CT_IP6]:8080/" >/dev/null 2>&1 || die "container unreachable over IPv6"
bp add --id web6 "[::]:80 -> [$CT_IP6]:8080/tcp" || die "add TCP binding"
bp add --id web6 "[::]:53 -> [$CT_IP6]:5353/udp" || die "add UDP binding"
for mode in native generic tc; do test_mode "$mode"; done
test_specific_address
test_port_output
e2e_finish
