#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The benchmark suite: `make bench` (a few minutes) and `make bench-quick`
# (about two minutes).
#
#   bench/bench.sh [--quick] [--out DIR]
#
# Builds the end-to-end tests' topology (tests/e2e/lib.sh: client, host with a
# bridge, container; documentation addresses only, nothing outside the
# namespaces is touched) with nginx, iperf3 and sockperf servers in the
# container, and measures every way of reaching them, interleaved: each round
# visits every peer in a rotated order, so machine drift spreads over all of
# them, and the report keeps the median of the rounds.
#
#   direct            the client reaches the container's own address (the ceiling)
#   bpfport-native    bpfport, XDP in the veth driver + TC egress
#   bpfport-generic   bpfport, XDP on the skb + TC egress
#   bpfport-tc        bpfport, TC ingress + TC egress
#   iptables-1        DNAT in a DOCKER chain as Docker writes it, our 3 ports only
#   iptables-10k      the same with 10,000 published ports, ours last
#   nft-map-10k       nftables DNAT through a map of 10,000 entries
#   docker-proxy      Docker's userland proxy
#
# Workloads: new connections (HTTP, Connection: close), kept-alive requests,
# bulk TCP (offloads on and off), UDP request/response; latency percentiles.
# New connections are measured two ways, each with the client's SYN
# retransmissions (TcpExtTCPSynRetrans, nstat in the client namespace):
#   conn          a tuned client (ip_local_port_range 1024-65535,
#                 tcp_tw_reuse=1) from a client address no run used before
#   conn_default  the client's default settings, as users have them, and the
#                 sequence users run into: wrk -t1 -c32 -dNs straight to the
#                 container, then the same against the peer (measured), from
#                 one client address. The container holds the direct run's
#                 tuples in TIME_WAIT; a translated SYN that reuses one is
#                 refused until the client retransmits it, unless the
#                 translator gives the flow another client port.
# Then the BPF_PROG_TEST_RUN micro-benchmarks (build/microbench) and the
# control plane (bulk and looped `bpfport add`, `bpfport port`).
#
# Raw records go to DIR/results.tsv; bench/report.py turns them into
# DIR/results.md and DIR/results.png. DIR is bench/ for the full run and
# build/bench/quick/ for the quick one (so a quick run never overwrites the
# committed results).
set -u
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
. "$BENCH_DIR/../tests/e2e/lib.sh"

MODE=full
OUT_DIR='' OPT_PEERS='' OPT_WORKLOADS='' OPT_ROUNDS='' OPT_DUR='' OPT_SEQ='' SKIP_MICRO=''
SKIP_CONTROL=''
WAIT_QUIET=0
usage() {
	cat <<-EOF
		Usage: bench/bench.sh [--quick] [--out DIR] [--peers P,P...] [--workloads W,W...]
		                      [--rounds N] [--duration SECONDS] [--no-micro] [--no-control]
		                      [--seq-duration [DIRECT,]MEASURED] [--wait-quiet SECONDS]
		  --seq-duration: conn_default's direct run and measured run, in seconds
		                (default 3,3: the sequence users report)
		  --wait-quiet: before each measurement, wait up to SECONDS for the machine to be
		                quiet (other CPU use under 15%, no other network namespaces)
		  peers:     direct bpfport-native bpfport-generic bpfport-tc iptables-1
		             iptables-10k nft-map-10k docker-proxy
		  workloads: conn conn_default rps bulk bulk_nooff udp
	EOF
}
while [ $# -gt 0 ]; do
	case $1 in
	--quick) MODE=quick ;;
	--out | --peers | --workloads | --rounds | --duration | --seq-duration | --wait-quiet)
		[ $# -ge 2 ] || { usage >&2; exit 2; }
		case $1 in
		--out) OUT_DIR=$2 ;;
		--peers) OPT_PEERS=${2//,/ } ;;
		--workloads) OPT_WORKLOADS=${2//,/ } ;;
		--rounds) OPT_ROUNDS=$2 ;;
		--duration) OPT_DUR=$2 ;;
		--seq-duration) OPT_SEQ=$2 ;;
		--wait-quiet) WAIT_QUIET=$2 ;;
		esac
		shift
		;;
	--no-micro) SKIP_MICRO=1 ;;
	--no-control) SKIP_CONTROL=1 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done

if [ "$MODE" = full ]; then
	ROUNDS=3 DUR=2 MICRO_ARGS=() LOOP_ADDS=1000 LOOP_ADDS_FULL=100 PORT_CALLS=50
	SEQ_DIRECT=3 SEQ_DUR=3
	WORKLOADS=(conn conn_default rps bulk bulk_nooff udp)
	OUT_DIR=${OUT_DIR:-$ROOT_DIR/bench}
else
	# About two minutes: sockperf spends 2 s warming up whatever the
	# duration, so quick mode leaves UDP (and bulk without offloads) to the
	# full run. conn_default keeps the full sequence (about 7 s a peer): a
	# refused SYN shows only when retransmitted a second later, and a shorter
	# direct run leaves fewer of the client's ports in TIME_WAIT whenever the
	# machine is slower than usual.
	ROUNDS=1 DUR=1 MICRO_ARGS=(-q) LOOP_ADDS=100 LOOP_ADDS_FULL=20 PORT_CALLS=10
	SEQ_DIRECT=3 SEQ_DUR=3
	WORKLOADS=(conn conn_default rps bulk)
	OUT_DIR=${OUT_DIR:-$BUILD/bench/quick}
fi
PEERS=(direct bpfport-native bpfport-generic bpfport-tc iptables-1 iptables-10k nft-map-10k
	docker-proxy)
