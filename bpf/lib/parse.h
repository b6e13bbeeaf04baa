/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet parsing into a struct pkt: offsets of the L3 and L4 headers and the
 * tuple. Anything malformed, truncated or not handled (non-IP, non-TCP/UDP,
 * non-first fragments) is reported as PARSE_SKIP, and the caller passes the
 * packet on untouched.
 *
 *   parse_packet()  Ethernet -> IPv4 -> TCP/UDP
 */
#ifndef BPFPORT_PARSE_H
#define BPFPORT_PARSE_H

#include "ctx.h"

#define ETH_P_IP 0x0800
#define ETH_HLEN 14
#define IP_MF 0x2000
#define IP_OFFSET 0x1fff
#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_RST 0x04

/* Longest header chain we read: Ethernet, IPv4 with options, TCP. */
#define PARSE_PULL_LEN (ETH_HLEN + 60 + 20)

enum parse_result {
	PARSE_OK = 0,
	PARSE_SKIP = -1,
};

struct pkt {
	struct bpfport_addr saddr;
	struct bpfport_addr daddr;
	__be16 sport;
	__be16 dport;
	__u32 l3_off;
	__u32 l4_off;
	__u32 len;    /* bytes on the wire, for counters */
	__u32 l3_len; /* IP total length */
	__u8 family;
	__u8 proto;
	__u8 tcp_flags;
};

/* Offset of the L4 checksum field, which differs between TCP and UDP. */
static __always_inline __u32 pkt_l4_csum_off(const struct pkt *p)
{
	return p->l4_off + (p->proto == IPPROTO_TCP ? offsetof(struct tcphdr, check)
						    : offsetof(struct udphdr, check));
}

static __always_inline int parse_l4(void *ctx, const bool xdp, struct pkt *p)
{
	void *data = ctx_data(ctx, xdp), *data_end = ctx_data_end(ctx, xdp);

	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *th = data + p->l4_off;

		if ((void *)(th + 1) > data_end)
			return PARSE_SKIP;
		if (th->doff < 5)
			return PARSE_SKIP;
		p->sport = th->source;
		p->dport = th->dest;
		p->tcp_flags = ((__u8 *)th)[13];
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
	/* Only the first fragment carries ports. */
	if (iph->frag_off & bpf_htons(IP_OFFSET))
		return PARSE_SKIP;

	p->family = BPFPORT_AF_INET;
	p->proto = iph->protocol;
	p->l3_len = tot_len;
	p->saddr.a[0] = iph->saddr;
	p->daddr.a[0] = iph->daddr;
	p->l4_off = p->l3_off + ihl_len;
	return parse_l4(ctx, xdp, p);
}

static __always_inline int parse_packet(void *ctx, const bool xdp, struct pkt *p)
{
	void *data, *data_end;
	struct ethhdr *eth;

	ctx_pull(ctx, xdp, PARSE_PULL_LEN);
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
	return PARSE_SKIP;
}

#endif /* BPFPORT_PARSE_H */
