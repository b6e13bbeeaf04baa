/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ICMP/ICMPv6 errors and IP fragments for the ICMP tests, built on the
 * packets of tests/datapath/pkt.h. Every checksum is computed from scratch.
 *
 *   icmp_build()   Ethernet + IPv4|IPv6 + ICMP|ICMPv6 header + a quote
 *   icmp_off()     offset of the ICMP header in a packet icmp_build made
 *   icmp_csum()    ICMP checksum (ICMPv6: with the pseudo-header) as it should be
 *   icmp_verify()  outer IPv4 header, ICMP, quoted IPv4 header, and the quoted
 *                  TCP/UDP checksum when the whole datagram is quoted
 *   frag_build()   one fragment of a datagram pkt_build made
 */
#ifndef BPFPORT_TEST_ICMP_PKT_H
#define BPFPORT_TEST_ICMP_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ICMP_PKT_MAX 1024

struct icmp_spec {
	bool v6;
	uint32_t saddr, daddr; /* IPv4, network byte order */
	uint8_t saddr6[16], daddr6[16];
	uint8_t type, code;
	uint32_t rest; /* header bytes 4-7 (unused, MTU, pointer), host order */
	const uint8_t *quote; /* the quoted IP packet, from its IP header on */
	size_t quote_len;
	bool dest_opts; /* IPv6: a destination options header before ICMPv6 */
	uint8_t ip_opt_words; /* IPv4: 32-bit words of options (NOPs, then EOL) */
	const uint8_t *trailer; /* bytes after the IP datagram (Ethernet padding) */
	size_t trailer_len;
	int icmp_len; /* >= 0: cut the ICMP message (and the datagram) to this many bytes */
};

size_t icmp_build(uint8_t *buf, const struct icmp_spec *s);
size_t icmp_off(const uint8_t *buf);
uint16_t icmp_csum(const uint8_t *buf);
bool icmp_verify(const uint8_t *buf, size_t len, char *why, size_t why_len);

/* Fragment of the datagram in dgram (IPv4, or IPv6 without extension headers)
 * holding its L4 bytes [from, to), More Fragments flag `more`, ID id (IPv4:
 * the low 16 bits). IPv6 fragments carry a Fragment header. */
size_t frag_build(uint8_t *out, const uint8_t *dgram, size_t from, size_t to, bool more,
		  uint32_t id);

#endif /* BPFPORT_TEST_ICMP_PKT_H */
