// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bpfport datapath: publish container ports without iptables or a proxy.
 *
 *   xdp_ingress  translate packets to published endpoints (XDP modes)
 *   tc_ingress   the same on TC ingress (--mode tc)
 *   tc_egress    translate replies back on the way out of the interface
 *
 * Every program passes every packet on: bpfport rewrites, it never drops.
 */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "bpfport.h"
#include "lib/translate.h"

/* TC verdict "next": let later programs in a TCX chain see the packet too. */
#define TC_ACT_UNSPEC (-1)

SEC("xdp")
int xdp_ingress(struct xdp_md *ctx)
{
	translate_ingress(ctx, true);
	return XDP_PASS;
}

SEC("tc")
int tc_ingress(struct __sk_buff *skb)
{
	translate_ingress(skb, false);
	return TC_ACT_UNSPEC;
}

SEC("tc")
int tc_egress(struct __sk_buff *skb)
{
	translate_reply(skb, false);
	return TC_ACT_UNSPEC;
}

/* For the benchmark floor and tests: the cheapest possible XDP program. */
SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
