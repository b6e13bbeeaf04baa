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

#define IPV4_SADDR_OFF offsetof(struct iphdr, saddr)
#define IPV4_DADDR_OFF offsetof(struct iphdr, daddr)
#define IPV4_CSUM_OFF offsetof(struct iphdr, check)

/*
 * One rewrite: the destination (ingress) or source (reply) address and
 * port, and optionally the port on the other side, for flows whose client
 * port had to be remapped (peer_port 0: leave it).
 */
struct nat_op {
	bool dst;
	struct bpfport_addr addr;
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
	__u16 seed = csum_pseudo_seed4(p->saddr.a[0], p->daddr.a[0], p->proto,
				       (__u16)(p->l3_len - (p->l4_off - p->l3_off)));

	return csum == seed;
}

/* A UDP checksum of zero means "none" and stays zero; a computed zero is sent
 * as 0xffff (RFC 768). */
static __always_inline int nat_rewrite_xdp(void *ctx, const struct pkt *p, const struct nat_op *op)
{
	void *data = ctx_data(ctx, true), *data_end = ctx_data_end(ctx, true);
	struct iphdr *iph = data + p->l3_off;
	__u16 *l4_csum = data + pkt_l4_csum_off(p);
	__be16 *ports = data + p->l4_off;
	__be16 *port = &ports[op->dst ? 1 : 0], *peer = &ports[op->dst ? 0 : 1];
	__u32 *ip_addr;
	__u32 old_addr;

	if ((void *)(iph + 1) > data_end)
		return -1;
	if ((void *)(l4_csum + 1) > data_end || (void *)(ports + 2) > data_end)
		return -1;

	ip_addr = op->dst ? &iph->daddr : &iph->saddr;
	old_addr = *ip_addr;
	csum_replace4(&iph->check, old_addr, op->addr.a[0]);
	if (l4_csum_is_partial(p, *l4_csum)) {
		/* Ports are payload to a partial checksum: only the seed changes. */
		csum_seed_replace4(l4_csum, old_addr, op->addr.a[0]);
	} else if (p->proto == IPPROTO_TCP || *l4_csum) {
		csum_replace4(l4_csum, old_addr, op->addr.a[0]);
		csum_replace2(l4_csum, *port, op->port);
		if (op->peer_port)
			csum_replace2(l4_csum, *peer, op->peer_port);
		if (p->proto == IPPROTO_UDP && !*l4_csum)
			*l4_csum = 0xffff;
	}
	*ip_addr = op->addr.a[0];
	*port = op->port;
	if (op->peer_port)
		*peer = op->peer_port;
	return 0;
}

static __always_inline int skb_rewrite_port(struct __sk_buff *skb, const struct pkt *p, __u32 off,
					    __be16 from, __be16 to)
{
	__u64 l4_flags = p->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;

	if (bpf_l4_csum_replace(skb, pkt_l4_csum_off(p), from, to, l4_flags | sizeof(__u16)))
		return -1;
	return bpf_skb_store_bytes(skb, off, &to, sizeof(to), 0) ? -1 : 0;
}

static __always_inline int nat_rewrite_skb(struct __sk_buff *skb, const struct pkt *p,
					   const struct nat_op *op)
{
	__u32 addr_off = p->l3_off + (op->dst ? IPV4_DADDR_OFF : IPV4_SADDR_OFF);
	__u32 old_addr = op->dst ? p->daddr.a[0] : p->saddr.a[0];
	__be16 old_port = op->dst ? p->dport : p->sport;
	__be16 old_peer = op->dst ? p->sport : p->dport;
	__u64 l4_flags = p->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;

	if (bpf_l4_csum_replace(skb, pkt_l4_csum_off(p), old_addr, op->addr.a[0],
				BPF_F_PSEUDO_HDR | l4_flags | sizeof(__u32)))
		return -1;
	if (bpf_l3_csum_replace(skb, p->l3_off + IPV4_CSUM_OFF, old_addr, op->addr.a[0],
				sizeof(__u32)))
		return -1;
	if (bpf_skb_store_bytes(skb, addr_off, &op->addr.a[0], sizeof(__u32), 0))
		return -1;
	if (skb_rewrite_port(skb, p, p->l4_off + (op->dst ? 2 : 0), old_port, op->port))
		return -1;
	if (op->peer_port)
		return skb_rewrite_port(skb, p, p->l4_off + (op->dst ? 0 : 2), old_peer,
					op->peer_port);
	return 0;
}

static __always_inline int nat_rewrite(void *ctx, const bool xdp, const struct pkt *p,
				       const struct nat_op *op)
{
	if (xdp)
		return nat_rewrite_xdp(ctx, p, op);
	return nat_rewrite_skb(ctx, p, op);
}

#endif /* BPFPORT_NAT_H */
