# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# Shared helpers for the end-to-end tests. A test script sources this file,
# calls e2e_init, builds the topology, runs one function per test case and
# ends with e2e_finish. Output: one line per case, "PASS name",
# "FAIL name: why" or "SKIP name: why"; exit status 1 if anything failed.
#
# Topology (documentation ranges only; the root namespace is never touched):
#
#   client ns            host ns                          container ns
#   eth0 192.0.2.2 ----- ext0 192.0.2.1, 192.0.2.10
#   route 198.51.100/24  br0 198.51.100.1 -- veth ------- eth0 198.51.100.8
#     via 192.0.2.1                       `-- veth ------ eth0 198.51.100.9
#                                                         (second container)
#
# Namespaces, pins and the state file are unique per run and exported as
# BPFPORT_PIN_DIR / BPFPORT_STATE, so the tools and a concurrent run never
# meet. The pins live in the root mount namespace: anything that touches them
# runs under `nsenter --net` (ip netns exec would hide /sys/fs/bpf).

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT_DIR=$(cd "$E2E_DIR/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT_DIR/$BUILD ;; esac

CLIENT_IP=192.0.2.2
HOST_IP=192.0.2.1
HOST_IP2=192.0.2.10
BRIDGE_IP=198.51.100.1
CT_IP=198.51.100.8
CT2_IP=198.51.100.9
# IPv6 (2001:db8::/32, documentation): client and host on 1::/64, bridge 2::/64.
CLIENT_IP6=2001:db8:1::2
HOST_IP6=2001:db8:1::1
HOST_IP6_2=2001:db8:1::10
BRIDGE_IP6=2001:db8:2::1
CT_IP6=2001:db8:2::8
CT2_IP6=2001:db8:2::9
EXT_IF=ext0

RUN_ID=$$-$RANDOM
CLIENT_NS=bpt-client-$RUN_ID
HOST_NS=bpt-host-$RUN_ID
CT_NS=bpt-ctr-$RUN_ID
CT2_NS=bpt-ctr2-$RUN_ID
PIN_DIR=/sys/fs/bpf/bpfport-test-$RUN_ID

NAMESPACES=()  # created (or being created) by this run; cleanup deletes them
PIDS=()        # background processes started by this run
PASSED=0
FAILED=0
SKIPPED=0
WORK=
_CLEANED=

# --- reporting ----------------------------------------------------------------

_oneline() { printf '%s' "$*" | tr '\n\t' '  ' | cut -c1-400; }
pass() { echo "PASS $1"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL $1: $(_oneline "${*:2}")"; FAILED=$((FAILED + 1)); }
skip() { echo "SKIP $1: $(_oneline "${*:2}")"; SKIPPED=$((SKIPPED + 1)); }

e2e_finish() {
	[ "$FAILED" -eq 0 ]
	exit $?
}

# Setup failed: report it as a failure of the script and stop.
die() {
	fail "${SCRIPT_NAME:-e2e}_setup" "$*"
	exit 1
}

# --- running things -----------------------------------------------------------

# in_ns NS CMD...: run CMD in namespace NS, keeping the mount namespace.
in_ns() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" -- "$@"
}

bp() { "$BUILD/bpfport" "$@"; }
# The loader runs in the host namespace once it exists: `load` records that
# namespace as the one the socket path and port reservations serve, so the
# root namespace's sockets and sysctls are never touched.
bpl() {
	if [ -e "/run/netns/$HOST_NS" ]; then
		"$BUILD/bpfport-loader" --netns "$HOST_NS" "$@"
	else
		"$BUILD/bpfport-loader" "$@"
	fi
}
# Loader commands that resolve interface names run in the host namespace.
bplh() { "$BUILD/bpfport-loader" --netns "$HOST_NS" "$@"; }

# capture CMD...: run CMD, leaving stdout in OUT, stderr in ERR, status in RC.
capture() {
	"$@" >"$WORK/out" 2>"$WORK/err"
	RC=$?
	OUT=$(cat "$WORK/out")
	ERR=$(cat "$WORK/err")
	return 0
}

# wait_until SECONDS CMD...: poll CMD every 50 ms until it succeeds or time runs out.
wait_until() {
	local deadline=$((SECONDS + $1))
	shift
	while ! "$@"; do
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.05
	done
	return 0
}

PYTHON=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || echo python3)

# client NS ARGS...: tests/e2e/client.py in namespace NS (see its usage).
client() {
	local ns=$1
	shift
	timeout 120 nsenter --net="/run/netns/$ns" -- "$PYTHON" "$E2E_DIR/client.py" "$@"
}

