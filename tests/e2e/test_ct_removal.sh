#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Removing a binding or flushing the connection table is final, with traffic
# running: once `bpfport del`/`rm` returns, not one more datagram or byte of
# the binding's flows reaches the container (kernel receive timestamps in the
# container against the time the command returned), over several rounds;
# after `bpfport ct flush` a flow whose binding stays gets fresh entries at
# its next packet and goes on, and no old entry is left.
#
# A second binding on the same port of another host address (192.0.2.10)
# keeps the port published throughout, so that packets of removed flows are
# still looked up in the connection table rather than skipped as packets to a
# port nobody publishes. Measured figures go to stderr as "# ..." lines;
# MODE=native attaches XDP instead of tc.
. "$(dirname "$0")/lib.sh"
e2e_init test_ct_removal

UDP_ROUNDS=6
TCP_ROUNDS=3
RATE=2000      # datagrams a second, in turn from UDP_SOCKETS client ports
UDP_SOCKETS=${UDP_SOCKETS:-1000}
TRAFFIC_S=1.3  # traffic before each removal: every entry has been refreshed once
SETTLE_S=0.5   # then no delivery may follow for this long
SLACK_NS=20000000 # scheduling slack after the command returned (20 ms)

# ct_stat NAME: one counter of `bpfport ct stats -j` (empty if missing).
ct_stat() { bp ct stats -j 2>/dev/null | jq -r --arg n "$1" '.[$n] // empty'; }
now_ns() { date +%s%N; }

# Container side: every datagram (UDP, echoed back) or read (TCP) is logged
# as "KERNEL_RX_TIMESTAMP_NS BYTES CONNECTION" on a line of its own.
SINK='
import os, socket, sys, threading
proto, port, log, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
lock = threading.Lock()
def stamp(anc):
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
            sec, nsec = int.from_bytes(data[:8], "little"), int.from_bytes(data[8:16], "little")
            return sec * 1000000000 + nsec
    return 0
def record(ts, n, conn):
    with lock:
        os.write(fd, b"%d %d %d\n" % (ts, n, conn))
if proto == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind(("0.0.0.0", port))
    open(ready, "w").close()
    while True:
        data, anc, _, addr = s.recvmsg(2048, 64)
        record(stamp(anc), len(data), addr[1])
        try:
            s.sendto(data, addr)
        except OSError:
            pass
else:
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(64)
    open(ready, "w").close()
    def serve(c, conn):
        c.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        try:
            while True:
                data, anc, _, _ = c.recvmsg(65536, 64)
                if not data:
                    break
                record(stamp(anc), len(data), conn)
        except OSError:
            pass
    while True:
        c, addr = ls.accept()
        threading.Thread(target=serve, args=(c, addr[1]), daemon=True).start()'

# Client side, UDP: N unconnected sockets send RATE datagrams a second in
# turn until stopped, reading the echoes; the file STATUS holds "SENT ECHOES".
UDP_SENDER='
import os, select, socket, sys, time
host, port, n, rate, status = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
ep = select.epoll()
socks = []
for _ in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", 0))
    s.setblocking(False)
    ep.register(s.fileno(), select.EPOLLIN)
    socks.append(s)
by_fd = {s.fileno(): s for s in socks}
sent = echoes = 0
t0 = last = time.monotonic()
while True:
    due = int((time.monotonic() - t0) * rate)
    while sent < due:
        try:
            socks[sent % n].sendto(b"%d" % sent, (host, port))
        except OSError:
            pass
        sent += 1
    for fd, _ in ep.poll(0.002):
        try:
            while True:
                by_fd[fd].recv(2048)
                echoes += 1
        except OSError:
            pass
    if time.monotonic() - last > 0.05:
        last = time.monotonic()
        with open(status + ".tmp", "w") as f:
            f.write("%d %d\n" % (sent, echoes))
        os.rename(status + ".tmp", status)'

# Client side, TCP: one connection streaming 4 KiB every 2 ms until it fails.
TCP_STREAMER='
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
print("local port %d" % s.getsockname()[1], flush=True)
chunk = b"x" * 4096
sent = 0
try:
    while True:
        s.sendall(chunk)
        sent += len(chunk)
        time.sleep(0.002)
except OSError as e:
    print("sent %d bytes, then: %s" % (sent, e), flush=True)'

# lines_after LOG NS: log lines stamped later than NS.
lines_after() { awk -v t="$2" '$1 > t' "$1" | wc -l; }
# lines_between LOG FROM_NS TO_NS
lines_between() { awk -v a="$2" -v b="$3" '$1 > a && $1 <= b' "$1" | wc -l; }

