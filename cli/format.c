// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <netinet/in.h>
#include <stdio.h>

#include "addr.h"
#include "format.h"
#include "natsort.h"

void binding_port_line(const struct binding *b, char *buf, size_t len)
{
	char host[ENDPOINT_STR_MAX];

	binding_host_str(b, host, sizeof(host));
	snprintf(buf, len, "%u/%s -> %s", b->container_port, proto_name(b->proto), host);
}

int binding_natural_cmp(const void *pa, const void *pb)
{
	char a[ENDPOINT_STR_MAX + 16], b[ENDPOINT_STR_MAX + 16];
	const char *pa_s = a, *pb_s = b;

	binding_port_line(pa, a, sizeof(a));
	binding_port_line(pb, b, sizeof(b));
	return natural_cmp(&pa_s, &pb_s);
}

void json_binding_ports(struct json_writer *jw, const struct binding *b)
{
	char ip[INET6_ADDRSTRLEN];

	addr_format(b->family, &b->host_addr, ip, sizeof(ip));
	jw_object_start(jw);
	jw_uint_field(jw, "container_port", b->container_port);
	jw_string_field(jw, "proto", proto_name(b->proto));
	jw_string_field(jw, "host_ip", ip);
	jw_uint_field(jw, "host_port", b->host_port);
	jw_object_end(jw);
}
