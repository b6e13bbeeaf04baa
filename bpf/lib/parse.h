/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet parsing into a struct pkt: offsets of the L3 and L4 headers and the
 * tuple. Anything malformed, truncated or not handled (non-IP, non-TCP/UDP,
 * non-first fragments) is reported as PARSE_SKIP, and the caller passes the
 * packet on untouched.
 *
 *   parse_packet()  Ethernet -> IPv4 or IPv6 (extension headers walked to a
 *                   fixed depth) -> TCP/UDP
 */
#ifndef BPFPORT_PARSE_H
#define BPFPORT_PARSE_H

#include "ctx.h"

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_HLEN 14
/* Where an IP header may start: after Ethernet (and, later, VLAN tags). */
#define PARSE_L3_OFF_MAX 64
#define IP_MF 0x2000
#define IP_OFFSET 0x1fff
/*
 * Header field offsets are wire formats, not kernel structs: plain numbers,
 * since offsetof() on vmlinux.h's CO-RE-relocatable types can compile into
 * loads the verifier rejects.
 */
#define TCP_CSUM_OFF 16
#define UDP_CSUM_OFF 6
#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04
#define TCP_FLAG_ACK 0x10

/*
 * TC pulls headers into the skb's linear part step by step, only as far as
 * each one ends: TCP hands over GSO packets whose linear part ends right
 * after the TCP options, in a clone whose header may be written in place.
 * Pulling past it would copy the header and some payload into a new head,
 * on every packet of a bulk transfer.
 */
#define PARSE_PULL_L3 (ETH_HLEN + 40) /* an IPv6 header, or IPv4 and more */
#define PARSE_PULL_EXT6 (ETH_HLEN + 40 + 128 + 20) /* IPv6 extension headers */

/* Extension headers walked before giving up: real traffic has one or two. */
#define IPV6_EXT_MAX 6
#define IPV6_FRAG_OFFSET 0xfff8

#define NEXTHDR_HOP 0
#define NEXTHDR_ROUTING 43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_AUTH 51
#define NEXTHDR_DEST 60

enum parse_result {
	PARSE_OK = 0,
	PARSE_SKIP = -1,
	PARSE_ICMP = 1, /* ICMP or ICMPv6: l4_off set, ports unset */
	PARSE_FRAG = 2, /* a fragment after the first: addresses, proto, frag_id */
};

enum pkt_frag {
	PKT_FRAG_NONE,
	PKT_FRAG_FIRST, /* offset 0, more to come: carries the ports */
	PKT_FRAG_LATER,
};

#define IPV6_FRAG_MORE 0x0001

#define IPPROTO_ICMPV6_NUM 58

struct pkt {
	struct bpfport_addr saddr;
	struct bpfport_addr daddr;
	__be16 sport;
	__be16 dport;
	__u32 l3_off;
	__u32 l4_off;
	__u32 len; /* bytes on the wire, for counters */
	__u32 l3_len; /* IP total length */
	__u32 frag_id;
	__u32 tcp_seq; /* host order */
	__u32 tcp_ack; /* host order */
	__u8 family;
	__u8 proto;
	__u8 tcp_flags;
	__u8 frag; /* enum pkt_frag */
	__u8 frag_proto; /* what follows the fragmentation: the same in every fragment */
};

static __always_inline bool addr_is_zero(const struct bpfport_addr *a)
{
	return !(a->a[0] | a->a[1] | a->a[2] | a->a[3]);
}

/* Offset of the L4 checksum field, which differs between TCP and UDP. */
static __always_inline __u32 pkt_l4_csum_off(const struct pkt *p)
{
	return p->l4_off + (p->proto == IPPROTO_TCP ? TCP_CSUM_OFF : UDP_CSUM_OFF);
}

