// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Packets for the datapath fuzzer; see fzpkt.h. */
#include "fzpkt.h"
#include "pkt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- PRNG: xoshiro256**, seeded through splitmix64 ---- */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void fz_seed(struct fz_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t fz_u64(struct fz_rng *r)
{
	uint64_t *s = r->s, result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

uint32_t fz_below(struct fz_rng *r, uint32_t n)
{
	return (uint32_t)(((fz_u64(r) >> 32) * (uint64_t)n) >> 32);
}

bool fz_one_in(struct fz_rng *r, uint32_t n)
{
	return fz_below(r, n) == 0;
}

void fz_fill(struct fz_rng *r, uint8_t *p, size_t n)
{
	while (n >= 8) {
		uint64_t v = fz_u64(r);

		memcpy(p, &v, 8);
		p += 8;
		n -= 8;
	}
	if (n) {
		uint64_t v = fz_u64(r);

		memcpy(p, &v, n);
	}
}

/* ---- byte access and sums ---- */

uint16_t fz_get16(const uint8_t *p, size_t off)
{
	return (uint16_t)(p[off] << 8 | p[off + 1]);
}

uint32_t fz_get32(const uint8_t *p, size_t off)
{
	return (uint32_t)fz_get16(p, off) << 16 | fz_get16(p, off + 2);
}

void fz_put16(uint8_t *p, size_t off, uint16_t v)
{
	p[off] = (uint8_t)(v >> 8);
	p[off + 1] = (uint8_t)v;
}

void fz_put32(uint8_t *p, size_t off, uint32_t v)
{
	fz_put16(p, off, (uint16_t)(v >> 16));
	fz_put16(p, off + 2, (uint16_t)v);
}

uint16_t fz_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

uint32_t fz_pseudo(const uint8_t *buf, const struct fz_parse *p, uint8_t proto, size_t l4_len)
{
	uint32_t sum = pkt_sum16(buf + p->saddr_off, p->alen, 0);

	sum = pkt_sum16(buf + p->daddr_off, p->alen, sum);
	return sum + proto + (uint32_t)(l4_len >> 16) + (uint32_t)(l4_len & 0xffff);
}

uint16_t fz_ip_csum(const uint8_t *buf, size_t l3, size_t ihl)
{
	uint32_t sum = pkt_sum16(buf + l3, ihl, 0) - fz_get16(buf, l3 + 10);

	return (uint16_t)~fz_fold(sum);
}

bool fz_icmp_is_error(int fam, uint8_t type)
{
	if (fam == 4)
		return type == 3 || type == 11 || type == 12;
	return type >= 1 && type <= 4;
}

static bool is_ext(uint8_t nh)
{
	return nh == FZ_EXT_HOP || nh == FZ_EXT_ROUTING || nh == FZ_EXT_FRAG || nh == FZ_EXT_AH ||
	       nh == FZ_EXT_DEST;
}

static void fill_eth(struct fz_rng *r, uint8_t *buf, uint16_t type)
{
	memcpy(buf, "\x02\0\0\0\0\x01\x02\0\0\0\0\x02", 12);
	buf[5] = (uint8_t)fz_below(r, 4);
	buf[11] = (uint8_t)fz_below(r, 4);
	fz_put16(buf, 12, type);
}

/* IPv4 options: NOPs then EOL, or random bytes (the datapath must not care). */
static void fill_ip_opts(struct fz_rng *r, uint8_t *ip, size_t ihl)
{
	if (fz_one_in(r, 2)) {
		fz_fill(r, ip + 20, ihl - 20);
		return;
	}
	for (size_t i = 20; i < ihl; i++)
		ip[i] = i + 1 < ihl ? 0x01 : 0x00;
}

/* One IPv6 extension header of kind `kind` at h; returns its length. */
static size_t build_ext(struct fz_rng *r, uint8_t *h, uint8_t kind, uint8_t next, uint16_t frag6,
			uint32_t frag_id)
{
	size_t n;

	h[0] = next;
	switch (kind) {
	case FZ_EXT_FRAG:
		h[1] = fz_one_in(r, 8) ? (uint8_t)fz_u64(r) : 0;
		fz_put16(h, 2, frag6);
		fz_put32(h, 4, frag_id);
		return 8;
	case FZ_EXT_AH:
		h[1] = (uint8_t)fz_below(r, 7);
		n = ((size_t)h[1] + 2) * 4;
		break;
	default:
		h[1] = (uint8_t)fz_below(r, 4);
		n = ((size_t)h[1] + 1) * 8;
		break;
	}
	fz_fill(r, h + 2, n - 2);
	return n;
}

static const uint8_t other_exts[] = { FZ_EXT_HOP, FZ_EXT_ROUTING, FZ_EXT_DEST, FZ_EXT_AH };

size_t fz_build(struct fz_rng *r, uint8_t *buf, const struct fz_spec *s, struct fz_built *b)
{
	const struct fz_tuple *t = &s->t;
	size_t l3 = FZ_ETH_LEN, l4, hlen = 0, plen, end, len, i, fpos = 0, frag_end = 0;
	uint8_t *ip = buf + l3, kinds[16];
	int n_ext = 0;
	bool later = s->frag == FZ_FRAG_LATER;

	memset(b, 0, sizeof(*b));
	memset(buf, 0, FZ_MAX);
	fill_eth(r, buf, t->fam == 4 ? 0x0800 : 0x86dd);
	if (t->fam == 4) {
		size_t words = s->opt_max ? fz_below(r, (uint32_t)s->opt_max + 1) : 0;
		size_t ihl = 20 + 4 * words;
		uint16_t frag = 0;

		ip[0] = (uint8_t)(0x40 | ihl / 4);
		ip[1] = fz_one_in(r, 2) ? 0 : (uint8_t)fz_u64(r);
		fz_put16(ip, 4, (uint16_t)s->frag_id);
		if (s->frag == FZ_FRAG_FIRST)
			frag = 0x2000;
		else if (later)
			frag = (uint16_t)((s->frag_off & 0x1fff) | (fz_one_in(r, 2) ? 0x2000 : 0));
		else if (fz_one_in(r, 2))
			frag = 0x4000; /* DF */
		fz_put16(ip, 6, frag);
		ip[8] = (uint8_t)(1 + fz_below(r, 255));
		ip[9] = t->proto;
		memcpy(ip + 12, t->s.b, 4);
		memcpy(ip + 16, t->d.b, 4);
		fill_ip_opts(r, ip, ihl);
		l4 = l3 + ihl;
	} else {
		size_t n = s->ext_max ? fz_below(r, (uint32_t)s->ext_max + 1) : 0, off;
		uint16_t frag6 = 0;

		if (n > 16)
			n = 16;
		if (s->frag != FZ_FRAG_NONE && n == 0)
			n = 1;
		for (i = 0; i < n; i++)
			kinds[i] = other_exts[fz_below(r, 4)];
		if (s->frag != FZ_FRAG_NONE) {
			fpos = fz_one_in(r, 3) ? fz_below(r, (uint32_t)n) : n - 1;
			kinds[fpos] = FZ_EXT_FRAG;
			if (later) {
				frag6 = (uint16_t)((s->frag_off & 0x1fff) << 3 | fz_below(r, 2));
				n = fpos + 1; /* what follows is opaque payload */
			} else if (s->frag == FZ_FRAG_FIRST) {
				frag6 = 1;
			}
		}
		ip[0] = (uint8_t)(0x60 | fz_below(r, 16));
		fz_fill(r, ip + 1, 3);
		ip[6] = n ? kinds[0] : t->proto;
		ip[7] = (uint8_t)fz_u64(r);
		memcpy(ip + 8, t->s.b, 16);
		memcpy(ip + 24, t->d.b, 16);
		off = l3 + 40;
		for (i = 0; i < n; i++) {
			off += build_ext(r, buf + off, kinds[i],
					 i + 1 < n ? kinds[i + 1] : t->proto, frag6, s->frag_id);
			if (kinds[i] == FZ_EXT_FRAG)
				frag_end = off;
		}
		n_ext = (int)n;
		l4 = off;
	}

	plen = s->payload_max ? fz_below(r, (uint32_t)s->payload_max + 1) : 0;
	if (later) {
		plen += 8;
		fz_fill(r, buf + l4, plen);
	} else if (t->proto == FZ_TCP) {
		size_t words = s->tcp_opt_max ? fz_below(r, (uint32_t)s->tcp_opt_max + 1) : 0;
		uint8_t *th = buf + l4;

		hlen = 20 + 4 * words;
		fz_put16(th, 0, t->sp);
		fz_put16(th, 2, t->dp);
		fz_put32(th, 4, s->seq);
		fz_put32(th, 8, s->ack);
		th[12] = (uint8_t)((hlen / 4) << 4 | (fz_one_in(r, 8) ? fz_below(r, 16) : 0));
		th[13] = s->tcp_flags;
		fz_put16(th, 14, (uint16_t)fz_u64(r));
		fz_put16(th, 18, fz_one_in(r, 4) ? (uint16_t)fz_u64(r) : 0);
		if (fz_one_in(r, 2))
			fz_fill(r, th + 20, hlen - 20);
		else
			memset(th + 20, 1, hlen - 20);
		fz_fill(r, th + hlen, plen);
	} else if (t->proto == FZ_UDP) {
		hlen = 8;
		fz_put16(buf, l4, t->sp);
		fz_put16(buf, l4 + 2, t->dp);
		fz_put16(buf, l4 + 4, (uint16_t)(8 + plen));
		fz_fill(r, buf + l4 + 8, plen);
	} else {
		fz_fill(r, buf + l4, plen);
	}
	end = l4 + hlen + plen;
	if (t->fam == 4) {
		fz_put16(ip, 2, (uint16_t)(end - l3));
		fz_put16(ip, 10, fz_ip_csum(buf, l3, l4 - l3));
	} else {
		fz_put16(ip, 4, (uint16_t)(end - l3 - 40));
	}

	b->csums_valid = true;
	if (!later && (t->proto == FZ_TCP || t->proto == FZ_UDP)) {
		struct fz_parse p = { .saddr_off = l3 + (t->fam == 4 ? 12 : 8),
				      .daddr_off = l3 + (t->fam == 4 ? 16 : 24),
				      .alen = t->fam == 4 ? 4 : 16 };
		size_t coff = l4 + (t->proto == FZ_TCP ? 16 : 6);
		uint32_t sum = fz_pseudo(buf, &p, t->proto, end - l4);
		uint16_t c;

		switch (s->csum) {
		case FZ_CSUM_PARTIAL:
			c = fz_fold(sum);
			b->csums_valid = false;
			break;
		case FZ_CSUM_RANDOM:
			c = (uint16_t)fz_u64(r);
			b->csums_valid = false;
			break;
		case FZ_CSUM_ZERO:
			if (t->proto == FZ_UDP) {
				c = 0;
				b->csums_valid = t->fam == 4;
				break;
			}
			/* TCP has no "no checksum" */
			__attribute__((fallthrough));
		default:
			c = (uint16_t)~fz_fold(pkt_sum16(buf + l4, end - l4, sum));
			if (t->proto == FZ_UDP && c == 0)
				c = 0xffff;
		}
		fz_put16(buf, coff, c);
	}

	/* A first fragment: the checksum covers the whole datagram, of which
	 * this keeps the L4 header and a prefix of the payload. */
	if (s->frag == FZ_FRAG_FIRST && t->fam == 4 && plen) {
		size_t keep = hlen + fz_below(r, (uint32_t)plen);

		if (keep >= 8 && (keep & ~(size_t)7) >= hlen)
			keep &= ~(size_t)7;
		end = l4 + keep;
		fz_put16(ip, 2, (uint16_t)(end - l3));
		fz_put16(ip, 10, fz_ip_csum(buf, l3, l4 - l3));
		b->csums_valid = false;
	} else if (s->frag == FZ_FRAG_FIRST && plen) {
		size_t keep = hlen + fz_below(r, (uint32_t)plen), frag_part = l4 - frag_end + keep;

		if (frag_part >= 8 && (frag_part & ~(size_t)7) >= l4 - frag_end + hlen)
			keep -= frag_part & 7;
		end = l4 + keep;
		fz_put16(ip, 4, (uint16_t)(end - l3 - 40));
		b->csums_valid = false;
	} else if (s->frag == FZ_FRAG_FIRST) {
		b->csums_valid = false;
	}

	len = end;
	if (s->pad_max && fz_one_in(r, 4)) {
		size_t pad = 1 + fz_below(r, (uint32_t)s->pad_max);

		if (fz_one_in(r, 2))
			fz_fill(r, buf + len, pad);
		len += pad;
	}
	if (len > FZ_MAX) {
		fprintf(stderr, "dpfuzz bug: built a packet of %zu bytes\n", len);
		abort();
	}
	b->len = len;
	b->n_ext = n_ext;
	return len;
}

size_t fz_build_icmp(struct fz_rng *r, uint8_t *buf, const struct fz_icmp_spec *s,
		     struct fz_built *b)
{
	size_t l3 = FZ_ETH_LEN, l4, end, len, i;
	uint8_t *ip = buf + l3, *m;
	uint32_t sum;
	int n_ext = 0;

	memset(b, 0, sizeof(*b));
	memset(buf, 0, FZ_MAX);
	fill_eth(r, buf, s->fam == 4 ? 0x0800 : 0x86dd);
	if (s->fam == 4) {
		size_t words = s->opt_max ? fz_below(r, (uint32_t)s->opt_max + 1) : 0;
		size_t ihl = 20 + 4 * words;

		ip[0] = (uint8_t)(0x40 | ihl / 4);
		ip[1] = 0xc0;
		fz_put16(ip, 4, (uint16_t)fz_u64(r));
		fz_put16(ip, 6, fz_one_in(r, 2) ? 0x4000 : 0);
		ip[8] = (uint8_t)(1 + fz_below(r, 255));
		ip[9] = FZ_ICMP;
		memcpy(ip + 12, s->s.b, 4);
		memcpy(ip + 16, s->d.b, 4);
		fill_ip_opts(r, ip, ihl);
		l4 = l3 + ihl;
	} else {
		size_t n = s->ext_max ? fz_below(r, (uint32_t)s->ext_max + 1) : 0, off = l3 + 40;
		uint8_t kinds[16];

		if (n > 16)
			n = 16;
		for (i = 0; i < n; i++)
			kinds[i] = other_exts[fz_below(r, 4)];
		ip[0] = 0x60;
		ip[6] = n ? kinds[0] : FZ_ICMP6;
		ip[7] = 64;
		memcpy(ip + 8, s->s.b, 16);
		memcpy(ip + 24, s->d.b, 16);
		for (i = 0; i < n; i++)
			off += build_ext(r, buf + off, kinds[i],
					 i + 1 < n ? kinds[i + 1] : FZ_ICMP6, 0, 0);
		n_ext = (int)n;
		l4 = off;
	}
	m = buf + l4;
	m[0] = s->type;
	m[1] = s->code;
	fz_put32(m, 4, s->rest);
	if (l4 + 8 + s->quote_len > FZ_MAX - 64) {
		fprintf(stderr, "dpfuzz bug: ICMP quote of %zu bytes\n", s->quote_len);
		abort();
	}
	memcpy(m + 8, s->quote, s->quote_len);
	end = l4 + 8 + s->quote_len;
	if (s->fam == 4) {
		fz_put16(ip, 2, (uint16_t)(end - l3));
		fz_put16(ip, 10, fz_ip_csum(buf, l3, l4 - l3));
		sum = 0;
	} else {
		struct fz_parse p = { .saddr_off = l3 + 8, .daddr_off = l3 + 24, .alen = 16 };

		fz_put16(ip, 4, (uint16_t)(end - l3 - 40));
		sum = fz_pseudo(buf, &p, FZ_ICMP6, end - l4);
	}
	fz_put16(m, 2,
		 s->bad_csum ? (uint16_t)fz_u64(r) :
			       (uint16_t)~fz_fold(pkt_sum16(m, end - l4, sum)));
	len = end;
	if (s->pad_max && fz_one_in(r, 4)) {
		size_t pad = 1 + fz_below(r, (uint32_t)s->pad_max);

		if (fz_one_in(r, 2))
			fz_fill(r, buf + len, pad);
		len += pad;
	}
	b->len = len;
	b->n_ext = n_ext;
	b->csums_valid = !s->bad_csum;
	return len;
}

/* ---- parsing ---- */

static size_t ext_size(uint8_t nh, const uint8_t *h)
{
	if (nh == FZ_EXT_FRAG)
		return 8;
	if (nh == FZ_EXT_AH)
		return ((size_t)h[1] + 2) * 4;
	return ((size_t)h[1] + 1) * 8;
}

static void parse_quote(const uint8_t *buf, size_t len, size_t q3, struct fz_quote *q)
{
	uint8_t nh;
	size_t o;

	memset(q, 0, sizeof(*q));
	if (q3 + 1 > len)
		return;
	q->l3 = q3;
	if (buf[q3] >> 4 == 4) {
		if (q3 + 20 > len)
			return;
		q->ok = true;
		q->fam = 4;
		q->ihl = (size_t)(buf[q3] & 0x0f) * 4;
		q->proto = buf[q3 + 9];
		q->saddr_off = q3 + 12;
		q->daddr_off = q3 + 16;
		q->alen = 4;
		if (q->ihl < 20 || q3 + q->ihl > len || (fz_get16(buf, q3 + 6) & 0x1fff))
			return;
		q->l4 = q3 + q->ihl;
	} else if (buf[q3] >> 4 == 6) {
		if (q3 + 40 > len)
			return;
		q->ok = true;
		q->fam = 6;
		q->saddr_off = q3 + 8;
		q->daddr_off = q3 + 24;
		q->alen = 16;
		nh = buf[q3 + 6];
		o = q3 + 40;
		for (int i = 0; i < 16 && is_ext(nh); i++) {
			const uint8_t *h = buf + o;

			if (o + 8 > len || (nh == FZ_EXT_FRAG && (fz_get16(h, 2) & 0xfff8))) {
				q->proto = nh;
				return;
			}
			q->n_ext++;
			o += ext_size(nh, h);
			nh = h[0];
		}
		q->proto = nh;
		if (is_ext(nh))
			return;
		q->l4 = o;
	} else {
		return;
	}
	if (q->l4 && (q->proto == FZ_TCP || q->proto == FZ_UDP) && q->l4 + 4 <= len) {
		size_t c = q->l4 + (q->proto == FZ_TCP ? 16 : 6);

		q->has_ports = true;
		q->sp = fz_get16(buf, q->l4);
		q->dp = fz_get16(buf, q->l4 + 2);
		if (c + 2 <= len)
			q->csum_off = c;
	}
}

void fz_parse(const uint8_t *buf, size_t len, struct fz_parse *p)
{
	size_t off = 12, l3, l4 = 0;
	uint16_t et;
	uint8_t proto;
	int tags = 0;

	memset(p, 0, sizeof(*p));
	p->len = len;
	p->end = len;
	if (len < FZ_ETH_LEN)
		return;
	et = fz_get16(buf, off);
	while ((et == 0x8100 || et == 0x88a8) && tags < 2 && off + 6 <= len) {
		off += 4;
		et = fz_get16(buf, off);
		tags++;
	}
	l3 = off + 2;
	if (et == 0x0800) {
		size_t ihl, tot;
		uint16_t frag, id;

		if (l3 + 20 > len || buf[l3] >> 4 != 4 || (buf[l3] & 0x0f) < 5)
			return;
		ihl = (size_t)(buf[l3] & 0x0f) * 4;
		if (l3 + ihl > len)
			return;
		p->l3 = l3;
		p->fam = 4;
		p->ihl = ihl;
		tot = fz_get16(buf, l3 + 2);
		p->len_ok = tot >= ihl && l3 + tot <= len;
		p->end = p->len_ok ? l3 + tot : len;
		p->saddr_off = l3 + 12;
		p->daddr_off = l3 + 16;
		p->alen = 4;
		proto = buf[l3 + 9];
		frag = fz_get16(buf, l3 + 6);
		memcpy(&id, buf + l3 + 4, 2);
		p->frag_key_id = id;
		p->frag_proto = proto;
		p->proto = proto;
		if (frag & 0x1fff) {
			p->later = true;
			return;
		}
		p->first = (frag & 0x2000) != 0;
		l4 = l3 + ihl;
	} else if (et == 0x86dd) {
		size_t plen, o;
		uint8_t nh;
		int i;

		if (l3 + 40 > len || buf[l3] >> 4 != 6)
			return;
		p->l3 = l3;
		p->fam = 6;
		plen = fz_get16(buf, l3 + 4);
		p->len_ok = plen && l3 + 40 + plen <= len;
		p->end = p->len_ok ? l3 + 40 + plen : len;
		p->saddr_off = l3 + 8;
		p->daddr_off = l3 + 24;
		p->alen = 16;
		nh = buf[l3 + 6];
		o = l3 + 40;
		for (i = 0; i < 16 && is_ext(nh); i++) {
			const uint8_t *h = buf + o;

			if (o + 8 > len) {
				p->proto = nh;
				return;
			}
			p->n_ext = i + 1;
			if (nh == FZ_EXT_FRAG) {
				uint32_t id;

				memcpy(&id, h + 4, 4);
				p->frag_key_id = id;
				p->frag_proto = h[0];
				if (fz_get16(h, 2) & 0xfff8) {
					p->later = true;
					p->proto = h[0];
					return;
				}
				if (fz_get16(h, 2) & 1)
					p->first = true;
			}
			o += ext_size(nh, h);
			nh = h[0];
		}
		p->proto = nh;
		if (is_ext(nh) || o >= len)
			return;
		l4 = o;
	} else {
		return;
	}
	proto = p->proto;
	p->l4 = l4;
	if ((proto == FZ_TCP || proto == FZ_UDP) && l4 + 4 <= len) {
		p->has_ports = true;
		p->sp = fz_get16(buf, l4);
		p->dp = fz_get16(buf, l4 + 2);
		if (proto == FZ_TCP) {
			if (l4 + 14 <= len) {
				p->seq = fz_get32(buf, l4 + 4);
				p->ack = fz_get32(buf, l4 + 8);
				p->tcp_doff = buf[l4 + 12] >> 4;
				p->tcp_flags = buf[l4 + 13];
			}
			if (l4 + 18 <= len)
				p->csum_off = l4 + 16;
		} else if (l4 + 8 <= len) {
			p->csum_off = l4 + 6;
		}
	} else if (((p->fam == 4 && proto == FZ_ICMP) || (p->fam == 6 && proto == FZ_ICMP6)) &&
		   l4 < len) {
		p->icmp = true;
		p->icmp_type = buf[l4];
		parse_quote(buf, len, l4 + 8, &p->q);
	}
}
