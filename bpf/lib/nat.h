/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Address and port rewriting with checksum fix-ups.
 *
 *   nat_rewrite()  ingress: published endpoint -> container endpoint
 *                  reply:   container endpoint -> published endpoint
 *                  (plus the client port, where it had to be remapped)
 *
 * XDP writes the packet directly and patches checksums itself. TC goes
 * through bpf_skb_store_bytes() and bpf_l3/l4_csum_replace(), which keep
 * partial (CHECKSUM_PARTIAL) and complete (CHECKSUM_COMPLETE) skbs right.
 * Either way every packet pointer is stale afterwards; callers must not use
 * one they read before.
 */
#ifndef BPFPORT_NAT_H
#define BPFPORT_NAT_H

#include "csum.h"
#include "ctx.h"
#include "parse.h"

/* Wire-format offsets (see parse.h on why not offsetof). */
#define IPV4_SADDR_OFF 12
#define IPV4_DADDR_OFF 16
#define IPV4_CSUM_OFF 10
#define IPV6_SADDR_OFF 8
#define IPV6_DADDR_OFF 24

/*
 * One rewrite: the destination (ingress) or source (reply) address and
 * port, and optionally the port on the other side, for flows whose client
 * port had to be remapped (peer_port 0: leave it), and the address on the
 * other side, for hairpin flows.
 */
struct nat_op {
	bool dst;
	bool has_peer_addr;
	struct bpfport_addr addr;
	struct bpfport_addr peer_addr; /* the other address (hairpin), if has_peer_addr */
	__be16 port;
	__be16 peer_port;
};

/*
 * XDP cannot see whether a packet's L4 checksum is complete or partial. A
 * partial one (a local stack behind a veth) holds exactly the pseudo-header
 * seed, so that is what we test for. A complete checksum equal to its own
 * seed happens for 1 packet in 65536 and would be updated wrongly; only
 * virtual interfaces deliver partial packets, so a physical NIC never needs
 * the test, but XDP cannot tell those apart either.
 */
static __always_inline bool l4_csum_is_partial(const struct pkt *p, __u16 csum)
{
	__u16 seed = csum_pseudo_seed(&p->saddr, &p->daddr, p->family, p->proto,
				      (__u16)(p->l3_len - (p->l4_off - p->l3_off)));

	return csum == seed;
}

/* XDP: the address in the IP header, with the IPv4 header checksum. */
static __always_inline int xdp_rewrite_l3(void *ctx, const struct pkt *p, const struct nat_op *op)
{
	void *data = ctx_data(ctx, true), *data_end = ctx_data_end(ctx, true);
	__u32 l3_off = p->l3_off;

	/* The verifier loses the offset's bounds across the stack: restate them. */
	if (l3_off > PARSE_L3_OFF_MAX)
		return -1;
	if (p->family == BPFPORT_AF_INET) {
		struct iphdr *iph = data + l3_off;
		__u32 *field;

		if ((void *)(iph + 1) > data_end)
			return -1;
		field = op->dst ? &iph->daddr : &iph->saddr;
		csum_replace4(&iph->check, *field, op->addr.a[0]);
		*field = op->addr.a[0];
	} else {
		struct ipv6hdr *ip6 = data + l3_off;

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		if (op->dst)
			__builtin_memcpy(&ip6->daddr, op->addr.a, sizeof(op->addr.a));
		else
			__builtin_memcpy(&ip6->saddr, op->addr.a, sizeof(op->addr.a));
	}
	return 0;
}

/* A UDP checksum of zero means "none" and stays zero; a computed zero is sent
 * as 0xffff (RFC 768). */
static __always_inline int nat_rewrite_xdp(void *ctx, const struct pkt *p, const struct nat_op *op)
{
	void *data = ctx_data(ctx, true), *data_end = ctx_data_end(ctx, true);
	const struct bpfport_addr *old = op->dst ? &p->daddr : &p->saddr;
	__u16 *l4_csum = data + pkt_l4_csum_off(p);
	__be16 *ports = data + p->l4_off;
	__be16 *port = &ports[op->dst ? 1 : 0], *peer = &ports[op->dst ? 0 : 1];

	if ((void *)(l4_csum + 1) > data_end || (void *)(ports + 2) > data_end)
		return -1;

	const struct bpfport_addr *old_peer = op->dst ? &p->saddr : &p->daddr;

	if (l4_csum_is_partial(p, *l4_csum)) {
		/* Ports are payload to a partial checksum: only the seed changes. */
		csum_seed_replace_addr(l4_csum, old, &op->addr, p->family);
		if (op->has_peer_addr)
			csum_seed_replace_addr(l4_csum, old_peer, &op->peer_addr, p->family);
	} else if (p->proto == IPPROTO_TCP || *l4_csum) {
		csum_replace_addr(l4_csum, old, &op->addr, p->family);
		csum_replace2(l4_csum, *port, op->port);
		if (op->peer_port)
			csum_replace2(l4_csum, *peer, op->peer_port);
		if (op->has_peer_addr)
			csum_replace_addr(l4_csum, old_peer, &op->peer_addr, p->family);
		if (p->proto == IPPROTO_UDP && !*l4_csum)
			*l4_csum = 0xffff;
	}
	*port = op->port;
	if (op->peer_port)
		*peer = op->peer_port;
	if (op->has_peer_addr) {
		struct nat_op peer_op = { .dst = !op->dst, .addr = op->peer_addr };

		if (xdp_rewrite_l3(ctx, p, &peer_op))
			return -1;
	}
	return xdp_rewrite_l3(ctx, p, op);
}

