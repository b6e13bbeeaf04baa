#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Traffic that never went through a published port stays untouched, in every
# mode, while bindings for the very same container ports are in place:
#   - a neighbour routing to the container directly at 198.51.100.8:8080 is
#     dropped by default (direct-access drop, as Docker 28's raw-table rules),
#     TCP and ping, even to the port bound only on 127.0.0.1:8443, and
#     counted; with `config set direct-access allow` it reaches the container
#     untranslated;
#   - the container's own outgoing TCP and UDP, sent from ports that are
#     published (a stateless "source 198.51.100.8:8081 becomes 192.0.2.1:81"
#     reverse rule would rewrite them and break the connection);
#   - traffic to the container's address on a published port: a wildcard
#     binding matches only addresses local to the host.
# Peers on both ends report the addresses they saw.
. "$(dirname "$0")/lib.sh"
e2e_init test_direct

CLIENT_TCP_PORT=9000
CLIENT_UDP_PORT=9053
# Container source port for outgoing TCP per mode: each one published, none
# listening, and distinct so that no TIME_WAIT from an earlier mode interferes.
declare -A OUT_PORT=([native]=8081 [generic]=8082 [tc]=8083)

test_attach() {
	local mode=$1
	capture attach "$mode"
	if [ "$RC" -ne 0 ] || [ "$(attached_mode)" != "$mode" ]; then
		fail "direct_${mode}_attach" "attach --mode $mode exited $RC: $ERR"
		return 1
	fi
	pass "direct_${mode}_attach"
}

# Sanity: the datapath is active, so the cases below are meaningful.
test_published_works() {
	local mode=$1
	capture http_get "http://$HOST_IP:80/"
	if [ "$RC" -eq 0 ] && [[ $OUT == "peer=$CLIENT_IP:"*" local=$CT_IP:8080" ]]; then
		pass "direct_${mode}_published_works"
	else
		fail "direct_${mode}_published_works" "via $HOST_IP:80: rc $RC: $OUT $ERR"
	fi
}

direct_drops() { bp ct stats -j | jq -r .drop_direct_access; }

test_client_to_container_dropped() {
	local mode=$1 before after
	before=$(direct_drops)
	capture client "$CLIENT_NS" tcp "$CT_IP" 8080 --timeout 2
	if [ "$RC" -eq 0 ]; then
		fail "direct_${mode}_client_to_container_dropped" "routed access got through: $OUT"
		return
	fi
	if in_ns "$CLIENT_NS" ping -c 1 -W 1 "$CT_IP" >/dev/null 2>&1; then
		fail "direct_${mode}_client_to_container_dropped" "ping to $CT_IP got an answer"
		return
	fi
	after=$(direct_drops)
	if [ -z "$before" ] || [ -z "$after" ] || [ "$after" -le "$before" ]; then
		fail "direct_${mode}_client_to_container_dropped" "drop_direct_access $before -> $after"
	else
		pass "direct_${mode}_client_to_container_dropped"
	fi
}

test_client_to_container() {
	local mode=$1
	capture client "$CLIENT_NS" tcp "$CT_IP" 8080
	if [ "$RC" -ne 0 ]; then
		fail "direct_${mode}_client_to_container" "$CLIENT_IP -> $CT_IP:8080 failed: $ERR"
	elif [[ $OUT != "peer=$CLIENT_IP:"*" local=$CT_IP:8080 data=hello" ]]; then
		fail "direct_${mode}_client_to_container" "unexpected reply: $OUT"
	else
		pass "direct_${mode}_client_to_container"
	fi
}

test_container_tcp_out() {
	local mode=$1 sport=${OUT_PORT[$1]}
	capture client "$CT_NS" tcp "$CLIENT_IP" "$CLIENT_TCP_PORT" --src-port "$sport"
	if [ "$RC" -ne 0 ]; then
		fail "direct_${mode}_container_tcp_out" \
			"$CT_IP:$sport -> $CLIENT_IP:$CLIENT_TCP_PORT failed: $ERR"
	elif [[ $OUT != "peer=$CT_IP:$sport local=$CLIENT_IP:$CLIENT_TCP_PORT data=hello" ]]; then
		fail "direct_${mode}_container_tcp_out" "client's server saw: $OUT"
	else
		pass "direct_${mode}_container_tcp_out"
	fi
}

