/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Output pieces shared by the query commands, so a binding looks the same
 * in `port`, `list` and `inspect`, as text and as JSON.
 */
#ifndef BPFPORT_FORMAT_H
#define BPFPORT_FORMAT_H

#include "binding.h"
#include "json.h"

/* "8080/tcp -> 0.0.0.0:80", as docker port prints a mapping. */
void binding_port_line(const struct binding *b, char *buf, size_t len);
/* Orders bindings by their port line, naturally, as docker port sorts. */
int binding_natural_cmp(const void *a, const void *b);
/* {"container_port":8080,"proto":"tcp","host_ip":"0.0.0.0","host_port":80} */
void json_binding_ports(struct json_writer *jw, const struct binding *b);

#endif /* BPFPORT_FORMAT_H */
