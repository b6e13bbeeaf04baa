#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Connection tracking under a flood: 1,000,000 spoofed SYNs to a published
# port (every one from its own 203.0.113.0/24 address and port, crafted by
# synflood.c) churn only the table of flows not yet assured. An idle,
# established connection through the same port keeps both its entries: it
# still echoes, and the container can speak first on it. A TCP packet that is
# not a SYN and belongs to no flow takes no entry at all.
#
# The spoofed sources lead nowhere: the host namespace has no route to
# 203.0.113.0/24, so the container's SYN-ACKs die there, and no packet leaves
# the test's namespaces. Measured figures go to stderr as "# ..." lines;
# MODE=native attaches XDP instead of tc.
. "$(dirname "$0")/lib.sh"
e2e_init test_ct_flood

FLOOD_COUNT=${FLOOD_COUNT:-1000000}
FLOOD_TIMEOUT=60 # seconds; the flood runs at 100,000-300,000 packets a second here
ACK_COUNT=1000

# ct_stat NAME: one counter of `bpfport ct stats -j` (empty if missing).
ct_stat() { bp ct stats -j 2>/dev/null | jq -r --arg n "$1" '.[$n] // empty'; }

# An echo server that also speaks first: once the file $2 exists, it sends
# "push" on every open connection, unprompted.
ECHO_SERVER='
import os, socket, sys, threading, time
port, trigger, ready = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("0.0.0.0", port))
ls.listen(128)
conns = []
def serve(c):
    try:
        for line in c.makefile("rb"):
            c.sendall(b"echo " + line)
    except OSError:
        pass
def pusher():
    while not os.path.exists(trigger):
        time.sleep(0.05)
    for c in list(conns):
        try:
            c.sendall(b"push from container\n")
        except OSError:
            pass
threading.Thread(target=pusher, daemon=True).start()
open(ready, "w").close()
while True:
    c, _ = ls.accept()
    conns.append(c)
    threading.Thread(target=serve, args=(c,), daemon=True).start()'

# A client that opens one connection, checks an echo, writes its own port to
# the file $3, then waits (idle) for the server to speak first, and checks a
# second echo. Its output is the story of the connection.
ECHO_CLIENT='
import os, socket, sys
host, port, portfile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_connection((host, port), timeout=5)
f = s.makefile("rb")
def expect(want):
    got = f.readline()
    if got != want:
        print("want %r, got %r" % (want, got))
        sys.exit(1)
s.sendall(b"one\n")
expect(b"echo one\n")
print("peer=%s:%d local=%s:%d" % (s.getpeername() + s.getsockname()))
sys.stdout.flush()
with open(portfile + ".tmp", "w") as pf:
    pf.write("%d\n" % s.getsockname()[1])
os.rename(portfile + ".tmp", portfile)
s.settimeout(float(sys.argv[4]))
try:
    expect(b"push from container\n")
    s.sendall(b"two\n")
    expect(b"echo two\n")
except OSError as e:
    print("after the flood: %s" % (e or "timed out"))
    sys.exit(1)
print("push and echo after the flood: ok")'

ct_flow() { bp ct -j | jq -c --arg c "$CLIENT_IP:$1" '[.[] | select(.client == $c)]'; }

test_non_syn_not_admitted() {
	local name=ct_non_syn_not_admitted before after flows new_before new_after
	before=$(ct_stat ct_untracked)
	new_before=$(ct_stat ct_new)
	# ACKs from the client's own address, each from another port: no flow
	# exists for any of them.
	capture in_ns "$CLIENT_NS" "$WORK/synflood" "$HOST_IP" 80 "$ACK_COUNT" -s "$CLIENT_IP" -b 0 -f ack
	[ "$RC" -eq 0 ] || { fail "$name" "synflood: $OUT $ERR"; return; }
	sleep 0.2
	after=$(ct_stat ct_untracked)
	new_after=$(ct_stat ct_new)
	flows=$(bp ct -j | jq length)
	if [ -n "$before" ] && [ -n "$after" ] && [ "$flows" = 0 ] &&
		[ $((after - before)) -ge "$ACK_COUNT" ] && [ "$new_after" = "$new_before" ]; then
		pass "$name"
	else
		fail "$name" "after $ACK_COUNT ACKs: $flows flows listed, ct_untracked $before -> $after," \
			"ct_new $new_before -> $new_after"
	fi
}

