#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The docker tier: a real dockerd publishes through bpfport-proxy.
#
# Topology (documentation ranges; nothing outside these namespaces changes):
#
#   client ns              host ns (dockerd, containerd, bpfport)
#   eth0 192.0.2.2 ------- ext0 192.0.2.1, 2001:db8:1::1
#        2001:db8:1::2     docker0 198.51.100.1/24 (dockerd's bridge)
#                            `-- containers 198.51.100.2, .3, ...
#
# dockerd is our own (data root, exec root, socket, pid file, cgroup parent,
# daemon.json, all under this run's work directory; containerd namespaces of
# its own should it find a system containerd), started inside the host
# namespace with nsenter (ip netns exec would remount /sys), with
# --iptables=false --userland-proxy-path=bpfport-proxy. Its image is imported
# from busybox-static: httpd on port 80 with a CGI that prints REMOTE_ADDR.
# UDP is served by tests/e2e/server.py run inside a container's namespace.
#
# BPFPORT_PROXY picks another proxy binary (a sanitizer build), DOCKER_TEST_LOGS=DIR
# keeps the logs. One line per case, as the other tiers. Needs dockerd, containerd, runc and
# a static busybox (Debian: docker.io busybox-static); SKIP without them.
# Functions run from traps and wait_until look unreachable to shellcheck:
# shellcheck disable=SC2317
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/../e2e/lib.sh"
DOCKER_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
e2e_init docker_proxy

PROXY_BIN=${BPFPORT_PROXY:-$BUILD/bpfport-proxy}
STOCK_PROXY=${DOCKER_PROXY:-/usr/sbin/docker-proxy}
BUSYBOX=${BUSYBOX:-$(command -v busybox)}
GW_IP=198.51.100.1
IMAGE=bptest:1
DOCKERD_PID=
DOCKER_DONE=

[ -x "$PROXY_BIN" ] || die "$PROXY_BIN not built"

# docker-proxy's command line, and errors on the status pipe (fd 3), no daemon needed.
test_flags() {
	local out rc
	out=$("$PROXY_BIN" -nope 3>"$WORK/st" 2>/dev/null)
	rc=$?
	if [ "$rc" -ne 2 ] || [ "$(cat "$WORK/st")" != "$(printf '1\nflag provided but not defined: -nope')" ]; then
		fail proxy_flags "unknown flag: rc $rc, status '$(cat "$WORK/st")'"
		return
	fi
	"$PROXY_BIN" --proto=udp -host-ip 0.0.0.0 -container-ip=198.51.100.2 3>"$WORK/st" 2>/dev/null
	rc=$?
	if [ "$rc" -ne 2 ] || [ "$(tail -n +2 "$WORK/st")" != "-host-port and -container-port are required (1-65535)" ]; then
		fail proxy_flags "missing ports: rc $rc, status '$(cat "$WORK/st")'"
		return
	fi
	out=$("$PROXY_BIN" -version)
	[[ $out == "bpfport-proxy version "* ]] || { fail proxy_flags "-version: '$out'"; return; }
	pass proxy_flags
}
test_flags

for tool in dockerd containerd runc docker; do
	command -v "$tool" >/dev/null ||
		{ skip docker_proxy "$tool not installed (apt-get install docker.io; make deps)"; exit 0; }
done
if [ -z "$BUSYBOX" ] || readelf -d "$BUSYBOX" 2>/dev/null | grep -q NEEDED; then
	skip docker_proxy "no static busybox for the image (apt-get install busybox-static)"
	exit 0
fi

DROOT=$WORK/data
XROOT=$WORK/exec
DSOCK=$WORK/docker.sock
CGPARENT=bpfport-docker-$RUN_ID
export BPFPORT_BIN=$BUILD/bpfport
KEY_JSON_EXISTED=$([ -e /etc/docker/key.json ] && echo 1)
mkdir -p "$WORK/dockercfg" "$DROOT" "$XROOT"
echo '{}' >"$WORK/daemon.json"

