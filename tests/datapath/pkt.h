/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Crafted Ethernet/IPv4/TCP|UDP packets for the datapath tests, with every
 * checksum computed from scratch (never incrementally), so that they are an
 * independent reference for the datapath's incremental updates.
 *
 *   pkt_build()       build a packet from a spec, checksums filled in
 *   pkt_ip_csum()     IPv4 header checksum of a header as it is
 *   pkt_l4_csum()     TCP/UDP checksum (with pseudo-header) of a packet as it is
 *   pkt_fix_csums()   recompute and store both after editing a header
 *   pkt_verify()      check both checksums of a packet, say what is wrong
 *   pkt_pseudo_seed() the L4 pseudo-header sum a CHECKSUM_PARTIAL packet carries
 *   pkt_set_partial() turn a packet into one as a local stack hands it to veth
 *   pkt_complete_partial()  finish a partial L4 checksum as a device would
 *   pkt_hexdump()     print a packet for a failure report
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

struct pkt_spec {
	uint8_t proto;          /* IPPROTO_TCP or IPPROTO_UDP (any other: no L4 header built) */
	uint32_t saddr, daddr;  /* network byte order */
	uint16_t sport, dport;  /* host byte order */
	uint8_t ip_opt_words;   /* 32-bit words of IPv4 options (NOPs, then EOL) */
	uint16_t payload_len;   /* payload bytes after the L4 header */
	uint16_t frag_off;      /* host order, flags and offset as in the header */
	uint8_t tcp_flags;      /* default (0) means ACK|PSH */
	bool udp_no_csum;       /* send UDP with checksum 0 ("none") */
	uint16_t eth_pad;       /* zero bytes after the IP datagram (Ethernet padding) */
};

/* IPv4 address from dotted quad, in network byte order; aborts on a typo. */
uint32_t pkt_ip(const char *dotted);

/* Returns the packet length. */
size_t pkt_build(uint8_t *buf, const struct pkt_spec *s);

/* Offsets of the IPv4 and L4 headers in a packet built by pkt_build. */
size_t pkt_l3_off(void);
size_t pkt_l4_off(const uint8_t *buf);

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
