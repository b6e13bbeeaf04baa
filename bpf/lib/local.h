/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 *   addr_is_loopback()  127.0.0.0/8, ::1, ::ffff:127.0.0.0/104: never translated from the wire
 *   addr_is_local()     is the address one of this host's own (wildcard match)
 */
#ifndef BPFPORT_LOCAL_H
#define BPFPORT_LOCAL_H

#include "ctx.h"
#include "parse.h"

/* A packet to 127/8 on an external interface is a martian; a binding on
 * 127.0.0.1 must never be reachable from outside the host, nor through its
 * IPv4-mapped IPv6 form ::ffff:127.0.0.0/104. */
static __always_inline bool addr_is_loopback(const struct pkt *p)
{
	const __u32 *a = p->daddr.a;

	if (p->family == BPFPORT_AF_INET)
		return (a[0] & bpf_htonl(0xff000000)) == bpf_htonl(0x7f000000);
	if (a[0] || a[1])
		return false;
	if (a[2] == bpf_htonl(0xffff))
		return (a[3] & bpf_htonl(0xff000000)) == bpf_htonl(0x7f000000);
	return !a[2] && a[3] == bpf_htonl(1);
}

/*
 * A wildcard binding, like Docker's `-m addrtype --dst-type LOCAL`, matches
 * only addresses of this host. Ask the FIB rather than keep a copy of the
 * address list that would go stale: the kernel answers NOT_FWDED for a
 * local route. This runs once per flow, on the first packet only.
 *
 * Known imprecision: the FIB maps "no route at all" (ENETUNREACH) to
 * NOT_FWDED too, so on a host without a default route a packet sent to our
 * MAC for an unroutable address also matches a wildcard binding. It exposes
 * nothing new: the same port answers on every local address anyway.
 * Forwarding must be on, or the FIB answers FWD_DISABLED before looking.
 */
static __always_inline bool addr_is_local(void *ctx, const bool xdp, const struct pkt *p)
{
	struct bpf_fib_lookup fib;
	__u32 dst = bpf_ntohl(p->daddr.a[0]);
	long rc;

	/* The FIB also answers NOT_FWDED for multicast and broadcast. */
	if (p->family == BPFPORT_AF_INET && ((dst & 0xf0000000) == 0xe0000000 || dst == 0xffffffff))
		return false;
	if (p->family == BPFPORT_AF_INET6 && (dst >> 24) == 0xff)
		return false;
	__builtin_memset(&fib, 0, sizeof(fib));
	fib.family = p->family;
	fib.l4_protocol = p->proto;
	fib.sport = p->sport;
	fib.dport = p->dport;
	fib.ifindex = ctx_ifindex(ctx, xdp);
	if (p->family == BPFPORT_AF_INET) {
		fib.ipv4_src = p->saddr.a[0];
		fib.ipv4_dst = p->daddr.a[0];
	} else {
		/* No source: a link-local one makes the FIB answer NOT_FWDED
		 * (rt6_need_strict) whatever the destination. */
		__builtin_memcpy(fib.ipv6_dst, p->daddr.a, sizeof(fib.ipv6_dst));
	}
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	return rc == BPF_FIB_LKUP_RET_NOT_FWDED;
}

#endif /* BPFPORT_LOCAL_H */
