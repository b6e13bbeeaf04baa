/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The environment `docker run --link ID:ALIAS` gives a client container,
 * by moby's daemon/links rules (v28): ALIAS upper-cased with '-' as '_';
 * <A>_PORT for the first port, TCP first; <A>_PORT_<n>_<PROTO> with _ADDR,
 * _PORT, _PROTO for every port; _START/_END (and _PORT_START/_PORT_END) for
 * runs of consecutive ports; <A>_NAME=/CLIENT/ALIAS when a client is named;
 * <A>_ENV_<K> for the container's env entries except HOME and PATH.
 */
#ifndef BPFPORT_LINKS_H
#define BPFPORT_LINKS_H

#include <stddef.h>

#include "container.h"
#include "state.h"

struct env_list {
	char **lines; /* "KEY=VALUE" */
	size_t n;
};

/* Ports are the container's exposed ports plus its published ones. */
int links_env(const struct state *st, const struct container *c, const char *alias,
	      const char *client, struct env_list *out);
void env_list_free(struct env_list *l);

#endif /* BPFPORT_LINKS_H */
