#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# IP fragments: a UDP datagram larger than the MTU sent to a published port
# arrives whole at the container, and its (also fragmented) answer comes back
# from the published address; IPv4 and IPv6, XDP and TC.
. "$(dirname "$0")/lib.sh"
e2e_init test_frag

# big_udp HOST PORT SIZE: a connected socket sends SIZE bytes; prints what came back.
BIG_UDP='
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.settimeout(3)
s.connect((sys.argv[1], int(sys.argv[2])))
s.send(b"a" * int(sys.argv[3]))
data = s.recv(65535).decode()
print("len=%d %s" % (len(data), data[:60]))'

big_udp() { timeout 10 nsenter --net="/run/netns/$CLIENT_NS" -- "$PYTHON" -c "$BIG_UDP" "$@"; }

test_mode() {
	local mode=$1 got
	attach "$mode" || { fail "frag_${mode}_attach" "attach failed"; return; }
	for dst in "$HOST_IP" "$HOST_IP6"; do
		local fam=ipv4
		[[ $dst == *:* ]] && fam=ipv6
		got=$(big_udp "$dst" 53 4000 2>&1)
		# The echo carries the 4000 bytes back: well over one MTU each way.
		if [[ $got == "len="* ]] && [ "${got#len=}" != "$got" ] &&
			[ "$(sed 's/len=\([0-9]*\).*/\1/' <<<"$got")" -gt 4000 ] && [[ $got == *"peer=$CLIENT_IP"* || $got == *"peer=$CLIENT_IP6"* ]]; then
			pass "frag_${mode}_${fam}_udp_4000_bytes"
		else
			fail "frag_${mode}_${fam}_udp_4000_bytes" "$got"
		fi
	done
	detach >/dev/null 2>&1
}

setup_topology || die "topology setup failed"
bpl load || die "load failed"
start_udp_server "$CT_NS" 5353 || die "UDP server"
_start_server "$CT_NS" udp --port 5354 --addr :: || die "IPv6 UDP server"
wait_until 10 client "$CLIENT_NS" reach "$CT_IP" --timeout 2 || die "container unreachable"
wait_until 15 reach6 "$CT_IP6" || die "container unreachable over IPv6"
bp add --id web "0.0.0.0:53 -> $CT_IP:5353/udp" || die "add"
bp add --id web6 "[::]:53 -> [$CT_IP6]:5354/udp" || die "add v6"
for mode in native generic tc; do test_mode "$mode"; done
e2e_finish
