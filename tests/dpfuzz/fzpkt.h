/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packets for the datapath fuzzer (tests/dpfuzz): a deterministic PRNG,
 * builders for well-formed Ethernet/IPv4|IPv6/TCP|UDP packets with random
 * fields (IPv4 options, IPv6 extension-header chains, TCP options,
 * fragments, Ethernet padding) and ICMP/ICMPv6 errors quoting any packet,
 * and a parser that reads any byte string as far as it can, independently
 * of the datapath's own parser.
 *
 *   fz_seed(), fz_u64(), fz_below(), fz_one_in(), fz_fill()   xoshiro256**
 *   fz_build()       Ethernet + IP + TCP/UDP (or another protocol), checksums
 *                    from scratch (or deliberately partial, random, zero)
 *   fz_build_icmp()  Ethernet + IP + ICMP/ICMPv6 error quoting an IP packet
 *   fz_parse()       headers, offsets and tuple of any packet (see struct fz_parse)
 *   fz_fold()            fold an RFC 1071 sum (pkt_sum16() in tests/datapath/pkt.h adds)
 */
#ifndef BPFPORT_DPFUZZ_FZPKT_H
#define BPFPORT_DPFUZZ_FZPKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FZ_MAX 1536 /* room for any packet built or mutated here */
#define FZ_ETH_LEN 14

#define FZ_TCP 6
#define FZ_UDP 17
#define FZ_ICMP 1
#define FZ_ICMP6 58
#define FZ_EXT_HOP 0
#define FZ_EXT_ROUTING 43
#define FZ_EXT_FRAG 44
#define FZ_EXT_AH 51
#define FZ_EXT_DEST 60

struct fz_rng {
	uint64_t s[4];
};

void fz_seed(struct fz_rng *r, uint64_t seed);
uint64_t fz_u64(struct fz_rng *r);
uint32_t fz_below(struct fz_rng *r, uint32_t n); /* 0 .. n-1 (n > 0) */
bool fz_one_in(struct fz_rng *r, uint32_t n);
void fz_fill(struct fz_rng *r, uint8_t *p, size_t n);

/* Addresses as on the wire; IPv4 in the first 4 bytes, the rest zero. */
struct fz_addr {
	uint8_t b[16];
};

struct fz_tuple {
	uint8_t fam; /* 4 or 6 */
	uint8_t proto;
	struct fz_addr s, d;
	uint16_t sp, dp; /* host order */
};

enum { FZ_FRAG_NONE, FZ_FRAG_FIRST, FZ_FRAG_LATER, FZ_FRAG_ATOMIC };
enum { FZ_CSUM_VALID, FZ_CSUM_PARTIAL, FZ_CSUM_RANDOM, FZ_CSUM_ZERO };

struct fz_spec {
	struct fz_tuple t;
	uint8_t tcp_flags;
	uint32_t seq, ack;
	int frag; /* FZ_FRAG_* (ATOMIC: IPv6 fragment header, offset 0, no M) */
	uint32_t frag_id; /* host order; IPv4 uses the low 16 bits */
	uint16_t frag_off; /* later fragments: offset in 8-byte units, nonzero */
	int ext_max; /* IPv6: up to this many extension headers */
	int opt_max; /* IPv4: up to this many 32-bit option words (<= 10) */
	int tcp_opt_max; /* TCP: up to this many option words (<= 10) */
	int payload_max;
	int pad_max; /* Ethernet padding after the datagram */
	int csum; /* FZ_CSUM_* for the L4 checksum */
};

struct fz_built {
	size_t len;
	int n_ext; /* IPv6 extension headers before L4 (or the later fragment's header) */
	bool csums_valid; /* every checksum right, from scratch, for the whole datagram */
};

size_t fz_build(struct fz_rng *r, uint8_t *buf, const struct fz_spec *s, struct fz_built *b);

struct fz_icmp_spec {
	uint8_t fam;
	struct fz_addr s, d;
	uint8_t type, code;
	uint32_t rest;
	const uint8_t *quote; /* an IP packet, from its IP header */
	size_t quote_len;
	int ext_max; /* IPv6 extension headers before ICMPv6 */
	int opt_max; /* IPv4 option words */
	int pad_max;
	bool bad_csum; /* a random ICMP checksum */
};

size_t fz_build_icmp(struct fz_rng *r, uint8_t *buf, const struct fz_icmp_spec *s,
		     struct fz_built *b);

/*
 * What a packet holds, read generously: up to two VLAN tags, an IP header
 * whenever its fixed part is present (whatever its length fields say),
 * IPv6 extension headers as long as they lie in the packet (at most 16),
 * and ports wherever the L4 header starts. `len_ok` says whether the
 * length fields are consistent; `end` is the datagram's end if so, the
 * packet's otherwise.
 */
struct fz_quote {
	bool ok; /* a quoted IP header whose fixed part is in the packet */
	int fam;
	size_t l3, ihl, l4; /* l4: 0 if not reached in the packet */
	uint8_t proto;
	int n_ext;
	bool has_ports;
	uint16_t sp, dp;
	size_t csum_off; /* 0: the quoted L4 checksum is not in the packet */
	size_t saddr_off, daddr_off, alen;
};

struct fz_parse {
	size_t len;
	size_t l3; /* 0: no IP header */
	int fam; /* 4, 6 or 0 */
	bool len_ok;
	size_t ihl; /* IPv4 header length */
	size_t end;
	size_t saddr_off, daddr_off, alen;
	uint8_t proto; /* the upper-layer protocol (later fragment: the fragment's) */
	size_t l4; /* 0: not reached */
	int n_ext; /* IPv6 extension headers walked (including a later fragment's) */
	bool later, first; /* fragments: after the first; the first of several */
	uint32_t frag_key_id; /* the fragment ID as the datapath keys it (raw load) */
	uint8_t frag_proto;
	bool has_ports;
	uint16_t sp, dp;
	size_t csum_off; /* TCP/UDP checksum field, 0 if not in the packet */
	uint8_t tcp_flags;
	uint32_t seq, ack;
	uint8_t tcp_doff;
	bool icmp;
	uint8_t icmp_type;
	struct fz_quote q;
};

void fz_parse(const uint8_t *buf, size_t len, struct fz_parse *p);

uint16_t fz_fold(uint32_t sum); /* folded, 1..0xffff unless sum is 0 */
uint16_t fz_get16(const uint8_t *p, size_t off);
uint32_t fz_get32(const uint8_t *p, size_t off);
void fz_put16(uint8_t *p, size_t off, uint16_t v);
void fz_put32(uint8_t *p, size_t off, uint32_t v);

/* Pseudo-header sum (not folded) for an upper-layer segment of l4_len bytes. */
uint32_t fz_pseudo(const uint8_t *buf, const struct fz_parse *p, uint8_t proto, size_t l4_len);

/* The IPv4 header checksum from scratch (field taken as zero). */
uint16_t fz_ip_csum(const uint8_t *buf, size_t l3, size_t ihl);

/* Is the error type one the datapath translates (RFC 792 / 4443 errors)? */
bool fz_icmp_is_error(int fam, uint8_t type);

#endif /* BPFPORT_DPFUZZ_FZPKT_H */
