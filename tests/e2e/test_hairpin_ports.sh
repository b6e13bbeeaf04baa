#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The ports hairpin flows take on the bridge address. The host namespace gets
# an ip_local_port_range of its own (20000-45000) before the datapath loads;
# the host holds 4000 connections from the bridge address to container 2 on
# explicitly bound ports 1024-5023 and publishes 6000-6999. Then 200 hairpin
# connections from container 1 to a published port of container 2 stay open
# while the host makes 3000 more connections of its own from the bridge
# address to container 2 (ports the kernel picks in its range). Everything
# must connect and keep working, and every hairpin flow's port on the bridge
# address (as container 2 sees it, and as `bpfport ct` lists it) lies outside
# the host's range, on no port a host socket holds and on no published port.
. "$(dirname "$0")/lib.sh"
e2e_init test_hairpin_ports

LOCAL_LO=20000
LOCAL_HI=45000
HELD_FIRST=1024
HELD=4000
PUB_FIRST=6000
PUB_LAST=6999
HAIRPIN=200
HOST_CONNS=3000

# Container 2: every line gets "peer=IP:PORT data=LINE"; a connection stays
# open until the peer closes it.
LINE_SERVER='
import asyncio, resource, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
async def handle(r, w):
    peer = "%s:%d" % w.get_extra_info("peername")[:2]
    try:
        while True:
            line = await r.readline()
            if not line:
                break
            w.write(b"peer=%s data=%s\n" % (peer.encode(), line.strip()))
            await w.drain()
    except (ConnectionError, OSError):
        pass
    w.close()
async def main():
    await asyncio.start_server(handle, "0.0.0.0", int(sys.argv[1]), backlog=4096, reuse_address=True)
    open(sys.argv[2], "w").close()
    await asyncio.Event().wait()
asyncio.run(main())'

# Host: CONNS connections from SRC (ports FIRST.. if FIRST > 0, else the
# kernel picks), PARALLEL at a time, each one line and its answer; READY is
# written when all are done. With "hold" they all stay open until STOP
# exists, then each must answer a second line.
HOST_CLIENT='
import asyncio, os, resource, socket, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
src, dst, dport, first, conns, parallel, hold, ready, stop = sys.argv[1:10]
dport, first, conns, parallel = int(dport), int(first), int(conns), int(parallel)
hold = hold == "hold"
ok, errs, held = 0, [], []
want = b"peer=" + src.encode() + b":"
async def one(i, sem):
    global ok
    async with sem:
        try:
            r, w = await asyncio.wait_for(asyncio.open_connection(dst, dport,
                local_addr=(src, first + i if first else 0)), 3)
            w.write(b"host\n")
            line = await asyncio.wait_for(r.readline(), 3)
            if not line.startswith(want):
                raise OSError("answer %r" % line)
            ok += 1
            if hold:
                held.append((first + i, r, w))
            else:
                w.close()
        except (OSError, asyncio.TimeoutError) as e:
            errs.append("%d: %r" % (first + i if first else i, e))
async def again(port, r, w):
    try:
        w.write(b"again\n")
        line = await asyncio.wait_for(r.readline(), 3)
        if not line.startswith(want):
            raise OSError("answer %r" % line)
        w.close()
        return None
    except (OSError, asyncio.TimeoutError) as e:
        return "%d: %r" % (port, e)
async def main():
    sem = asyncio.Semaphore(parallel)
    await asyncio.gather(*(one(i, sem) for i in range(conns)))
    print("ok=%d failed=%d %s" % (ok, len(errs), " ".join(errs[:5])), flush=True)
    open(ready, "w").close()
    if not hold:
        return
    while not os.path.exists(stop):
        await asyncio.sleep(0.1)
    bad = [e for e in await asyncio.gather(*(again(*h) for h in held)) if e]
    print("again_ok=%d again_failed=%d %s" % (len(held) - len(bad), len(bad), " ".join(bad[:5])), flush=True)
asyncio.run(main())'

