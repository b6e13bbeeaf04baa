/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Docker's -p grammar, parsed as go-connections' nat.ParsePortSpec does it,
 * with the same order of checks and the same error texts:
 *
 *   container | host:container | ip:host:container | ip::container
 *   each port may be a range START-END; /tcp, /udp (or /sctp) after the
 *   container part; IPv6 host addresses bracketed or bare (::1:80:80)
 *
 * One spec gives one mapping per container port. A host port of 0, or none,
 * asks for a dynamic port from the pool; a host range with a single container
 * port asks for a dynamic port within that range.
 */
#ifndef BPFPORT_PORTSPEC_H
#define BPFPORT_PORTSPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "bpfport.h"

#define IPPROTO_SCTP_NUM 132

struct port_mapping {
	bool has_host_ip;
	__u8 host_family;
	struct bpfport_addr host_addr;
	__u16 host_port_start; /* 0: dynamic from the pool */
	__u16 host_port_end; /* > start: dynamic within [start, end] */
	__u16 container_port;
	__u8 proto; /* IPPROTO_TCP, IPPROTO_UDP or IPPROTO_SCTP_NUM */
};

/*
 * Parses one spec into *out (allocated, *n entries). On error returns
 * -EINVAL with Docker's message in err.
 */
int portspec_parse(const char *spec, struct port_mapping **out, size_t *n, char *err,
		   size_t errlen);

/* Docker's parsePortRange: "80" or "8000-8010", each 0-65535. */
int port_range_parse(const char *s, __u16 *start, __u16 *end);

/* "80/tcp", "8000-8002/udp" (for --expose). */
int port_proto_parse(const char *s, __u16 *start, __u16 *end, __u8 *proto, char *err,
		     size_t errlen);

#endif /* BPFPORT_PORTSPEC_H */
