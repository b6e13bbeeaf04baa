#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Source allow-lists: a binding with --allow admits only clients from those
# prefixes (IPv4 and IPv6); others are dropped at the interface and counted.
. "$(dirname "$0")/lib.sh"
e2e_init test_allow

OTHER_IP=192.0.2.3
OTHER_IP6=2001:db8:1::3

# get_from SRC URL: one request from source address SRC.
get_from() {
	timeout 10 nsenter --net="/run/netns/$CLIENT_NS" -- \
		curl -sS --fail --connect-timeout 2 --max-time 4 --interface "$1" "$2"
}

test_mode() {
	local mode=$1 dropped_before dropped_after
	attach "$mode" || { fail "allow_${mode}_attach" "attach failed"; return; }
	dropped_before=$(bp list -j | jq '[.[] | select(.id == "web") | .dropped_packets] | add')
	if [[ $(get_from "$CLIENT_IP" "http://$HOST_IP:80/" 2>&1) == "peer=$CLIENT_IP:"* ]]; then
		pass "allow_${mode}_listed_source_admitted"
	else
		fail "allow_${mode}_listed_source_admitted" "$CLIENT_IP could not connect"
	fi
	if get_from "$OTHER_IP" "http://$HOST_IP:80/" >/dev/null 2>&1; then
		fail "allow_${mode}_other_source_dropped" "$OTHER_IP got through"
	else
		pass "allow_${mode}_other_source_dropped"
	fi
	dropped_after=$(bp list -j | jq '[.[] | select(.id == "web") | .dropped_packets] | add')
	if [ "$dropped_after" -gt "$dropped_before" ]; then
		pass "allow_${mode}_drops_counted"
	else
		fail "allow_${mode}_drops_counted" "dropped_packets $dropped_before -> $dropped_after"
	fi
	if [[ $(get_from "$CLIENT_IP6" "http://[$HOST_IP6]:81/" 2>&1) == "peer=$CLIENT_IP6:"* ]] &&
		! get_from "$OTHER_IP6" "http://[$HOST_IP6]:81/" >/dev/null 2>&1 &&
		[[ $(get_from "$OTHER_IP" "http://$HOST_IP:81/" 2>&1) == "peer=$OTHER_IP:"* ]] &&
		! get_from "$CLIENT_IP" "http://$HOST_IP:81/" >/dev/null 2>&1; then
		pass "allow_${mode}_per_family_lists"
	else
		fail "allow_${mode}_per_family_lists" "port 81 admitted or refused the wrong sources"
	fi
	detach >/dev/null 2>&1
}

test_family_without_prefix() {
	local before after
	before=$(sha256sum <"$BPFPORT_STATE")
	capture bp add --id w3 --ip 198.51.100.30 --ip 2001:db8:2::30 -p 82:8080 --allow "$OTHER_IP"
	after=$(sha256sum <"$BPFPORT_STATE")
	if [ "$RC" -eq 1 ] && [[ $ERR == *"no IPv6 prefix in --allow for [::]:82"* ]] && [ "$before" = "$after" ]; then
		pass allow_family_without_prefix_refused
	else
		fail allow_family_without_prefix_refused "rc $RC, $ERR"
	fi
	capture bp add --id w3 --ip 198.51.100.30 -p 82:8080 --allow 10.0.0.0/33
	if [ "$RC" -eq 2 ] && [[ $ERR == *'invalid --allow prefix "10.0.0.0/33"'* ]]; then
		pass allow_bad_prefix_refused
	else
		fail allow_bad_prefix_refused "rc $RC, $ERR"
	fi
}

setup_topology || die "topology setup failed"
ip -n "$CLIENT_NS" addr add "$OTHER_IP/24" dev eth0 || die "second client address"
ip -n "$CLIENT_NS" addr add "$OTHER_IP6/64" dev eth0 nodad || die "second client IPv6 address"
bpl load || die "load failed"
start_tcp_server "$CT_NS" 8080 || die "server"
_start_server "$CT_NS" tcp --port 8080 --addr :: || die "IPv6 server"
wait_until 10 http_get "http://[$CT_IP6]:8080/" >/dev/null 2>&1 || die "container unreachable over IPv6"
bp add --id web --allow "$CLIENT_IP/32" "0.0.0.0:80 -> $CT_IP:8080/tcp" || die "add 80"
bp add --id web --ip "$CT_IP" --ip "$CT_IP6" -p 81:8080 --allow "$OTHER_IP,$CLIENT_IP6/128" || die "add 81"
for mode in native tc; do test_mode "$mode"; done
test_family_without_prefix
e2e_finish
