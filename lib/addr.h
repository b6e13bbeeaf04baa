/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Addresses, ports and protocols as users type them.
 *
 *   addr_parse()      "1.2.3.4", "::1" or "[::1]"
 *   addr_format()     without brackets
 *   endpoint_parse()  "1.2.3.4:80", "[::1]:80"; "[::ffff:1.2.3.4]:80" is IPv4, as Docker unmaps it
 *   addr_unmap_v4()   ::ffff:a.b.c.d becomes the IPv4 address a.b.c.d
 *   endpoint_format() "1.2.3.4:80", "[::1]:80"
 *   port_parse()      1-65535
 *   proto_parse()     "tcp", "udp"
 */
#ifndef BPFPORT_ADDR_H
#define BPFPORT_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "bpfport.h"

int addr_parse(const char *s, __u8 *family, struct bpfport_addr *a);
void addr_format(__u8 family, const struct bpfport_addr *a, char *buf, size_t len);
bool addr_is_unspec(const struct bpfport_addr *a);
/* An address as a default container ID: IPv6's ':' become '-' (IDs have no ':'). */
void addr_to_id(__u8 family, const struct bpfport_addr *a, char *buf, size_t len);
bool addr_equal(const struct bpfport_addr *a, const struct bpfport_addr *b);

/* Splits at the last ':'; errors name the part at fault in err. */
void addr_unmap_v4(__u8 *family, struct bpfport_addr *a);
int endpoint_parse(const char *s, __u8 *family, struct bpfport_addr *a, __u16 *port, char *err,
		   size_t errlen);
void endpoint_format(__u8 family, const struct bpfport_addr *a, __u16 port, char *buf, size_t len);

int port_parse(const char *s, __u16 *port);
int proto_parse(const char *s, __u8 *proto);
const char *proto_name(__u8 proto);
const char *family_name(__u8 family);

#endif /* BPFPORT_ADDR_H */
