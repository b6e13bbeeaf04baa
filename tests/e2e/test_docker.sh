#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Docker's publishing semantics end to end: -p and -P (dynamic ports from the
# pool), `bpfport port` output read back and used to reach the container,
# conflicts and ports held by another program refused with nothing installed,
# containers found by name, link variables usable by a shell.
. "$(dirname "$0")/lib.sh"
e2e_init test_docker

# Adds run in the host namespace: the port-in-use check looks at its sockets.
bph() { bp --netns "$HOST_NS" "$@"; }

snapshot() { { sha256sum <"$BPFPORT_STATE"; bp list -j; } 2>/dev/null; }

test_publish_p() {
	capture bph add --id web --name web --ip "$CT_IP" -p 8080:8080 -p 5353:5353/udp
	[ "$RC" -eq 0 ] || { fail docker_publish_p "add exited $RC: $ERR"; return; }
	capture http_get "http://$HOST_IP:8080/"
	if [ "$RC" -ne 0 ] || [[ $OUT != "peer=$CLIENT_IP:"*"local=$CT_IP:8080"* ]]; then
		fail docker_publish_p "TCP through 8080: rc $RC, '$OUT' $ERR"
		return
	fi
	capture client "$CLIENT_NS" udp "$HOST_IP" 5353 --timeout 3
	if [ "$RC" -ne 0 ] || [[ $OUT != "from=$HOST_IP:5353 peer=$CLIENT_IP:"* ]]; then
		fail docker_publish_p "UDP through 5353: rc $RC, '$OUT' $ERR"
		return
	fi
	pass docker_publish_p
}

test_port_output() {
	local want
	want=$(printf '5353/udp -> 0.0.0.0:5353\n8080/tcp -> 0.0.0.0:8080')
	capture bp port web
	[ "$RC" -eq 0 ] && [ "$OUT" = "$want" ] ||
		{ fail docker_port_all "rc $RC, got '$OUT'"; return; }
	capture bp port web 8080
	[ "$RC" -eq 0 ] && [ "$OUT" = "0.0.0.0:8080" ] ||
		{ fail docker_port_all "port web 8080: rc $RC, got '$OUT'"; return; }
	pass docker_port_all
	capture bp port web 9999
	if [ "$RC" -eq 1 ] && [ -z "$OUT" ] &&
		[ "$ERR" = "Error: No public port '9999/tcp' published for web" ]; then
		pass docker_port_missing
	else
		fail docker_port_missing "rc $RC, stdout '$OUT', stderr '$ERR'"
	fi
}

# A second host port for the same container port, from a host range.
test_host_range() {
	local port
	capture bph add --id web -p 9100-9105:8080
	[ "$RC" -eq 0 ] || { fail docker_host_range "add exited $RC: $ERR"; return; }
	port=$(bp port web 8080 | grep -v ':8080$' | sed 's/.*://')
	if [ "$port" != 9100 ]; then
		fail docker_host_range "expected 0.0.0.0:9100 as the second binding of 8080, got '$port'"
	elif ! http_get "http://$HOST_IP:$port/" >/dev/null; then
		fail docker_host_range "no answer on the allocated port $port"
	else
		pass docker_host_range
	fi
}

test_publish_all() {
	local first second
	capture bp config set port-range 49500-49510
	[ "$RC" -eq 0 ] || { fail docker_publish_all "config set exited $RC: $ERR"; return; }
	capture bph add --id 0f1e2d3c --name app --ip "$CT2_IP" --expose 8080-8081 --expose 7000/udp -P
	[ "$RC" -eq 0 ] || { fail docker_publish_all "add -P exited $RC: $ERR"; return; }
	# Round robin per protocol, as Docker's allocator: tcp 49500, 49501; udp 49500.
	first=$(bp port app 8080)
	second=$(bp port app 8081)/$(bp port app 7000/udp)
	if [ "$first" != "0.0.0.0:49500" ] || [ "$second" != "0.0.0.0:49501/0.0.0.0:49500" ]; then
		fail docker_publish_all "expected 49500, 49501 (tcp) and 49500 (udp), got '$first' '$second'"
		return
	fi
	capture http_get "http://$HOST_IP:${first##*:}/"
	if [ "$RC" -ne 0 ] || [[ $OUT != *"local=$CT2_IP:8080"* ]]; then
		fail docker_publish_all "no answer from app through $first: '$OUT' $ERR"
		return
	fi
	pass docker_publish_all
}

