#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# bpfport monitor: while it runs, a new flow through a published port and a
# drop by an allow-list each show as one event naming the binding; without a
# monitor the datapath sends nothing (the events bit is off again on exit).
. "$(dirname "$0")/lib.sh"
e2e_init test_monitor

OTHER_IP=192.0.2.3

get_from() {
	timeout 10 nsenter --net="/run/netns/$CLIENT_NS" -- \
		curl -sS --fail --connect-timeout 2 --max-time 4 --interface "$1" "$2"
}

# The BPFPORT_CFG_EVENTS bit of bp_config's flags (bytes 4-7 of the value): 2 or 0.
events_flag() {
	local b
	b=$(bpftool map dump pinned "$BPFPORT_PIN_DIR/maps/bp_config" -j | jq -r '.[0].value[4]')
	echo $((b & 2))
}

setup_topology || die "cannot build the topology"
ip -n "$CLIENT_NS" addr add "$OTHER_IP/24" dev eth0 || die "second client address"
start_tcp_server "$CT_NS" 8080 8081 || die "cannot start the container's servers"
capture bpl load
[ "$RC" -eq 0 ] || die "bpfport-loader load: $ERR"
capture bplh attach "$EXT_IF"
[ "$RC" -eq 0 ] || die "attach: $ERR"
capture bp add --id web '0.0.0.0:80 -> 198.51.100.8:8080/tcp'
[ "$RC" -eq 0 ] || die "bpfport add web: $ERR"
capture bp add --id admin --ip 198.51.100.8 -p 81:8081 --allow "$CLIENT_IP"
[ "$RC" -eq 0 ] || die "bpfport add admin: $ERR"

out="$WORK/monitor.json"
# Not through bp(): a backgrounded function is a subshell, and $! would be its PID.
"$BUILD/bpfport" monitor -j >"$out" 2>"$WORK/monitor.err" &
MON=$!
PIDS+=("$MON")
events_on() { [ "$(events_flag)" = 2 ]; }
if wait_until 5 events_on; then
	pass monitor_switches_events_on
else
	fail monitor_switches_events_on "events bit $(events_flag) while the monitor runs"
fi
get_from "$CLIENT_IP" "http://$HOST_IP:80/" >/dev/null 2>&1
get_from "$OTHER_IP" "http://$HOST_IP:81/" >/dev/null 2>&1
wait_until 5 grep -q '"event":"drop"' "$out"
kill -INT "$MON"
wait_until 5 _pid_gone "$MON"

new=$(jq -c 'select(.event == "flow-new" and .id == "web")' "$out" | head -1)
if [[ $new == *"\"source\":\"$CLIENT_IP:"* ]] && [[ $new == *"\"destination\":\"$HOST_IP:80\""* ]] &&
	[[ $new == *'"translated":"198.51.100.8:8080"'* ]]; then
	pass monitor_new_flow
else
	fail monitor_new_flow "no flow-new event for web: $(head -c 300 "$out")"
fi
drop=$(jq -c 'select(.event == "drop")' "$out" | head -1)
if [[ $drop == *'"reason":"drop_allowlist"'* ]] && [[ $drop == *"\"source\":\"$OTHER_IP:"* ]] &&
	[[ $drop == *'"id":"admin"'* ]]; then
	pass monitor_allowlist_drop
else
	fail monitor_allowlist_drop "no allow-list drop event: $drop"
fi
if [ "$(events_flag)" = 0 ]; then
	pass monitor_switches_events_off
else
	fail monitor_switches_events_off "config flags $(events_flag) after the monitor exited"
fi
e2e_finish