# shellcheck disable=SC2206 # word lists from the command line
[ -n "$OPT_PEERS" ] && PEERS=($OPT_PEERS)
# shellcheck disable=SC2206
[ -n "$OPT_WORKLOADS" ] && WORKLOADS=($OPT_WORKLOADS)
[ -n "$OPT_ROUNDS" ] && ROUNDS=$OPT_ROUNDS
[ -n "$OPT_DUR" ] && DUR=$OPT_DUR
case $OPT_SEQ in
'') ;;
*,*) SEQ_DIRECT=${OPT_SEQ%%,*} SEQ_DUR=${OPT_SEQ#*,} ;;
*) SEQ_DIRECT=$OPT_SEQ SEQ_DUR=$OPT_SEQ ;;
esac
case "$ROUNDS:$DUR:$SEQ_DIRECT:$SEQ_DUR:$WAIT_QUIET" in
*[!0-9:]* | 0:* | *:0:* | :* | *::*) usage >&2; exit 2 ;;
esac
in_list() { # in_list WORD LIST...
	local w=$1
	shift
	for x in "$@"; do [ "$x" = "$w" ] && return 0; done
	return 1
}
for p in "${PEERS[@]}"; do
	in_list "$p" direct bpfport-native bpfport-generic bpfport-tc iptables-1 iptables-10k \
		nft-map-10k docker-proxy || { echo "bench: unknown peer $p" >&2; exit 2; }
done
for w in "${WORKLOADS[@]}"; do
	in_list "$w" conn conn_default rps bulk bulk_nooff udp ||
		{ echo "bench: unknown workload $w" >&2; exit 2; }
done
FILLER_PORTS=9997 # + our 3 = 10,000 published ports for the 10k peers
CONNS=16          # concurrent connections of wrk
SEQ_CONNS=32      # the same in conn_default's sequence
# The client's settings: tuned for most workloads; conn_default switches to
# the namespace's own defaults (read after the topology is built).
TUNED_RANGE='1024 65535' TUNED_TW_REUSE=1
PROXY=${DOCKER_PROXY:-$BUILD/bench/docker-proxy}
# Load generators on one CPU, servers on another: veth delivers a packet in
# the sender's context, so all the forwarding (and bpfport) of each direction
# runs on a known CPU, and runs do not differ by where the scheduler put
# things. docker-proxy, the forwarder that is a process, is left free.
if [ "$(nproc)" -ge 2 ]; then
	PIN_CLIENT=(taskset -c 0) PIN_SERVER=(taskset -c 1)
else
	PIN_CLIENT=() PIN_SERVER=()
fi
T0=$SECONDS

if [ "$(id -u)" -ne 0 ]; then
	echo "bench: needs root (network namespaces, BPF)" >&2
	exit 1
fi
e2e_init bench
TSV=$WORK/results.tsv

# --- output ------------------------------------------------------------------

log() { printf '[%4ds] %s\n' $((SECONDS - T0)) "$*"; }
# rec FIELD...: one tab-separated record
rec() {
	local IFS=$'\t'
	echo "$*" >>"$TSV"
}
note() {
	log "note: $*"
	rec note "$*"
}

have() { command -v "$1" >/dev/null; }

# --- environment ---------------------------------------------------------------

record_meta() {
	local v
	rec meta mode "$MODE"
	rec meta rounds "$ROUNDS"
	rec meta duration_s "$DUR"
	rec meta seq_direct_s "$SEQ_DIRECT"
	rec meta seq_s "$SEQ_DUR"
	rec meta seq_conns "$SEQ_CONNS"
	rec meta conns "$CONNS"
	rec meta date "$(date -u '+%Y-%m-%d %H:%M UTC')"
	rec meta kernel "$(uname -r)"
	rec meta cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
	rec meta cpus "$(nproc)"
	rec meta memory "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
	# BENCH_COMMIT names the source when it is not a git checkout (an export).
	v=${BENCH_COMMIT:-$(cd "$ROOT_DIR" && git rev-parse --short HEAD 2>/dev/null)}
	[ -n "$(cd "$ROOT_DIR" && git status --porcelain -- bpf lib loader cli 2>/dev/null)" ] &&
		v="$v (with uncommitted changes in bpf/ lib/ loader/ cli/)"
	rec meta commit "$v"
	have wrk && rec meta wrk "$(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
	have iperf3 && rec meta iperf3 "$(iperf3 --version 2>&1 | head -1 | cut -d' ' -f1-2)"
	have sockperf && rec meta sockperf "$(sockperf --version 2>&1 | sed -n 's/.*version \([^ ]*\).*/\1/p' | head -1)"
	have nginx && rec meta nginx "$(nginx -v 2>&1 | sed 's/.*version: //')"
	have iptables && rec meta iptables "$(iptables -V)"
	have nft && rec meta nft "$(nft -v)"
	[ -e "$PROXY.version" ] && rec meta docker_proxy "docker.io $(cat "$PROXY.version")"
	return 0
}

# --- servers in the container ---------------------------------------------------

HTTP_PORT=8080 BULK_PORT=5201 UDP_PORT=7000 # in the container
PUB_HTTP=80 PUB_BULK=5201 PUB_UDP=7000       # published on the host

start_servers() {
	if have nginx; then
		cat >"$WORK/nginx.conf" <<-EOF
			worker_processes 1;
			daemon off;
			pid $WORK/nginx.pid;
			error_log $WORK/nginx.err;
			events { worker_connections 8192; }
			http {
				access_log off;
				keepalive_requests 10000000;
				server {
					listen $CT_IP:$HTTP_PORT reuseport backlog=4096;
					location / { return 200 "ok\n"; }
				}
			}
		EOF
		bg "$CT_NS" "${PIN_SERVER[@]}" nginx -c "$WORK/nginx.conf" -p "$WORK" >>"$WORK/servers.log" 2>&1
		PIDS+=($!)
		wait_until 10 http_get "http://$CT_IP:$HTTP_PORT/" >/dev/null 2>&1 ||
			{ echo "nginx did not start: $(cat "$WORK/nginx.err" 2>/dev/null)" >&2; return 1; }
	fi
	if have iperf3; then
		bg "$CT_NS" "${PIN_SERVER[@]}" iperf3 -s -B "$CT_IP" -p "$BULK_PORT" >>"$WORK/servers.log" 2>&1
		PIDS+=($!)
		wait_until 10 _listening "$CT_NS" -t "$BULK_PORT" || return 1
	fi
	# The UDP server runs only during its workload (wl_udp): it busy-polls.
	return 0
}

