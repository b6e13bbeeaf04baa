#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# ICMP errors about translated flows reach the right socket: a closed UDP port
# in the container gives the client ECONNREFUSED (IPv4 and IPv6); a
# fragmentation-needed error from the host reaches the client's socket as a
# path MTU; one sent by the client side about the container's replies lowers
# the container's path MTU. Without translation each of these black-holes.
. "$(dirname "$0")/lib.sh"
e2e_init test_icmp

# pmtu HOST PORT: send 1400 bytes with DF set; print the socket's path MTU.
PMTU='
import socket, sys, time
IP_MTU_DISCOVER, IP_PMTUDISC_DO, IP_MTU = 10, 2, 14
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
s.connect((sys.argv[1], int(sys.argv[2])))
for _ in range(3):
    try:
        s.send(b"x" * 1400)
    except OSError:
        pass
    time.sleep(0.3)
print(s.getsockopt(socket.IPPROTO_IP, IP_MTU))'

# frag_needed SRC DST QSRC QSPORT QDST QDPORT MTU: a raw ICMP fragmentation-needed
# error quoting a UDP packet QSRC:QSPORT -> QDST:QDPORT.
FRAG_NEEDED='
import socket, struct, sys
def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff
src, dst, qsrc, qsport, qdst, qdport, mtu = sys.argv[1:8]
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + 8 + 100, 1, 0x4000, 64, 17, 0,
                 socket.inet_aton(qsrc), socket.inet_aton(qdst))
ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
udp = struct.pack("!HHHH", int(qsport), int(qdport), 108, 0)
icmp = struct.pack("!BBHHH", 3, 4, 0, 0, int(mtu)) + ip + udp
icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.sendto(icmp, (dst, 0))'

pyc() { local ns=$1 code=$2; shift 2; timeout 10 nsenter --net="/run/netns/$ns" -- "$PYTHON" -c "$code" "$@"; }

test_port_unreachable() {
	local mode=$1 got
	got=$(udp_refused "$CLIENT_NS" "$HOST_IP" 54)
	[ "$got" = refused ] && pass "icmp_${mode}_port_unreachable_ipv4" ||
		fail "icmp_${mode}_port_unreachable_ipv4" "connected UDP socket got '$got', want refused"
	got=$(udp_refused "$CLIENT_NS" "$HOST_IP6" 54)
	[ "$got" = refused ] && pass "icmp_${mode}_port_unreachable_ipv6" ||
		fail "icmp_${mode}_port_unreachable_ipv6" "connected UDP socket got '$got', want refused"
}

# The host cannot forward 1400 bytes into the 1280-byte bridge: its error,
# translated on the way out, tells the client's socket.
test_frag_needed_to_client() {
	local got
	got=$(pyc "$CLIENT_NS" "$PMTU" "$HOST_IP" 53)
	if [ "$got" = 1280 ]; then
		pass icmp_frag_needed_reaches_client
	else
		fail icmp_frag_needed_reaches_client "client's path MTU to $HOST_IP is '$got', want 1280"
	fi
}

# An error from the client side about a reply goes to the container.
test_frag_needed_to_container() {
	local port=40111 got
	client "$CLIENT_NS" udp "$HOST_IP" 53 --src-port $port --timeout 3 >/dev/null 2>&1
	pyc "$CLIENT_NS" "$FRAG_NEEDED" "$CLIENT_IP" "$HOST_IP" "$HOST_IP" 53 "$CLIENT_IP" $port 1100
	sleep 0.3
	got=$(ip -n "$CT_NS" route get "$CLIENT_IP" 2>&1)
	if [[ $got == *"mtu 1100"* ]]; then
		pass icmp_frag_needed_reaches_container
	else
		fail icmp_frag_needed_reaches_container "container's route to the client: $got"
	fi
}

setup_topology || die "topology setup failed"
bpl load || die "load failed"
start_udp_server "$CT_NS" 5353 || die "UDP server"
bp add --id web "0.0.0.0:53 -> $CT_IP:5353/udp" || die "add 53"
bp add --id web "0.0.0.0:54 -> $CT_IP:5454/udp" || die "add 54 (closed)"
bp add --id web6 "[::]:54 -> [$CT_IP6]:5454/udp" || die "add [::]:54 (closed)"
# ICMP rate limits would hide repeated errors; the container owes us a few.
in_ns "$CT_NS" sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0
# Neighbour discovery settles first: the container's closed port, directly.
ipv6_ready() { [ "$(udp_refused "$CLIENT_NS" "$CT_IP6" 5454)" = refused ]; }
wait_until 15 ipv6_ready || die "container unreachable over IPv6"
for mode in native tc; do
	attach "$mode" || die "attach $mode"
	test_port_unreachable "$mode"
	detach >/dev/null 2>&1
done
attach tc || die "attach tc"
ip -n "$HOST_NS" link set vct0 mtu 1280 && ip -n "$CT_NS" link set eth0 mtu 1280 || die "mtu"
test_frag_needed_to_client
test_frag_needed_to_container
e2e_finish
