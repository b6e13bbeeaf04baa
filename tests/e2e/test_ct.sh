#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The connection-tracking table from the CLI: flows listed with their
# endpoints and state, flushed per container or all, TCP state after close,
# idle expiry, and a UDP binding moved to another container followed at once.
. "$(dirname "$0")/lib.sh"
e2e_init test_ct

ct_field() { bp ct -j | jq -r --arg c "$1" ".[] | select(.client == \$c) | .$2"; }

test_list() {
	client "$CLIENT_NS" udp "$HOST_IP" 53 --src-port 40001 --timeout 3 >/dev/null 2>&1
	local pub ctr st id
	pub=$(ct_field "$CLIENT_IP:40001" published)
	ctr=$(ct_field "$CLIENT_IP:40001" container)
	st=$(ct_field "$CLIENT_IP:40001" state)
	id=$(ct_field "$CLIENT_IP:40001" id)
	if [ "$pub" = "$HOST_IP:53" ] && [ "$ctr" = "$CT_IP:5353" ] && [ "$st" = udp ] && [ "$id" = one ]; then
		pass ct_list_udp_flow
	else
		fail ct_list_udp_flow "published '$pub' container '$ctr' state '$st' id '$id'"
	fi
}

test_tcp_state() {
	http_get "http://$HOST_IP:80/" >/dev/null 2>&1
	local states
	states=$(bp ct -j | jq -r '.[] | select(.proto == "tcp") | .state' | sort -u)
	if [ "$states" = closing ]; then
		pass ct_tcp_closing_after_fin
	else
		fail ct_tcp_closing_after_fin "states after a closed connection: '$states'"
	fi
}

test_flush_container() {
	capture bp ct flush one
	local left
	left=$(bp ct -j | jq '[.[] | select(.id == "one")] | length')
	if [ "$RC" -eq 0 ] && [ "$left" = 0 ] && [ "$(bp ct -j | jq length)" -gt 0 ]; then
		pass ct_flush_container
	else
		fail ct_flush_container "rc $RC, $left flows of 'one' left: $ERR"
	fi
	capture bp ct flush
	if [ "$RC" -eq 0 ] && [ "$(bp ct -j | jq length)" = 0 ]; then
		pass ct_flush_all
	else
		fail ct_flush_all "rc $RC: $ERR"
	fi
}

# Moving a UDP binding: the same client tuple reaches the new container at once.
test_udp_move() {
	local before after
	before=$(client "$CLIENT_NS" udp "$HOST_IP" 53 --src-port 40002 --timeout 3 2>&1)
	bp del "0.0.0.0:53 -> $CT_IP:5353/udp" && bp add --id two "0.0.0.0:53 -> $CT2_IP:5353/udp" ||
		{ fail ct_udp_binding_moves "del/add failed"; return; }
	after=$(client "$CLIENT_NS" udp "$HOST_IP" 53 --src-port 40002 --timeout 3 2>&1)
	if [[ $before == *"local=$CT_IP:5353"* || $before == *"local=0.0.0.0:5353"* ]] &&
		[[ $after == *"from=$HOST_IP:53"* ]] && [ "$(ct_field "$CLIENT_IP:40002" container)" = "$CT2_IP:5353" ]; then
		pass ct_udp_binding_moves
	else
		fail ct_udp_binding_moves "before '$before', after '$after'"
	fi
}

test_expiry() {
	bp config set ct-timeout-udp 1 || { fail ct_idle_expiry "config set failed"; return; }
	client "$CLIENT_NS" udp "$HOST_IP" 53 --src-port 40003 --timeout 3 >/dev/null 2>&1
	sleep 2.5
	local st
	st=$(ct_field "$CLIENT_IP:40003" state)
	if [ "$st" = expired ] && client "$CLIENT_NS" udp "$HOST_IP" 53 --src-port 40003 --timeout 3 >/dev/null 2>&1 &&
		[ "$(ct_field "$CLIENT_IP:40003" state)" = udp ]; then
		pass ct_idle_expiry
	else
		fail ct_idle_expiry "state after 2.5 s idle with a 1 s timeout: '$st'"
	fi
}

setup_topology --second-container || die "topology setup failed"
bpl load || die "load failed"
attach tc || die "attach failed"
start_tcp_server "$CT_NS" 8080 || die "TCP server"
start_udp_server "$CT_NS" 5353 || die "UDP server"
start_udp_server "$CT2_NS" 5353 || die "UDP server 2"
bp add --id one "0.0.0.0:53 -> $CT_IP:5353/udp" || die "add udp"
bp add --id web "0.0.0.0:80 -> $CT_IP:8080/tcp" || die "add tcp"

test_list
test_tcp_state
test_flush_container
test_udp_move
test_expiry
e2e_finish
