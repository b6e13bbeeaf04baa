// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bpfport datapath: publish container ports without iptables or a proxy.
 *
 *   xdp_ingress  translate packets to published endpoints (XDP modes)
 *   tc_ingress   the same on TC ingress (--mode tc)
 *   tc_egress    translate replies back on the way out of the interface
 *   tc_bridge    the containers' bridge: replies at ingress, and hairpin flows
 *   sock_*       the host's own processes: connect/sendmsg go straight to the
 *                container, getpeername/recvmsg show the published endpoint
 *
 * Packets pass on, rewritten or not; the one exception is a new flow from a
 * source outside a binding's allow-list, which is dropped.
 */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "bpfport.h"
#include "lib/sock.h"
#include "lib/translate.h"

/* TC verdict "next": let later programs in a TCX chain see the packet too. */
#define TC_ACT_UNSPEC (-1)
#define TC_ACT_SHOT 2

SEC("xdp")
int xdp_ingress(struct xdp_md *ctx)
{
	return translate_ingress(ctx, true) == VERDICT_DROP ? XDP_DROP : XDP_PASS;
}

SEC("tc")
int tc_ingress(struct __sk_buff *skb)
{
	return translate_ingress(skb, false) == VERDICT_DROP ? TC_ACT_SHOT : TC_ACT_UNSPEC;
}

/* The containers' bridge (--mode bridge): replies and hairpin flows. */
SEC("tc")
int tc_bridge(struct __sk_buff *skb)
{
	switch (translate_bridge(skb)) {
	case VERDICT_DROP:
		return TC_ACT_SHOT;
	case VERDICT_REDIRECT:
		return bpf_redirect_neigh(skb->ingress_ifindex, NULL, 0, 0);
	default:
		return TC_ACT_UNSPEC;
	}
}

SEC("tc")
int tc_egress(struct __sk_buff *skb)
{
	translate_reply(skb, false);
	return TC_ACT_UNSPEC;
}

/* cgroup sock_addr programs return 1 to let the call proceed. */
#define SOCK_ALLOW 1

SEC("cgroup/connect4")
int sock_connect4(struct bpf_sock_addr *ctx)
{
	sock_redirect(ctx, BPFPORT_AF_INET);
	return SOCK_ALLOW;
}

SEC("cgroup/connect6")
int sock_connect6(struct bpf_sock_addr *ctx)
{
	sock_redirect(ctx, BPFPORT_AF_INET6);
	return SOCK_ALLOW;
}

SEC("cgroup/sendmsg4")
int sock_sendmsg4(struct bpf_sock_addr *ctx)
{
	sock_redirect(ctx, BPFPORT_AF_INET);
	return SOCK_ALLOW;
}

SEC("cgroup/sendmsg6")
int sock_sendmsg6(struct bpf_sock_addr *ctx)
{
	sock_redirect(ctx, BPFPORT_AF_INET6);
	return SOCK_ALLOW;
}

SEC("cgroup/recvmsg4")
int sock_recvmsg4(struct bpf_sock_addr *ctx)
{
	sock_restore(ctx, BPFPORT_AF_INET);
	return SOCK_ALLOW;
}

SEC("cgroup/recvmsg6")
int sock_recvmsg6(struct bpf_sock_addr *ctx)
{
	sock_restore(ctx, BPFPORT_AF_INET6);
	return SOCK_ALLOW;
}

SEC("cgroup/getpeername4")
int sock_getpeername4(struct bpf_sock_addr *ctx)
{
	sock_restore(ctx, BPFPORT_AF_INET);
	return SOCK_ALLOW;
}

SEC("cgroup/getpeername6")
int sock_getpeername6(struct bpf_sock_addr *ctx)
{
	sock_restore(ctx, BPFPORT_AF_INET6);
	return SOCK_ALLOW;
}

#define EADDRINUSE 98

SEC("cgroup/post_bind4")
int sock_post_bind4(struct bpf_sock *sk)
{
	if (!sock_bind_taken(sk, BPFPORT_AF_INET))
		return SOCK_ALLOW;
	bpf_set_retval(-EADDRINUSE);
	return 0;
}

SEC("cgroup/post_bind6")
int sock_post_bind6(struct bpf_sock *sk)
{
	if (!sock_bind_taken(sk, BPFPORT_AF_INET6))
		return SOCK_ALLOW;
	bpf_set_retval(-EADDRINUSE);
	return 0;
}

/* For the benchmark floor and tests: the cheapest possible XDP program. */
SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