test_container_udp_out() {
	local mode=$1
	capture client "$CT_NS" udp "$CLIENT_IP" "$CLIENT_UDP_PORT" --src-port 5353
	if [ "$RC" -ne 0 ]; then
		fail "direct_${mode}_container_udp_out" \
			"$CT_IP:5353 -> $CLIENT_IP:$CLIENT_UDP_PORT got no reply: $ERR"
	elif [[ $OUT != "from=$CLIENT_IP:$CLIENT_UDP_PORT peer=$CT_IP:5353 "* ]]; then
		fail "direct_${mode}_container_udp_out" "unexpected reply: $OUT"
	else
		pass "direct_${mode}_container_udp_out"
	fi
}

# A wildcard binding matches addresses local to the host only: the client
# sending to the container's own address on the published port 80 is routed
# untranslated, and nobody listens on 198.51.100.8:80.
test_wildcard_not_forwarded() {
	local mode=$1
	capture client "$CLIENT_NS" tcp "$CT_IP" 80 --timeout 2
	if [ "$RC" -eq 0 ]; then
		fail "direct_${mode}_wildcard_not_forwarded" \
			"$CT_IP:80 (not a host address) was translated by 0.0.0.0:80: $OUT"
	else
		pass "direct_${mode}_wildcard_not_forwarded"
	fi
}

# Direct traffic is not the bindings' traffic: their counters stay put.
all_counters() { bp list -j | jq -c '[.[] | [.rx_packets, .tx_packets]]'; }

setup_topology || die "cannot build the topology"
start_tcp_server "$CT_NS" 8080 || die "cannot start the container's TCP server"
start_tcp_server "$CLIENT_NS" "$CLIENT_TCP_PORT" || die "cannot start the client's TCP server"
start_udp_server "$CLIENT_NS" "$CLIENT_UDP_PORT" || die "cannot start the client's UDP server"
capture bpl load
[ "$RC" -eq 0 ] || die "bpfport-loader load: $ERR"
for spec in '0.0.0.0:80 -> 198.51.100.8:8080/tcp' '0.0.0.0:81 -> 198.51.100.8:8081/tcp' \
	'0.0.0.0:82 -> 198.51.100.8:8082/tcp' '0.0.0.0:83 -> 198.51.100.8:8083/tcp' \
	'0.0.0.0:53 -> 198.51.100.8:5353/udp' '127.0.0.1:8443 -> 198.51.100.8:8080/tcp'; do
	capture bp add "$spec"
	[ "$RC" -eq 0 ] || die "bpfport add '$spec' exited $RC: $ERR"
done

for mode in native generic tc; do
	test_attach "$mode" || continue
	before=$(all_counters)
	test_client_to_container_dropped "$mode"
	# The containers' own connections are answered under the default too.
	test_container_tcp_out "$mode"
	test_container_udp_out "$mode"
	capture bp config set direct-access allow
	[ "$RC" -eq 0 ] || fail "direct_${mode}_allow" "config set direct-access allow: $ERR"
	test_client_to_container "$mode"
	test_wildcard_not_forwarded "$mode"
	capture bp config set direct-access drop
	[ "$RC" -eq 0 ] || fail "direct_${mode}_drop" "config set direct-access drop: $ERR"
	after=$(all_counters)
	if [ -n "$before" ] && [ "$before" = "$after" ]; then
		pass "direct_${mode}_not_counted"
	else
		fail "direct_${mode}_not_counted" "binding counters moved: $before -> $after"
	fi
	test_published_works "$mode"
	capture detach
	[ "$RC" -eq 0 ] || fail "direct_${mode}_detach" "detach exited $RC: $ERR"
done
e2e_finish