test_flood_spares_established() {
	local name=ct_flood_spares_established port new_before new_after flow assured st \
		out flood_out stats
	rm -f "$WORK/push" "$WORK/client.port"
	nsenter --net="/run/netns/$CLIENT_NS" -- "$PYTHON" -c "$ECHO_CLIENT" \
		"$HOST_IP" 80 "$WORK/client.port" $((FLOOD_TIMEOUT + 20)) >"$WORK/client.out" 2>&1 &
	local cpid=$!
	PIDS+=("$cpid")
	if ! wait_until 10 test -s "$WORK/client.port"; then
		fail "$name" "no connection before the flood: $(cat "$WORK/client.out")"
		return
	fi
	port=$(cat "$WORK/client.port")
	st=$(ct_flow "$port" | jq -r '.[0].state')
	[ "$st" = established ] ||
		{ fail "$name" "connection from port $port before the flood: '$st'"; return; }

	new_before=$(ct_stat ct_new)
	capture timeout "$FLOOD_TIMEOUT" nsenter --net="/run/netns/$CLIENT_NS" -- \
		"$WORK/synflood" "$HOST_IP" 80 "$FLOOD_COUNT" -s 203.0.113.0 -b 8
	flood_out=$OUT
	[ "$RC" -eq 0 ] || { fail "$name" "flood: rc $RC $OUT $ERR"; return; }
	echo "# flood: $flood_out" >&2
	new_after=$(ct_stat ct_new)
	stats=$(bp ct stats -j | jq -c '{new_entries, new_max, assured_entries, ct_new, ct_assured, ct_table_full, ct_restarted}')
	echo "# after the flood: $stats" >&2

	# The flow's entries, before any packet of it could rebuild one.
	flow=$(ct_flow "$port")
	assured=$(jq -r '.[0].assured' <<<"$flow")
	st=$(jq -r '.[0].state' <<<"$flow")

	# The container speaks first: its reply entry must have survived.
	touch "$WORK/push"
	local crc killed=
	wait_until 10 _pid_gone "$cpid" || { kill "$cpid" 2>/dev/null; killed=" (killed: no answer 10 s after the push)"; }
	wait "$cpid"
	crc=$?
	out=$(cat "$WORK/client.out")
	if [ "$crc" -eq 0 ] && [[ $out == *"peer=$HOST_IP:80 "* ]] && [[ $out == *"after the flood: ok"* ]] &&
		[ "$assured" = true ] && [ "$st" = established ] &&
		[ -n "$new_before" ] && [ $((new_after - new_before)) -ge $((FLOOD_COUNT * 9 / 10)) ]; then
		pass "$name"
	else
		fail "$name" "client rc $crc$killed: $out; flow after the flood: $flow;" \
			"ct_new $new_before -> $new_after; $stats; $flood_out"
	fi
}

setup_topology || die "topology setup failed"
cc -O2 -o "$WORK/synflood" "$E2E_DIR/synflood.c" 2>"$WORK/cc.err" || die "cannot compile synflood.c: $(cat "$WORK/cc.err")"
bpl load || die "load failed"
attach "${MODE:-tc}" || die "attach failed"
nsenter --net="/run/netns/$CT_NS" -- "$PYTHON" -c "$ECHO_SERVER" 8080 "$WORK/push" "$WORK/server.ready" \
	>>"$WORK/servers.log" 2>&1 &
PIDS+=($!)
wait_until 10 test -e "$WORK/server.ready" || die "echo server not ready"
bp add "0.0.0.0:80 -> $CT_IP:8080/tcp" >/dev/null || die "add tcp"

test_non_syn_not_admitted
test_flood_spares_established
e2e_finish