# bg NS CMD...: start CMD in namespace NS in the background; $! is CMD itself
# (nsenter execs it), so stop_pid stops the process, not a subshell.
bg() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" -- "$@" &
}

# _listening NS -t|-u PORT
_listening() {
	in_ns "$1" ss -Hln "$2" "sport = :$3" 2>/dev/null | grep -q .
}

# --- peers ---------------------------------------------------------------------
#
# peer_setup NAME sets TARGET (address the client connects to) and the ports;
# peer_teardown NAME undoes it. Between peers the host namespace carries no
# rule, program or proxy.

IPT_NFT=
have iptables && iptables -V 2>/dev/null | grep -q nf_tables && IPT_NFT=1

_ipt_rules() { # _ipt_rules FILLERS: Docker's rules for our 3 ports after FILLERS others
	local n=$1 i p
	echo '*nat'
	echo ':PREROUTING ACCEPT [0:0]'
	echo ':INPUT ACCEPT [0:0]'
	echo ':OUTPUT ACCEPT [0:0]'
	echo ':POSTROUTING ACCEPT [0:0]'
	echo ':DOCKER - [0:0]'
	echo '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER'
	echo '-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER'
	echo "-A POSTROUTING -s $BRIDGE_IP/24 ! -o br0 -j MASQUERADE"
	echo '-A DOCKER -i br0 -j RETURN'
	# Per published port Docker writes a hairpin MASQUERADE, a DNAT and a
	# filter ACCEPT; other containers' ports come first (ours was published last).
	for ((i = 0; i < n; i++)); do
		p=$((10000 + i))
		echo "-A POSTROUTING -s 198.51.100.$((100 + i % 100))/32 -d 198.51.100.$((100 + i % 100))/32 -p tcp -m tcp --dport $p -j MASQUERADE"
		echo "-A DOCKER ! -i br0 -p tcp -m tcp --dport $p -j DNAT --to-destination 198.51.100.$((100 + i % 100)):$p"
	done
	for p in tcp:$PUB_HTTP:$HTTP_PORT tcp:$PUB_BULK:$BULK_PORT udp:$PUB_UDP:$UDP_PORT; do
		IFS=: read -r pr hp cp <<<"$p"
		echo "-A POSTROUTING -s $CT_IP/32 -d $CT_IP/32 -p $pr -m $pr --dport $cp -j MASQUERADE"
		echo "-A DOCKER ! -i br0 -p $pr -m $pr --dport $hp -j DNAT --to-destination $CT_IP:$cp"
	done
	echo 'COMMIT'
	echo '*filter'
	echo ':INPUT ACCEPT [0:0]'
	echo ':FORWARD DROP [0:0]'
	echo ':OUTPUT ACCEPT [0:0]'
	echo ':DOCKER - [0:0]'
	echo '-A FORWARD -o br0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT'
	echo '-A FORWARD -o br0 -j DOCKER'
	echo '-A FORWARD -i br0 ! -o br0 -j ACCEPT'
	echo '-A FORWARD -i br0 -o br0 -j ACCEPT'
	for ((i = 0; i < n; i++)); do
		echo "-A DOCKER -d 198.51.100.$((100 + i % 100))/32 ! -i br0 -o br0 -p tcp -m tcp --dport $((10000 + i)) -j ACCEPT"
	done
	for p in tcp:$HTTP_PORT udp:$UDP_PORT tcp:$BULK_PORT; do
		echo "-A DOCKER -d $CT_IP/32 ! -i br0 -o br0 -p ${p%%:*} -m ${p%%:*} --dport ${p#*:} -j ACCEPT"
	done
	echo 'COMMIT'
}

_nft_rules() { # _nft_rules FILLERS
	local n=$1 i sep=
	echo 'table ip bpfport_bench {'
	echo '	map tcp_pub {'
	echo '		type ipv4_addr . inet_service : ipv4_addr . inet_service'
	printf '\t\telements = { '
	for ((i = 0; i < n; i++)); do
		printf '%s%s . %d : 198.51.100.%d . %d' "$sep" "$HOST_IP" $((10000 + i)) $((100 + i % 100)) $((10000 + i))
		sep=', '
	done
	printf '%s%s . %d : %s . %d, %s . %d : %s . %d }\n' "$sep" "$HOST_IP" "$PUB_HTTP" "$CT_IP" \
		"$HTTP_PORT" "$HOST_IP" "$PUB_BULK" "$CT_IP" "$BULK_PORT"
	echo '	}'
	echo '	map udp_pub {'
	echo '		type ipv4_addr . inet_service : ipv4_addr . inet_service'
	echo "		elements = { $HOST_IP . $PUB_UDP : $CT_IP . $UDP_PORT }"
	echo '	}'
	echo '	chain prerouting {'
	echo '		type nat hook prerouting priority dstnat; policy accept;'
	echo '		dnat ip to ip daddr . tcp dport map @tcp_pub'
	echo '		dnat ip to ip daddr . udp dport map @udp_pub'
	echo '	}'
	echo '}'
}

