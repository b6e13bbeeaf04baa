#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Scale: 1000 bindings (192.0.2.1:20000-20999 -> 198.51.100.8:8080), each one
# reached by a real connection from the client; then a few thousand short TCP
# connections through one published port, several at a time, with no error.
. "$(dirname "$0")/lib.sh"
e2e_init test_scale

FIRST=20000
LAST=20999
COUNT=$((LAST - FIRST + 1))
LOAD_CONNECTIONS=3000
LOAD_PARALLEL=16

test_add_many() {
	local port failed=0 first_err="" n
	for ((port = FIRST; port <= LAST; port++)); do
		capture bp add "0.0.0.0:$port -> 198.51.100.8:8080/tcp"
		if [ "$RC" -ne 0 ]; then
			failed=$((failed + 1))
			[ -z "$first_err" ] && first_err="port $port: exit $RC: $ERR"
		fi
	done
	n=$(bp list -j | jq "[.[] | select(.host_port >= $FIRST and .host_port <= $LAST)] | length")
	if [ "$failed" -ne 0 ]; then
		fail scale_add_1000 "$failed adds failed, first: $first_err"
	elif [ "$n" != "$COUNT" ]; then
		fail scale_add_1000 "bpfport list -j shows $n bindings, want $COUNT"
	else
		pass scale_add_1000
	fi
}

test_status_count() {
	local n
	n=$(bpl status -j | jq '.maps[] | select(.name == "bp_bindings") | .entries')
	if [ "$n" = "$COUNT" ]; then
		pass scale_status_entries
	else
		fail scale_status_entries "status -j shows $n entries in bp_bindings, want $COUNT"
	fi
}

# Each request from its own source port (30000 + i): with ephemeral ports
# the client's kernel may reuse one port for two published ports at once,
# which bpfport turns into one tuple at the container; that is the case
# bindings_same_client_port covers, not what this one measures.
test_all_reachable() {
	capture client "$CLIENT_NS" sweep "$HOST_IP" "$FIRST" "$LAST" --parallel 50 --timeout 5 \
		--src-base 30000
	if [ "$RC" -eq 0 ] && [[ $OUT == *"ok=$COUNT failed=0"* ]]; then
		pass scale_all_reachable
	else
		fail scale_all_reachable "$(grep -c '^FAILED' <<<"$OUT") ports failed: $(head -5 <<<"$OUT") $ERR"
	fi
}

test_load() {
	capture client "$CLIENT_NS" load "$HOST_IP" "$FIRST" --count "$LOAD_CONNECTIONS" \
		--parallel "$LOAD_PARALLEL" --timeout 5
	if [ "$RC" -eq 0 ] && [[ $OUT == *"ok=$LOAD_CONNECTIONS failed=0"* ]]; then
		pass scale_load_3000_connections
	else
		fail scale_load_3000_connections "$OUT $ERR"
	fi
}

setup_topology || die "cannot build the topology"
start_tcp_server "$CT_NS" 8080 || die "cannot start the TCP server"
capture bpl load
[ "$RC" -eq 0 ] || die "bpfport-loader load: $ERR"
capture attach native
[ "$RC" -eq 0 ] || die "attach: $ERR"

test_add_many
test_status_count
test_all_reachable
test_load
e2e_finish