# reach6 ADDR [NS]: ADDR answers over IPv6 (a datagram to a closed port comes
# back refused), so neighbour discovery has settled on every hop.
reach6() {
	timeout 5 nsenter --net="/run/netns/${2:-$CLIENT_NS}" -- "$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.settimeout(1)
s.connect((sys.argv[1], 9))
s.send(b"x")
try:
    s.recv(1)
except ConnectionRefusedError:
    sys.exit(0)
sys.exit(1)' "$1" 2>/dev/null
}

# udp_refused NS HOST PORT: a connected UDP socket in NS sends one datagram;
# prints "refused" (an ICMP port unreachable reached it), "answered" or "timeout".
udp_refused() {
	timeout 10 nsenter --net="/run/netns/$1" -- "$PYTHON" -c '
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.settimeout(2)
s.connect((sys.argv[1], int(sys.argv[2])))
s.send(b"hello")
try:
    s.recv(100)
    print("answered")
except ConnectionRefusedError:
    print("refused")
except socket.timeout:
    print("timeout")' "$2" "$3"
}

# http_get URL [NS]: one HTTP request with curl (default: from the client ns).
http_get() {
	timeout 10 nsenter --net="/run/netns/${2:-$CLIENT_NS}" -- \
		curl -sS --fail --connect-timeout 2 --max-time 4 "$1"
}

# --- servers ------------------------------------------------------------------

# _start_server NS PROTO ARGS...: start server.py in the background and wait
# (bounded) until it listens; its PID is left in LAST_PID (for stop_pid).
# Returns non-zero if it never became ready.
_start_server() {
	local ns=$1 proto=$2 ready
	shift 2
	ready=$(mktemp -u "$WORK/ready.XXXXXX")
	nsenter --net="/run/netns/$ns" -- "$PYTHON" "$E2E_DIR/server.py" "$proto" \
		--ready "$ready" "$@" >>"$WORK/servers.log" 2>&1 &
	PIDS+=($!)
	LAST_PID=$!
	wait_until 10 test -e "$ready" && return 0
	echo "server $proto $* in $ns did not become ready" >&2
	return 1
}

# start_tcp_server NS PORT...: TCP request/HTTP server on every PORT.
start_tcp_server() {
	local ns=$1 args=() p
	shift
	for p in "$@"; do args+=(--port "$p"); done
	_start_server "$ns" tcp "${args[@]}"
}

# start_udp_server NS PORT: UDP echo server.
start_udp_server() { _start_server "$1" udp --port "$2"; }

# stop_pid PID: stop one server started here (bounded, then SIGKILL).
stop_pid() {
	local pid=$1
	kill "$pid" 2>/dev/null
	wait_until 5 _pid_gone "$pid" || kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}
_pid_gone() { ! kill -0 "$1" 2>/dev/null; }

# --- topology -----------------------------------------------------------------

_new_ns() {
	NAMESPACES+=("$1")
	ip netns add "$1" || return 1
	ip -n "$1" link set lo up
}

_sysctl() {
	local ns=$1
	shift
	in_ns "$ns" sysctl -q -w "$@" >/dev/null
}

# _add_container NS IP IP6 PEER_IF: a container namespace on br0.
_add_container() {
	local ns=$1 ip=$2 ip6=$3 peer=$4
	_new_ns "$ns" &&
		ip -n "$HOST_NS" link add "$peer" type veth peer name eth0 netns "$ns" &&
		ip -n "$HOST_NS" link set "$peer" master br0 up &&
		ip -n "$ns" addr add "$ip/24" dev eth0 &&
		ip -n "$ns" addr add "$ip6/64" dev eth0 nodad &&
		ip -n "$ns" link set eth0 up &&
		ip -n "$ns" route add default via "$BRIDGE_IP" &&
		ip -n "$ns" -6 route add default via "$BRIDGE_IP6" &&
		_sysctl "$ns" net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
}

