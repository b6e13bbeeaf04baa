#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Managing bindings with the CLI, checked by traffic: several host ports for
# one container port (also used at once from one client port), the wildcard
# on every local address, a binding on one specific host address, del and rm,
# Docker's conflict rule and message, spec forms, usage errors (exit 2), and
# add before the datapath is loaded (exit 1). A refused command changes
# neither the maps (bpfport list -j) nor the state file. Not root: exit 1.
. "$(dirname "$0")/lib.sh"
e2e_init test_bindings

CT_SPEC=198.51.100.8:8080/tcp

answers() { # URL: the container's server answers
	local out
	out=$(http_get "$1" 2>/dev/null) && [[ $out == "peer=$CLIENT_IP:"* ]]
}
no_answer() { ! http_get "$1" >/dev/null 2>&1; }

# What a refused command must leave alone: the bindings without their
# counters, and the state file's bytes.
snapshot() {
	bp list -j 2>/dev/null | jq -cS 'map(del(.rx_packets, .rx_bytes, .tx_packets, .tx_bytes))
		| sort_by(.proto, .host_ip, .host_port)'
	cat "$BPFPORT_STATE" 2>/dev/null
}

has_binding() { # HOST_IP HOST_PORT PROTO
	bp list -j | jq -e --arg h "$1" --argjson p "$2" --arg pr "$3" \
		'any(.[]; .host_ip == $h and .host_port == $p and .proto == $pr)' >/dev/null
}

test_not_loaded() {
	capture bp add "0.0.0.0:80 -> $CT_SPEC"
	if [ "$RC" -ne 1 ]; then
		fail bindings_not_loaded "bpfport add before load exited $RC (want 1): $ERR"
	elif [[ $ERR != "Error: "* ]] || [[ $ERR != *loader* ]]; then
		fail bindings_not_loaded "stderr should start 'Error: ' and mention the loader: '$ERR'"
	elif [ -s "$BPFPORT_STATE" ]; then
		fail bindings_not_loaded "the state file was written: $(cat "$BPFPORT_STATE")"
	else
		pass bindings_not_loaded
	fi
}

test_two_host_ports() {
	local why=
	capture bp add "0.0.0.0:80 -> $CT_SPEC"
	[ "$RC" -eq 0 ] || why+="add :80 exited $RC: $ERR; "
	capture bp add "0.0.0.0:81 -> $CT_SPEC"
	[ "$RC" -eq 0 ] || why+="add :81 exited $RC: $ERR; "
	answers "http://$HOST_IP:80/" || why+="$HOST_IP:80 does not answer; "
	answers "http://$HOST_IP:81/" || why+="$HOST_IP:81 does not answer; "
	if [ -z "$why" ]; then pass bindings_two_host_ports; else fail bindings_two_host_ports "$why"; fi
}

# 0.0.0.0 answers on every address of the host, including the bridge's.
test_wildcard_all_local() {
	local addr why=
	for addr in "$HOST_IP2" "$BRIDGE_IP"; do
		answers "http://$addr:80/" || why+="$addr:80 does not answer; "
	done
	if [ -z "$why" ]; then pass bindings_wildcard_all_local; else fail bindings_wildcard_all_local "$why"; fi
}

# One client source port, two published ports, one container endpoint: both
# flows land on 198.51.100.8:8080 from 192.0.2.2:40000. They must stay two
# connections (iptables DNAT gets there by conntrack remapping the source
# port of the second on the tuple clash).
test_same_client_port() {
	capture client "$CLIENT_NS" pair "$HOST_IP" 80 81 --src-port 40000
	if [ "$RC" -ne 0 ]; then
		fail bindings_same_client_port "concurrent $CLIENT_IP:40000 -> $HOST_IP:80 and :81: $ERR"
	elif [ "$(grep -c "local=$CT_IP:8080" <<<"$OUT")" -ne 2 ]; then
		fail bindings_same_client_port "unexpected replies: $OUT"
	else
		pass bindings_same_client_port
	fi
}

test_specific_addr() {
	capture bp add "$HOST_IP2:82 -> $CT_SPEC"
	if [ "$RC" -ne 0 ]; then
		fail bindings_specific_addr "add $HOST_IP2:82 exited $RC: $ERR"
	elif ! answers "http://$HOST_IP2:82/"; then
		fail bindings_specific_addr "$HOST_IP2:82 does not answer"
	else
		pass bindings_specific_addr
	fi
	if no_answer "http://$HOST_IP:82/"; then
		pass bindings_specific_addr_only
	else
		fail bindings_specific_addr_only "$HOST_IP:82 answers, but only $HOST_IP2:82 is published"
	fi
}