test_prefix_and_addr_lookup() {
	if [ "$(bp port 0f1e 8080)" = "0.0.0.0:49500" ] &&
		[ "$(bp port "$CT2_IP" 8080)" = "0.0.0.0:49500" ]; then
		pass docker_lookup_prefix_and_address
	else
		fail docker_lookup_prefix_and_address "port by ID prefix or address did not resolve"
	fi
}

test_conflict() {
	local before after
	before=$(snapshot)
	capture bph add --id app -p 8080:8080
	after=$(snapshot)
	if [ "$RC" -eq 1 ] && [ "$ERR" = "Error: Bind for 0.0.0.0:8080 failed: port is already allocated" ] &&
		[ "$before" = "$after" ]; then
		pass docker_conflict
	else
		fail docker_conflict "rc $RC, stderr '$ERR', state changed: $([ "$before" = "$after" ] && echo no || echo yes)"
	fi
}

# A program on the host already listens on 7070: refused, nothing installed.
test_port_in_use() {
	local before after
	_start_server "$HOST_NS" tcp --port 7070 || { fail docker_port_in_use "no host listener"; return; }
	before=$(snapshot)
	capture bph add --id app -p 7070:8080 -p 7071:8080
	after=$(snapshot)
	if [ "$RC" -eq 1 ] &&
		[ "$ERR" = "Error: failed to bind host port 0.0.0.0:7070/tcp: address already in use" ] &&
		[ "$before" = "$after" ] && ! bp port app 8080 | grep -q 7071; then
		pass docker_port_in_use
	else
		fail docker_port_in_use "rc $RC, stderr '$ERR', state changed: $([ "$before" = "$after" ] && echo no || echo yes)"
	fi
	stop_pid "$LAST_PID"
}

test_usage_errors() {
	local before after ok=1
	before=$(snapshot)
	capture bph add --id x --ip 198.51.100.20 -p 127.0.0.1:80
	[ "$RC" -eq 2 ] && [[ $ERR == "Error: invalid hostPort: 127.0.0.1"* ]] || ok=0
	capture bph add --id x --ip 198.51.100.20 -p 80/icmp
	[ "$RC" -eq 2 ] && [[ $ERR == "Error: invalid proto: icmp"* ]] || ok=0
	capture bph add --id x --ip 198.51.100.20 -p 8000-8001:80-82
	[ "$RC" -eq 2 ] &&
		[[ $ERR == "Error: invalid ranges specified for container and host Ports: 80-82 and 8000-8001"* ]] || ok=0
	after=$(snapshot)
	if [ "$ok" = 1 ] && [ "$before" = "$after" ]; then
		pass docker_usage_errors
	else
		fail docker_usage_errors "last: rc $RC, stderr '$ERR'"
	fi
}

test_env() {
	local got
	capture bp add --id web --env DB_USER=admin --env "GREETING=hello world"
	got=$(bp env web db --client client1 --export) || { fail docker_env "env failed"; return; }
	if (
		eval "$got"
		[ "$DB_PORT" = "tcp://$CT_IP:8080" ] &&
			[ "$DB_PORT_5353_UDP_ADDR" = "$CT_IP" ] &&
			[ "$DB_NAME" = /client1/db ] &&
			[ "$DB_ENV_GREETING" = "hello world" ] &&
			[ "$DB_ENV_DB_USER" = admin ]
	); then
		pass docker_env
	else
		fail docker_env "unexpected variables: $got"
	fi
}

test_rm_by_name() {
	capture bp rm app
	if [ "$RC" -eq 0 ] && ! http_get "http://$HOST_IP:49500/" >/dev/null 2>&1 &&
		[ "$(bp port app 2>&1)" = "Error: No such container: app" ]; then
		pass docker_rm_by_name
	else
		fail docker_rm_by_name "rc $RC, $ERR"
	fi
}

setup_topology --second-container || die "topology setup failed"
bpl load || die "bpfport-loader load failed"
attach native || die "attach failed"
start_tcp_server "$CT_NS" 8080 || die "server in container 1"
start_udp_server "$CT_NS" 5353 || die "UDP server in container 1"
start_tcp_server "$CT2_NS" 8080 || die "server in container 2"

test_publish_p
test_port_output
test_host_range
test_publish_all
test_prefix_and_addr_lookup
test_conflict
test_port_in_use
test_usage_errors
test_env
test_rm_by_name
e2e_finish
