/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * From port mappings (Docker -p) to concrete bindings, with Docker's
 * allocation and conflict rules (moby portallocator):
 *
 * - no host address: one binding per address family the container has
 *   (0.0.0.0 and/or ::), on the same host port;
 * - a fixed host port must be free for the protocol and family: the
 *   unspecified address conflicts with every address of its family;
 * - a dynamic port is taken round-robin from the pool (or the requested
 *   range), after the last one handed out, skipping the kernel's reserved
 *   ports for the default pool, so a released port is not reused until the
 *   cursor wraps;
 * - with check_sockets, a port another program listens on is refused (fixed)
 *   or skipped (dynamic), as Docker v27+ does by binding it first.
 *
 * Nothing is installed here: the caller gets the bindings (without slots)
 * and the cursors in *st are advanced.
 */
#ifndef BPFPORT_PUBLISH_H
#define BPFPORT_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>

#include "container.h"
#include "portspec.h"
#include "state.h"

enum publish_error {
	PUBLISH_OK = 0,
	PUBLISH_UNSUPPORTED = -1, /* sctp, or a family the container lacks */
	PUBLISH_CONFLICT = -2, /* "Bind for ... failed: port is already allocated" */
	PUBLISH_IN_USE = -3, /* "failed to bind host port ...: address already in use" */
	PUBLISH_EXHAUSTED = -4, /* "all ports are allocated" */
	PUBLISH_NOMEM = -5,
};

struct publish_plan {
	struct binding *bindings;
	size_t n;
};

int publish_plan(struct state *st, const struct container *c, const struct port_mapping *maps,
		 size_t n_maps, bool check_sockets, struct publish_plan *plan, char *err,
		 size_t errlen);
void publish_plan_free(struct publish_plan *plan);

/* The pool dynamic ports come from: the configured range or the kernel's. */
int publish_pool(const struct state *st, __u16 *begin, __u16 *end);

#endif /* BPFPORT_PUBLISH_H */
