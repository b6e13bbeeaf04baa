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

/* Plain RFC 1071 sum of big-endian 16-bit words, not yet folded. */
static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t fold_not(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

size_t pkt_l3_off(void)
{
	return PKT_ETH_LEN;
}

size_t pkt_l4_off(const uint8_t *buf)
{
	return PKT_ETH_LEN + (size_t)(buf[PKT_ETH_LEN] & 0x0f) * 4;
}

uint16_t pkt_ip_csum(const uint8_t *buf)
{
	const uint8_t *ip = buf + PKT_ETH_LEN;
	size_t hlen = (size_t)(ip[0] & 0x0f) * 4;
	uint32_t sum = sum16(ip, hlen, 0);

	sum -= pkt_get16(ip, IP_CSUM); /* as if the field were zero */
	return fold_not(sum);
}

/* The checksum as computed, before UDP's "0 is sent as 0xffff" rule. */
uint16_t pkt_l4_csum(const uint8_t *buf)
{
	const uint8_t *ip = buf + PKT_ETH_LEN;
	size_t hlen = (size_t)(ip[0] & 0x0f) * 4;
	size_t l4_len = pkt_get16(ip, IP_TOT_LEN) - hlen;
	const uint8_t *l4 = ip + hlen;
	size_t csum_off = ip[IP_PROTO] == IPPROTO_TCP ? TCP_CSUM : UDP_CSUM;
	uint32_t sum = 0;

	sum = sum16(ip + IP_SADDR, 8, sum); /* pseudo-header: saddr, daddr */
	sum += ip[IP_PROTO];
	sum += (uint32_t)l4_len;
	sum = sum16(l4, l4_len, sum);
	sum -= pkt_get16(l4, csum_off);
	return fold_not(sum);
}

void pkt_fix_csums(uint8_t *buf)
{
	uint8_t *ip = buf + PKT_ETH_LEN;
	uint8_t *l4 = buf + pkt_l4_off(buf);
	uint16_t c;

	pkt_put16(ip, IP_CSUM, 0);
	pkt_put16(ip, IP_CSUM, pkt_ip_csum(buf));
	if (ip[IP_PROTO] == IPPROTO_TCP) {
		pkt_put16(l4, TCP_CSUM, pkt_l4_csum(buf));
	} else if (ip[IP_PROTO] == IPPROTO_UDP && pkt_get16(l4, UDP_CSUM) != 0) {
		c = pkt_l4_csum(buf);
		pkt_put16(l4, UDP_CSUM, c ? c : 0xffff);
	}
}

size_t pkt_build(uint8_t *buf, const struct pkt_spec *s)
{
	static const uint8_t dst_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	static const uint8_t src_mac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	size_t ihl = PKT_IP_LEN + (size_t)s->ip_opt_words * 4;
	size_t l4_hlen = s->proto == IPPROTO_TCP ? PKT_TCP_LEN
			 : s->proto == IPPROTO_UDP ? PKT_UDP_LEN
						   : 0;
	size_t ip_len = ihl + l4_hlen + s->payload_len;
	size_t len = PKT_ETH_LEN + ip_len + s->eth_pad;
	uint8_t *ip = buf + PKT_ETH_LEN, *l4 = ip + ihl;
	size_t i;

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

	if (s->proto == IPPROTO_TCP) {
		pkt_put16(l4, 0, s->sport);
		pkt_put16(l4, 2, s->dport);
		memcpy(l4 + 4, "\x11\x22\x33\x44\x55\x66\x77\x88", 8); /* seq, ack */
		l4[12] = 5 << 4;
		l4[13] = s->tcp_flags ? s->tcp_flags : 0x18; /* ACK|PSH */
		pkt_put16(l4, 14, 0xfaf0);                  /* window */
	} else if (s->proto == IPPROTO_UDP) {
		pkt_put16(l4, 0, s->sport);
		pkt_put16(l4, 2, s->dport);
		pkt_put16(l4, UDP_LEN, (uint16_t)(l4_hlen + s->payload_len));
		pkt_put16(l4, UDP_CSUM, s->udp_no_csum ? 0 : 1); /* nonzero: fill in */
	}
	for (i = 0; i < s->payload_len; i++)
		l4[l4_hlen + i] = (uint8_t)(i * 7 + 3);

	pkt_fix_csums(buf);
	return len;
}

bool pkt_verify(const uint8_t *buf, size_t len, char *why, size_t why_len)
{
	const uint8_t *ip = buf + PKT_ETH_LEN, *l4;
	size_t hlen, tot;
	uint16_t want, have;

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
	l4 = ip + hlen;
	if (ip[IP_PROTO] == IPPROTO_TCP && tot - hlen >= PKT_TCP_LEN) {
		have = pkt_get16(l4, TCP_CSUM);
		want = pkt_l4_csum(buf);
	} else if (ip[IP_PROTO] == IPPROTO_UDP && tot - hlen >= PKT_UDP_LEN) {
		have = pkt_get16(l4, UDP_CSUM);
		want = pkt_l4_csum(buf);
		if (have == 0) /* no checksum */
			return true;
		if (want == 0)
			want = 0xffff;
	} else {
		return true;
	}
	if (want != have) {
		snprintf(why, why_len, "%s checksum 0x%04x, recomputed 0x%04x",
			 ip[IP_PROTO] == IPPROTO_TCP ? "TCP" : "UDP", have, want);
		return false;
	}
	return true;
}

size_t pkt_l4_csum_field(const uint8_t *buf)
{
	const uint8_t *ip = buf + PKT_ETH_LEN;

	return pkt_l4_off(buf) + (ip[IP_PROTO] == IPPROTO_TCP ? TCP_CSUM : UDP_CSUM);
}

/* Folded, never complemented: a nonzero sum folds to 1..0xffff, as the
 * kernel's csum_fold() leaves it before its final complement. */
uint16_t pkt_pseudo_seed(const uint8_t *buf)
{
	const uint8_t *ip = buf + PKT_ETH_LEN;
	size_t hlen = (size_t)(ip[0] & 0x0f) * 4;
	uint32_t sum = sum16(ip + IP_SADDR, 8, 0);

	sum += ip[IP_PROTO];
	sum += (uint32_t)(pkt_get16(ip, IP_TOT_LEN) - hlen);
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
	const uint8_t *ip = buf + PKT_ETH_LEN;
	size_t hlen = (size_t)(ip[0] & 0x0f) * 4;
	size_t l4_len = pkt_get16(ip, IP_TOT_LEN) - hlen;
	uint16_t c = fold_not(sum16(ip + hlen, l4_len, 0));

	if (ip[IP_PROTO] == IPPROTO_UDP && c == 0)
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
