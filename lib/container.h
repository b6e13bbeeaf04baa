/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A container (an endpoint): what Docker knows of one for publishing and
 * linking. Its bindings live in the state's binding list, tied by ID.
 *
 *   container_expose()     exposed port, deduplicated
 *   container_expose_range()  a range of them, in linear time
 *   container_set_env()    KEY=VALUE, replacing an earlier KEY
 *   container_has_family() whether it has an address of a family
 */
#ifndef BPFPORT_CONTAINER_H
#define BPFPORT_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "binding.h"
#include "bpfport.h"

struct exposed_port {
	__u16 port;
	__u8 proto;
};

struct container {
	char id[BINDING_ID_MAX];
	char name[BINDING_ID_MAX];
	bool has_ip4;
	bool has_ip6;
	struct bpfport_addr ip4;
	struct bpfport_addr ip6;
	struct exposed_port *exposed;
	size_t n_exposed;
	char **env;
	size_t n_env;
};

int container_expose(struct container *c, __u16 port, __u8 proto);
/* Ports first..last of proto, those not exposed yet, in order; linear time. */
int container_expose_range(struct container *c, __u16 first, __u16 last, __u8 proto);
bool container_exposes(const struct container *c, __u16 port, __u8 proto);
int container_set_env(struct container *c, const char *kv);
bool container_has_family(const struct container *c, __u8 family);
const struct bpfport_addr *container_addr(const struct container *c, __u8 family);
int container_copy(struct container *dst, const struct container *src);
void container_free(struct container *c);

/* Percent-encoding of state file values: no spaces, newlines or '%' inside. */
void value_encode(const char *in, char *out, size_t len);
int value_decode(const char *in, char *out, size_t len);

#endif /* BPFPORT_CONTAINER_H */