# Remove every netfilter rule from the host namespace (ours alone: it is ours).
_nf_flush() {
	if [ -n "$IPT_NFT" ] || have nft; then
		in_ns "$HOST_NS" nft flush ruleset 2>/dev/null
	fi
	if [ -z "$IPT_NFT" ] && have iptables; then
		printf '*nat\nCOMMIT\n*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n' |
			in_ns "$HOST_NS" iptables-restore 2>/dev/null
	fi
	_ct_flush
}
_ct_flush() { have conntrack && in_ns "$HOST_NS" conntrack -F >/dev/null 2>&1; return 0; }

PROXY_PIDS=()
_proxy_start() { # _proxy_start PROTO HOST_PORT CONTAINER_PORT
	bg "$HOST_NS" "$PROXY" -proto "$1" -host-ip 0.0.0.0 -host-port "$2" \
		-container-ip "$CT_IP" -container-port "$3" 3>/dev/null >>"$WORK/proxy.log" 2>&1
	PIDS+=($!)
	PROXY_PIDS+=($!)
	wait_until 5 _listening "$HOST_NS" "$([ "$1" = udp ] && echo -u || echo -t)" "$2"
}

# peer_available NAME: empty if it can run here, else why not.
peer_available() {
	case $1 in
	iptables-*) have iptables-restore || echo "iptables-restore not installed" ;;
	nft-*) have nft || echo "nft not installed" ;;
	docker-proxy) [ -x "$PROXY" ] || echo "docker-proxy not available (make bench-deps)" ;;
	esac
}

peer_setup() {
	TARGET=$HOST_IP P_HTTP=$PUB_HTTP P_BULK=$PUB_BULK P_UDP=$PUB_UDP
	case $1 in
	direct) TARGET=$CT_IP P_HTTP=$HTTP_PORT P_BULK=$BULK_PORT P_UDP=$UDP_PORT ;;
	bpfport-*)
		attach "${1#bpfport-}" >"$WORK/attach.out" 2>&1 ||
			{ cat "$WORK/attach.out" >&2; return 1; }
		;;
	iptables-1) in_ns "$HOST_NS" iptables-restore <"$WORK/ipt-1.rules" ;;
	iptables-10k) in_ns "$HOST_NS" iptables-restore <"$WORK/ipt-10k.rules" ;;
	nft-map-10k) in_ns "$HOST_NS" nft -f "$WORK/nft-10k.rules" ;;
	docker-proxy)
		PROXY_PIDS=()
		_proxy_start tcp "$PUB_HTTP" "$HTTP_PORT" && _proxy_start tcp "$PUB_BULK" "$BULK_PORT" &&
			_proxy_start udp "$PUB_UDP" "$UDP_PORT"
		;;
	esac
}

peer_teardown() {
	local pid
	case $1 in
	bpfport-*) detach >/dev/null 2>&1 ;;
	iptables-* | nft-*) _nf_flush ;;
	docker-proxy)
		for pid in "${PROXY_PIDS[@]}"; do stop_pid "$pid"; done
		PROXY_PIDS=()
		;;
	esac
	return 0
}

# --- workloads -----------------------------------------------------------------

# Microseconds from wrk's "77.00us", "1.23ms" or "2.00s".
_usec() {
	awk -v v="$1" 'BEGIN {
		n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
		if (u == "ms") n *= 1000; else if (u == "s") n *= 1000000; else if (u == "m") n *= 60000000
		printf "%.1f", n }'
}

# _wrk OUT ARGS...: wrk from the client; fails unless it reported a rate.
# WRK_CONNS and WRK_DUR, if set, replace CONNS and DUR.
_wrk() {
	local out=$1 c=${WRK_CONNS:-$CONNS} t=${WRK_DUR:-$DUR}
	shift
	timeout $((t + 15)) nsenter --net="/run/netns/$CLIENT_NS" -- \
		"${PIN_CLIENT[@]}" wrk -t1 -c"$c" -d"${t}s" "$@" >"$out" 2>&1 &&
		grep -q '^Requests/sec' "$out"
}
_wrk_rate() { awk '/^Requests\/sec/ { print $2 }' "$1"; }

_wrk_errors() { # socket errors and non-2xx responses, as wrk reports them
	sed -n 's/^ *Socket errors: *//p; s/^ *Non-2xx or 3xx responses: */non-2xx /p' "$1" | tr '\n' ' '
}

# SYN retransmissions of the client: nstat in the client namespace, with a
# history file of our own (the default one is shared with the root
# namespace). _syn_reset starts the count; _syn_report METRIC prints
#   METRIC_syn_retrans  TcpExtTCPSynRetrans since the reset (every SYN sent again)
#   METRIC_opens        TcpActiveOpens since the reset (connections attempted)
#   METRIC_retrans_pct  100 * retransmitted SYNs / connections attempted: an
#                       upper bound on the share of connections that had one
# and prints nothing without nstat.
_nstat() { in_ns "$CLIENT_NS" env NSTAT_HISTORY="$WORK/nstat.history" nstat "$@"; }
_syn_reset() {
	have nstat || return 0
	_nstat -n >/dev/null 2>&1
}
_syn_report() {
	have nstat || return 0
	_nstat -z TcpExtTCPSynRetrans TcpActiveOpens 2>/dev/null | awk -v m="$1" '
		$1 == "TcpExtTCPSynRetrans" { r = $2 } $1 == "TcpActiveOpens" { o = $2 }
		END {
			if (o == "") exit
			printf "%s_syn_retrans %d\n%s_opens %d\n", m, r, m, o
			if (o > 0) printf "%s_retrans_pct %.4f\n", m, 100 * r / o
		}'
}

# bpfport's datapath event counts (`bpfport ct stats`), "name value" per line;
# nothing for other peers. _dp_delta BEFORE AFTER METRIC prints what grew in
# between as METRIC_dp_NAME lines.
_dp_stats() {
	[[ $PEER == bpfport-* ]] || return 0
	bp ct stats -j 2>/dev/null | jq -r 'to_entries[] | select(.value | type == "number")
		| select(.key | test("_(entries|max)$") | not) | "\(.key) \(.value)"' 2>/dev/null
}
_dp_delta() {
	awk -v m="$3" 'NR == FNR { b[$1] = $2; next }
		$2 > b[$1] { printf "%s_dp_%s %d\n", m, $1, $2 - b[$1] }' <(echo "$1") <(echo "$2")
}

