/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A binding: one published host endpoint and the container endpoint behind
 * it, owned by a container ID. Ports are in host byte order here and
 * converted only when written to a map.
 *
 *   binding_parse_spec()   'HOST_IP:HOST_PORT -> CONTAINER_IP:CONTAINER_PORT[/PROTO]'
 *   binding_conflicts()    Docker's rule: same proto and family, same port,
 *                          and equal addresses or either one unspecified
 *   binding_to_key/val()   map representation
 */
#ifndef BPFPORT_BINDING_H
#define BPFPORT_BINDING_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "bpfport.h"

#define BINDING_ID_MAX 128
/* "[ffff:...:ffff]:65535" plus NUL */
#define ENDPOINT_STR_MAX 56
#define ERRBUF_MAX 256

/* A source prefix of an allow-list. */
struct cidr {
	__u8 family;
	__u8 prefixlen;
	struct bpfport_addr addr;
};

#define BINDING_ALLOW_MAX 16

struct binding {
	char id[BINDING_ID_MAX];
	__u8 family;
	__u8 proto;
	__u16 host_port;
	__u16 container_port;
	__u32 slot;
	bool reserved; /* bpfport put host_port in ip_local_reserved_ports */
	struct bpfport_addr host_addr;
	struct bpfport_addr container_addr;
	__u8 n_allow; /* 0: every source */
	struct cidr allow[BINDING_ALLOW_MAX];
};

/* Parse a spec given as one or more words: "A -> B", "A", "->", "B" or "A to B". */
int binding_parse_spec(int argc, char **argv, struct binding *b, char *err, size_t errlen);

bool binding_conflicts(const struct binding *a, const struct binding *b);
/* Same host endpoint, same container endpoint, same protocol. */
bool binding_same(const struct binding *a, const struct binding *b);

void binding_to_key(const struct binding *b, struct bpfport_bind_key *key);
void binding_to_val(const struct binding *b, struct bpfport_bind_val *val);

/* "0.0.0.0:80", "[::]:80"; and the spec form "0.0.0.0:80 -> 172.17.0.8:8080/tcp". */
void binding_host_str(const struct binding *b, char *buf, size_t len);
void binding_container_str(const struct binding *b, char *buf, size_t len);
void binding_spec_str(const struct binding *b, char *buf, size_t len);

bool id_is_valid(const char *id);

/* "10.0.0.0/8", "2001:db8::/32", or an address alone (a host prefix). */
int cidr_parse(const char *s, struct cidr *c);
void cidr_format(const struct cidr *c, char *buf, size_t len);
/* "a,b,c": the prefixes of the binding's family, into b->allow. */
int binding_set_allow(struct binding *b, const struct cidr *all, size_t n);

#endif /* BPFPORT_BINDING_H */
