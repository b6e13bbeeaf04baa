// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Packet construction and from-scratch checksums; see pkt.h. */
#include "pkt.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* IPv4 header field offsets, from the start of the IP header. */
#define IP_TOT_LEN 2
#define IP_FRAG 6
#define IP_PROTO 9
#define IP_CSUM 10
#define IP_SADDR 12
#define IP_DADDR 16
#define TCP_CSUM 16
#define UDP_LEN 4
#define UDP_CSUM 6
/* IPv6 header field offsets. */
#define IP6_PLEN 4
#define IP6_NEXT 6
#define IP6_SADDR 8
#define IP6_DADDR 24

uint16_t pkt_get16(const uint8_t *buf, size_t off)
{
	return (uint16_t)(buf[off] << 8 | buf[off + 1]);
}

void pkt_put16(uint8_t *buf, size_t off, uint16_t v)
{
	buf[off] = v >> 8;
	buf[off + 1] = v & 0xff;
}

uint32_t pkt_ip(const char *dotted)
{
	struct in_addr a;

	if (inet_pton(AF_INET, dotted, &a) != 1) {
		fprintf(stderr, "bad address in test: %s\n", dotted);
		abort();
	}
	return a.s_addr;
}

void pkt_ip6(const char *text, uint8_t out[16])
{
	if (inet_pton(AF_INET6, text, out) != 1) {
		fprintf(stderr, "bad IPv6 address in test: %s\n", text);
		abort();
	}
}

bool pkt_is_v6(const uint8_t *buf)
{
	return pkt_get16(buf, 12) == 0x86dd;
}

/* Plain RFC 1071 sum of big-endian 16-bit words, not yet folded. */
uint32_t pkt_sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

