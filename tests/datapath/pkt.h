/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Crafted Ethernet/IPv4|IPv6/TCP|UDP packets for the datapath tests, with
 * every checksum computed from scratch (never incrementally), so that they
 * are an independent reference for the datapath's incremental updates.
 * IPv6 packets may carry extension headers; their L4 checksums use the RFC
 * 8200 (section 8.1) pseudo-header, whose length is the upper-layer length
 * (payload length minus the extension headers). Every function below works
 * on both families, telling them apart by the EtherType.
 *
 *   pkt_build()       build a packet from a spec, checksums filled in
 *   pkt_ip_csum()     IPv4 header checksum of a header as it is (IPv6: none, 0)
 *   pkt_l4_csum()     TCP/UDP checksum (with pseudo-header) of a packet as it is
 *   pkt_fix_csums()   recompute and store both after editing a header
 *   pkt_verify()      check both checksums of a packet, say what is wrong
 *   pkt_pseudo_seed() the L4 pseudo-header sum a CHECKSUM_PARTIAL packet carries
 *   pkt_set_partial() turn a packet into one as a local stack hands it to veth
 *   pkt_complete_partial()  finish a partial L4 checksum as a device would
 *   pkt_hexdump()     print a packet for a failure report
 *   pkt_ip6()         IPv6 address from text
 *   pkt_is_v6()       an IPv6 packet (EtherType 0x86dd)
 */
#ifndef BPFPORT_TEST_PKT_H
#define BPFPORT_TEST_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PKT_MAX 512
#define PKT_ETH_LEN 14
#define PKT_IP_LEN 20
#define PKT_TCP_LEN 20
#define PKT_UDP_LEN 8
#define PKT_TCP_SEQ 0x11223344u /* default sequence and acknowledgment numbers */
#define PKT_TCP_ACK 0x55667788u
#define PKT_IP6_LEN 40

/* IPv6 extension headers, by their Next Header numbers. Each kind is built
 * with a fixed length, chosen so that every length formula is exercised:
 *   hop-by-hop   8 bytes (Hdr Ext Len 0, a PadN option)
 *   dest opts   16 bytes (Hdr Ext Len 1, a PadN option)
 *   routing     24 bytes (type 0, Segments Left 0, one address)
 *   fragment     8 bytes (offset and M flag from frag6, ID from frag_id)
 *   AH          24 bytes (Payload Len 4: (4 + 2) * 4, a 12-byte ICV) */
#define PKT_EXT_HOP 0
#define PKT_EXT_ROUTING 43
#define PKT_EXT_FRAGMENT 44
#define PKT_EXT_AH 51
#define PKT_EXT_DEST 60
#define PKT_EXT_MAX 12

struct pkt_spec {
	uint8_t proto; /* IPPROTO_TCP or IPPROTO_UDP (any other: no L4 header built) */
	uint32_t saddr, daddr; /* network byte order */
	uint16_t sport, dport; /* host byte order */
	uint8_t ip_opt_words; /* 32-bit words of IPv4 options (NOPs, then EOL) */
	uint16_t payload_len; /* payload bytes after the L4 header */
	uint16_t frag_off; /* host order, flags and offset as in the header */
	uint8_t tcp_flags; /* default (0) means ACK|PSH */
	uint32_t tcp_seq, tcp_ack; /* host order; 0 means PKT_TCP_SEQ, PKT_TCP_ACK */
	bool udp_no_csum; /* send UDP with checksum 0 ("none") */
	uint16_t eth_pad; /* zero bytes after the IP datagram (Ethernet padding) */
	/* IPv6: addresses in saddr6/daddr6 (saddr/daddr unused), no options. */
	bool v6;
	uint8_t saddr6[16], daddr6[16];
	uint8_t n_ext; /* extension headers, in order, before L4 */
	uint8_t ext[PKT_EXT_MAX]; /* PKT_EXT_* */
	uint16_t frag6; /* fragment header: offset << 3 | M, host order */
	uint32_t frag_id; /* fragment header: identification, host order */
};

/* IPv4 address from dotted quad, in network byte order; aborts on a typo. */
uint32_t pkt_ip(const char *dotted);

/* IPv6 address from text into 16 bytes; aborts on a typo. */
void pkt_ip6(const char *text, uint8_t out[16]);

/* Returns the packet length. */
size_t pkt_build(uint8_t *buf, const struct pkt_spec *s);

/* Offsets of the IP and L4 headers in a packet built by pkt_build. For IPv6
 * the extension headers are walked (as far as a fragment with a nonzero
 * offset, which has no L4 header: its offset is where the payload starts);
 * pkt_l4_proto() is the protocol found there. */
size_t pkt_l3_off(void);
size_t pkt_l4_off(const uint8_t *buf);
uint8_t pkt_l4_proto(const uint8_t *buf);
bool pkt_is_v6(const uint8_t *buf);

/* RFC 1071: sum of big-endian 16-bit words (not folded), and its folded complement. */
uint32_t pkt_sum16(const uint8_t *p, size_t len, uint32_t sum);
uint16_t pkt_fold_not(uint32_t sum);
uint16_t pkt_ip_csum(const uint8_t *buf);
uint16_t pkt_l4_csum(const uint8_t *buf);
void pkt_fix_csums(uint8_t *buf);
bool pkt_verify(const uint8_t *buf, size_t len, char *why, size_t why_len);

/*
 * CHECKSUM_PARTIAL: the L4 checksum field holds only the folded pseudo-header
 * sum over saddr, daddr, protocol and L4 length, not complemented (Linux
 * writes ~tcp_v4_check(len, saddr, daddr, 0)); the device later sums the
 * L4 segment with that seed in place and stores the complement.
 */
size_t pkt_l4_csum_field(const uint8_t *buf); /* offset of the TCP/UDP checksum field */
uint16_t pkt_pseudo_seed(const uint8_t *buf);
void pkt_set_partial(uint8_t *buf);
void pkt_complete_partial(uint8_t *buf);

/* Field access for tests that edit headers; values in host byte order. */
uint16_t pkt_get16(const uint8_t *buf, size_t off);
void pkt_put16(uint8_t *buf, size_t off, uint16_t v);

void pkt_hexdump(const char *label, const uint8_t *buf, size_t len);

#endif /* BPFPORT_TEST_PKT_H */
