/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Address and port rewriting with checksum fix-ups.
 *
 *   nat_rewrite_dst()  ingress: published endpoint -> container endpoint
 *   nat_rewrite_src()  reply:   container endpoint -> published endpoint
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
 * XDP: rewrite one address and one port. A UDP checksum of zero means "none"
 * and stays zero; a computed zero is sent as 0xffff (RFC 768).
 */
static __always_inline int nat_rewrite_xdp(void *ctx, const struct pkt *p, bool dst,
					   const struct bpfport_addr *addr, __be16 port)
{
	void *data = ctx_data(ctx, true), *data_end = ctx_data_end(ctx, true);
	struct iphdr *iph = data + p->l3_off;
	__u16 *l4_csum = data + pkt_l4_csum_off(p);
	__be16 *l4_port = data + p->l4_off + (dst ? 2 : 0);
	__u32 *ip_addr;
	__be16 old_port;
	__u32 old_addr;

	if ((void *)(iph + 1) > data_end)
		return -1;
	if ((void *)(l4_csum + 1) > data_end || (void *)(l4_port + 1) > data_end)
		return -1;

	ip_addr = dst ? &iph->daddr : &iph->saddr;
	old_addr = *ip_addr;
	old_port = *l4_port;

	csum_replace4(&iph->check, old_addr, addr->a[0]);
	if (p->proto == IPPROTO_TCP || *l4_csum) {
		csum_replace4(l4_csum, old_addr, addr->a[0]);
		csum_replace2(l4_csum, old_port, port);
		if (p->proto == IPPROTO_UDP && !*l4_csum)
			*l4_csum = 0xffff;
	}
	*ip_addr = addr->a[0];
	*l4_port = port;
	return 0;
}

static __always_inline int nat_rewrite_skb(struct __sk_buff *skb, const struct pkt *p, bool dst,
					   const struct bpfport_addr *addr, __be16 port)
{
	__u32 addr_off = p->l3_off + (dst ? IPV4_DADDR_OFF : IPV4_SADDR_OFF);
	__u32 port_off = p->l4_off + (dst ? 2 : 0);
	__u32 csum_off = pkt_l4_csum_off(p);
	__u32 old_addr = dst ? p->daddr.a[0] : p->saddr.a[0];
	__be16 old_port = dst ? p->dport : p->sport;
	__u64 l4_flags = p->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;

	if (bpf_l4_csum_replace(skb, csum_off, old_addr, addr->a[0],
				BPF_F_PSEUDO_HDR | l4_flags | sizeof(__u32)))
		return -1;
	if (bpf_l4_csum_replace(skb, csum_off, old_port, port, l4_flags | sizeof(__u16)))
		return -1;
	if (bpf_l3_csum_replace(skb, p->l3_off + IPV4_CSUM_OFF, old_addr, addr->a[0],
				sizeof(__u32)))
		return -1;
	if (bpf_skb_store_bytes(skb, addr_off, &addr->a[0], sizeof(__u32), 0))
		return -1;
	return bpf_skb_store_bytes(skb, port_off, &port, sizeof(port), 0) ? -1 : 0;
}

static __always_inline int nat_rewrite(void *ctx, const bool xdp, const struct pkt *p, bool dst,
				       const struct bpfport_addr *addr, __be16 port)
{
	if (xdp)
		return nat_rewrite_xdp(ctx, p, dst, addr, port);
	return nat_rewrite_skb(ctx, p, dst, addr, port);
}

static __always_inline int nat_rewrite_dst(void *ctx, const bool xdp, const struct pkt *p,
					   const struct bpfport_addr *addr, __be16 port)
{
	return nat_rewrite(ctx, xdp, p, true, addr, port);
}

static __always_inline int nat_rewrite_src(void *ctx, const bool xdp, const struct pkt *p,
					   const struct bpfport_addr *addr, __be16 port)
{
	return nat_rewrite(ctx, xdp, p, false, addr, port);
}

#endif /* BPFPORT_NAT_H */