# setup_topology [--second-container]
setup_topology() {
	_new_ns "$CLIENT_NS" && _new_ns "$HOST_NS" || return 1
	# veth pairs are created inside the namespaces: nothing appears in the root one.
	ip -n "$HOST_NS" link add "$EXT_IF" type veth peer name eth0 netns "$CLIENT_NS" &&
		ip -n "$HOST_NS" addr add "$HOST_IP/24" dev "$EXT_IF" &&
		ip -n "$HOST_NS" addr add "$HOST_IP2/24" dev "$EXT_IF" &&
		ip -n "$HOST_NS" link set "$EXT_IF" up &&
		ip -n "$HOST_NS" link add br0 type bridge stp_state 0 forward_delay 0 &&
		ip -n "$HOST_NS" addr add "$BRIDGE_IP/24" dev br0 &&
		ip -n "$HOST_NS" link set br0 up &&
		_sysctl "$HOST_NS" net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
			net.ipv4.conf.default.rp_filter=0 "net.ipv4.conf.$EXT_IF.rp_filter=0" \
			net.ipv4.conf.br0.rp_filter=0 &&
		ip -n "$CLIENT_NS" addr add "$CLIENT_IP/24" dev eth0 &&
		ip -n "$CLIENT_NS" link set eth0 up &&
		ip -n "$CLIENT_NS" route add 198.51.100.0/24 via "$HOST_IP" &&
		_sysctl "$CLIENT_NS" net.ipv4.conf.all.rp_filter=0 \
			net.ipv4.conf.default.rp_filter=0 &&
		ip -n "$HOST_NS" addr add "$HOST_IP6/64" dev "$EXT_IF" nodad &&
		ip -n "$HOST_NS" addr add "$HOST_IP6_2/64" dev "$EXT_IF" nodad &&
		ip -n "$HOST_NS" addr add "$BRIDGE_IP6/64" dev br0 nodad &&
		_sysctl "$HOST_NS" net.ipv6.conf.all.forwarding=1 &&
		ip -n "$CLIENT_NS" addr add "$CLIENT_IP6/64" dev eth0 nodad &&
		ip -n "$CLIENT_NS" -6 route add 2001:db8:2::/64 via "$HOST_IP6" &&
		_add_container "$CT_NS" "$CT_IP" "$CT_IP6" vct0 || return 1
	if [ "${1:-}" = --second-container ]; then
		_add_container "$CT2_NS" "$CT2_IP" "$CT2_IP6" vct1 || return 1
	fi
	# Wait (bounded) until links and bridge ports pass traffic end to end.
	client "$CLIENT_NS" reach "$CT_IP" --timeout 10 || return 1
	if [ "${1:-}" = --second-container ]; then
		client "$CLIENT_NS" reach "$CT2_IP" --timeout 10 || return 1
	fi
}

# --- datapath -----------------------------------------------------------------

attach() { bplh attach "$EXT_IF" --mode "$1"; }
detach() { bplh detach "$EXT_IF"; }
attached_mode() {
	bplh status -j 2>/dev/null |
		jq -r --arg i "$EXT_IF" '.interfaces[]? | select(.name == $i) | .mode'
}

# Fields of one binding from `bpfport list -j`: list_field HOST_PORT PROTO FIELD
list_field() {
	bp list -j | jq -r --argjson p "$1" --arg pr "$2" --arg f "$3" \
		'.[] | select(.host_port == $p and .proto == $pr) | .[$f]'
}

# --- checksum offload variants ------------------------------------------------

# Veths hand CHECKSUM_PARTIAL packets along and receivers trust them, so by
# default a broken checksum goes unnoticed. set_checksums makes the tests see it:
#   partial  offloads as created: CHECKSUM_PARTIAL end to end (the default)
#   host     tx checksumming off on the host's ext0 and vct0: the host
#            completes the checksum in software after the datapath, as a NIC
#            would, and the receiving stack verifies it (catches a wrong
#            partial-checksum seed)
#   full     tx checksumming off on the client and container too: every
#            packet carries a full checksum that the datapath must update
set_checksums() {
	local on_host=on on_ends=on
	case $1 in
	partial) ;;
	host) on_host=off ;;
	full) on_host=off on_ends=off ;;
	*) return 2 ;;
	esac
	_csum "$HOST_NS" "$EXT_IF" "$on_host" && _csum "$HOST_NS" vct0 "$on_host" &&
		_csum "$CLIENT_NS" eth0 "$on_ends" && _csum "$CT_NS" eth0 "$on_ends"
}
_csum() { in_ns "$1" "$PYTHON" "$E2E_DIR/csum_offload.py" "$2" tx "$3"; }

# --- counters -----------------------------------------------------------------

# counters HOST_PORT PROTO: "rx_packets rx_bytes tx_packets tx_bytes" of a binding.
counters() {
	bp list -j | jq -r --argjson p "$1" --arg pr "$2" \
		'.[] | select(.host_port == $p and .proto == $pr)
		| "\(.rx_packets) \(.rx_bytes) \(.tx_packets) \(.tx_bytes)"'
}

