#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Published flows and direct connections on the same client port (routed
# access allowed: `config set direct-access allow`), against
# the connection tracking (bp_ct_new/bp_ct, bp_direct):
#   - a client that used port P through the published port, then connects
#     from P straight to the container endpoint, gets its SYN-ACK untouched
#     (not rewritten as the closed published flow's reply);
#   - a client that used port Q directly, then goes through the published
#     port from Q, connects at the first SYN: the datapath gives the flow
#     another client port instead of reusing the tuple the container still
#     holds in TIME_WAIT;
#   - the same under load (wrk with Connection: close, straight to the
#     container, then through the published port, default ip_local_port_range):
#     retransmitted SYNs stay within 0.1% of the connections;
#   - `bpfport ct stats` counts the direct connections and remapped flows.
# Measured figures are printed on lines starting with '#'.
#
# Debian packages beyond the test suite's: wrk nginx-light (the load case is
# skipped without them).
. "$(dirname "$0")/lib.sh"
e2e_init test_ct_direct

PUB_PORT=80
CT_PORT=8080
FWD_PORT=20001                       # case 1: published, then direct
# Case 1, direct then published. A published flow that reused the tuple would
# meet the container's TIME_WAIT with another timestamp clock and about even
# odds of a PAWS rejection (an ACK, the client's RST, a SYN retransmission);
# over 16 ports that is all but certain. Its peer port shows the remapping.
REV_PORTS=({20101..20116})
WRK_SECONDS=3
WRK_CONNS=32

# syn_retrans: the client namespace's TcpExtTCPSynRetrans (absolute; -s keeps
# nstat's history file, shared by every namespace, out of it).
syn_retrans() {
	in_ns "$CLIENT_NS" nstat -asz TcpExtTCPSynRetrans 2>/dev/null |
		awk '$1 == "TcpExtTCPSynRetrans" { v = $2 } END { print v + 0 }'
}

# request HOST PORT SRC_PORT TIMEOUT: one HTTP/1.0 request from
# CLIENT_IP:SRC_PORT; prints "connect_ms=N reply" (the reply on one line).
request() {
	timeout 20 nsenter --net="/run/netns/$CLIENT_NS" -- "$PYTHON" -c '
import socket, sys, time
host, port, sport, tmo = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[5], sport))
s.settimeout(tmo)
t = time.monotonic()
try:
    s.connect((host, port))
except OSError as e:
    print("connect to %s:%d from port %d failed after %.0f ms: %s"
          % (host, port, sport, (time.monotonic() - t) * 1000, e), file=sys.stderr)
    sys.exit(1)
ms = (time.monotonic() - t) * 1000
s.sendall(b"GET / HTTP/1.0\r\n\r\n")
data = b""
try:
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
except OSError as e:
    print("reading from %s:%d: %s" % (host, port, e), file=sys.stderr)
    sys.exit(1)
s.close()
body = data.decode(errors="replace").split("\r\n\r\n", 1)[-1].strip()
print("connect_ms=%.0f %s" % (ms, body))
sys.exit(0 if body else 1)' "$1" "$2" "$3" "$4" "$CLIENT_IP"
}

# connect_ms "OUTPUT": the connect time request printed.
connect_ms() { sed -n 's/^connect_ms=\([0-9]*\) .*/\1/p' <<<"$1"; }

# --- case 1 ---------------------------------------------------------------------

