#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The published-ports bitmap (bp_published) follows the bindings: add sets a
# port's bit, del clears it only once no binding on that port, family and
# protocol is left, and load rebuilds it from the port counts (maps pinned
# by a version without it). Checked in the pinned map and by traffic: with
# the bit cleared behind bpfport's back, the published port stops answering.
. "$(dirname "$0")/lib.sh"
e2e_init test_published

MAP=$PIN_DIR/maps/bp_published
URL=http://$HOST_IP:80/

# word_key FAMILY PROTO PORT: the map key (4 bytes) of the word holding the
# port's bit, as bpfport.h's BPFPORT_PUBLISHED_WORD computes it.
word_key() {
	local kind=0 idx
	[ "$1" = 6 ] && kind=$((kind + 2))
	[ "$2" = udp ] && kind=$((kind + 1))
	idx=$((kind * 1024 + $3 / 64))
	echo "$((idx & 255)) $((idx >> 8 & 255)) 0 0"
}
# bit FAMILY PROTO PORT: prints 1 or 0.
bit() {
	local port=$3
	# shellcheck disable=SC2046 # the key is four words
	bpftool -j map lookup pinned "$MAP" key $(word_key "$@") |
		jq -r '.value | map(ltrimstr("0x")) | reverse | join("")' |
		python3 -c "import sys; print(int(sys.stdin.read(), 16) >> ($port % 64) & 1)"
}
works() { http_get "$URL" >/dev/null 2>&1; }

check() { # check NAME WANT FAMILY PROTO PORT
	local got
	got=$(bit "$3" "$4" "$5")
	if [ "$got" = "$2" ]; then pass "$1"; else fail "$1" "bit for IPv$3 $4/$5 is '$got', want $2"; fi
}

setup_topology || die "cannot build the topology"
start_tcp_server "$CT_NS" 8080 || die "cannot start the TCP server"
capture bpl load
[ "$RC" -eq 0 ] || die "bpfport-loader load: $ERR"
capture attach tc
[ "$RC" -eq 0 ] || die "attach: $ERR"

check published_none_before_add 0 4 tcp 80
capture bp add "0.0.0.0:80 -> $CT_IP:8080/tcp"
[ "$RC" -eq 0 ] || die "bpfport add: $ERR"
check published_tcp_after_add 1 4 tcp 80
check published_udp_untouched_by_tcp_add 0 4 udp 80
check published_ipv6_untouched_by_ipv4_add 0 6 tcp 80
capture bp add "0.0.0.0:80 -> $CT_IP:8080/udp"
[ "$RC" -eq 0 ] || die "bpfport add udp: $ERR"
check published_udp_after_add 1 4 udp 80
capture bp del "0.0.0.0:80 -> $CT_IP:8080/udp"
[ "$RC" -eq 0 ] || die "bpfport del udp: $ERR"
check published_udp_cleared_by_del 0 4 udp 80
check published_tcp_kept_by_udp_del 1 4 tcp 80

# Cleared behind bpfport's back: the port stops answering; load rebuilds it.
works || fail published_port_answers "no answer on $URL with the bit set"
# shellcheck disable=SC2046
bpftool map update pinned "$MAP" key $(word_key 4 tcp 80) value 0 0 0 0 0 0 0 0 ||
	die "cannot clear the bitmap word"
if works; then fail published_bit_gates_traffic "$URL answered with the bit cleared"; else
	pass published_bit_gates_traffic; fi
capture bpl load
[ "$RC" -eq 0 ] || fail published_load_rebuilds "load exited $RC: $ERR"
check published_load_rebuilds_bit 1 4 tcp 80
if works; then pass published_load_rebuilds_traffic; else
	fail published_load_rebuilds_traffic "no answer on $URL after load"; fi
e2e_finish