# counters_grew "BEFORE" "AFTER": every one of the four counters increased.
counters_grew() {
	local b a i
	read -ra b <<<"$1"
	read -ra a <<<"$2"
	[ ${#b[@]} -eq 4 ] && [ ${#a[@]} -eq 4 ] || return 1
	for i in 0 1 2 3; do
		[ "${a[$i]}" -gt "${b[$i]}" ] 2>/dev/null || return 1
	done
}

# --- bulk transfers -----------------------------------------------------------

BULK_SIZE=1048576

# bulk_check BASE_URL: 1 MiB down (GET /bulk/N) and 1 MiB up (POST), both
# verified by content: large segments and partial checksums through the NAT.
bulk_check() {
	local base=$1 want got
	if [ ! -e "$WORK/bulk.bin" ]; then
		"$PYTHON" -c "import sys; sys.stdout.buffer.write((bytes(range(256)) * 256 * 64)[:$BULK_SIZE])" \
			>"$WORK/bulk.bin" || return 1
	fi
	want=$(sha256sum <"$WORK/bulk.bin" | cut -d' ' -f1)
	timeout 30 nsenter --net="/run/netns/$CLIENT_NS" -- curl -sS --fail \
		--connect-timeout 2 --max-time 20 -o "$WORK/bulk.down" "$base/bulk/$BULK_SIZE" ||
		{ echo "download failed" >&2; return 1; }
	got=$(sha256sum <"$WORK/bulk.down" | cut -d' ' -f1)
	[ "$got" = "$want" ] ||
		{ echo "download corrupted ($(stat -c %s "$WORK/bulk.down") bytes)" >&2; return 1; }
	got=$(timeout 30 nsenter --net="/run/netns/$CLIENT_NS" -- curl -sS --fail \
		--connect-timeout 2 --max-time 20 --data-binary "@$WORK/bulk.bin" "$base/upload") ||
		{ echo "upload failed" >&2; return 1; }
	case $got in
	*"received=$BULK_SIZE sha256=$want"*) return 0 ;;
	*) echo "upload corrupted: $got" >&2; return 1 ;;
	esac
}

# --- lifecycle ----------------------------------------------------------------

cleanup() {
	[ -n "$_CLEANED" ] && return 0
	_CLEANED=1
	trap - INT TERM
	local pid ns

	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	# Anything else still running inside our namespaces was started by us too.
	for ns in "${NAMESPACES[@]}"; do
		[ -e "/run/netns/$ns" ] || continue
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null; done
	done
	for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
	for ns in "${NAMESPACES[@]}"; do
		[ -e "/run/netns/$ns" ] || continue
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
	done

	if [ -e "$PIN_DIR" ]; then
		# In the host namespace, so that legacy tc filters are found by name.
		if [ -e "/run/netns/$HOST_NS" ]; then
			bplh unload >/dev/null 2>&1
		else
			bpl unload >/dev/null 2>&1
		fi
	fi
	case $PIN_DIR in /sys/fs/bpf/bpfport-test-?*) rm -rf "$PIN_DIR" "$PIN_DIR"-* ;; esac
	for ns in "${NAMESPACES[@]}"; do
		[ -e "/run/netns/$ns" ] && ip netns del "$ns" 2>/dev/null
	done
	case $WORK in /tmp/bpfport-e2e.?*) rm -rf "$WORK" ;; esac
	case ${CGROUP:-} in */bpfport-test-?*) [ -d "$CGROUP" ] && rmdir "$CGROUP" 2>/dev/null ;; esac
	return 0
}

# in_cgroup NS CMD...: run CMD in namespace NS inside this run's cgroup, where
# the socket programs act (as for any host process under the cgroup2 root).
in_cgroup() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" -- sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' \
		"$CGROUP" "$@"
}

# e2e_init NAME: checks, per-run paths and the cleanup trap. Call first.
e2e_init() {
	SCRIPT_NAME=$1
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	if [ "$(id -u)" -ne 0 ]; then
		skip "$SCRIPT_NAME" "needs root (network namespaces, BPF)"
		exit 0
	fi
	local tool
	for tool in nsenter ip tc jq curl timeout "$PYTHON"; do
		command -v "$tool" >/dev/null || die "$tool not installed"
	done
	for tool in bpfport bpfport-loader; do
		[ -x "$BUILD/$tool" ] || die "$BUILD/$tool not built (run make)"
	done
	WORK=$(mktemp -d /tmp/bpfport-e2e.XXXXXX) || die "mktemp failed"
	export BPFPORT_PIN_DIR=$PIN_DIR
	export BPFPORT_STATE=$WORK/state
	# The socket programs go on a cgroup of this run's own, never the root one:
	# only processes a test puts there (in_cgroup) are affected.
	CGROUP=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
	[ -n "$CGROUP" ] || die "no cgroup2 mount"
	CGROUP=$CGROUP/bpfport-test-$RUN_ID
	mkdir "$CGROUP" || die "cannot create cgroup $CGROUP"
	export BPFPORT_CGROUP=$CGROUP
	unset BPFPORT_NO_TCX
}
