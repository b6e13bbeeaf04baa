// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* ICMP errors and IP fragments, checksums from scratch; see icmp_pkt.h. */
#include "icmp_pkt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkt.h"

#define IPPROTO_ICMP_ 1
#define IPPROTO_ICMPV6_ 58
#define NEXTHDR_DEST_ 60
#define NEXTHDR_FRAG_ 44

static void eth(uint8_t *buf, bool v6)
{
	memcpy(buf, "\x02\0\0\0\0\x01\x02\0\0\0\0\x02", 12);
	pkt_put16(buf, 12, v6 ? 0x86dd : 0x0800);
}

size_t icmp_off(const uint8_t *buf)
{
	const uint8_t *ip = buf + PKT_ETH_LEN;

	if (!pkt_is_v6(buf))
		return PKT_ETH_LEN + (size_t)(ip[0] & 0x0f) * 4;
	if (ip[6] == NEXTHDR_DEST_)
		return PKT_ETH_LEN + PKT_IP6_LEN + ((size_t)ip[PKT_IP6_LEN + 1] + 1) * 8;
	return PKT_ETH_LEN + PKT_IP6_LEN;
}

/* End of the IP datagram, from its length field. */
static size_t l3_end(const uint8_t *buf)
{
	if (pkt_is_v6(buf))
		return PKT_ETH_LEN + PKT_IP6_LEN + pkt_get16(buf, PKT_ETH_LEN + 4);
	return PKT_ETH_LEN + pkt_get16(buf, PKT_ETH_LEN + 2);
}

uint16_t icmp_csum(const uint8_t *buf)
{
	size_t off = icmp_off(buf), len = l3_end(buf) - off;
	uint32_t sum = 0;

	if (pkt_is_v6(buf)) {
		sum = pkt_sum16(buf + PKT_ETH_LEN + 8, 32, 0);
		sum += (uint32_t)(len >> 16) + (uint32_t)(len & 0xffff) + IPPROTO_ICMPV6_;
	}
	sum = pkt_sum16(buf + off, len, sum);
	if (len >= 4)
		sum -= pkt_get16(buf, off + 2); /* as if the field were zero */
	return pkt_fold_not(sum);
}

size_t icmp_build(uint8_t *buf, const struct icmp_spec *s)
{
	size_t icmp_len = s->icmp_len >= 0 ? (size_t)s->icmp_len : 8 + s->quote_len;
	size_t l3 = PKT_ETH_LEN, off, len;
	uint8_t msg[ICMP_PKT_MAX];
	uint8_t *ip = buf + l3;

	if (8 + s->quote_len > sizeof(msg) || s->ip_opt_words > 10 ||
	    PKT_ETH_LEN + 60 + icmp_len + s->trailer_len > ICMP_PKT_MAX) {
		fprintf(stderr, "test bug: ICMP packet too large\n");
		abort();
	}
	memset(msg, 0, sizeof(msg));
	msg[0] = s->type;
	msg[1] = s->code;
	pkt_put16(msg, 4, (uint16_t)(s->rest >> 16));
	pkt_put16(msg, 6, (uint16_t)s->rest);
	if (s->quote_len)
		memcpy(msg + 8, s->quote, s->quote_len);

	memset(buf, 0, ICMP_PKT_MAX);
	eth(buf, s->v6);
	if (s->v6) {
		size_t ext = s->dest_opts ? 8 : 0;

		ip[0] = 0x60;
		pkt_put16(ip, 4, (uint16_t)(ext + icmp_len));
		ip[6] = s->dest_opts ? NEXTHDR_DEST_ : IPPROTO_ICMPV6_;
		ip[7] = 64;
		memcpy(ip + 8, s->saddr6, 16);
		memcpy(ip + 24, s->daddr6, 16);
		if (ext) {
			ip[40] = IPPROTO_ICMPV6_;
			ip[42] = 1; /* PadN */
			ip[43] = 4;
		}
		off = l3 + PKT_IP6_LEN + ext;
	} else {
		size_t ihl = PKT_IP_LEN + (size_t)s->ip_opt_words * 4, i;

		ip[0] = (uint8_t)(0x40 | ihl / 4);
		ip[1] = 0xc0; /* as Linux sends errors */
		pkt_put16(ip, 2, (uint16_t)(ihl + icmp_len));
		pkt_put16(ip, 4, 0x4321);
		ip[8] = 64;
		ip[9] = IPPROTO_ICMP_;
		memcpy(ip + 12, &s->saddr, 4);
		memcpy(ip + 16, &s->daddr, 4);
		for (i = PKT_IP_LEN; i < ihl; i++)
			ip[i] = i + 1 < ihl ? 0x01 /* NOP */ : 0x00 /* EOL */;
		pkt_put16(ip, 10, pkt_ip_csum(buf));
		off = l3 + ihl;
	}
	memcpy(buf + off, msg, icmp_len);
	len = off + icmp_len;
	if (icmp_len >= 4)
		pkt_put16(buf, off + 2, icmp_csum(buf));
	if (s->trailer_len)
		memcpy(buf + len, s->trailer, s->trailer_len);
	return len + s->trailer_len;
}