uint16_t pkt_fold_not(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

size_t pkt_l3_off(void)
{
	return PKT_ETH_LEN;
}

/* Length of an IPv6 extension header of kind `next` starting at h. */
static size_t ext_len(uint8_t next, const uint8_t *h)
{
	if (next == PKT_EXT_AH)
		return ((size_t)h[1] + 2) * 4;
	if (next == PKT_EXT_FRAGMENT)
		return 8;
	return ((size_t)h[1] + 1) * 8;
}

static bool is_ext(uint8_t next)
{
	return next == PKT_EXT_HOP || next == PKT_EXT_ROUTING || next == PKT_EXT_FRAGMENT ||
	       next == PKT_EXT_AH || next == PKT_EXT_DEST;
}

/* IPv6: walk the extension headers (at most PKT_EXT_MAX + 4, and never past
 * the payload length) to the upper-layer header; a fragment with a nonzero
 * offset ends the walk, its Next Header then being the payload's protocol. */
static size_t l4_walk6(const uint8_t *buf, uint8_t *proto, bool *later_frag)
{
	const uint8_t *ip = buf + PKT_ETH_LEN;
	size_t end = PKT_ETH_LEN + PKT_IP6_LEN + pkt_get16(ip, IP6_PLEN);
	size_t off = PKT_ETH_LEN + PKT_IP6_LEN;
	uint8_t next = ip[IP6_NEXT];
	int i;

	for (i = 0; i < PKT_EXT_MAX + 4 && is_ext(next) && off + 8 <= end; i++) {
		const uint8_t *h = buf + off;
		bool later = next == PKT_EXT_FRAGMENT && (pkt_get16(h, 2) & 0xfff8);

		off += ext_len(next, h);
		next = h[0];
		if (later) {
			*later_frag = true;
			break;
		}
	}
	*proto = next;
	return off;
}

/* An IPv6 fragment after the first: what follows is opaque payload. */
static bool later_fragment(const uint8_t *buf)
{
	bool later = false;
	uint8_t proto;

	if (pkt_is_v6(buf))
		l4_walk6(buf, &proto, &later);
	return later;
}

size_t pkt_l4_off(const uint8_t *buf)
{
	bool later = false;
	uint8_t proto;

	if (pkt_is_v6(buf))
		return l4_walk6(buf, &proto, &later);
	return PKT_ETH_LEN + (size_t)(buf[PKT_ETH_LEN] & 0x0f) * 4;
}

uint8_t pkt_l4_proto(const uint8_t *buf)
{
	bool later = false;
	uint8_t proto;

	if (pkt_is_v6(buf)) {
		l4_walk6(buf, &proto, &later);
		return proto;
	}
	return buf[PKT_ETH_LEN + IP_PROTO];
}

/* End of the IP datagram (offset in buf), from its length field. */
static size_t l3_end(const uint8_t *buf)
{
	const uint8_t *ip = buf + PKT_ETH_LEN;

	if (pkt_is_v6(buf))
		return PKT_ETH_LEN + PKT_IP6_LEN + pkt_get16(ip, IP6_PLEN);
	return PKT_ETH_LEN + pkt_get16(ip, IP_TOT_LEN);
}

/* The pseudo-header sum, not folded: addresses, protocol and L4 length (RFC
 * 793; RFC 8200 8.1 for IPv6, where the length is the upper-layer one). */
static uint32_t pseudo_sum(const uint8_t *buf)
{
	const uint8_t *ip = buf + PKT_ETH_LEN;
	size_t l4_len = l3_end(buf) - pkt_l4_off(buf);
	uint32_t sum;

	if (pkt_is_v6(buf))
		sum = pkt_sum16(ip + IP6_SADDR, 32, 0);
	else
		sum = pkt_sum16(ip + IP_SADDR, 8, 0);
	sum += pkt_l4_proto(buf);
	sum += (uint32_t)(l4_len >> 16) + (uint32_t)(l4_len & 0xffff);
	return sum;
}

uint16_t pkt_ip_csum(const uint8_t *buf)
{
	const uint8_t *ip = buf + PKT_ETH_LEN;
	size_t hlen = (size_t)(ip[0] & 0x0f) * 4;
	uint32_t sum;

	if (pkt_is_v6(buf))
		return 0;
	sum = pkt_sum16(ip, hlen, 0);

	sum -= pkt_get16(ip, IP_CSUM); /* as if the field were zero */
	return pkt_fold_not(sum);
}

/* The checksum as computed, before UDP's "0 is sent as 0xffff" rule. */
uint16_t pkt_l4_csum(const uint8_t *buf)
{
	size_t l4_off = pkt_l4_off(buf);
	size_t l4_len = l3_end(buf) - l4_off;
	const uint8_t *l4 = buf + l4_off;
	size_t csum_off = pkt_l4_proto(buf) == IPPROTO_TCP ? TCP_CSUM : UDP_CSUM;
	uint32_t sum = pseudo_sum(buf);

	sum = pkt_sum16(l4, l4_len, sum);
	sum -= pkt_get16(l4, csum_off);
	return pkt_fold_not(sum);
}

void pkt_fix_csums(uint8_t *buf)
{
	uint8_t *ip = buf + PKT_ETH_LEN;
	uint8_t *l4 = buf + pkt_l4_off(buf);
	uint8_t proto = pkt_l4_proto(buf);
	uint16_t c;

	if (!pkt_is_v6(buf)) {
		pkt_put16(ip, IP_CSUM, 0);
		pkt_put16(ip, IP_CSUM, pkt_ip_csum(buf));
	}
	if (later_fragment(buf))
		return; /* no L4 header here */
	if (proto == IPPROTO_TCP) {
		pkt_put16(l4, TCP_CSUM, pkt_l4_csum(buf));
	} else if (proto == IPPROTO_UDP && pkt_get16(l4, UDP_CSUM) != 0) {
		c = pkt_l4_csum(buf);
		pkt_put16(l4, UDP_CSUM, c ? c : 0xffff);
	}
}

/* One extension header of kind `kind` at h, followed by `next`; its length. */
static size_t build_ext(uint8_t *h, uint8_t kind, uint8_t next, const struct pkt_spec *s)
{
	h[0] = next;
	switch (kind) {
	case PKT_EXT_HOP:
		h[1] = 0;
		h[2] = 1; /* PadN */
		h[3] = 4;
		return 8;
	case PKT_EXT_DEST:
		h[1] = 1;
		h[2] = 1; /* PadN */
		h[3] = 12;
		return 16;
	case PKT_EXT_ROUTING:
		h[1] = 2;
		h[2] = 0; /* type 0 */
		h[3] = 0; /* Segments Left: the destination is final */
		/* the one segment, already visited (2001:db8::63): opaque to NAT */
		memcpy(h + 8, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x63", 16);
		return 24;
	case PKT_EXT_FRAGMENT:
		h[1] = 0;
		pkt_put16(h, 2, s->frag6);
		pkt_put16(h, 4, (uint16_t)(s->frag_id >> 16));
		pkt_put16(h, 6, (uint16_t)s->frag_id);
		return 8;
	case PKT_EXT_AH:
		h[1] = 4;
		memcpy(h + 4, "\x00\x00\x01\x00\x00\x00\x00\x07", 8); /* SPI, sequence */
		memset(h + 12, 0xa5, 12); /* ICV */
		return 24;
	}
	fprintf(stderr, "test bug: extension header %u\n", kind);
	abort();
}

static size_t ext_size(uint8_t kind)
{
	return kind == PKT_EXT_HOP || kind == PKT_EXT_FRAGMENT ? 8 : kind == PKT_EXT_DEST ? 16 : 24;
}

static void put32(uint8_t *p, uint32_t v)
{
	pkt_put16(p, 0, (uint16_t)(v >> 16));
	pkt_put16(p, 2, (uint16_t)v);
}

/* The L4 header and payload at l4, its length field (UDP) included. */
static void build_l4(uint8_t *l4, const struct pkt_spec *s, size_t l4_hlen)
{
	size_t i;

	if (s->proto == IPPROTO_TCP) {
		pkt_put16(l4, 0, s->sport);
		pkt_put16(l4, 2, s->dport);
		put32(l4 + 4, s->tcp_seq ? s->tcp_seq : PKT_TCP_SEQ);
		put32(l4 + 8, s->tcp_ack ? s->tcp_ack : PKT_TCP_ACK);
		l4[12] = 5 << 4;
		l4[13] = s->tcp_flags ? s->tcp_flags : 0x18; /* ACK|PSH */
		pkt_put16(l4, 14, 0xfaf0); /* window */
	} else if (s->proto == IPPROTO_UDP) {
		pkt_put16(l4, 0, s->sport);
		pkt_put16(l4, 2, s->dport);
		pkt_put16(l4, UDP_LEN, (uint16_t)(l4_hlen + s->payload_len));
		pkt_put16(l4, UDP_CSUM, s->udp_no_csum ? 0 : 1); /* nonzero: fill in */
	}
	for (i = 0; i < s->payload_len; i++)
		l4[l4_hlen + i] = (uint8_t)(i * 7 + 3);
}

static size_t pkt_build6(uint8_t *buf, const struct pkt_spec *s)
{
	static const uint8_t dst_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	static const uint8_t src_mac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	size_t l4_hlen = s->proto == IPPROTO_TCP ? PKT_TCP_LEN :
			 s->proto == IPPROTO_UDP ? PKT_UDP_LEN :
						   0;
	size_t ext_total = 0, off, len, i;
	uint8_t *ip = buf + PKT_ETH_LEN;

	if (s->n_ext > PKT_EXT_MAX) {
		fprintf(stderr, "test bug: %u extension headers\n", s->n_ext);
		abort();
	}
	for (i = 0; i < s->n_ext; i++)
		ext_total += ext_size(s->ext[i]);
	len = PKT_ETH_LEN + PKT_IP6_LEN + ext_total + l4_hlen + s->payload_len + s->eth_pad;
	if (len > PKT_MAX) {
		fprintf(stderr, "test packet too large\n");
		abort();
	}
	memset(buf, 0, len);
	memcpy(buf, dst_mac, 6);
	memcpy(buf + 6, src_mac, 6);
	pkt_put16(buf, 12, 0x86dd);

	/* version 6, traffic class 0xb8, flow label 0x12345: left alone by NAT */
	ip[0] = 0x6b;
	ip[1] = 0x81;
	ip[2] = 0x23;
	ip[3] = 0x45;
	pkt_put16(ip, IP6_PLEN, (uint16_t)(ext_total + l4_hlen + s->payload_len));
	ip[IP6_NEXT] = s->n_ext ? s->ext[0] : s->proto;
	ip[7] = 64; /* hop limit */
	memcpy(ip + IP6_SADDR, s->saddr6, 16);
	memcpy(ip + IP6_DADDR, s->daddr6, 16);
	off = PKT_ETH_LEN + PKT_IP6_LEN;
	for (i = 0; i < s->n_ext; i++)
		off += build_ext(buf + off, s->ext[i], i + 1 < s->n_ext ? s->ext[i + 1] : s->proto,
				 s);
	/* A later fragment carries payload bytes, not an L4 header: still built
	 * the same way, its bytes are just opaque. */
	build_l4(buf + off, s, l4_hlen);
	pkt_fix_csums(buf);
	return len;
}

size_t pkt_build(uint8_t *buf, const struct pkt_spec *s)
{
	static const uint8_t dst_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	static const uint8_t src_mac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	size_t ihl = PKT_IP_LEN + (size_t)s->ip_opt_words * 4;
	size_t l4_hlen = s->proto == IPPROTO_TCP ? PKT_TCP_LEN :
			 s->proto == IPPROTO_UDP ? PKT_UDP_LEN :
						   0;
	size_t ip_len = ihl + l4_hlen + s->payload_len;
	size_t len = PKT_ETH_LEN + ip_len + s->eth_pad;
	uint8_t *ip = buf + PKT_ETH_LEN, *l4 = ip + ihl;
	size_t i;

	if (s->v6)
		return pkt_build6(buf, s);
	if (len > PKT_MAX || s->ip_opt_words > 10) {
		fprintf(stderr, "test packet too large\n");
		abort();
	}
	memset(buf, 0, len);
	memcpy(buf, dst_mac, 6);
	memcpy(buf + 6, src_mac, 6);
	pkt_put16(buf, 12, 0x0800);

	ip[0] = 0x40 | (uint8_t)(ihl / 4);
	pkt_put16(ip, IP_TOT_LEN, (uint16_t)ip_len);
	pkt_put16(ip, 4, 0x1234); /* id */
	pkt_put16(ip, IP_FRAG, s->frag_off);
	ip[8] = 64; /* ttl */
	ip[IP_PROTO] = s->proto;
	memcpy(ip + IP_SADDR, &s->saddr, 4);
	memcpy(ip + IP_DADDR, &s->daddr, 4);
	for (i = PKT_IP_LEN; i < ihl; i++)
		ip[i] = i + 1 < ihl ? 0x01 /* NOP */ : 0x00 /* EOL */;

	build_l4(l4, s, l4_hlen);
	pkt_fix_csums(buf);
	return len;
}

/* The L4 checksum of a packet whose L4 header starts at l4 and runs for
 * l4_len bytes; true if there is none to check. */
static bool verify_l4(const uint8_t *buf, uint8_t proto, size_t l4_len, char *why, size_t why_len)
{
	const uint8_t *l4 = buf + pkt_l4_off(buf);
	uint16_t want, have;

	if (proto == IPPROTO_TCP && l4_len >= PKT_TCP_LEN) {
		have = pkt_get16(l4, TCP_CSUM);
		want = pkt_l4_csum(buf);
	} else if (proto == IPPROTO_UDP && l4_len >= PKT_UDP_LEN) {
		have = pkt_get16(l4, UDP_CSUM);
		want = pkt_l4_csum(buf);
		if (have == 0 && pkt_is_v6(buf)) {
			snprintf(why, why_len, "UDP checksum 0, which IPv6 does not allow");
			return false;
		}
		if (have == 0) /* no checksum */
			return true;
		if (want == 0)
			want = 0xffff;
	} else {
		return true;
	}
	if (want != have) {
		snprintf(why, why_len, "%s checksum 0x%04x, recomputed 0x%04x",
			 proto == IPPROTO_TCP ? "TCP" : "UDP", have, want);
		return false;
	}
	return true;
}

static bool pkt_verify6(const uint8_t *buf, size_t len, char *why, size_t why_len)
{
	const uint8_t *ip = buf + PKT_ETH_LEN;
	size_t end, l4;

	if (len < PKT_ETH_LEN + PKT_IP6_LEN || (ip[0] >> 4) != 6) {
		snprintf(why, why_len, "not a complete IPv6 header");
		return false;
	}
	end = l3_end(buf);
	if (end > len) {
		snprintf(why, why_len, "bad IPv6 payload length %u", pkt_get16(ip, IP6_PLEN));
		return false;
	}
	l4 = pkt_l4_off(buf);
	if (l4 > end) {
		snprintf(why, why_len, "extension headers run past the payload");
		return false;
	}
	if (later_fragment(buf))
		return true;
	return verify_l4(buf, pkt_l4_proto(buf), end - l4, why, why_len);
}

bool pkt_verify(const uint8_t *buf, size_t len, char *why, size_t why_len)
{
	const uint8_t *ip = buf + PKT_ETH_LEN;
	size_t hlen, tot;
	uint16_t want, have;

	if (len >= PKT_ETH_LEN && pkt_is_v6(buf))
		return pkt_verify6(buf, len, why, why_len);

	if (len < PKT_ETH_LEN + PKT_IP_LEN || (ip[0] >> 4) != 4 || (ip[0] & 0x0f) < 5) {
		snprintf(why, why_len, "not a complete IPv4 header");
		return false;
	}
	hlen = (size_t)(ip[0] & 0x0f) * 4;
	tot = pkt_get16(ip, IP_TOT_LEN);
	if (tot < hlen || PKT_ETH_LEN + tot > len) {
		snprintf(why, why_len, "bad IPv4 total length %zu", tot);
		return false;
	}
	want = pkt_ip_csum(buf);
	have = pkt_get16(ip, IP_CSUM);
	if (want != have) {
		snprintf(why, why_len, "IP checksum 0x%04x, recomputed 0x%04x", have, want);
		return false;
	}
	return verify_l4(buf, ip[IP_PROTO], tot - hlen, why, why_len);
}

size_t pkt_l4_csum_field(const uint8_t *buf)
{
	return pkt_l4_off(buf) + (pkt_l4_proto(buf) == IPPROTO_TCP ? TCP_CSUM : UDP_CSUM);
}

/* Folded, never complemented: a nonzero sum folds to 1..0xffff, as the
 * kernel's csum_fold() leaves it before its final complement. */
uint16_t pkt_pseudo_seed(const uint8_t *buf)
{
	uint32_t sum = pseudo_sum(buf);

	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

void pkt_set_partial(uint8_t *buf)
{
	pkt_put16(buf, pkt_l4_csum_field(buf), pkt_pseudo_seed(buf));
}

/* As skb_checksum_help() or a NIC does: sum from the L4 header to the end of
 * the datagram with the seed in the field, store the complement. A UDP
 * result of 0 goes out as 0xffff (RFC 768). */
void pkt_complete_partial(uint8_t *buf)
{
	size_t l4 = pkt_l4_off(buf);
	uint16_t c = pkt_fold_not(pkt_sum16(buf + l4, l3_end(buf) - l4, 0));

	if (pkt_l4_proto(buf) == IPPROTO_UDP && c == 0)
		c = 0xffff;
	pkt_put16(buf, pkt_l4_csum_field(buf), c);
}

void pkt_hexdump(const char *label, const uint8_t *buf, size_t len)
{
	size_t i;

	printf("  %s (%zu bytes):", label, len);
	for (i = 0; i < len; i++)
		printf("%s%02x", i % 16 ? " " : "\n    ", buf[i]);
	printf("\n");
}