static __always_inline int parse_l4(void *ctx, const bool xdp, struct pkt *p)
{
	__u32 l3_end = p->l3_off + p->l3_len;
	__u32 l4_len = p->proto == IPPROTO_TCP ? sizeof(struct tcphdr) : sizeof(struct udphdr);
	void *data, *data_end;

	/* Each family's own ICMP only: IPv4 protocol 58 is not ICMP. */
	if ((p->family == BPFPORT_AF_INET && p->proto == IPPROTO_ICMP) ||
	    (p->family == BPFPORT_AF_INET6 && p->proto == IPPROTO_ICMPV6_NUM))
		return p->l4_off + 8 <= l3_end ? PARSE_ICMP : PARSE_SKIP;
	/* The L4 header must lie inside the IP packet, not in Ethernet padding. */
	if (p->l4_off + l4_len > l3_end)
		return PARSE_SKIP;
	ctx_pull(ctx, xdp, p->l4_off + l4_len);
	data = ctx_data(ctx, xdp);
	data_end = ctx_data_end(ctx, xdp);

	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *th = data + p->l4_off;

		if ((void *)(th + 1) > data_end)
			return PARSE_SKIP;
		if (th->doff < 5)
			return PARSE_SKIP;
		p->sport = th->source;
		p->dport = th->dest;
		p->tcp_flags = ((__u8 *)th)[13];
		p->tcp_seq = bpf_ntohl(th->seq);
		p->tcp_ack = bpf_ntohl(th->ack_seq);
		return PARSE_OK;
	}
	if (p->proto == IPPROTO_UDP) {
		struct udphdr *uh = data + p->l4_off;

		if ((void *)(uh + 1) > data_end)
			return PARSE_SKIP;
		p->sport = uh->source;
		p->dport = uh->dest;
		return PARSE_OK;
	}
	return PARSE_SKIP;
}

static __always_inline int parse_ipv4(void *ctx, const bool xdp, struct pkt *p)
{
	void *data = ctx_data(ctx, xdp), *data_end = ctx_data_end(ctx, xdp);
	struct iphdr *iph = data + p->l3_off;
	__u32 ihl_len, tot_len;

	if ((void *)(iph + 1) > data_end)
		return PARSE_SKIP;
	if (iph->version != 4 || iph->ihl < 5)
		return PARSE_SKIP;
	ihl_len = iph->ihl * 4;
	tot_len = bpf_ntohs(iph->tot_len);
	/* A header claiming more than the packet holds is not ours to fix. */
	if (tot_len < ihl_len || p->l3_off + tot_len > p->len)
		return PARSE_SKIP;
	p->family = BPFPORT_AF_INET;
	p->proto = iph->protocol;
	p->l3_len = tot_len;
	p->saddr.a[0] = iph->saddr;
	p->daddr.a[0] = iph->daddr;
	p->l4_off = p->l3_off + ihl_len;
	p->frag_id = iph->id;
	p->frag_proto = iph->protocol;
	/* Only the first fragment carries ports; the others follow it by ID. */
	if (iph->frag_off & bpf_htons(IP_OFFSET)) {
		p->frag = PKT_FRAG_LATER;
		return PARSE_FRAG;
	}
	if (iph->frag_off & bpf_htons(IP_MF))
		p->frag = PKT_FRAG_FIRST;
	return parse_l4(ctx, xdp, p);
}

/* Length of the extension header at off and its next header; -1 to give up,
 * -2 for a fragment after the first (p->frag, frag_id and proto are set). */
static __always_inline int ipv6_ext_len(void *ctx, const bool xdp, __u32 off, __u8 *nexthdr,
					struct pkt *p)
{
	void *data = ctx_data(ctx, xdp), *data_end = ctx_data_end(ctx, xdp);
	__u8 *h = data + off;

