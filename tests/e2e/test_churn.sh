#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Connection churn through a full connection table: 4096 entries (load
# --ct-size) and 12,000 short connections, 64 at a time, from client ports
# that come round every 1000 connections, so the LRU evicts all the time and
# tuples are reused while their last connection's entries linger. Every
# connection must complete within 0.9 s: one whose entries were lost would
# wait for a SYN retransmission (1 s) or never complete. (At 1024 entries the
# live flows no longer fit and this fails; the collapse the shared LRU list
# showed needs ~1M connections: bench/, doc/NOTES.md.)
. "$(dirname "$0")/lib.sh"
e2e_init test_churn

CT_SIZE=4096
CONNECTIONS=12000

test_churn() {
	local mode=$1
	capture attach "$mode"
	[ "$RC" -eq 0 ] || { fail "churn_${mode}_attach" "$ERR"; return; }
	capture client "$CLIENT_NS" load "$HOST_IP" 80 --count "$CONNECTIONS" --parallel 64 \
		--timeout 0.9
	if [ "$RC" -eq 0 ] && [[ $OUT == *"ok=$CONNECTIONS failed=0"* ]]; then
		pass "churn_${mode}_${CONNECTIONS}_connections_through_${CT_SIZE}_entries"
	else
		fail "churn_${mode}_${CONNECTIONS}_connections_through_${CT_SIZE}_entries" \
			"$(tail -3 <<<"$OUT") $ERR"
	fi
	detach >/dev/null 2>&1
}

setup_topology || die "cannot build the topology"
start_tcp_server "$CT_NS" 8080 || die "cannot start the TCP server"
# Client ports come round every 1000 connections; a closing connection's
# TIME_WAIT must not block their reuse.
in_ns "$CLIENT_NS" sysctl -q -w net.ipv4.ip_local_port_range="40000 40999" \
	net.ipv4.tcp_tw_reuse=1 || die "client sysctls"
capture bpl load --ct-size "$CT_SIZE"
[ "$RC" -eq 0 ] || die "bpfport-loader load: $ERR"
capture bp add "0.0.0.0:80 -> $CT_IP:8080/tcp"
[ "$RC" -eq 0 ] || die "bpfport add: $ERR"

test_churn native
test_churn tc
e2e_finish
