/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ICMP and ICMPv6 errors about translated flows. An error quotes the packet
 * that caused it; the quote must be translated like the flow itself, or the
 * receiver cannot match it to a socket (and path MTU discovery black-holes).
 *
 *   icmp_translate()  CT_INGRESS: an error sent to the published address
 *                     about a reply (the quote is published -> client): it
 *                     goes to the container, quoting container -> client.
 *                     CT_REPLY: an error sent to the client about a packet
 *                     it sent (the quote is client -> container): it quotes
 *                     client -> published, and comes from the published
 *                     address if the container sent it.
 *
 * Every checksum the change touches is updated: the outer IPv4 header, the
 * quoted IPv4 header, the quoted TCP/UDP checksum when the quote holds it
 * (a minimal quote of 8 bytes has UDP's, not TCP's), and the ICMP checksum
 * over all of it (with the pseudo-header for ICMPv6). Errors are rare, so
 * this path copies bytes with ctx_load/ctx_store rather than racing through
 * direct packet access.
 */
#ifndef BPFPORT_ICMP_H
#define BPFPORT_ICMP_H

#include "conntrack.h"
#include "csum.h"
#include "ctx.h"
#include "parse.h"

#define ICMP_DEST_UNREACH 3
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMETERPROB 12
#define ICMPV6_DEST_UNREACH 1
#define ICMPV6_PKT_TOOBIG 2
#define ICMPV6_TIME_EXCEED 3
#define ICMPV6_PARAMPROB 4
#define ICMP_ECHO 8
#define ICMPV6_ECHO_REQUEST 128
#define ICMP_HDR_LEN 8

/* The quoted packet: its headers as found, and where. */
struct icmp_quote {
	__u32 l3_off;
	__u32 l4_off;
	__u32 l4_csum_off; /* 0: the quote stops before the checksum */
	__u8 proto;
	struct bpfport_addr saddr;
	struct bpfport_addr daddr;
	__be16 ports[2]; /* source, destination */
	__u16 l4_csum;
	__u16 ip_csum; /* IPv4 only */
};

static __always_inline bool icmp_is_error(__u8 family, __u8 type)
{
	if (family == BPFPORT_AF_INET)
		return type == ICMP_DEST_UNREACH || type == ICMP_TIME_EXCEEDED ||
		       type == ICMP_PARAMETERPROB;
	return type == ICMPV6_DEST_UNREACH || type == ICMPV6_PKT_TOOBIG ||
	       type == ICMPV6_TIME_EXCEED || type == ICMPV6_PARAMPROB;
}

/* An echo request (ping): the one ICMP message that opens an exchange with
 * a container; errors and echo replies answer something it sent. */
static __always_inline bool icmp_is_echo_request(void *ctx, const bool xdp, const struct pkt *p)
{
	__u8 type;

	if (ctx_load(ctx, xdp, p->l4_off, &type, 1))
		return false;
	return type == (p->family == BPFPORT_AF_INET ? ICMP_ECHO : ICMPV6_ECHO_REQUEST);
}

static __always_inline int icmp_parse_quote(void *ctx, const bool xdp, const struct pkt *p,
					    struct icmp_quote *q)
{
	/* The quote ends where the ICMP datagram does, not where the frame does. */
	__u32 end = p->l3_off + p->l3_len;