	if ((void *)(h + 8) > data_end)
		return -1;
	switch (*nexthdr) {
	case NEXTHDR_HOP:
	case NEXTHDR_ROUTING:
	case NEXTHDR_DEST:
		*nexthdr = h[0];
		return (h[1] + 1) * 8;
	case NEXTHDR_AUTH:
		*nexthdr = h[0];
		return (h[1] + 2) * 4;
	case NEXTHDR_FRAGMENT:
		*nexthdr = h[0];
		p->frag_id = *(__u32 *)(h + 4);
		/* Later fragments know only the Fragment header's next header:
		 * key every fragment of the datagram on that. */
		p->frag_proto = h[0];
		/* Only the first fragment carries ports; the others follow it by ID. */
		if (*(__be16 *)(h + 2) & bpf_htons(IPV6_FRAG_OFFSET)) {
			p->frag = PKT_FRAG_LATER;
			p->proto = h[0];
			return -2;
		}
		if (*(__be16 *)(h + 2) & bpf_htons(IPV6_FRAG_MORE))
			p->frag = PKT_FRAG_FIRST;
		return 8;
	}
	return -1;
}

static __always_inline int parse_ipv6(void *ctx, const bool xdp, struct pkt *p)
{
	void *data = ctx_data(ctx, xdp), *data_end = ctx_data_end(ctx, xdp);
	struct ipv6hdr *ip6 = data + p->l3_off;
	__u32 off, plen;
	__u8 nexthdr;

	if ((void *)(ip6 + 1) > data_end)
		return PARSE_SKIP;
	plen = bpf_ntohs(ip6->payload_len);
	/* Jumbograms (payload length 0) are not ours; nor is a length beyond the packet. */
	if (ip6->version != 6 || !plen || p->l3_off + sizeof(*ip6) + plen > p->len)
		return PARSE_SKIP;

	p->family = BPFPORT_AF_INET6;
	p->l3_len = sizeof(*ip6) + plen;
	__builtin_memcpy(p->saddr.a, &ip6->saddr, sizeof(p->saddr.a));
	__builtin_memcpy(p->daddr.a, &ip6->daddr, sizeof(p->daddr.a));
	nexthdr = ip6->nexthdr;
	off = p->l3_off + sizeof(*ip6);
	if (nexthdr != IPPROTO_TCP && nexthdr != IPPROTO_UDP && nexthdr != IPPROTO_ICMPV6_NUM)
		ctx_pull(ctx, xdp, PARSE_PULL_EXT6);
	for (int i = 0; i < IPV6_EXT_MAX; i++) {
		int len;

		if (nexthdr == IPPROTO_TCP || nexthdr == IPPROTO_UDP ||
		    nexthdr == IPPROTO_ICMPV6_NUM)
			break;
		len = ipv6_ext_len(ctx, xdp, off, &nexthdr, p);
		if (len == -2)
			return PARSE_FRAG;
		if (len < 0)
			return PARSE_SKIP;
		off += len;
	}
	if (nexthdr != IPPROTO_TCP && nexthdr != IPPROTO_UDP && nexthdr != IPPROTO_ICMPV6_NUM)
		return PARSE_SKIP;
	if (off >= p->l3_off + p->l3_len)
		return PARSE_SKIP;
	p->proto = nexthdr;
	p->l4_off = off;
	return parse_l4(ctx, xdp, p);
}

static __always_inline int parse_packet(void *ctx, const bool xdp, struct pkt *p)
{
	void *data, *data_end;
	struct ethhdr *eth;

	ctx_pull(ctx, xdp, PARSE_PULL_L3);
	data = ctx_data(ctx, xdp);
	data_end = ctx_data_end(ctx, xdp);
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return PARSE_SKIP;

	__builtin_memset(p, 0, sizeof(*p));
	p->l3_off = ETH_HLEN;
	p->len = ctx_len(ctx, xdp);
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		return parse_ipv4(ctx, xdp, p);
	if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		return parse_ipv6(ctx, xdp, p);
	return PARSE_SKIP;
}

#endif /* BPFPORT_PARSE_H */