bool icmp_verify(const uint8_t *buf, size_t len, char *why, size_t why_len)
{
	size_t off = icmp_off(buf), end = l3_end(buf), qoff = off + 8, qlen;
	uint8_t q[PKT_ETH_LEN + ICMP_PKT_MAX];
	bool v6q;

	if (end > len || off + 8 > end) {
		snprintf(why, why_len, "not a whole ICMP error (%zu bytes, IP says %zu)", len, end);
		return false;
	}
	if (!pkt_is_v6(buf) && pkt_get16(buf, PKT_ETH_LEN + 10) != pkt_ip_csum(buf)) {
		snprintf(why, why_len, "outer IP checksum 0x%04x, recomputed 0x%04x",
			 pkt_get16(buf, PKT_ETH_LEN + 10), pkt_ip_csum(buf));
		return false;
	}
	if (pkt_get16(buf, off + 2) != icmp_csum(buf)) {
		snprintf(why, why_len, "ICMP checksum 0x%04x, recomputed 0x%04x",
			 pkt_get16(buf, off + 2), icmp_csum(buf));
		return false;
	}
	/* The quote, as a packet of its own (Ethernet header in front). */
	qlen = end - qoff;
	if (qlen < 1)
		return true;
	v6q = buf[qoff] >> 4 == 6;
	eth(q, v6q);
	memcpy(q + PKT_ETH_LEN, buf + qoff, qlen);
	if (!v6q && qlen >= PKT_IP_LEN && (size_t)(buf[qoff] & 0x0f) * 4 <= qlen &&
	    (buf[qoff] & 0x0f) >= 5 && pkt_get16(q, PKT_ETH_LEN + 10) != pkt_ip_csum(q)) {
		snprintf(why, why_len, "quoted IP checksum 0x%04x, recomputed 0x%04x",
			 pkt_get16(q, PKT_ETH_LEN + 10), pkt_ip_csum(q));
		return false;
	}
	/* The whole datagram quoted: its TCP/UDP checksum must hold too (a
	 * fragment's covers more than the quote: not checked). */
	if (v6q ? qlen >= PKT_IP6_LEN && buf[qoff + 6] == NEXTHDR_FRAG_ :
		  qlen >= PKT_IP_LEN && (pkt_get16(buf, qoff + 6) & 0x3fff))
		return true;
	if ((v6q && qlen >= PKT_IP6_LEN &&
	     (size_t)PKT_IP6_LEN + pkt_get16(q, PKT_ETH_LEN + 4) <= qlen) ||
	    (!v6q && qlen >= PKT_IP_LEN && pkt_get16(q, PKT_ETH_LEN + 2) <= qlen)) {
		char bad[200];

		if (!pkt_verify(q, PKT_ETH_LEN + qlen, bad, sizeof(bad))) {
			snprintf(why, why_len, "quoted datagram: %s", bad);
			return false;
		}
	}
	return true;
}

size_t frag_build(uint8_t *out, const uint8_t *dgram, size_t from, size_t to, bool more,
		  uint32_t id)
{
	size_t l4 = pkt_l4_off(dgram), n = to - from;
	uint8_t *ip = out + PKT_ETH_LEN;

	if (from % 8 || (more && n % 8) || l4 + to > ICMP_PKT_MAX - 8) {
		fprintf(stderr, "test bug: fragment [%zu, %zu)\n", from, to);
		abort();
	}
	memcpy(out, dgram, l4); /* Ethernet and IP headers */
	if (pkt_is_v6(dgram)) {
		uint8_t *fh = out + l4;

		fh[0] = ip[6];
		fh[1] = 0;
		pkt_put16(fh, 2, (uint16_t)(from | (more ? 1 : 0)));
		pkt_put16(fh, 4, (uint16_t)(id >> 16));
		pkt_put16(fh, 6, (uint16_t)id);
		ip[6] = NEXTHDR_FRAG_;
		pkt_put16(ip, 4, (uint16_t)(8 + n));
		memcpy(fh + 8, dgram + l4 + from, n);
		return l4 + 8 + n;
	}
	pkt_put16(ip, 2, (uint16_t)(l4 - PKT_ETH_LEN + n));
	pkt_put16(ip, 4, (uint16_t)id);
	pkt_put16(ip, 6, (uint16_t)((more ? 0x2000 : 0) | from / 8));
	memcpy(out + l4, dgram + l4 + from, n);
	pkt_put16(ip, 10, 0);
	pkt_put16(ip, 10, pkt_ip_csum(out));
	return l4 + n;
}