# The client's settings: tuned (port range widened, TIME_WAIT reuse on) or
# the namespace's defaults.
_client_settings() { # _client_settings tuned | default
	if [ "$1" = tuned ]; then
		_sysctl "$CLIENT_NS" net.ipv4.ip_local_port_range="$TUNED_RANGE" \
			net.ipv4.tcp_tw_reuse="$TUNED_TW_REUSE"
	else
		_sysctl "$CLIENT_NS" net.ipv4.ip_local_port_range="$DEFAULT_RANGE" \
			net.ipv4.tcp_tw_reuse="$DEFAULT_TW_REUSE"
	fi
}

# Each wl_* prints "metric value" lines on success.
wl_conn() {
	if ! have wrk || ! have nginx; then
		WL_SKIP="wrk or nginx not installed"
		return 1
	fi
	_syn_reset
	_wrk "$WORK/wrk.out" -H 'Connection: close' "http://$TARGET:$P_HTTP/" || return 1
	echo "conn $(_wrk_rate "$WORK/wrk.out")"
	_syn_report conn
	WL_ERR=$(_wrk_errors "$WORK/wrk.out")
}

# New connections as users meet them: default client settings, a run
# straight to the container, then the same through the peer from the same
# client address (for direct, both go to the container). Only the second run
# is measured; nstat counts from its start. The client address is new before
# (no earlier run's tuples) and after (the workloads that follow do not meet
# this one's).
wl_conn_default() {
	if ! have wrk || ! have nginx; then
		WL_SKIP="wrk or nginx not installed"
		return 1
	fi
	local rc=1 warm='' dp0='' dp1=''
	new_client_src || { WL_FAIL="cannot set a new client address"; return 1; }
	_client_settings default
	# wrk waits out its timeout when nothing answers: check first.
	if ! http_get "http://$CT_IP:$HTTP_PORT/" >/dev/null 2>&1; then
		WL_FAIL="the container does not answer directly (http://$CT_IP:$HTTP_PORT/) with this peer in place"
	elif WRK_CONNS=$SEQ_CONNS WRK_DUR=$SEQ_DIRECT _wrk "$WORK/wrk-direct.out" \
		-H 'Connection: close' "http://$CT_IP:$HTTP_PORT/"; then
		warm=$(_wrk_rate "$WORK/wrk-direct.out")
		dp0=$(_dp_stats)
		_syn_reset
		WRK_CONNS=$SEQ_CONNS WRK_DUR=$SEQ_DUR _wrk "$WORK/wrk.out" \
			-H 'Connection: close' "http://$TARGET:$P_HTTP/" && rc=0
		[ $rc -eq 0 ] || WL_FAIL="measured run: $(_oneline "$(tail -n 2 "$WORK/wrk.out")")"
		_syn_report conn_default >"$WORK/syn.out"
		dp1=$(_dp_stats)
	else
		WL_FAIL="direct run: $(_oneline "$(tail -n 2 "$WORK/wrk-direct.out")")"
	fi
	_client_settings tuned
	new_client_src
	[ $rc -eq 0 ] || return 1
	echo "conn_default $(_wrk_rate "$WORK/wrk.out")"
	echo "conn_default_direct_run $warm"
	cat "$WORK/syn.out"
	[ -n "$dp0" ] && _dp_delta "$dp0" "$dp1" conn_default
	WL_ERR=$(_wrk_errors "$WORK/wrk.out")
	return 0
}

wl_rps() {
	if ! have wrk || ! have nginx; then
		WL_SKIP="wrk or nginx not installed"
		return 1
	fi
	_wrk "$WORK/wrk.out" --latency "http://$TARGET:$P_HTTP/" || return 1
	echo "rps $(awk '/^Requests\/sec/ { print $2 }' "$WORK/wrk.out")"
	echo "rps_p50 $(_usec "$(awk '$1 == "50%" { print $2 }' "$WORK/wrk.out")")"
	echo "rps_p99 $(_usec "$(awk '$1 == "99%" { print $2 }' "$WORK/wrk.out")")"
	WL_ERR=$(_wrk_errors "$WORK/wrk.out")
}

_iperf() { # _iperf METRIC
	have iperf3 || { WL_SKIP="iperf3 not installed"; return 1; }
	timeout $((DUR + 15)) nsenter --net="/run/netns/$CLIENT_NS" -- \
		"${PIN_CLIENT[@]}" iperf3 -c "$TARGET" -p "$P_BULK" -t "$DUR" -J >"$WORK/iperf.json" 2>&1 || return 1
	echo "$1 $(jq '.end.sum_received.bits_per_second / 1e9' "$WORK/iperf.json")"
}
wl_bulk() { _iperf bulk; }

# Offloads off on every device of the path: no TSO/GSO on send, no GRO on
# receive, so every hop handles MTU-sized packets.
OFFLOAD_DEVS=("$CLIENT_NS eth0" "$HOST_NS $EXT_IF" "$HOST_NS br0" "$HOST_NS vct0" "$CT_NS eth0")
_offloads() { # _offloads off | restore
	local d ns dev
	for d in "${OFFLOAD_DEVS[@]}"; do
		read -r ns dev <<<"$d"
		if [ "$1" = off ]; then
			in_ns "$ns" ethtool -K "$dev" tso off gso off gro off >/dev/null 2>&1
		else
			# shellcheck disable=SC2046 # the saved "feature state" words
			in_ns "$ns" ethtool -K "$dev" $(cat "$WORK/offloads.$ns.$dev") >/dev/null 2>&1
		fi
	done
	return 0
}
_offloads_save() {
	local d ns dev
	for d in "${OFFLOAD_DEVS[@]}"; do
		read -r ns dev <<<"$d"
		in_ns "$ns" ethtool -k "$dev" 2>/dev/null | awk '
			/^tcp-segmentation-offload:/ { print "tso", $2 }
			/^generic-segmentation-offload:/ { print "gso", $2 }
			/^generic-receive-offload:/ { print "gro", $2 }' >"$WORK/offloads.$ns.$dev"
	done
}
wl_bulk_nooff() {
	have ethtool || { WL_SKIP="ethtool not installed"; return 1; }
	local rc
	_offloads off
	_iperf bulk_nooff
	rc=$?
	_offloads restore
	return $rc
}

