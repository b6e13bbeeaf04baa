#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# TCP through a published port in every attach mode: the client reaches
# 192.0.2.1:80, the container's server on 198.51.100.8:8080 answers and sees
# the client's own address; counters move both ways; 1 MiB each way arrives
# intact; `bpfport port` output. The csum_host and csum_full variants repeat
# the traffic with checksum offload off (see set_checksums in lib.sh), so
# that a broken checksum is noticed by the receiving stack.
. "$(dirname "$0")/lib.sh"
e2e_init test_tcp

SPEC='0.0.0.0:80 -> 198.51.100.8:8080/tcp'
URL=http://$HOST_IP:80

test_not_attached() {
	if http_get "$URL/" >/dev/null 2>&1; then
		fail tcp_not_attached "192.0.2.1:80 answered before bpfport was attached"
	else
		pass tcp_not_attached
	fi
}

# Test names carry the mode and, for the checksum variants, the variant.
test_attach() {
	local name=$1 mode=$2 got
	capture attach "$mode"
	got=$(attached_mode)
	if [ "$RC" -ne 0 ]; then
		fail "${name}_attach" "attach --mode $mode exited $RC: $ERR"
	elif [ "$got" != "$mode" ]; then
		fail "${name}_attach" "status shows mode '$got'"
	else
		pass "${name}_attach"
		return 0
	fi
	return 1
}

# The request succeeds, and the reply is the container server's own answer.
test_request() {
	local name=$1
	RESPONSE=
	capture http_get "$URL/"
	RESPONSE=$OUT
	if [ "$RC" -ne 0 ]; then
		fail "${name}_request" "curl $URL/ failed (rc $RC): $ERR"
	elif [[ $OUT != *"local=$CT_IP:8080"* ]]; then
		fail "${name}_request" "unexpected response: $OUT"
	else
		pass "${name}_request"
	fi
}

test_client_addr() {
	local name=$1
	if [[ $RESPONSE == "peer=$CLIENT_IP:"* ]]; then
		pass "${name}_client_addr"
	else
		fail "${name}_client_addr" "server did not see $CLIENT_IP: '$RESPONSE'"
	fi
}

test_counters() {
	local name=$1 before after
	before=$(counters 80 tcp)
	http_get "$URL/" >/dev/null 2>&1
	after=$(counters 80 tcp)
	if counters_grew "$before" "$after"; then
		pass "${name}_counters"
	else
		fail "${name}_counters" \
			"counters (rx_packets rx_bytes tx_packets tx_bytes) did not all grow: before '$before', after '$after'"
	fi
}

test_bulk() {
	local name=$1
	capture bulk_check "$URL"
	if [ "$RC" -eq 0 ]; then
		pass "${name}_bulk"
	else
		fail "${name}_bulk" "1 MiB each way through $URL: $ERR"
	fi
}

test_detach() {
	local name=$1
	capture detach
	if [ "$RC" -ne 0 ]; then
		fail "${name}_detach" "detach exited $RC: $ERR"
	elif http_get "$URL/" >/dev/null 2>&1; then
		fail "${name}_detach" "192.0.2.1:80 still answers after detach"
	else
		pass "${name}_detach"
	fi
}

# bpfport port ID [PORT]: exact output, as docker port prints it.
test_port_output() {
	capture bp port "$CT_IP"
	if [ "$RC" -ne 0 ] || [ "$OUT" != "8080/tcp -> 0.0.0.0:80" ] || [ -n "$ERR" ]; then
		fail tcp_port_output "bpfport port $CT_IP: rc $RC, stdout '$OUT', stderr '$ERR'"
	else
		pass tcp_port_output
	fi
}

test_port_output_one() {
	local arg why=
	for arg in 8080 8080/tcp; do
		capture bp port "$CT_IP" "$arg"
		if [ "$RC" -ne 0 ] || [ "$OUT" != "0.0.0.0:80" ]; then
			why+="port $CT_IP $arg: rc $RC, stdout '$OUT', stderr '$ERR'; "
		fi
	done
	if [ -z "$why" ]; then pass tcp_port_output_one; else fail tcp_port_output_one "$why"; fi
}

test_port_unpublished() {
	local want="Error: No public port '9999/tcp' published for $CT_IP" why=
	capture bp port "$CT_IP" 9999
	if [ "$RC" -ne 1 ] || [ "$ERR" != "$want" ] || [ -n "$OUT" ]; then
		why="rc $RC, stdout '$OUT', stderr '$ERR' (want exit 1 and '$want')"
	fi
	capture bp port "$CT_IP" 8080/udp
	want="Error: No public port '8080/udp' published for $CT_IP"
	if [ "$RC" -ne 1 ] || [ "$ERR" != "$want" ]; then
		why+=" 8080/udp: rc $RC, stderr '$ERR' (want exit 1 and '$want')"
	fi
	if [ -z "$why" ]; then pass tcp_port_unpublished; else fail tcp_port_unpublished "$why"; fi
}

setup_topology || die "cannot build the topology"
start_tcp_server "$CT_NS" 8080 || die "cannot start the TCP server"
capture bpl load
[ "$RC" -eq 0 ] || die "bpfport-loader load: $ERR"
capture bp add "$SPEC"
[ "$RC" -eq 0 ] || die "bpfport add '$SPEC' exited $RC: $ERR"

test_port_output
test_port_output_one
test_port_unpublished
test_not_attached
for mode in native generic tc; do
	name=tcp_$mode
	test_attach "$name" "$mode" || continue
	test_request "$name"
	test_client_addr "$name"
	test_counters "$name"
	test_bulk "$name"
	test_detach "$name"
done
for variant in host full; do
	set_checksums "$variant" || die "cannot turn checksum offload off ($variant)"
	for mode in native generic tc; do
		name=tcp_${mode}_csum_$variant
		test_attach "$name" "$mode" || continue
		test_request "$name"
		test_bulk "$name"
		test_detach "$name"
	done
done
e2e_finish