# Container 1: N hairpin connections open at once, a line each; once the
# file WAIT exists, a second line on each. One line per connection:
# "ok LOCAL_PORT PEER_SEEN_BY_CONTAINER_2" or "fail ...".
HAIRPIN_CLIENT='
import asyncio, os, sys
host, port, n, wait = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
conns = [None] * n
async def open_one(i):
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection(host, port), 5)
        w.write(b"first\n")
        line = await asyncio.wait_for(r.readline(), 5)
        conns[i] = (r, w, w.get_extra_info("sockname")[1], line.decode().split()[0])
    except (OSError, asyncio.TimeoutError) as e:
        conns[i] = e
async def again(i):
    c = conns[i]
    if isinstance(c, Exception):
        return "fail %d open: %r" % (i, c)
    r, w, local, peer = c
    try:
        w.write(b"again\n")
        line = (await asyncio.wait_for(r.readline(), 5)).decode()
        w.close()
    except (OSError, asyncio.TimeoutError) as e:
        return "fail %d after the host connections: %r" % (i, e)
    if not line.startswith(peer + " "):
        return "fail %d: first %s, then %r" % (i, peer, line)
    return "ok %d %s" % (local, peer[len("peer="):])
async def main():
    await asyncio.gather(*(open_one(i) for i in range(n)))
    print("opened", flush=True)
    for _ in range(600):
        if os.path.exists(wait):
            break
        await asyncio.sleep(0.1)
    for res in await asyncio.gather(*(again(i) for i in range(n))):
        print(res)
asyncio.run(main())'

in_range() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }

test_hairpin_ports() {
	local name=hairpin_ports_outside_host_range errs=() held_pid load_pid hp_pid port \
		ports nat_ports bad_range=0 bad_held=0 bad_pub=0 low=0 n dup
	# The host's connections held open on explicit ports outside its range.
	nsenter --net="/run/netns/$HOST_NS" -- "$PYTHON" -c "$HOST_CLIENT" "$BRIDGE_IP" "$CT2_IP" 8080 \
		"$HELD_FIRST" "$HELD" 64 hold "$WORK/held.ready" "$WORK/held.stop" >"$WORK/held.out" 2>&1 &
	held_pid=$!
	PIDS+=("$held_pid")
	wait_until 40 test -e "$WORK/held.ready" ||
		{ fail "$name" "host connections not up: $(cat "$WORK/held.out")"; return; }
	grep -q "^ok=$HELD failed=0" "$WORK/held.out" ||
		errs+=("held host connections: $(cat "$WORK/held.out")")

	# The host's own connections (kernel-picked ports) while the hairpin ones open.
	nsenter --net="/run/netns/$HOST_NS" -- "$PYTHON" -c "$HOST_CLIENT" "$BRIDGE_IP" "$CT2_IP" 8080 \
		0 "$HOST_CONNS" 32 once "$WORK/load.done" - >"$WORK/load.out" 2>&1 &
	load_pid=$!
	PIDS+=("$load_pid")
	timeout 60 nsenter --net="/run/netns/$CT_NS" -- "$PYTHON" -c "$HAIRPIN_CLIENT" "$HOST_IP" 80 \
		"$HAIRPIN" "$WORK/load.done" >"$WORK/hairpin.out" 2>&1 &
	hp_pid=$!
	PIDS+=("$hp_pid")
	wait_until 30 grep -q opened "$WORK/hairpin.out" || errs+=("hairpin connections did not open")
	# The flows as listed, while every hairpin connection is open.
	bp ct -j | jq -r --arg c "$CT_IP:" '.[] | select(.client | startswith($c)) | .client_port_nat' |
		sort -n >"$WORK/nat.ports"
	wait_until 60 test -e "$WORK/load.done" || errs+=("host connections did not finish")
	wait "$load_pid"
	grep -q "^ok=$HOST_CONNS failed=0" "$WORK/load.out" ||
		errs+=("host connections: $(cat "$WORK/load.out")")
	wait "$hp_pid" || errs+=("hairpin client exited $?")
	# The held host connections still work.
	touch "$WORK/held.stop"
	wait_until 20 _pid_gone "$held_pid" || errs+=("held host connections: no end")
	stop_pid "$held_pid"
	grep -q "^again_ok=$HELD again_failed=0" "$WORK/held.out" ||
		errs+=("held host connections afterwards: $(tail -1 "$WORK/held.out")")

	n=$(grep -c '^ok ' "$WORK/hairpin.out")
	[ "$n" -eq "$HAIRPIN" ] ||
		errs+=("$n of $HAIRPIN hairpin connections worked: $(grep -v '^ok ' "$WORK/hairpin.out" | head -3)")
	ports=$(awk '/^ok / { n = split($3, a, ":"); if (a[1] == "'"$BRIDGE_IP"'") print a[2]; else print "bad:" $3 }' \
		"$WORK/hairpin.out" | sort -n)
	grep -q bad: <<<"$ports" && errs+=("container 2 saw hairpin peers not on $BRIDGE_IP: $(grep bad: <<<"$ports" | head -3)")
	for port in $(grep -v bad: <<<"$ports"); do
		in_range "$port" "$LOCAL_LO" "$LOCAL_HI" && bad_range=$((bad_range + 1))
		in_range "$port" "$HELD_FIRST" $((HELD_FIRST + HELD - 1)) && bad_held=$((bad_held + 1))
		in_range "$port" "$PUB_FIRST" "$PUB_LAST" && bad_pub=$((bad_pub + 1))
		[ "$port" -lt 1024 ] && low=$((low + 1))
	done
	dup=$(grep -v bad: <<<"$ports" | uniq -d | wc -l)
	echo "# hairpin ports: $(wc -l <<<"$ports") seen by container 2, min $(head -1 <<<"$ports")," \
		"max $(tail -1 <<<"$ports"); in the host range $bad_range, on held host ports $bad_held," \
		"on published ports $bad_pub, below 1024 $low, repeated $dup" >&2
	[ "$bad_range" -eq 0 ] || errs+=("$bad_range hairpin ports inside ip_local_port_range $LOCAL_LO-$LOCAL_HI")
	[ "$bad_held" -eq 0 ] || errs+=("$bad_held hairpin ports on ports host connections hold")
	[ "$bad_pub" -eq 0 ] || errs+=("$bad_pub hairpin ports on published ports")
	[ "$low" -eq 0 ] || errs+=("$low hairpin ports below 1024")
	[ "$dup" -eq 0 ] || errs+=("$dup hairpin ports used twice")
	nat_ports=$(cat "$WORK/nat.ports")
	[ "$nat_ports" = "$ports" ] ||
		errs+=("bpfport ct lists hairpin ports ($(wc -l <"$WORK/nat.ports") flows) other than container 2 saw: $(diff <(echo "$nat_ports") <(echo "$ports") | head -4)")
	if [ ${#errs[@]} -eq 0 ]; then
		pass "$name"
	else
		fail "$name" "${errs[*]}"
	fi
}

setup_topology --second-container || die "topology setup failed"
in_ns "$HOST_NS" sysctl -q -w net.ipv4.ip_local_port_range="$LOCAL_LO $LOCAL_HI" || die "host port range"
bpl load || die "load failed"
bpl attach ext0 --mode tc || die "attach ext0"
bpl attach br0 --mode bridge || die "attach br0"
nsenter --net="/run/netns/$CT2_NS" -- "$PYTHON" -c "$LINE_SERVER" 8080 "$WORK/line.ready" \
	>>"$WORK/servers.log" 2>&1 &
PIDS+=($!)
wait_until 10 test -e "$WORK/line.ready" || die "container 2 server not ready"
bp add --id two "0.0.0.0:80 -> $CT2_IP:8080/tcp" >/dev/null || die "add 80"
capture bp add --id pub --ip "$CT2_IP" -p "$PUB_FIRST-$PUB_LAST:$PUB_FIRST-$PUB_LAST"
[ "$RC" -eq 0 ] || die "publish $PUB_FIRST-$PUB_LAST: $ERR"

test_hairpin_ports
e2e_finish