# binding_flows PUBLISHED CONTAINER: flows of that binding in `bpfport ct -j`.
binding_flows() {
	bp ct -j | jq --arg p "$1" --arg c "$2" '[.[] | select(.published == $p and .container == $c)] | length'
}

start_sender() {
	nsenter --net="/run/netns/$CLIENT_NS" -- "$PYTHON" -c "$UDP_SENDER" "$HOST_IP" 53 \
		"$UDP_SOCKETS" "$RATE" "$WORK/sender.status" >>"$WORK/sender.log" 2>&1 &
	PIDS+=($!)
	SENDER_PID=$!
}

echoes() { cut -d' ' -f2 "$WORK/sender.status" 2>/dev/null || echo 0; }

# remove_round ROUND SPEC ID: odd rounds remove the binding (del), even ones
# its container (rm); HOW says which, RC/ERR as capture sets them.
remove_round() {
	if [ $(($1 % 2)) -eq 1 ]; then
		HOW=del
		capture bp del "$2"
	else
		HOW=rm
		capture bp rm "$3"
	fi
}

test_udp_removal() {
	local name=removal_stops_udp_under_traffic round id spec how t_add t_ret late before left errs=()
	spec="$HOST_IP:53 -> $CT_IP:5353/udp"
	start_sender
	for round in $(seq 1 "$UDP_ROUNDS"); do
		id=udp$round
		t_add=$(now_ns)
		capture bp add --id "$id" "$spec"
		[ "$RC" -eq 0 ] || { errs+=("round $round: add: $ERR"); break; }
		sleep "$TRAFFIC_S"
		remove_round "$round" "$spec" "$id"
		how=$HOW
		t_ret=$(now_ns)
		[ "$RC" -eq 0 ] || { errs+=("round $round: $how: $ERR"); break; }
		sleep "$SETTLE_S"
		before=$(lines_between "$WORK/udp.log" "$t_add" "$t_ret")
		late=$(lines_after "$WORK/udp.log" $((t_ret + SLACK_NS)))
		left=$(binding_flows "$HOST_IP:53" "$CT_IP:5353")
		echo "# udp round $round ($how): $before datagrams delivered while bound, $late after, $left flows left" >&2
		[ "$before" -ge $((RATE / 2)) ] || errs+=("round $round: only $before datagrams while bound")
		[ "$late" -eq 0 ] || errs+=("round $round ($how): $late datagrams delivered after the command returned")
		[ "$left" = 0 ] || errs+=("round $round ($how): $left flows left in bpfport ct")
	done
	stop_pid "$SENDER_PID"
	if [ ${#errs[@]} -eq 0 ]; then
		pass "$name"
	else
		fail "$name" "${errs[*]}"
	fi
}

test_tcp_removal() {
	local name=removal_stops_tcp_under_traffic round id spec how pid port t_ret late bytes left errs=()
	spec="$HOST_IP:80 -> $CT_IP:8080/tcp"
	for round in $(seq 1 "$TCP_ROUNDS"); do
		id=tcp$round
		capture bp add --id "$id" "$spec"
		[ "$RC" -eq 0 ] || { errs+=("round $round: add: $ERR"); break; }
		: >"$WORK/streamer.out"
		nsenter --net="/run/netns/$CLIENT_NS" -- "$PYTHON" -c "$TCP_STREAMER" "$HOST_IP" 80 \
			>"$WORK/streamer.out" 2>&1 &
		pid=$!
		PIDS+=("$pid")
		wait_until 5 grep -q "local port" "$WORK/streamer.out" ||
			{ errs+=("round $round: no connection: $(cat "$WORK/streamer.out")"); stop_pid "$pid"; break; }
		port=$(awk '/local port/ { print $3 }' "$WORK/streamer.out")
		sleep "$TRAFFIC_S"
		remove_round "$round" "$spec" "$id"
		how=$HOW
		t_ret=$(now_ns)
		[ "$RC" -eq 0 ] || { errs+=("round $round: $how: $ERR"); stop_pid "$pid"; break; }
		sleep "$SETTLE_S"
		bytes=$(awk -v c="$port" -v t="$t_ret" '$3 == c && $1 <= t { n += $2 } END { print n + 0 }' "$WORK/tcp.log")
		late=$(awk -v c="$port" -v t=$((t_ret + SLACK_NS)) '$3 == c && $1 > t { n += $2 } END { print n + 0 }' "$WORK/tcp.log")
		left=$(binding_flows "$HOST_IP:80" "$CT_IP:8080")
		stop_pid "$pid"
		echo "# tcp round $round ($how): $bytes bytes delivered while bound, $late after, $left flows left;" \
			"client: $(tail -1 "$WORK/streamer.out")" >&2
		[ "$bytes" -ge 100000 ] || errs+=("round $round: only $bytes bytes while bound")
		[ "$late" -eq 0 ] || errs+=("round $round ($how): $late bytes delivered after the command returned")
		[ "$left" = 0 ] || errs+=("round $round ($how): $left flows left in bpfport ct")
	done
	if [ ${#errs[@]} -eq 0 ]; then
		pass "$name"
	else
		fail "$name" "${errs[*]}"
	fi
}

test_flush() {
	local name=ct_flush_is_final spec t_flush new0 new1 stale0 stale1 e0 e1 after flows n old errs=()
	spec="$HOST_IP:53 -> $CT_IP:5353/udp"
	capture bp add --id flush "$spec"
	[ "$RC" -eq 0 ] || { fail "$name" "add: $ERR"; return; }
	start_sender
	sleep 3.2 # every flow's entries are 3 s old
	n=$(binding_flows "$HOST_IP:53" "$CT_IP:5353")
	new0=$(ct_stat ct_new)
	stale0=$(ct_stat ct_stale)
	capture bp ct flush
	t_flush=$(now_ns)
	[ "$RC" -eq 0 ] || { stop_pid "$SENDER_PID"; fail "$name" "ct flush: $ERR"; return; }
	e0=$(echoes)
	sleep 1
	e1=$(echoes)
	new1=$(ct_stat ct_new)
	stale1=$(ct_stat ct_stale)
	flows=$(bp ct -j | jq -c --arg p "$HOST_IP:53" '[.[] | select(.published == $p)]')
	stop_pid "$SENDER_PID"
	after=$(lines_after "$WORK/udp.log" $((t_flush + 200000000)))
	old=$(jq '[.[] | select(.age_s >= 2)] | length' <<<"$flows")
	echo "# flush: $n flows before; after it $(jq length <<<"$flows") flows, $old of them older than the flush;" \
		"ct_new +$((new1 - new0)), ct_stale +$((stale1 - stale0)); $after datagrams delivered" \
		"and $((e1 - e0)) echoes received in the second after" >&2
	[ "$n" = "$UDP_SOCKETS" ] || errs+=("$n flows before the flush, want $UDP_SOCKETS")
	[ "$(jq length <<<"$flows")" = "$UDP_SOCKETS" ] ||
		errs+=("$(jq length <<<"$flows") flows after the flush, want $UDP_SOCKETS")
	[ "$old" = 0 ] || errs+=("$old flows older than the flush survived it: $(jq -c '[.[] | select(.age_s >= 2)][:3]' <<<"$flows")")
	[ -n "$new0" ] && [ $((new1 - new0)) -ge "$UDP_SOCKETS" ] ||
		errs+=("ct_new $new0 -> $new1: flows not admitted afresh")
	# A UDP flow is assured only 2 s after it began (netfilter's "stream"): not yet here.
	[ "$(jq '[.[] | select(.container != "'"$CT_IP:5353"'")] | length' <<<"$flows")" = 0 ] ||
		errs+=("flows not to $CT_IP:5353: $(jq -c '.[:3]' <<<"$flows")")
	[ "$after" -ge $((RATE / 2)) ] || errs+=("only $after datagrams delivered after the flush")
	[ $((e1 - e0)) -ge $((RATE / 2)) ] || errs+=("only $((e1 - e0)) echoes after the flush")
	if [ ${#errs[@]} -eq 0 ]; then
		pass "$name"
	else
		fail "$name" "${errs[*]}"
	fi
}

setup_topology --second-container || die "topology setup failed"
bpl load || die "load failed"
attach "${MODE:-tc}" || die "attach failed"
nsenter --net="/run/netns/$CT_NS" -- "$PYTHON" -c "$SINK" udp 5353 "$WORK/udp.log" "$WORK/udp.ready" \
	>>"$WORK/servers.log" 2>&1 &
PIDS+=($!)
nsenter --net="/run/netns/$CT_NS" -- "$PYTHON" -c "$SINK" tcp 8080 "$WORK/tcp.log" "$WORK/tcp.ready" \
	>>"$WORK/servers.log" 2>&1 &
PIDS+=($!)
wait_until 10 test -e "$WORK/udp.ready" -a -e "$WORK/tcp.ready" || die "sinks not ready: $(cat "$WORK/servers.log")"
start_udp_server "$CT2_NS" 5353 || die "UDP server 2"
start_tcp_server "$CT2_NS" 8080 || die "TCP server 2"
bp add --id keep "$HOST_IP2:53 -> $CT2_IP:5353/udp" >/dev/null || die "add the keeping UDP binding"
bp add --id keep "$HOST_IP2:80 -> $CT2_IP:8080/tcp" >/dev/null || die "add the keeping TCP binding"

test_udp_removal
test_tcp_removal
test_flush
e2e_finish