# Both ends busy-poll (the server on epoll with a zero timeout, the client on
# a non-blocking socket): a CPU that halts between packets makes a virtual
# machine's wake-up latency, not the path, set the rate, and that latency
# varies several-fold from run to run. The server runs only here, since it
# keeps its CPU busy.
wl_udp() {
	have sockperf || { WL_SKIP="sockperf not installed"; return 1; }
	local out=$WORK/sockperf.out srv rc=0
	bg "$CT_NS" "${PIN_SERVER[@]}" sockperf sr -i "$CT_IP" -p "$UDP_PORT" --timeout 0 \
		>>"$WORK/servers.log" 2>&1
	srv=$!
	PIDS+=("$srv")
	if wait_until 5 _listening "$CT_NS" -u "$UDP_PORT"; then
		timeout $((DUR + 15)) nsenter --net="/run/netns/$CLIENT_NS" -- \
			"${PIN_CLIENT[@]}" sockperf pp -i "$TARGET" -p "$P_UDP" -t "$DUR" --full-rtt \
			--nonblocked >"$out" 2>&1 || rc=1
	else
		rc=1
	fi
	stop_pid "$srv"
	[ $rc -eq 0 ] || { tail -n 3 "$out" "$WORK/servers.log" >&2; return 1; }
	awk '/Valid Duration/ {
		for (i = 1; i <= NF; i++) {
			split($i, kv, "=")
			if (kv[1] == "RunTime") t = kv[2] + 0
			if (kv[1] == "ReceivedMessages") n = kv[2] + 0
		}
	} END { if (t > 0) printf "udp %.0f\n", n / t; else exit 1 }' "$out" || return 1
	echo "udp_p50 $(awk '/percentile 50.000/ { print $NF }' "$out")"
	echo "udp_p99 $(awk '/percentile 99.000/ { print $NF }' "$out")"
}

# --- the traffic rounds ----------------------------------------------------------

# Every peer run connects from a client address of its own. The server keeps
# TIME_WAIT sockets for a minute after each closed connection, and a SYN that
# reuses such a tuple is accepted only if its sequence number and timestamp
# are newer. Both are derived per destination address, so connections to the
# host (published) and to the container (direct) from the same client ports
# would clash, and SYNs would wait for retransmission: the previous peer's
# connections would slow down the next one.
# The machine must be ours while we measure. Before each measurement: is
# anyone else using the CPUs (sampled while we are idle), and are there
# network namespaces that are not ours (someone running tests)? With
# --wait-quiet, wait (bounded) for both to clear; the report flags every
# measurement that started on a busy machine.
_cpu_busy() { # percent of CPU time spent outside idle over 0.3 s
	local a b
	a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
	sleep 0.3
	b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
	awk -v a="$a" -v b="$b" 'BEGIN {
		split(a, x, " "); split(b, y, " "); busy = y[1] - x[1]; idle = y[2] - x[2]
		printf "%d", ((busy + idle) > 0 ? 100 * busy / (busy + idle) : 0) }'
}
_foreign_netns() { # ours all end in -$RUN_ID (tests/e2e/lib.sh)
	ip netns list 2>/dev/null | awk '{ print $1 }' | grep -c -v -e "-$RUN_ID\$"
}
wait_quiet() { # wait_quiet WHAT
	local deadline=$((SECONDS + WAIT_QUIET)) cpu ns
	while :; do
		cpu=$(_cpu_busy)
		ns=$(_foreign_netns)
		[ "$cpu" -lt 15 ] && [ "$ns" -eq 0 ] && return 0
		if [ "$SECONDS" -ge "$deadline" ]; then
			rec busy "$1" "other CPU use ${cpu}%, $ns other network namespaces"
			return 1
		fi
		sleep 1
	done
}

CLIENT_SRC_N=0
new_client_src() {
	local src
	CLIENT_SRC_N=$((CLIENT_SRC_N + 1))
	src=192.0.2.$((100 + CLIENT_SRC_N % 150))
	ip -n "$CLIENT_NS" addr add "$src/32" dev eth0 2>/dev/null
	ip -n "$CLIENT_NS" route replace 192.0.2.0/24 dev eth0 src "$src" &&
		ip -n "$CLIENT_NS" route replace 198.51.100.0/24 via "$HOST_IP" src "$src"
}

# Someone else's tests create network namespaces: a monitor notes every
# half second in which one exists, and a workload that overlapped such a
# moment is run again (twice at most, after waiting for quiet), or flagged.
start_monitor() {
	: >"$WORK/foreign"
	(
		trap 'exit 0' TERM
		while :; do
			[ "$(_foreign_netns)" -gt 0 ] && date +%s >>"$WORK/foreign"
			sleep 0.5
		done
	) &
	PIDS+=($!)
}
_overlapped() { # _overlapped START END: was anyone else around in [START, END]?
	awk -v a="$1" -v b="$2" '$1 >= a && $1 <= b { found = 1 } END { exit !found }' "$WORK/foreign"
}