static __always_inline int skb_rewrite_port(struct __sk_buff *skb, const struct pkt *p, __u32 off,
					    __be16 from, __be16 to)
{
	__u64 l4_flags = p->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;

	if (bpf_l4_csum_replace(skb, pkt_l4_csum_off(p), from, to, l4_flags | sizeof(__u16)))
		return -1;
	return bpf_skb_store_bytes(skb, off, &to, sizeof(to), 0) ? -1 : 0;
}

/* TC: the address, with the pseudo-header part of the L4 checksum. */
static __always_inline int skb_rewrite_l3(struct __sk_buff *skb, const struct pkt *p,
					  const struct nat_op *op)
{
	const struct bpfport_addr *old = op->dst ? &p->daddr : &p->saddr;
	__u64 l4_flags = BPF_F_PSEUDO_HDR | (p->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0);
	__u32 csum_off = pkt_l4_csum_off(p);
	__s64 diff;

	if (p->family == BPFPORT_AF_INET) {
		__u32 off = p->l3_off + (op->dst ? IPV4_DADDR_OFF : IPV4_SADDR_OFF);

		if (bpf_l4_csum_replace(skb, csum_off, old->a[0], op->addr.a[0],
					l4_flags | sizeof(__u32)) ||
		    bpf_l3_csum_replace(skb, p->l3_off + IPV4_CSUM_OFF, old->a[0], op->addr.a[0],
					sizeof(__u32)))
			return -1;
		return bpf_skb_store_bytes(skb, off, &op->addr.a[0], sizeof(__u32), 0) ? -1 : 0;
	}
	/* IPv6 has no header checksum; fold the 16-byte difference in at once. */
	diff = bpf_csum_diff((__be32 *)old->a, sizeof(old->a), (__be32 *)op->addr.a,
			     sizeof(op->addr.a), 0);
	if (diff < 0 || bpf_l4_csum_replace(skb, csum_off, 0, diff, l4_flags))
		return -1;
	return bpf_skb_store_bytes(skb, p->l3_off + (op->dst ? IPV6_DADDR_OFF : IPV6_SADDR_OFF),
				   op->addr.a, sizeof(op->addr.a), 0) ?
		       -1 :
		       0;
}

static __always_inline int nat_rewrite_skb(struct __sk_buff *skb, const struct pkt *p,
					   const struct nat_op *op)
{
	__be16 old_port = op->dst ? p->dport : p->sport;
	__be16 old_peer = op->dst ? p->sport : p->dport;

	if (skb_rewrite_l3(skb, p, op))
		return -1;
	if (op->has_peer_addr) {
		struct nat_op peer_op = { .dst = !op->dst, .addr = op->peer_addr };

		if (skb_rewrite_l3(skb, p, &peer_op))
			return -1;
	}
	if (skb_rewrite_port(skb, p, p->l4_off + (op->dst ? 2 : 0), old_port, op->port))
		return -1;
	if (op->peer_port)
		return skb_rewrite_port(skb, p, p->l4_off + (op->dst ? 0 : 2), old_peer,
					op->peer_port);
	return 0;
}

/* The address alone, for fragments after the first (no L4 header to fix:
 * the first fragment's checksum covers the whole datagram). */
static __always_inline int nat_rewrite_l3(void *ctx, const bool xdp, const struct pkt *p,
					  const struct nat_op *op)
{
	const struct bpfport_addr *old = op->dst ? &p->daddr : &p->saddr;
	struct __sk_buff *skb = ctx;

	if (xdp)
		return xdp_rewrite_l3(ctx, p, op);
	if (p->family == BPFPORT_AF_INET) {
		if (bpf_l3_csum_replace(skb, p->l3_off + IPV4_CSUM_OFF, old->a[0], op->addr.a[0],
					sizeof(__u32)))
			return -1;
		return bpf_skb_store_bytes(skb,
					   p->l3_off + (op->dst ? IPV4_DADDR_OFF : IPV4_SADDR_OFF),
					   &op->addr.a[0], sizeof(__u32), 0) ?
			       -1 :
			       0;
	}
	return bpf_skb_store_bytes(skb, p->l3_off + (op->dst ? IPV6_DADDR_OFF : IPV6_SADDR_OFF),
				   op->addr.a, sizeof(op->addr.a), 0) ?
		       -1 :
		       0;
}

static __always_inline int nat_rewrite(void *ctx, const bool xdp, const struct pkt *p,
				       const struct nat_op *op)
{
	if (xdp)
		return nat_rewrite_xdp(ctx, p, op);
	return nat_rewrite_skb(ctx, p, op);
}

#endif /* BPFPORT_NAT_H */