	__builtin_memset(q, 0, sizeof(*q));
	q->l3_off = p->l4_off + ICMP_HDR_LEN;
	if (p->family == BPFPORT_AF_INET) {
		struct iphdr ih;

		if (ctx_load(ctx, xdp, q->l3_off, &ih, sizeof(ih)))
			return -1;
		if (ih.version != 4 || ih.ihl < 5 || (ih.frag_off & bpf_htons(IP_OFFSET)) ||
		    q->l3_off + ih.ihl * 4 > end)
			return -1;
		q->proto = ih.protocol;
		q->saddr.a[0] = ih.saddr;
		q->daddr.a[0] = ih.daddr;
		q->ip_csum = ih.check;
		q->l4_off = q->l3_off + ih.ihl * 4;
	} else {
		struct ipv6hdr ih;

		/* Quoted extension headers are not walked: errors about such
		 * packets pass untranslated. */
		if (ctx_load(ctx, xdp, q->l3_off, &ih, sizeof(ih)))
			return -1;
		if (ih.version != 6 || q->l3_off + sizeof(ih) > end)
			return -1;
		q->proto = ih.nexthdr;
		__builtin_memcpy(q->saddr.a, &ih.saddr, sizeof(q->saddr.a));
		__builtin_memcpy(q->daddr.a, &ih.daddr, sizeof(q->daddr.a));
		q->l4_off = q->l3_off + sizeof(ih);
	}
	if (q->proto != IPPROTO_TCP && q->proto != IPPROTO_UDP)
		return -1;
	if (q->l4_off + sizeof(q->ports) > end ||
	    ctx_load(ctx, xdp, q->l4_off, q->ports, sizeof(q->ports)))
		return -1;
	q->l4_csum_off = q->l4_off + (q->proto == IPPROTO_TCP ? TCP_CSUM_OFF : UDP_CSUM_OFF);
	if (q->l4_csum_off + sizeof(q->l4_csum) > end ||
	    ctx_load(ctx, xdp, q->l4_csum_off, &q->l4_csum, sizeof(q->l4_csum)) ||
	    (q->proto == IPPROTO_UDP && !q->l4_csum))
		q->l4_csum_off = 0;
	return 0;
}

static __always_inline bool addr_equal(const struct bpfport_addr *a, const struct bpfport_addr *b)
{
	return a->a[0] == b->a[0] && a->a[1] == b->a[1] && a->a[2] == b->a[2] && a->a[3] == b->a[3];
}

/* The flow the quote belongs to, seen from the direction dir. */
static __always_inline struct bpfport_ct_val *icmp_flow(const struct pkt *p,
							const struct icmp_quote *q, __u8 dir)
{
	struct bpfport_ct_key k;
	bool assured;

	__builtin_memset(&k, 0, sizeof(k));
	k.saddr = q->daddr;
	k.daddr = q->saddr;
	k.sport = q->ports[1];
	k.dport = q->ports[0];
	k.family = p->family;
	k.proto = q->proto;
	k.dir = dir;
	return ct_map_lookup(&k, &assured);
}

/* The outer address that named the old endpoint, rewritten. IPv4 fixes its
 * header checksum; ICMPv6 carries it in its pseudo-header instead. */
static __always_inline int icmp_rewrite_outer(void *ctx, const bool xdp, const struct pkt *p,
					      bool outer_dst, const struct bpfport_addr *new_addr,
					      __u16 *icmp_csum)
{
	const struct bpfport_addr *old = outer_dst ? &p->daddr : &p->saddr;
	struct bpfport_addr addr = *new_addr;

	if (p->family == BPFPORT_AF_INET) {
		__u16 ip_csum;

		if (ctx_load(ctx, xdp, p->l3_off + 10, &ip_csum, sizeof(ip_csum)))
			return -1;
		csum_replace4(&ip_csum, old->a[0], addr.a[0]);
		if (ctx_store(ctx, xdp, p->l3_off + 10, &ip_csum, sizeof(ip_csum)) ||
		    ctx_store(ctx, xdp, p->l3_off + (outer_dst ? 16 : 12), &addr.a[0], 4))
			return -1;
		return 0;
	}
	csum_replace_addr(icmp_csum, old, &addr, BPFPORT_AF_INET6);
	return ctx_store(ctx, xdp, p->l3_off + (outer_dst ? 24 : 8), addr.a, 16) ? -1 : 0;
}

/* One quoted address (side 0: source, 1: destination), with the quoted IPv4
 * header checksum, the pseudo-header part of the quoted L4 checksum and the
 * ICMP checksum over it all. */
static __always_inline int icmp_quote_addr(void *ctx, const bool xdp, const struct pkt *p,
					   struct icmp_quote *q, int side,
					   const struct bpfport_addr *old_addr,
					   const struct bpfport_addr *new_addr, __u16 *icmp_csum)
{
	struct bpfport_addr addr = *new_addr;

	csum_replace_addr(icmp_csum, old_addr, &addr, p->family);
	csum_replace_addr(&q->l4_csum, old_addr, &addr, p->family);
	if (p->family == BPFPORT_AF_INET) {
		__u16 old_ip_csum = q->ip_csum;

		csum_replace4(&q->ip_csum, old_addr->a[0], addr.a[0]);
		csum_replace2(icmp_csum, old_ip_csum, q->ip_csum);
		if (ctx_store(ctx, xdp, q->l3_off + 10, &q->ip_csum, 2) ||
		    ctx_store(ctx, xdp, q->l3_off + (side ? 16 : 12), &addr.a[0], 4))
			return -1;
		return 0;
	}
	return ctx_store(ctx, xdp, q->l3_off + (side ? 24 : 8), addr.a, 16) ? -1 : 0;
}

