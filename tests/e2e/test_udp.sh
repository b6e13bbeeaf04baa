#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# UDP through 192.0.2.1:53 -> 198.51.100.8:5353 in every attach mode.
#
# The client's socket is connect()ed to 192.0.2.1:53, so the kernel accepts
# replies only from exactly that address and port: a reply the egress
# program failed to translate (source 198.51.100.8:5353) is dropped, and the
# request times out. The control case proves it: with the egress program
# taken away, the connected client gets nothing, while an unconnected socket
# receives the reply from 198.51.100.8:5353.
# The csum_host and csum_full variants repeat the exchange with checksum
# offload off (see set_checksums in lib.sh), so that checksums are verified.
. "$(dirname "$0")/lib.sh"
e2e_init test_udp

SPEC='0.0.0.0:53 -> 198.51.100.8:5353/udp'

# Test names carry the mode and, for the checksum variants, the variant.
test_attach() {
	local name=$1 mode=$2 got
	capture attach "$mode"
	got=$(attached_mode)
	if [ "$RC" -ne 0 ] || [ "$got" != "$mode" ]; then
		fail "${name}_attach" "attach --mode $mode exited $RC ($ERR), status mode '$got'"
		return 1
	fi
	pass "${name}_attach"
}

# A connected socket gets the reply, which names the client's real address.
test_connected() {
	local name=$1
	capture client "$CLIENT_NS" udp "$HOST_IP" 53
	if [ "$RC" -ne 0 ]; then
		fail "${name}_connected" "no reply on a socket connected to $HOST_IP:53: $ERR"
	elif [[ $OUT != "from=$HOST_IP:53 peer=$CLIENT_IP:"*"data=hello" ]]; then
		fail "${name}_connected" "unexpected reply: $OUT"
	else
		pass "${name}_connected"
	fi
}

# The reply's source, seen by an unconnected socket, is the published endpoint.
test_reply_source() {
	local name=$1
	capture client "$CLIENT_NS" udp "$HOST_IP" 53 --unconnected
	if [ "$RC" -ne 0 ]; then
		fail "${name}_reply_source" "no reply: $ERR"
	elif [[ $OUT != "from=$HOST_IP:53 "* ]]; then
		fail "${name}_reply_source" "reply not from $HOST_IP:53: $OUT"
	else
		pass "${name}_reply_source"
	fi
}

test_counters() {
	local name=$1 before after
	before=$(counters 53 udp)
	client "$CLIENT_NS" udp "$HOST_IP" 53 >/dev/null 2>&1
	after=$(counters 53 udp)
	if counters_grew "$before" "$after"; then
		pass "${name}_counters"
	else
		fail "${name}_counters" \
			"counters (rx_packets rx_bytes tx_packets tx_bytes) did not all grow: before '$before', after '$after'"
	fi
}

# The BPF links that run our tc_egress program (this run's programs only).
egress_links() {
	local prog
	prog=$(bpl status -j | jq '.programs[] | select(.name == "tc_egress") | .id')
	[ -n "$prog" ] || return 0
	bpftool -j link show | jq --argjson p "$prog" '.[] | select(.prog_id == $p) | .id'
}

# Control: without reply translation the connected client must get nothing
# and the untranslated reply comes from the container's own endpoint.
test_untranslated_control() {
	local name=$1 links id
	links=$(egress_links)
	if [ -z "$links" ]; then
		skip "${name}_untranslated_control" "no BPF link runs tc_egress (legacy tc filter?)"
		return
	fi
	for id in $links; do
		if ! bpftool link detach id "$id"; then
			fail "${name}_untranslated_control" "bpftool link detach id $id failed"
			return
		fi
	done
	capture client "$CLIENT_NS" udp "$HOST_IP" 53 --timeout 1
	if [ "$RC" -eq 0 ]; then
		fail "${name}_untranslated_control" \
			"connected socket got a reply without egress translation: $OUT"
		return
	fi
	capture client "$CLIENT_NS" udp "$HOST_IP" 53 --unconnected --timeout 1
	if [ "$RC" -ne 0 ] || [[ $OUT != "from=$CT_IP:5353 "* ]]; then
		fail "${name}_untranslated_control" \
			"expected the raw reply from $CT_IP:5353, got rc $RC: $OUT $ERR"
		return
	fi
	pass "${name}_untranslated_control"
}

test_detach() {
	local name=$1
	capture detach
	if [ "$RC" -ne 0 ]; then
		fail "${name}_detach" "detach exited $RC: $ERR"
	elif [ -n "$(attached_mode)" ]; then
		fail "${name}_detach" "status still shows $EXT_IF attached"
	else
		pass "${name}_detach"
	fi
}

setup_topology || die "cannot build the topology"
start_udp_server "$CT_NS" 5353 || die "cannot start the UDP server"
capture bpl load
[ "$RC" -eq 0 ] || die "bpfport-loader load: $ERR"
capture bp add "$SPEC"
[ "$RC" -eq 0 ] || die "bpfport add '$SPEC' exited $RC: $ERR"

for mode in native generic tc; do
	name=udp_$mode
	test_attach "$name" "$mode" || continue
	test_connected "$name"
	test_reply_source "$name"
	test_counters "$name"
	test_untranslated_control "$name"
	test_detach "$name"
done
for variant in host full; do
	set_checksums "$variant" || die "cannot turn checksum offload off ($variant)"
	for mode in native generic tc; do
		name=udp_${mode}_csum_$variant
		test_attach "$name" "$mode" || continue
		test_connected "$name"
		test_detach "$name"
	done
done
e2e_finish