dk() { DOCKER_HOST=unix://$DSOCK DOCKER_CONFIG=$WORK/dockercfg timeout 60 docker "$@"; }
bph() { bp --netns "$HOST_NS" "$@"; }
hns() { in_ns "$HOST_NS" "$@"; }

# start_dockerd PROXY: our dockerd in the host namespace, with PROXY as its userland proxy.
start_dockerd() {
	env BPFPORT_BIN="$BUILD/bpfport" BPFPORT_PROXY_LOG="$WORK/proxy.log" \
		nsenter --net="/run/netns/$HOST_NS" -- dockerd --config-file "$WORK/daemon.json" \
		--data-root "$DROOT" --exec-root "$XROOT" -H "unix://$DSOCK" \
		--pidfile "$WORK/dockerd.pid" --iptables=false --userland-proxy-path="$1" \
		--bip "$GW_IP/24" --cgroup-parent "/$CGPARENT" \
		--containerd-namespace "bpt-$RUN_ID" --containerd-plugins-namespace "bpt-$RUN_ID-p" \
		--exec-opt native.cgroupdriver=cgroupfs --log-level warn \
		>>"$WORK/dockerd.log" 2>&1 &
	DOCKERD_PID=$!
	wait_until 60 dk version >/dev/null 2>&1
}

# stop_dockerd [SIGNAL]: TERM (the daemon stops its containers) or KILL.
stop_dockerd() {
	[ -n "$DOCKERD_PID" ] || return 0
	kill -"${1:-TERM}" "$DOCKERD_PID" 2>/dev/null
	wait_until 30 _pid_gone "$DOCKERD_PID" || kill -9 "$DOCKERD_PID" 2>/dev/null
	wait "$DOCKERD_PID" 2>/dev/null
	DOCKERD_PID=
}

# The daemon's containerd and shims, container processes, mounts, cgroups.
docker_cleanup() {
	[ -n "$DOCKER_DONE" ] && return 0
	DOCKER_DONE=1
	local pid cg m c
	if [ -n "$DOCKERD_PID" ]; then
		dk ps -aq 2>/dev/null | while read -r c; do dk rm -f "$c" >/dev/null 2>&1; done
		stop_dockerd TERM
	fi
	for cg in /sys/fs/cgroup/*/"$CGPARENT" /sys/fs/cgroup/"$CGPARENT"; do
		[ -d "$cg" ] || continue
		find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null |
			while read -r pid; do kill -9 "$pid" 2>/dev/null; done
	done
	if [ -e "/run/netns/$HOST_NS" ]; then
		for pid in $(ip netns pids "$HOST_NS" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
	fi
	sleep 0.2
	# Deepest first; only mounts under this run's work directory.
	awk -v w="$WORK/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null; done
	for cg in /sys/fs/cgroup/*/"$CGPARENT" /sys/fs/cgroup/"$CGPARENT"; do
		[ -d "$cg" ] && find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	[ -z "$KEY_JSON_EXISTED" ] && rm -f /etc/docker/key.json
	# DOCKER_TEST_LOGS=DIR keeps the proxies' and the daemon's logs.
	if [ -n "${DOCKER_TEST_LOGS:-}" ]; then
		mkdir -p "$DOCKER_TEST_LOGS" && cp "$WORK"/*.log "$DOCKER_TEST_LOGS"/ 2>/dev/null
	fi
	return 0
}
trap 'docker_cleanup; cleanup' EXIT

setup_hosts() {
	_new_ns "$CLIENT_NS" && _new_ns "$HOST_NS" &&
		ip -n "$HOST_NS" link add "$EXT_IF" type veth peer name eth0 netns "$CLIENT_NS" &&
		ip -n "$HOST_NS" addr add "$HOST_IP/24" dev "$EXT_IF" &&
		ip -n "$HOST_NS" addr add "$HOST_IP6/64" dev "$EXT_IF" nodad &&
		ip -n "$HOST_NS" link set "$EXT_IF" up &&
		ip -n "$CLIENT_NS" addr add "$CLIENT_IP/24" dev eth0 &&
		ip -n "$CLIENT_NS" addr add "$CLIENT_IP6/64" dev eth0 nodad &&
		ip -n "$CLIENT_NS" link set eth0 up &&
		_sysctl "$HOST_NS" net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
			net.ipv4.conf.default.rp_filter=0 net.ipv6.conf.all.forwarding=1 &&
		_sysctl "$CLIENT_NS" net.ipv4.conf.all.rp_filter=0
}

# A registry-free image: busybox's httpd and a CGI that prints the client's address.
make_image() {
	local r=$WORK/rootfs a
	mkdir -p "$r/bin" "$r/www/cgi-bin" "$r/etc" "$r/tmp" || return 1
	cp "$BUSYBOX" "$r/bin/busybox" || return 1
	for a in sh httpd cat echo env sleep; do ln -s busybox "$r/bin/$a"; done
	echo 'root:x:0:0:root:/:/bin/sh' >"$r/etc/passwd"
	echo bptest >"$r/www/index.html"
	# shellcheck disable=SC2016 # $REMOTE_ADDR is the CGI's, expanded in the container
	printf '#!/bin/sh\necho "Content-Type: text/plain"\necho\necho "remote=$REMOTE_ADDR"\n' \
		>"$r/www/cgi-bin/ip"
	chmod 755 "$r/www/cgi-bin/ip"
	tar -C "$r" -c . | dk import -c 'CMD ["/bin/httpd", "-f", "-p", "80", "-h", "/www"]' \
		-c 'EXPOSE 80' - "$IMAGE" >/dev/null
}

cip() { dk inspect -f '{{.NetworkSettings.IPAddress}}' "$1"; }
cpid() { dk inspect -f '{{.State.Pid}}' "$1"; }
# The bpfport-proxy (or docker-proxy) dockerd runs for HOST_IP HOST_PORT [PROTO].
proxy_pid() {
	pgrep -P "$DOCKERD_PID" -f -- "-proto ${3:-tcp} -host-ip $1 -host-port $2 " | head -1
}
has_id() { bp list -j | jq -e --arg i "$1" 'any(.[]; .id == $i)' >/dev/null; }
no_id() { ! has_id "$1"; }
proxy_ids() { bp list -j | jq -r '.[] | select(.id | startswith("docker-proxy-")) | .id'; }
no_proxy_ids() { [ -z "$(proxy_ids)" ]; }
# The CGI's answer through URL from NS (default the client): "remote=ADDR". httpd
# listens on [::], so IPv4 clients show as [::ffff:ADDR]: unmapped here.
remote_of() {
	http_get "$1/cgi-bin/ip" "${2:-$CLIENT_NS}" 2>/dev/null | tr -d '\r' |
		sed 's/^remote=\[::ffff:\([0-9.]*\)\]$/remote=\1/'
}
answers() { [ "$(remote_of "$1" "${3:-}")" = "remote=$2" ]; }

# --- cases ------------------------------------------------------------------------

test_publish() {
	local before after ip
	capture dk run -d --name web -p 8080:80 "$IMAGE"
	[ "$RC" -eq 0 ] || { fail docker_run_publish "docker run exited $RC: $ERR"; return; }
	ip=$(cip web)
	if ! wait_until 10 answers "http://$HOST_IP:8080" "$CLIENT_IP"; then
		fail docker_run_publish "from the client: '$(remote_of "http://$HOST_IP:8080")'," \
			"want remote=$CLIENT_IP; $(tail -3 "$WORK/proxy.log")"
		return
	fi
	before=$(counters 8080 tcp)
	if [ "$(list_field 8080 tcp id)" != docker-proxy-0.0.0.0-8080-tcp ] ||
		[ "$(list_field 8080 tcp container_ip)" != "$ip" ]; then
		fail docker_run_publish "bpfport list: $(bp list -j | jq -c .)"
		return
	fi
	answers "http://$HOST_IP:8080" "$CLIENT_IP"
	after=$(counters 8080 tcp)
	# The datapath translated it: the binding's counters moved both ways.
	counters_grew "$before" "$after" ||
		{ fail docker_run_publish "counters did not grow: '$before' -> '$after'"; return; }
	pass docker_run_publish
}

# [::]:8080 to an IPv4 container: bpfport translates within one family, so the proxy relays.
test_ipv6_client() {
	local got
	wait_until 10 reach6 "$HOST_IP6" >/dev/null
	if wait_until 10 answers "http://[$HOST_IP6]:8080" "$GW_IP"; then
		if grep -q '\[::\]:8080 -> .*one address family.*proxying in user space' \
			"$WORK/proxy.log"; then
			pass docker_ipv6_client_relayed
		else
			fail docker_ipv6_client_relayed "no fallback line in the proxy log"
		fi
	else
		got=$(remote_of "http://[$HOST_IP6]:8080")
		fail docker_ipv6_client_relayed "got '$got', want remote=$GW_IP (the relay)"
	fi
}

test_port() {
	local d b
	d=$(dk port web 80 | grep -v '^\[::\]:\|^:::')
	b=$(bp port docker-proxy-0.0.0.0-8080-tcp 80)
	if [ -z "$d" ] || [ "$d" != "$b" ]; then
		fail docker_port_matches "docker port '$d', bpfport port '$b'"
	elif ! dk port web 80 | grep -q '^\[::\]:8080$\|^:::8080$'; then
		fail docker_port_matches "docker port has no [::] line: '$(dk port web 80)'"
	else
		pass docker_port_matches
	fi
}

test_loopback() {
	capture dk run -d --name lo -p 127.0.0.1:8081:80 "$IMAGE"
	[ "$RC" -eq 0 ] || { fail docker_loopback_only "docker run exited $RC: $ERR"; return; }
	if ! wait_until 10 has_id docker-proxy-127.0.0.1-8081-tcp; then
		fail docker_loopback_only "no binding docker-proxy-127.0.0.1-8081-tcp"
	elif http_get "http://$HOST_IP:8081/" >/dev/null 2>&1; then
		fail docker_loopback_only "reachable from the client"
	else
		pass docker_loopback_only
	fi
	# From the host: the socket programs (this run's cgroup) point connect() at the
	# container; a process outside it reaches the proxy's own socket, which relays.
	if wait_until 10 answers "http://127.0.0.1:8081" "$GW_IP" "$HOST_NS"; then
		pass docker_hostlocal_relay
	else
		fail docker_hostlocal_relay "got '$(remote_of "http://127.0.0.1:8081" "$HOST_NS")'"
	fi
	capture in_cgroup "$HOST_NS" curl -sS --max-time 4 "http://127.0.0.1:8081/cgi-bin/ip"
	if [ "$RC" -eq 0 ] && [[ $OUT == remote=* ]]; then
		pass docker_hostlocal_socket
	else
		fail docker_hostlocal_socket "rc $RC: '$OUT' $ERR"
	fi
}

test_udp() {
	local pid ready=$WORK/udp.ready
	capture dk run -d --name dns -p 5353:5353/udp "$IMAGE"
	[ "$RC" -eq 0 ] || { fail docker_udp "docker run exited $RC: $ERR"; return; }
	pid=$(cpid dns)
	nsenter --net="/proc/$pid/ns/net" -- "$PYTHON" "$E2E_DIR/server.py" udp --port 5353 \
		--ready "$ready" >>"$WORK/servers.log" 2>&1 &
	PIDS+=($!)
	wait_until 10 test -e "$ready" || { fail docker_udp "UDP server did not start"; return; }
	wait_until 10 has_id docker-proxy-0.0.0.0-5353-udp
	capture client "$CLIENT_NS" udp "$HOST_IP" 5353 --timeout 3
	if [ "$RC" -eq 0 ] && [[ $OUT == "from=$HOST_IP:5353 peer=$CLIENT_IP:"* ]]; then
		pass docker_udp
	else
		fail docker_udp "rc $RC: '$OUT' $ERR"
	fi
}

test_publish_all() {
	local d port b
	capture dk run -d --name pall -P "$IMAGE"
	[ "$RC" -eq 0 ] || { fail docker_publish_all "docker run -P exited $RC: $ERR"; return; }
	d=$(dk port pall 80 | grep '^0\.0\.0\.0:')
	port=${d##*:}
	b=$(bp port "docker-proxy-0.0.0.0-$port-tcp" 80 2>&1)
	if [ -z "$port" ] || [ "$d" != "$b" ]; then
		fail docker_publish_all "docker port '$d', bpfport port '$b'"
	elif ! wait_until 10 answers "http://$HOST_IP:$port" "$CLIENT_IP"; then
		fail docker_publish_all "no answer on dynamic port $port"
	else
		pass docker_publish_all
	fi
	dk rm -f pall >/dev/null
}

# Stopped: binding, port reservation and flows gone, the port free for host programs.
test_stop() {
	local ip flows
	ip=$(cip web)
	capture dk stop -t 1 web
	[ "$RC" -eq 0 ] || { fail docker_stop "docker stop exited $RC: $ERR"; return; }
	flows=$(bp ct -j 2>/dev/null | jq --arg c "$ip:" '[.[] | select(.container | startswith($c))] | length')
	if has_id docker-proxy-0.0.0.0-8080-tcp; then
		fail docker_stop "binding still listed"
	elif [ "${flows:-1}" != 0 ]; then
		fail docker_stop "$flows tracked flows left"
	elif hns cat /proc/sys/net/ipv4/ip_local_reserved_ports | tr ',' '\n' | grep -qx 8080; then
		fail docker_stop "8080 still in ip_local_reserved_ports"
	elif ! in_cgroup "$HOST_NS" "$PYTHON" -c \
		'import socket; s = socket.socket(); s.bind(("0.0.0.0", 8080)); s.listen()'; then
		fail docker_stop "a host program cannot bind 0.0.0.0:8080"
	elif [ -n "$(pgrep -f -- '-host-port 8080 ')" ]; then
		fail docker_stop "a proxy for 8080 is still running"
	else
		pass docker_stop
	fi
	capture dk start web
	if [ "$RC" -eq 0 ] && wait_until 10 answers "http://$HOST_IP:8080" "$CLIENT_IP"; then
		pass docker_start_again
	else
		fail docker_start_again "rc $RC $ERR; got '$(remote_of "http://$HOST_IP:8080")'"
	fi
}

test_rm_f() {
	capture dk rm -f lo
	if [ "$RC" -ne 0 ]; then
		fail docker_rm_f "docker rm -f exited $RC: $ERR"
	elif ! wait_until 5 no_id docker-proxy-127.0.0.1-8081-tcp; then
		fail docker_rm_f "binding still listed"
	else
		pass docker_rm_f
	fi
}

# A port bpfport already publishes: refused with Docker's words, nothing left.
test_conflict() {
	bph add --id other "0.0.0.0:8090 -> 198.51.100.250:80/tcp" >/dev/null ||
		{ fail docker_conflict "bpfport add failed"; return; }
	capture dk run -d --name cf -p 8090:80 "$IMAGE"
	if [ "$RC" -eq 0 ]; then
		fail docker_conflict "docker run succeeded"
	elif [[ $ERR != *"Bind for 0.0.0.0:8090 failed: port is already allocated"* ]]; then
		fail docker_conflict "error: $ERR"
	elif has_id docker-proxy-0.0.0.0-8090-tcp || [ -n "$(pgrep -f -- '-host-port 8090 ')" ]; then
		fail docker_conflict "a binding or proxy for 8090 was left"
	else
		pass docker_conflict
	fi
	dk rm -f cf >/dev/null 2>&1
	bp rm other >/dev/null
}

# SIGKILL leaves the binding: the next proxy for the port removes it, and so does -cleanup.
test_killed_proxy() {
	local pid
	pid=$(proxy_pid 0.0.0.0 8080)
	[ -n "$pid" ] || { fail docker_killed_proxy_next "no proxy for 8080"; return; }
	kill -9 "$pid"
	sleep 0.2
	if ! has_id docker-proxy-0.0.0.0-8080-tcp; then
		fail docker_killed_proxy_next "SIGKILL left no binding to clean"
	elif ! dk restart -t 1 web >/dev/null; then
		fail docker_killed_proxy_next "docker restart failed"
	elif ! wait_until 10 answers "http://$HOST_IP:8080" "$CLIENT_IP"; then
		fail docker_killed_proxy_next "no answer after restart: $(tail -2 "$WORK/proxy.log")"
	elif ! grep -q 'removed the stale binding docker-proxy-0.0.0.0-8080-tcp' "$WORK/proxy.log"; then
		fail docker_killed_proxy_next "the new proxy did not report the stale binding"
	else
		pass docker_killed_proxy_next
	fi

	pid=$(proxy_pid 0.0.0.0 8080)
	kill -9 "$pid"
	sleep 0.2
	capture hns "$PROXY_BIN" -cleanup
	if [ "$RC" -ne 0 ] || [[ $OUT != *"removed docker-proxy-0.0.0.0-8080-tcp"* ]]; then
		fail docker_killed_proxy_cleanup "rc $RC: '$OUT' $ERR"
	elif has_id docker-proxy-0.0.0.0-8080-tcp; then
		fail docker_killed_proxy_cleanup "binding still listed"
	elif ! has_id docker-proxy-0.0.0.0-5353-udp; then
		fail docker_killed_proxy_cleanup "removed a live proxy's binding: $(proxy_ids | xargs)"
	else
		pass docker_killed_proxy_cleanup
	fi
	dk restart -t 1 web >/dev/null
	wait_until 10 answers "http://$HOST_IP:8080" "$CLIENT_IP"
}

# Docker 28's protocol: the daemon binds the port and passes it as fd 4.
test_listen_fd() {
	local ip st=$WORK/lfd.status pid
	ip=$(cip web)
	hns "$PYTHON" "$DOCKER_DIR/spawn_proxy.py" --status "$st" --listen-fd -- "$PROXY_BIN" \
		-proto tcp -host-ip 0.0.0.0 -host-port 8095 -container-ip "$ip" -container-port 80 \
		2>>"$WORK/proxy.log" &
	PIDS+=($!)
	wait_until 20 grep -q '^pid=' "$st" 2>/dev/null
	pid=$(sed -n 's/^pid=//p' "$st")
	if [ "$(head -1 "$st" 2>/dev/null)" != 0 ]; then
		fail docker_listen_fd "status '$(head -1 "$st" 2>/dev/null)'"
	elif ! answers "http://$HOST_IP:8095" "$CLIENT_IP"; then
		fail docker_listen_fd "client: '$(remote_of "http://$HOST_IP:8095")'"
	elif ! answers "http://127.0.0.1:8095" "$GW_IP" "$HOST_NS"; then
		fail docker_listen_fd "host, through fd 4: '$(remote_of "http://127.0.0.1:8095" "$HOST_NS")'"
	else
		kill -INT "$pid"
		if ! wait_until 5 grep -q '^exit=' "$st"; then
			fail docker_listen_fd "no exit after SIGINT"
		elif ! grep -q '^exit=0$' "$st"; then
			fail docker_listen_fd "$(grep exit= "$st") after SIGINT"
		elif has_id docker-proxy-0.0.0.0-8095-tcp; then
			fail docker_listen_fd "binding left after SIGINT"
		else
			pass docker_listen_fd
		fi
	fi
	kill -INT "$pid" 2>/dev/null

	bph add --id other "0.0.0.0:8096 -> 198.51.100.250:80/tcp" >/dev/null
	rm -f "$st"
	hns "$PYTHON" "$DOCKER_DIR/spawn_proxy.py" --status "$st" --listen-fd -- "$PROXY_BIN" \
		-proto tcp -host-ip 0.0.0.0 -host-port 8096 -container-ip "$ip" -container-port 80 \
		2>>"$WORK/proxy.log"
	if [ "$(head -1 "$st")" != "1 Bind for 0.0.0.0:8096 failed: port is already allocated" ]; then
		fail docker_listen_fd_refused "status '$(head -1 "$st")'"
	elif ! grep -q '^exit=1$' "$st"; then
		fail docker_listen_fd_refused "$(grep exit= "$st")"
	elif has_id docker-proxy-0.0.0.0-8096-tcp; then
		fail docker_listen_fd_refused "a binding was left"
	else
		pass docker_listen_fd_refused
	fi
	bp rm other >/dev/null
}

# 100 ports in one docker run; TIME_BPFPORT is kept for the stock proxy's line.
TIME_BPFPORT=
test_many_ports() {
	local t0 t1 t2 n
	t0=$(date +%s%N)
	capture dk run -d --name many -p 9000-9099:9000-9099 "$IMAGE"
	t1=$(date +%s%N)
	n=$(proxy_ids | grep -c '^docker-proxy-0\.0\.0\.0-90[0-9][0-9]-tcp$')
	dk rm -f many >/dev/null
	t2=$(date +%s%N)
	TIME_BPFPORT="run $(((t1 - t0) / 1000000)) ms, rm -f $(((t2 - t1) / 1000000)) ms"
	if [ "$RC" -ne 0 ]; then
		fail docker_100_ports "docker run exited $RC: $ERR"
	elif [ "$n" -ne 100 ]; then
		fail docker_100_ports "$n bindings, want 100"
	elif proxy_ids | grep -q -- '-90[0-9][0-9]-tcp$'; then
		fail docker_100_ports "bindings left after rm -f"
	else
		pass "docker_100_ports (bpfport-proxy: $TIME_BPFPORT)"
	fi
}

test_daemon_killed() {
	local left
	kill -9 "$DOCKERD_PID"
	wait "$DOCKERD_PID" 2>/dev/null
	DOCKERD_PID=
	# Pdeathsig gives each proxy SIGTERM: each removes its own binding.
	if wait_until 10 no_proxy_ids && wait_until 5 sh -c "! pgrep -x bpfport-proxy >/dev/null"; then
		pass docker_daemon_killed
	else
		left=$(proxy_ids | xargs)
		fail docker_daemon_killed "left: bindings '$left', proxies '$(pgrep -x bpfport-proxy | xargs)'"
	fi
}

test_daemon_restarted() {
	start_dockerd "$PROXY_BIN" || { fail docker_daemon_restarted "dockerd did not come back"; return; }
	dk rm -f web dns lo >/dev/null 2>&1
	capture dk run -d --name web -p 8080:80 "$IMAGE"
	if [ "$RC" -ne 0 ]; then
		fail docker_daemon_restarted "docker run exited $RC: $ERR"
	elif ! wait_until 10 answers "http://$HOST_IP:8080" "$CLIENT_IP"; then
		fail docker_daemon_restarted "no answer on 8080"
	else
		pass docker_daemon_restarted
	fi
	stop_dockerd TERM
	if no_proxy_ids; then
		pass docker_daemon_stopped
	else
		fail docker_daemon_stopped "left: $(proxy_ids | xargs)"
	fi
}

# Without the datapath the proxy relays in user space, as docker-proxy does.
test_fallback() {
	local ready=$WORK/udp-fb.ready
	bplh unload >/dev/null || { fail docker_fallback "unload failed"; return; }
	start_dockerd "$PROXY_BIN" || { fail docker_fallback "dockerd did not start"; return; }
	capture dk run -d --name fb -p 8086:80 -p 5354:5353/udp "$IMAGE"
	if [ "$RC" -ne 0 ]; then
		fail docker_fallback "docker run exited $RC: $ERR"
	elif ! wait_until 10 answers "http://$HOST_IP:8086" "$GW_IP"; then
		fail docker_fallback "got '$(remote_of "http://$HOST_IP:8086")', want the relay's $GW_IP"
	elif ! grep -q '0.0.0.0:8086 -> .*datapath is not loaded.*proxying in user space' \
		"$WORK/proxy.log"; then
		fail docker_fallback "no fallback line in the proxy log"
	else
		pass docker_fallback
	fi
	# UDP relay: the answer comes from the address the client wrote to.
	nsenter --net="/proc/$(cpid fb)/ns/net" -- "$PYTHON" "$E2E_DIR/server.py" udp \
		--port 5353 --ready "$ready" >>"$WORK/servers.log" 2>&1 &
	PIDS+=($!)
	wait_until 10 test -e "$ready"
	capture client "$CLIENT_NS" udp "$HOST_IP" 5354 --timeout 3
	if [ "$RC" -eq 0 ] && [[ $OUT == "from=$HOST_IP:5354 peer=$GW_IP:"* ]]; then
		pass docker_fallback_udp
	else
		fail docker_fallback_udp "rc $RC: '$OUT' $ERR"
	fi
	dk rm -f fb >/dev/null
	if grep -q '8086.*cannot remove' "$WORK/proxy.log"; then
		fail docker_fallback_stop "$(grep 8086 "$WORK/proxy.log" | tail -1)"
	else
		pass docker_fallback_stop
	fi
	stop_dockerd TERM
}

# The same 100 ports through Debian's docker-proxy, for comparison.
test_stock_proxy() {
	local t0 t1 t2
	if [ ! -x "$STOCK_PROXY" ]; then
		skip docker_100_ports_stock "no $STOCK_PROXY"
		return
	fi
	start_dockerd "$STOCK_PROXY" || { fail docker_100_ports_stock "dockerd did not start"; return; }
	t0=$(date +%s%N)
	capture dk run -d --name many -p 9000-9099:9000-9099 "$IMAGE"
	t1=$(date +%s%N)
	dk rm -f many >/dev/null
	t2=$(date +%s%N)
	if [ "$RC" -ne 0 ]; then
		fail docker_100_ports_stock "docker run exited $RC: $ERR"
	else
		pass "docker_100_ports_stock (docker-proxy: run $(((t1 - t0) / 1000000)) ms, rm -f $(((t2 - t1) / 1000000)) ms; bpfport-proxy: $TIME_BPFPORT)"
	fi
	stop_dockerd TERM
}

setup_hosts || die "topology setup failed"
bpl load || die "bpfport-loader load failed"
bplh attach "$EXT_IF" >/dev/null || die "attach $EXT_IF failed"
start_dockerd "$PROXY_BIN" || die "dockerd did not start: $(tail -3 "$WORK/dockerd.log")"
make_image || die "image import failed"
client "$CLIENT_NS" reach "$HOST_IP" --timeout 10 || die "client cannot reach the host"

test_publish
test_ipv6_client
test_port
test_loopback
test_udp
test_publish_all
test_stop
test_rm_f
test_conflict
test_killed_proxy
test_listen_fd
test_many_ports
test_daemon_killed
test_daemon_restarted
test_fallback
test_stock_proxy
e2e_finish
