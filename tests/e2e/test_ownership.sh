#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Port ownership: a published port goes into the host namespace's
# ip_local_reserved_ports and out again on removal; a host process that binds
# a published port gets EADDRINUSE (other namespaces are not affected); a port
# a host program already listens on is refused unless --force.
. "$(dirname "$0")/lib.sh"
e2e_init test_ownership

bph() { bp --netns "$HOST_NS" "$@"; }

# try_bind NS ADDR PORT: prints "ok" or the errno name of a TCP bind.
BIND='
import errno, socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
try:
    s.bind((sys.argv[1], int(sys.argv[2])))
    print("ok")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))'
try_bind() { in_cgroup "$1" timeout 5 "$PYTHON" -c "$BIND" "$2" "$3"; }

reserved() { in_ns "$HOST_NS" cat /proc/sys/net/ipv4/ip_local_reserved_ports; }
has_port() { tr ',' '\n' <<<"$1" | grep -qx "$2"; }

test_reserved_ports() {
	local r
	r=$(reserved)
	if has_port "$r" 8090 && has_port "$r" 8092; then
		pass ownership_reserved_on_add
	else
		fail ownership_reserved_on_add "ip_local_reserved_ports is '$r'"
	fi
}

test_bind_refused() {
	local got ok=1 detail=
	for case in "0.0.0.0 8090 EADDRINUSE" "127.0.0.1 8090 EADDRINUSE" ":: 8094 EADDRINUSE" \
		"0.0.0.0 8092 EADDRINUSE" "$HOST_IP2 8092 EADDRINUSE" "127.0.0.1 8092 ok" "0.0.0.0 8091 ok"; do
		set -- $case
		got=$(try_bind "$HOST_NS" "$1" "$2")
		[ "$got" = "$3" ] || { ok=0; detail+=" bind $1:$2 gave $got, want $3;"; }
	done
	if [ "$ok" = 1 ]; then pass ownership_host_bind_refused; else fail ownership_host_bind_refused "$detail"; fi
	got=$(try_bind "$CT_NS" 0.0.0.0 8090)
	if [ "$got" = ok ]; then
		pass ownership_other_netns_unaffected
	else
		fail ownership_other_netns_unaffected "bind in the container namespace gave $got"
	fi
}

test_release() {
	local r
	bph del "0.0.0.0:8090 -> $CT_IP:8080/tcp" || { fail ownership_released_on_del "del failed"; return; }
	r=$(reserved)
	if ! has_port "$r" 8090 && has_port "$r" 8092 && [ "$(try_bind "$HOST_NS" 0.0.0.0 8090)" = ok ]; then
		pass ownership_released_on_del
	else
		fail ownership_released_on_del "reserved '$r', bind 8090: $(try_bind "$HOST_NS" 0.0.0.0 8090)"
	fi
}

test_force() {
	_start_server "$HOST_NS" tcp --port 8093 || { fail ownership_force "no host listener"; return; }
	capture bph add --id web "0.0.0.0:8093 -> $CT_IP:8080/tcp"
	if [ "$RC" -ne 1 ] || [[ $ERR != *"failed to bind host port 0.0.0.0:8093/tcp: address already in use"* ]]; then
		fail ownership_in_use_refused "rc $RC, $ERR"
	else
		pass ownership_in_use_refused
	fi
	capture bph add --force --id web "0.0.0.0:8093 -> $CT_IP:8080/tcp"
	if [ "$RC" -eq 0 ] && [[ $(http_get "http://$HOST_IP:8093/" 2>&1) == *"local=$CT_IP:8080"* ]]; then
		pass ownership_force
	else
		fail ownership_force "rc $RC, $ERR"
	fi
	stop_pid "$LAST_PID"
}

setup_topology || die "topology setup failed"
bpl load || die "load failed"
attach native || die "attach failed"
start_tcp_server "$CT_NS" 8080 || die "server"
bph add --id web "0.0.0.0:8090 -> $CT_IP:8080/tcp" || die "add 8090"
bph add --id web "$HOST_IP2:8092 -> $CT_IP:8080/tcp" || die "add 8092"
bph add --id web "[::]:8094 -> [$CT_IP6]:8080/tcp" || die "add 8094"
test_reserved_ports
test_bind_refused
test_release
test_force
e2e_finish