/* Returns 1 when translated, 2 when a hairpin flow's second address was
 * rewritten too (the caller sends the error back out), 0 when not ours, -1
 * on error.
 * hairpin_only leaves errors about other flows alone (the bridge's case). */
static __always_inline int icmp_translate(void *ctx, const bool xdp, const struct pkt *p, __u8 dir,
					  bool hairpin_only)
{
	/* INGRESS: the quote's source is the published endpoint; REPLY: its destination. */
	const int end = dir == BPFPORT_CT_REPLY ? 1 : 0, peer = 1 - end;
	struct bpfport_addr old_addr, old_peer;
	struct bpfport_ct_val *v;
	struct icmp_quote q;
	__u16 icmp_csum, l4_old;
	__be16 old_port, new_port;
	bool hairpin;
	__u8 type;

	if (ctx_load(ctx, xdp, p->l4_off, &type, 1) || !icmp_is_error(p->family, type))
		return 0;
	if (icmp_parse_quote(ctx, xdp, p, &q))
		return 0;
	v = icmp_flow(p, &q, dir);
	if (!v)
		return 0;
	if (ctx_load(ctx, xdp, p->l4_off + 2, &icmp_csum, sizeof(icmp_csum)))
		return -1;

	old_addr = end ? q.daddr : q.saddr;
	old_peer = end ? q.saddr : q.daddr;
	old_port = q.ports[end];
	new_port = v->port;
	hairpin = !addr_equal(&v->peer_addr, &(struct bpfport_addr){});
	if (hairpin_only && !hairpin)
		return 0;
	l4_old = q.l4_csum;

	if (icmp_quote_addr(ctx, xdp, p, &q, end, &old_addr, &v->addr, &icmp_csum))
		return -1;
	if (hairpin && icmp_quote_addr(ctx, xdp, p, &q, peer, &old_peer, &v->peer_addr, &icmp_csum))
		return -1;

	/* The quoted ports and, when quoted, the TCP/UDP checksum over them. */
	csum_replace2(&q.l4_csum, old_port, new_port);
	csum_replace2(&icmp_csum, old_port, new_port);
	q.ports[end] = new_port;
	if (v->nat_port) {
		csum_replace2(&q.l4_csum, q.ports[peer], v->nat_port);
		csum_replace2(&icmp_csum, q.ports[peer], v->nat_port);
		q.ports[peer] = v->nat_port;
	}
	if (ctx_store(ctx, xdp, q.l4_off, q.ports, sizeof(q.ports)))
		return -1;
	if (q.l4_csum_off) {
		/* UDP: a computed 0 is sent as 0xffff; 0 would mean "none". */
		if (q.proto == IPPROTO_UDP && !q.l4_csum)
			q.l4_csum = 0xffff;
		csum_replace2(&icmp_csum, l4_old, q.l4_csum);
		if (ctx_store(ctx, xdp, q.l4_csum_off, &q.l4_csum, 2))
			return -1;
	}

	/* The outer addresses that named the old endpoints. */
	if (dir == BPFPORT_CT_INGRESS || addr_equal(&p->saddr, &old_addr)) {
		if (icmp_rewrite_outer(ctx, xdp, p, dir == BPFPORT_CT_INGRESS, &v->addr,
				       &icmp_csum))
			return -1;
	}
	if (hairpin &&
	    icmp_rewrite_outer(ctx, xdp, p, dir == BPFPORT_CT_REPLY, &v->peer_addr, &icmp_csum))
		return -1;
	if (ctx_store(ctx, xdp, p->l4_off + 2, &icmp_csum, sizeof(icmp_csum)))
		return -1;
	return hairpin ? 2 : 1;
}

#endif /* BPFPORT_ICMP_H */