test_list_fields() {
	local got want
	want='{"allow":[],"container_ip":"198.51.100.8","container_port":8080,"dropped_packets":0,"host_ip":"192.0.2.10","host_port":82,"id":"198.51.100.8","proto":"tcp"}'
	got=$(bp list -j | jq -cS '.[] | select(.host_port == 82)
		| del(.rx_packets, .rx_bytes, .tx_packets, .tx_bytes)')
	if [ "$got" = "$want" ]; then
		pass bindings_list_fields
	else
		fail bindings_list_fields "got '$got', want '$want'"
	fi
}

test_other_proto_no_conflict() {
	capture bp add '0.0.0.0:80 -> 198.51.100.8:5353/udp'
	if [ "$RC" -ne 0 ]; then
		fail bindings_other_proto_no_conflict "udp :80 next to tcp :80 exited $RC: $ERR"
	elif ! has_binding 0.0.0.0 80 udp || ! has_binding 0.0.0.0 80 tcp; then
		fail bindings_other_proto_no_conflict "list -j lacks tcp or udp :80"
	else
		pass bindings_other_proto_no_conflict
	fi
	bp del '0.0.0.0:80 -> 198.51.100.8:5353/udp' >/dev/null 2>&1
}

# conflict NAME SPEC ERROR_REGEX: exit 1, exact message, nothing changed.
conflict() {
	local name=$1 spec=$2 want=$3 before after
	before=$(snapshot)
	capture bp add "$spec"
	after=$(snapshot)
	if [ "$RC" -ne 1 ]; then
		fail "$name" "add '$spec' exited $RC (want 1): $ERR"
	elif ! [[ $ERR =~ ^$want$ ]]; then
		fail "$name" "stderr '$ERR', want '$want'"
	elif [ "$before" != "$after" ]; then
		fail "$name" "state or bindings changed: $before -> $after"
	elif ! answers "http://$HOST_IP:80/"; then
		fail "$name" "$HOST_IP:80 no longer answers"
	else
		pass "$name"
	fi
}

# Docker names the address that holds the port (alreadyAllocatedErr in moby's
# portallocator takes the address of the port map where the port is taken).
test_conflicts() {
	local msg='failed: port is already allocated'
	conflict bindings_conflict_specific_vs_wildcard "$HOST_IP2:80 -> $CT_SPEC" \
		"Error: Bind for 0\.0\.0\.0:80 $msg"
	conflict bindings_conflict_same_endpoint "0.0.0.0:80 -> 198.51.100.9:8080/tcp" \
		"Error: Bind for 0\.0\.0\.0:80 $msg"
	conflict bindings_conflict_wildcard_vs_specific "0.0.0.0:82 -> $CT_SPEC" \
		"Error: Bind for 192\.0\.2\.10:82 $msg"
}

# bad_input NAME ARGS...: exit 2, "Error: " on stderr, nothing changed.
bad_input() {
	local name=$1 before after
	shift
	before=$(snapshot)
	capture bp add "$@"
	after=$(snapshot)
	if [ "$RC" -ne 2 ]; then
		fail "$name" "bpfport add $* exited $RC (want 2): $ERR"
	elif [[ $ERR != "Error: "* ]]; then
		fail "$name" "stderr should start with 'Error: ': '$ERR'"
	elif [ "$before" != "$after" ]; then
		fail "$name" "state or bindings changed: $before -> $after"
	else
		pass "$name"
	fi
}

test_bad_input() {
	bad_input bad_input_port_0 "0.0.0.0:0 -> $CT_SPEC"
	bad_input bad_input_container_port_0 '0.0.0.0:90 -> 198.51.100.8:0/tcp'
	bad_input bad_input_port_65536 "0.0.0.0:65536 -> $CT_SPEC"
	bad_input bad_input_port_not_number "0.0.0.0:http -> $CT_SPEC"
	bad_input bad_input_proto_icmp '0.0.0.0:90 -> 198.51.100.8:8080/icmp'
	bad_input bad_input_host_addr "192.0.2.300:90 -> $CT_SPEC"
	bad_input bad_input_container_addr '0.0.0.0:90 -> 198.51.100:8080/tcp'
	bad_input bad_input_missing_port "0.0.0.0 -> $CT_SPEC"
	bad_input bad_input_missing_arrow "0.0.0.0:90 $CT_SPEC"
	bad_input bad_input_missing_arrow_words 0.0.0.0:90 "$CT_SPEC"
	bad_input bad_input_wrong_middle_word 0.0.0.0:90 into "$CT_SPEC"
	bad_input bad_input_no_spec
}

test_spec_forms() {
	local why=
	capture bp add 0.0.0.0:87 '->' "$CT_SPEC"
	[ "$RC" -eq 0 ] || why+="three words with '->' exited $RC: $ERR; "
	capture bp add 0.0.0.0:88 to 198.51.100.8:8080
	[ "$RC" -eq 0 ] || why+="three words with 'to' exited $RC: $ERR; "
	has_binding 0.0.0.0 87 tcp || why+="0.0.0.0:87 not listed; "
	has_binding 0.0.0.0 88 tcp || why+="0.0.0.0:88 (default proto) not listed as tcp; "
	answers "http://$HOST_IP:88/" || why+="$HOST_IP:88 does not answer; "
	capture bp del 0.0.0.0:87 to "$CT_SPEC"
	[ "$RC" -eq 0 ] || why+="del in three words exited $RC: $ERR; "
	capture bp del '0.0.0.0:88->198.51.100.8:8080'
	[ "$RC" -eq 0 ] || why+="del in one word without spaces exited $RC: $ERR; "
	has_binding 0.0.0.0 87 tcp && why+="0.0.0.0:87 still listed; "
	has_binding 0.0.0.0 88 tcp && why+="0.0.0.0:88 still listed; "
	if [ -z "$why" ]; then pass bindings_spec_forms; else fail bindings_spec_forms "$why"; fi
}

test_del() {
	capture bp del "0.0.0.0:81 -> $CT_SPEC"
	if [ "$RC" -ne 0 ]; then
		fail bindings_del "del exited $RC: $ERR"
	elif has_binding 0.0.0.0 81 tcp; then
		fail bindings_del "0.0.0.0:81 still listed"
	elif grep -q 'host=0.0.0.0:81 ' "$BPFPORT_STATE"; then
		fail bindings_del "0.0.0.0:81 still in the state file"
	elif ! no_answer "http://$HOST_IP:81/"; then
		fail bindings_del "$HOST_IP:81 still answers after del"
	elif ! answers "http://$HOST_IP:80/"; then
		fail bindings_del "$HOST_IP:80 stopped answering too"
	else
		pass bindings_del
	fi
}

test_rm() {
	local spec why=
	for spec in '0.0.0.0:84 -> 198.51.100.9:8080/tcp' '0.0.0.0:85 -> 198.51.100.9:8080/tcp' \
		'0.0.0.0:86 -> 198.51.100.9:5353/udp'; do
		capture bp add --id web "$spec"
		[ "$RC" -eq 0 ] || why+="add --id web '$spec' exited $RC: $ERR; "
	done
	capture bp port web
	[ "$(sort <<<"$OUT")" = "$(printf '%s\n' '5353/udp -> 0.0.0.0:86' \
		'8080/tcp -> 0.0.0.0:84' '8080/tcp -> 0.0.0.0:85' | sort)" ] ||
		why+="port web printed '$OUT'; "
	answers "http://$HOST_IP:84/" || why+="$HOST_IP:84 does not answer before rm; "
	if [ -n "$why" ]; then
		fail bindings_rm "setup: $why"
		return
	fi
	capture bp rm web
	[ "$RC" -eq 0 ] || why+="rm web exited $RC: $ERR; "
	[ "$(bp list -j | jq '[.[] | select(.id == "web")] | length')" = 0 ] ||
		why+="bindings of web still listed; "
	grep -q 'id=web ' "$BPFPORT_STATE" && why+="web still in the state file; "
	no_answer "http://$HOST_IP:84/" || why+="$HOST_IP:84 still answers; "
	no_answer "http://$HOST_IP:85/" || why+="$HOST_IP:85 still answers; "
	answers "http://$HOST_IP:80/" || why+="$HOST_IP:80 (another ID) stopped answering; "
	if [ -z "$why" ]; then pass bindings_rm; else fail bindings_rm "$why"; fi
}

# Changing bindings needs root: exit 1, one "Error: " line, nothing changed.
test_not_root() {
	local before after
	before=$(snapshot)
	capture setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$BUILD/bpfport" add "0.0.0.0:89 -> $CT_SPEC"
	after=$(snapshot)
	if [ "$RC" -ne 1 ]; then
		fail bindings_not_root "add as uid 65534 exited $RC (want 1): $ERR"
	elif [[ $ERR != "Error: "* ]]; then
		fail bindings_not_root "stderr should start with 'Error: ': '$ERR'"
	elif [ "$before" != "$after" ]; then
		fail bindings_not_root "state or bindings changed: $before -> $after"
	else
		pass bindings_not_root
	fi
}

# The --pin-dir and --state flags name the same things as the variables.
test_flags() {
	local env_out flag_out
	env_out=$(bp list -j)
	flag_out=$(env -u BPFPORT_PIN_DIR -u BPFPORT_STATE "$BUILD/bpfport" \
		--pin-dir "$PIN_DIR" --state "$BPFPORT_STATE" list -j)
	if [ -n "$env_out" ] && [ "$env_out" = "$flag_out" ]; then
		pass bindings_flags
	else
		fail bindings_flags "list -j with flags differs: '$flag_out' vs '$env_out'"
	fi
}

setup_topology --second-container || die "cannot build the topology"
start_tcp_server "$CT_NS" 8080 || die "cannot start the TCP server"
start_tcp_server "$CT2_NS" 8080 || die "cannot start the second container's server"

test_not_loaded
capture bpl load
[ "$RC" -eq 0 ] || die "bpfport-loader load: $ERR"
capture attach native
[ "$RC" -eq 0 ] || die "attach: $ERR"

test_two_host_ports
test_wildcard_all_local
test_same_client_port
test_specific_addr
test_list_fields
test_other_proto_no_conflict
test_conflicts
test_bad_input
test_spec_forms
test_del
test_rm
test_not_root
test_flags
e2e_finish