# run_workload WL WHAT: wl_WL into $WORK/wl.out, again if others overlapped it.
run_workload() {
	local wl=$1 what=$2 try t0 rc
	for try in 1 2 3; do
		t0=$(date +%s)
		"wl_$wl" >"$WORK/wl.out"
		rc=$?
		[ $rc -eq 0 ] || return $rc
		_overlapped "$t0" "$(date +%s)" || return 0
		if [ $try -eq 3 ]; then
			rec busy "$what $wl" "other network namespaces appeared during all 3 tries"
			return 0
		fi
		log "$what $wl: other tests ran meanwhile; measuring again"
		wait_quiet "$what $wl"
	done
}

run_peer() { # run_peer ROUND PEER
	local r=$1 peer=$2 wl out metric value why
	PEER=$peer
	why=$(peer_available "$peer")
	if [ -n "$why" ]; then
		[ "$r" -eq 1 ] && { note "$peer skipped: $why"; rec skip "$peer" "$why"; }
		return 0
	fi
	new_client_src || { note "$peer round $r: cannot set a new client address"; return 0; }
	wait_quiet "$peer round $r"
	_ct_flush
	if ! peer_setup "$peer" 2>"$WORK/setup.err"; then
		note "$peer round $r: setup failed: $(_oneline "$(cat "$WORK/setup.err")")"
		peer_teardown "$peer"
		return 0
	fi
	# The path must work before it is measured (nothing else answers there).
	if have curl && have nginx && ! http_get "http://$TARGET:$P_HTTP/" >/dev/null 2>&1; then
		note "$peer round $r: http://$TARGET:$P_HTTP/ does not answer; peer not measured"
		peer_teardown "$peer"
		return 0
	fi
	for wl in "${WORKLOADS[@]}"; do
		WL_SKIP='' WL_ERR='' WL_FAIL=''
		_ct_flush
		if run_workload "$wl" "$peer round $r"; then
			out=$(cat "$WORK/wl.out")
			while read -r metric value; do
				[ -n "$metric" ] || continue
				rec traffic "$metric" "$peer" "$r" "$value"
			done <<<"$out"
			log "round $r $peer $wl: $(tr '\n' ' ' <<<"$out")${WL_ERR:+ (errors: $WL_ERR)}"
			[ -n "$(tr -d ' 0' <<<"$WL_ERR")" ] && rec errors "$wl" "$peer" "$r" "$WL_ERR"
		elif [ -n "$WL_SKIP" ]; then
			[ "$r" -eq 1 ] && note "$wl skipped: $WL_SKIP"
		else
			note "$peer round $r: $wl failed${WL_FAIL:+: $WL_FAIL}"
		fi
	done
	if [[ $peer == bpfport-* ]]; then
		[ "$(attached_mode)" = "${peer#bpfport-}" ] ||
			note "$peer round $r: attached mode is '$(attached_mode)' after the run"
	fi
	peer_teardown "$peer"
}

run_traffic() {
	local r i n=${#PEERS[@]}
	for ((r = 1; r <= ROUNDS; r++)); do
		# Rotate the order each round so no peer always runs first or last.
		for ((i = 0; i < n; i++)); do
			run_peer "$r" "${PEERS[$(((i + r - 1) % n))]}"
		done
	done
}

# --- control plane ---------------------------------------------------------------

# _ms CMD...: run CMD, print its wall time in milliseconds (fails with CMD).
_ms() {
	local t0 t1
	t0=$(date +%s%N)
	"$@" >/dev/null 2>"$WORK/cp.err" || return 1
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}

# Host ports here lie outside the host namespace's ephemeral range (32768-
# 60999), where sockets left by the traffic runs would make `add` refuse them.
_add_loop() { # _add_loop FIRST COUNT: one `bpfport add` per port
	local p
	for ((p = $1; p < $1 + $2; p++)); do
		bp --netns "$HOST_NS" add "0.0.0.0:$p -> $CT2_IP:8080/tcp" || return 1
	done
}

_port_calls() { # _port_calls N CONTAINER
	local i
	for ((i = 0; i < $1; i++)); do bp port "$2" >/dev/null || return 1; done
}

_batch_add() { # _batch_add FIRST COUNT [ID]: one command, one -p range
	local last=$(($1 + $2 - 1))
	bp --netns "$HOST_NS" add --id "${3:-batch}" --ip 198.51.100.50 -p "$1-$last:$1-$last"
}

_batch_split() { # 10 commands of 1,000 ports: 10,000 bindings
	local i
	for ((i = 0; i < 10; i++)); do
		_batch_add $((20000 + i * 1000)) 1000 "batch$i" || return 1
	done
}

# Own pins and state file, so that nothing here touches the traffic runs.
_cp_reset() {
	bpl unload >/dev/null 2>&1
	case $BPFPORT_PIN_DIR in "$PIN_DIR"-cp) rm -rf "$BPFPORT_PIN_DIR" ;; esac
	rm -f "$BPFPORT_STATE"
	bpl load >/dev/null
}