test_direct_after_published() {
	local why="" out ms q n before after slow="" peers="" same=0 peer

	# Published, then direct, from the same port: the container's SYN-ACK for
	# the direct connection must reach the client as it is (rewritten as the
	# closed flow's reply, it never connects). The container may still hold
	# the published flow's tuple in TIME_WAIT and answer the first SYN with an
	# ACK (PAWS); the client's RST and quick SYN retransmission then take
	# milliseconds, so only the connect time is checked here.
	if ! out=$(request "$HOST_IP" "$PUB_PORT" "$FWD_PORT" 3 2>&1); then
		why+="published request from port $FWD_PORT: $out; "
	elif [[ $out != *"peer=$CLIENT_IP:$FWD_PORT local=$CT_IP:$CT_PORT"* ]]; then
		why+="published reply '$out'; "
	fi
	if ! out=$(request "$CT_IP" "$CT_PORT" "$FWD_PORT" 3 2>&1); then
		why+="direct request from port $FWD_PORT after a published one: $out; "
	elif [[ $out != *"peer=$CLIENT_IP:$FWD_PORT local=$CT_IP:$CT_PORT"* ]]; then
		why+="direct reply '$out'; "
	fi
	ms=$(connect_ms "$out")
	[ -z "$ms" ] || [ "$ms" -lt 1000 ] || why+="direct connect took $ms ms; "
	echo "# published then direct from port $FWD_PORT: direct connect ${ms:-(failed)} ms"

	# Direct, then published, from the same ports: the published flow gets
	# another client port, so its first SYN meets no TIME_WAIT.
	for q in "${REV_PORTS[@]}"; do
		out=$(request "$CT_IP" "$CT_PORT" "$q" 3 2>&1) ||
			why+="direct request from port $q: $out; "
	done
	before=$(syn_retrans)
	for q in "${REV_PORTS[@]}"; do
		if ! out=$(request "$HOST_IP" "$PUB_PORT" "$q" 3 2>&1); then
			why+="published request from port $q: $out; "
			continue
		fi
		[[ $out == *"local=$CT_IP:$CT_PORT"* ]] || why+="published reply '$out'; "
		peer=$(sed -n "s/.* peer=$CLIENT_IP:\([0-9]*\) .*/\1/p" <<<"$out")
		peers+=" $q->${peer:-?}"
		[ "$peer" != "$q" ] || same=$((same + 1))
		ms=$(connect_ms "$out")
		[ -n "$ms" ] && [ "$ms" -lt 500 ] || slow+=" $q:${ms:-?}ms"
	done
	after=$(syn_retrans)
	n=${#REV_PORTS[@]}
	echo "# direct then published from $n ports: $((after - before)) SYN retransmissions${slow:+, slow connects:$slow}"
	echo "# client port -> port the container saw:$peers"
	[ "$after" -eq "$before" ] || why+="$((after - before)) SYN retransmissions over $n published connects; "
	[ "$same" -eq 0 ] || why+="$same of $n published flows kept a direct connection's tuple (not remapped); "
	[ -z "$slow" ] || why+="connects over 500 ms:$slow; "

	if [ -z "$why" ]; then
		pass ct_direct_after_published_same_port
	else
		fail ct_direct_after_published_same_port "$why"
	fi
}

# --- case 2 ---------------------------------------------------------------------

start_nginx() {
	cat >"$WORK/nginx.conf" <<-EOF
		worker_processes 1;
		daemon off;
		pid $WORK/nginx.pid;
		error_log $WORK/nginx.err;
		events { worker_connections 4096; }
		http {
			access_log off;
			server {
				listen $CT_IP:$CT_PORT backlog=4096;
				location / { return 200 "ok\n"; }
			}
		}
	EOF
	nsenter --net="/run/netns/$CT_NS" -- nginx -c "$WORK/nginx.conf" -p "$WORK" \
		>>"$WORK/servers.log" 2>&1 &
	PIDS+=($!)
	wait_until 10 http_get "http://$CT_IP:$CT_PORT/" >/dev/null 2>&1
}

# run_wrk URL OUTFILE: a bounded wrk run from the client, one connection per request.
run_wrk() {
	timeout $((WRK_SECONDS + 15)) nsenter --net="/run/netns/$CLIENT_NS" -- \
		wrk -t1 -c"$WRK_CONNS" -d"${WRK_SECONDS}s" -H 'Connection: close' "$1" >"$2" 2>&1
}
wrk_requests() { awk '/ requests in / { print $1 }' "$1"; }
# Socket errors (connect, read, write, timeout) and non-2xx responses.
wrk_errors() {
	awk '/Socket errors:/ { gsub(",", ""); n += $4 + $6 + $8 + $10 }
		/Non-2xx or 3xx responses:/ { n += $5 } END { print n + 0 }' "$1"
}

# Direct, then published, under load: nearly every published flow comes from a
# client port the container holds in TIME_WAIT for a direct connection and
# must be remapped; and since the client soon reuses its ports, a closed
# remapped flow is replaced by a new one on the same client tuple, whose
# container-side port must not go to another client while the container
# still holds it (that client's SYN would meet a TIME_WAIT with another
# timestamp clock). Either mistake shows as SYN retransmissions.
test_mixed_wrk() {
	local name=ct_mixed_wrk_no_syn_loss range reqs errs before after retrans why=""
	if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null; then
		skip "$name" "needs wrk and nginx (Debian: wrk nginx-light)"
		return
	fi
	stop_pid "$SERVER_PID"
	start_nginx || { fail "$name" "nginx did not start: $(cat "$WORK/nginx.err" 2>/dev/null)"; return; }
	range=$(in_ns "$CLIENT_NS" sysctl -n net.ipv4.ip_local_port_range | tr -s '\t ' '-')

	before=$(syn_retrans)
	run_wrk "http://$CT_IP:$CT_PORT/" "$WORK/wrk.direct" ||
		why+="direct wrk failed: $(tail -3 "$WORK/wrk.direct"); "
	after=$(syn_retrans)
	echo "# direct run: $(wrk_requests "$WORK/wrk.direct") requests, $(wrk_errors "$WORK/wrk.direct") errors, $((after - before)) SYN retransmissions (client port range $range)"

	before=$(syn_retrans)
	run_wrk "http://$HOST_IP:$PUB_PORT/" "$WORK/wrk.published" ||
		why+="published wrk failed: $(tail -3 "$WORK/wrk.published"); "
	after=$(syn_retrans)
	reqs=$(wrk_requests "$WORK/wrk.published")
	errs=$(wrk_errors "$WORK/wrk.published")
	retrans=$((after - before))
	echo "# published run: ${reqs:-?} requests, $errs errors, $retrans SYN retransmissions"
	if [ -z "$reqs" ] || [ "$reqs" -lt 100 ]; then
		why+="published run completed ${reqs:-no} requests; "
	elif [ $((retrans * 1000)) -gt "$reqs" ]; then
		why+="$retrans SYN retransmissions for $reqs connections (over 0.1%); "
	fi
	if [ -z "$why" ]; then
		pass "$name"
	else
		fail "$name" "$why"
	fi
}

# --- case 3 ---------------------------------------------------------------------

test_stats() {
	local name=ct_direct_stats_counted tracked remapped
	capture in_ns "$HOST_NS" "$BUILD/bpfport" ct stats -j
	tracked=$(jq -r '.direct_tracked // empty' <<<"$OUT" 2>/dev/null)
	remapped=$(jq -r '.ct_remapped // empty' <<<"$OUT" 2>/dev/null)
	if [ "$RC" -eq 0 ]; then
		echo "# ct stats: $(jq -c '{ct_new, ct_assured, ct_remapped, ct_restarted, ct_released,
			ct_foreign_synack, ct_out_of_window, ct_table_full, direct_tracked}' <<<"$OUT" 2>&1)"
	fi
	if [ "$RC" -eq 0 ] && [ "${tracked:-0}" -gt 0 ] && [ "${remapped:-0}" -gt 0 ]; then
		pass "$name"
	else
		fail "$name" "rc $RC, direct_tracked '${tracked}', ct_remapped '${remapped}': $OUT $ERR"
	fi
}

setup_topology || die "cannot build the topology"
start_tcp_server "$CT_NS" "$CT_PORT" || die "cannot start the container's TCP server"
SERVER_PID=$LAST_PID
capture bpl load
[ "$RC" -eq 0 ] || die "bpfport-loader load: $ERR"
capture bplh attach "$EXT_IF"
[ "$RC" -eq 0 ] || die "bpfport-loader attach $EXT_IF: $ERR"
echo "# $EXT_IF attached in mode $(attached_mode)"
capture bp add "0.0.0.0:$PUB_PORT -> $CT_IP:$CT_PORT/tcp"
[ "$RC" -eq 0 ] || die "bpfport add: $ERR"
# The client also talks to the container directly (routed), as a host-side
# reverse proxy or a benchmark's baseline would: Docker's unprotected network.
capture bp config set direct-access allow
[ "$RC" -eq 0 ] || die "bpfport config set direct-access allow: $ERR"

test_direct_after_published
test_mixed_wrk
test_stats
e2e_finish
