/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Incremental Internet checksum updates (RFC 1624, eqn. 3) for XDP, which
 * has no checksum helpers that know the packet. TC uses the kernel's
 * bpf_l3/l4_csum_replace instead, because only the kernel knows whether an
 * skb carries a full or a partial (CHECKSUM_PARTIAL) L4 checksum.
 *
 *   csum_fold32()         fold a 32-bit sum into 16 bits
 *   csum_replace4/2()     update a checksum field for a changed word
 *   csum_replace_addr()   same for a 16-byte (IPv4: 4-byte) address
 *   csum_seed_replace_addr()  update a partial checksum's pseudo-header seed
 *   csum_pseudo_seed()    the seed a CHECKSUM_PARTIAL packet carries
 */
#ifndef BPFPORT_CSUM_H
#define BPFPORT_CSUM_H

static __always_inline __u16 csum_fold32(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* HC' = ~(~HC + ~m + m'), computed on 16-bit halves of a 32-bit word. */
static __always_inline void csum_replace4(__u16 *field, __u32 from, __u32 to)
{
	__u32 sum = (__u16) ~*field;

	sum += (__u16)~from + (__u16) ~(from >> 16);
	sum += (to & 0xffff) + (to >> 16);
	*field = (__u16)~csum_fold32(sum);
}

static __always_inline void csum_replace2(__u16 *field, __u16 from, __u16 to)
{
	__u32 sum = (__u16) ~*field;

	sum += (__u16)~from + to;
	*field = (__u16)~csum_fold32(sum);
}

static __always_inline void csum_replace_addr(__u16 *field, const struct bpfport_addr *from,
					      const struct bpfport_addr *to, __u8 family)
{
	csum_replace4(field, from->a[0], to->a[0]);
	if (family == BPFPORT_AF_INET)
		return;
	csum_replace4(field, from->a[1], to->a[1]);
	csum_replace4(field, from->a[2], to->a[2]);
	csum_replace4(field, from->a[3], to->a[3]);
}

/*
 * A CHECKSUM_PARTIAL packet (from a local stack over veth) carries in its L4
 * checksum field only the folded pseudo-header sum, not complemented; the
 * device completes it later over the payload. Its update for a changed
 * address is the plain ones' complement difference: seed - from + to, which
 * is csum_replace4() applied to the complement.
 */
static __always_inline void csum_seed_replace4(__u16 *field, __u32 from, __u32 to)
{
	__u16 tmp = (__u16) ~*field;

	csum_replace4(&tmp, from, to);
	*field = (__u16)~tmp;
}

static __always_inline void csum_seed_replace_addr(__u16 *field, const struct bpfport_addr *from,
						   const struct bpfport_addr *to, __u8 family)
{
	__u16 tmp = (__u16) ~*field;

	csum_replace_addr(&tmp, from, to, family);
	*field = (__u16)~tmp;
}

static __always_inline __u32 csum_add_addr(__u32 sum, const struct bpfport_addr *a, __u8 family)
{
	sum += (a->a[0] & 0xffff) + (a->a[0] >> 16);
	if (family == BPFPORT_AF_INET)
		return sum;
	sum += (a->a[1] & 0xffff) + (a->a[1] >> 16);
	sum += (a->a[2] & 0xffff) + (a->a[2] >> 16);
	return sum + (a->a[3] & 0xffff) + (a->a[3] >> 16);
}

/* The pseudo-header sum (RFC 793 / RFC 8200 8.1), folded, not complemented. */
static __always_inline __u16 csum_pseudo_seed(const struct bpfport_addr *saddr,
					      const struct bpfport_addr *daddr, __u8 family,
					      __u8 proto, __u16 l4_len)
{
	__u32 sum = csum_add_addr(csum_add_addr(0, saddr, family), daddr, family);

	sum += bpf_htons(proto) + bpf_htons(l4_len);
	return csum_fold32(sum);
}

#endif /* BPFPORT_CSUM_H */