run_control_plane() {
	local saved_pin=$BPFPORT_PIN_DIR saved_state=$BPFPORT_STATE ms n
	export BPFPORT_PIN_DIR=$PIN_DIR-cp BPFPORT_STATE=$WORK/state-cp
	_cp_reset || { note "control plane: bpfport-loader load failed"; return; }

	# A loop of adds from an empty state: the per-add cost of a small host.
	if ms=$(_ms _add_loop 61000 "$LOOP_ADDS"); then
		rec control add_loop_empty "$LOOP_ADDS" "$ms"
	else
		note "control plane: add loop failed: $(_oneline "$(cat "$WORK/cp.err")")"
	fi
	ms=$(_ms _port_calls "$PORT_CALLS" "$CT2_IP") && rec control port_small "$PORT_CALLS" "$ms"
	_cp_reset

	# 10,000 bindings in one command (one -p range).
	if ms=$(_ms _batch_add 20000 10000); then
		rec control batch_10k_one_cmd 1 "$ms"
		if bp list >/dev/null 2>"$WORK/cp.err"; then
			rec control batch_10k_state_ok 1 1
		else
			rec control batch_10k_state_ok 1 0
			note "control plane: after adding 10,000 ports in one command, bpfport cannot read its state file back: $(_oneline "$(cat "$WORK/cp.err")")"
		fi
	else
		note "control plane: one-command add of 10,000 failed: $(_oneline "$(cat "$WORK/cp.err")")"
	fi
	_cp_reset

	# 10,000 bindings as 10 commands of 1,000, then per-add and port at that size.
	if ms=$(_ms _batch_split); then
		rec control batch_10k_10cmd 10 "$ms"
		ms=$(_ms _add_loop 62000 "$LOOP_ADDS_FULL") && rec control add_loop_10k "$LOOP_ADDS_FULL" "$ms"
		ms=$(_ms _port_calls "$PORT_CALLS" batch5) && rec control port_10k "$PORT_CALLS" "$ms"
	else
		note "control plane: adding 10 x 1,000 ports failed: $(_oneline "$(cat "$WORK/cp.err")")"
	fi

	# For comparison: loading Docker's rules for 10,000 ports with iptables-restore.
	if have iptables-restore; then
		ms=$(_ms in_ns "$HOST_NS" iptables-restore "$WORK/ipt-10k.rules") &&
			rec control iptables_restore_10k 1 "$ms"
		_nf_flush
	fi
	if have nft; then
		ms=$(_ms in_ns "$HOST_NS" nft -f "$WORK/nft-10k.rules") && rec control nft_10k 1 "$ms"
		_nf_flush
	fi

	bpl unload >/dev/null 2>&1
	export BPFPORT_PIN_DIR=$saved_pin BPFPORT_STATE=$saved_state
}

# --- main ------------------------------------------------------------------------

log "bpfport benchmarks ($MODE: $ROUNDS round(s) of ${DUR}s per workload); raw records in $TSV"
record_meta

for t in wrk iperf3 sockperf nginx ethtool conntrack gnuplot nstat; do
	have "$t" || note "$t is not installed (make bench-deps); what needs it is skipped"
done

start_monitor
if [ -n "$SKIP_MICRO" ]; then
	:
elif [ -x "$BUILD/microbench" ]; then
	log "micro-benchmarks (BPF_PROG_TEST_RUN)"
	wait_quiet micro-benchmarks
	t0=$(date +%s)
	timeout 300 "$BUILD/microbench" "${MICRO_ARGS[@]}" >"$WORK/micro.out" 2>"$WORK/micro.err" ||
		note "microbench failed: $(_oneline "$(cat "$WORK/micro.err")")"
	_overlapped "$t0" "$(date +%s)" &&
		rec busy micro-benchmarks "other network namespaces appeared meanwhile"
	grep -v '^#' "$WORK/micro.out" >>"$TSV"
	grep '^micro' "$WORK/micro.out" | awk -F'\t' '{ printf "    %-18s n=%-8s %7s ns (floor %s)\n", $2, $3, $4, $5 }'
else
	note "$BUILD/microbench not built (make $BUILD/microbench); micro-benchmarks skipped"
fi

log "topology and servers"
setup_topology --second-container || die "cannot build the topology"
# The client namespace's own defaults (what a user's client has), then tuned.
DEFAULT_RANGE=$(in_ns "$CLIENT_NS" sysctl -n net.ipv4.ip_local_port_range | tr -s '\t ' ' ')
DEFAULT_TW_REUSE=$(in_ns "$CLIENT_NS" sysctl -n net.ipv4.tcp_tw_reuse)
rec meta client_default "ip_local_port_range $DEFAULT_RANGE, tcp_tw_reuse $DEFAULT_TW_REUSE"
rec meta client_tuned "ip_local_port_range $TUNED_RANGE, tcp_tw_reuse $TUNED_TW_REUSE"
_client_settings tuned
_sysctl "$CT_NS" net.core.somaxconn=4096 net.ipv4.tcp_max_syn_backlog=4096
start_servers || die "cannot start the servers"
have ethtool && _offloads_save
_ipt_rules 0 >"$WORK/ipt-1.rules"
_ipt_rules "$FILLER_PORTS" >"$WORK/ipt-10k.rules"
_nft_rules "$FILLER_PORTS" >"$WORK/nft-10k.rules"

capture bpl load
[ "$RC" -eq 0 ] || die "bpfport-loader load: $ERR"
capture bp --netns "$HOST_NS" add --id bench --name bench \
	-p "$PUB_HTTP:$HTTP_PORT" -p "$PUB_BULK:$BULK_PORT" -p "$PUB_UDP:$UDP_PORT/udp" --ip "$CT_IP"
[ "$RC" -eq 0 ] || die "bpfport add: $ERR"
# conn_default's client reaches the container directly, as with Docker's
# iptables rules here: where bpfport can drop direct access to containers,
# allow it (only conn_default's direct run sends such packets through it).
if [[ " ${WORKLOADS[*]} " == *" conn_default "* ]] &&
	bp config set direct-access allow >/dev/null 2>&1; then
	rec meta bpfport_direct_access allow
fi

log "traffic: ${PEERS[*]}"
run_traffic

if [ -z "$SKIP_CONTROL" ]; then
	log "control plane"
	run_control_plane
fi

mkdir -p "$OUT_DIR"
cp "$TSV" "$OUT_DIR/results.tsv"
log "report"
"$PYTHON" "$BENCH_DIR/report.py" "$OUT_DIR/results.tsv" --md "$OUT_DIR/results.md" \
	--png "$OUT_DIR/results.png" || echo "bench: report failed" >&2
log "done: $OUT_DIR/results.md $OUT_DIR/results.png"
