#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Several external interfaces at once, each in its own mode: clients behind
# either reach the published ports, replies leave through the right one, and
# a binding on one interface's address answers only on that address.
. "$(dirname "$0")/lib.sh"
e2e_init test_multi_iface

CLIENT2_NS=bpt-client2-$RUN_ID
EXT1_IP=198.18.0.1
CLIENT2_IP=198.18.0.2

setup_second_side() {
	_new_ns "$CLIENT2_NS" &&
		ip -n "$HOST_NS" link add ext1 type veth peer name eth0 netns "$CLIENT2_NS" &&
		ip -n "$HOST_NS" addr add "$EXT1_IP/24" dev ext1 &&
		ip -n "$HOST_NS" link set ext1 up &&
		_sysctl "$HOST_NS" net.ipv4.conf.ext1.rp_filter=0 &&
		ip -n "$CLIENT2_NS" addr add "$CLIENT2_IP/24" dev eth0 &&
		ip -n "$CLIENT2_NS" link set eth0 up &&
		ip -n "$CLIENT2_NS" route add 198.51.100.0/24 via "$EXT1_IP"
}

get() { http_get "$2" "$1"; }

test_both_sides() {
	local got
	got=$(get "$CLIENT_NS" "http://$HOST_IP:80/" 2>&1)
	[[ $got == "peer=$CLIENT_IP:"* ]] && pass multi_ext0_native || fail multi_ext0_native "$got"
	got=$(get "$CLIENT2_NS" "http://$EXT1_IP:80/" 2>&1)
	[[ $got == "peer=$CLIENT2_IP:"* ]] && pass multi_ext1_tc || fail multi_ext1_tc "$got"
	got=$(get "$CLIENT2_NS" "http://$EXT1_IP:81/" 2>&1)
	[[ $got == "peer=$CLIENT2_IP:"* ]] && pass multi_specific_address ||
		fail multi_specific_address "$EXT1_IP:81: $got"
	if get "$CLIENT_NS" "http://$HOST_IP:81/" >/dev/null 2>&1; then
		fail multi_specific_address_only_there "$HOST_IP:81 answered"
	else
		pass multi_specific_address_only_there
	fi
}

test_status() {
	local modes
	modes=$(bpl status -j | jq -r '.interfaces | sort_by(.name) | map("\(.name)=\(.mode)") | join(",")')
	[ "$modes" = "ext0=native,ext1=tc" ] && pass multi_status_modes ||
		fail multi_status_modes "status shows '$modes'"
}

setup_topology || die "topology setup failed"
setup_second_side || die "second side"
bpl load || die "load failed"
bpl attach ext0 --mode native || die "attach ext0"
bpl attach ext1 --mode tc || die "attach ext1"
start_tcp_server "$CT_NS" 8080 || die "server"
bp add --id web "0.0.0.0:80 -> $CT_IP:8080/tcp" || die "add 80"
bp add --id web "$EXT1_IP:81 -> $CT_IP:8080/tcp" || die "add 81"
test_both_sides
test_status
e2e_finish
