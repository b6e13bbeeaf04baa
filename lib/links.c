// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#define _GNU_SOURCE /* vasprintf */
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "links.h"

static int env_add(struct env_list *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int env_add(struct env_list *l, const char *fmt, ...)
{
	char **n;
	va_list ap;
	int len;

	n = realloc(l->lines, (l->n + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	l->lines = n;
	va_start(ap, fmt);
	len = vasprintf(&l->lines[l->n], fmt, ap);
	va_end(ap);
	if (len < 0)
		return -ENOMEM;
	l->n++;
	return 0;
}

void env_list_free(struct env_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->lines[i]);
	free(l->lines);
	memset(l, 0, sizeof(*l));
}

/* moby's withTCPPriority: TCP first, then by protocol name, then by port. */
static int port_cmp_tcp_first(const void *pa, const void *pb)
{
	const struct exposed_port *a = pa, *b = pb;

	if (a->proto != b->proto) {
		if (a->proto == IPPROTO_TCP)
			return -1;
		if (b->proto == IPPROTO_TCP)
			return 1;
		return strcmp(proto_name(a->proto), proto_name(b->proto));
	}
	return (int)a->port - (int)b->port;
}

static int collect_ports(const struct state *st, const struct container *c, struct container *tmp)
{
	memset(tmp, 0, sizeof(*tmp));
	for (size_t i = 0; i < c->n_exposed; i++)
		if (container_expose(tmp, c->exposed[i].port, c->exposed[i].proto))
			return -ENOMEM;
	for (size_t i = 0; i < st->n_bindings; i++)
		if (!strcmp(st->bindings[i].id, c->id) &&
		    container_expose(tmp, st->bindings[i].container_port, st->bindings[i].proto))
			return -ENOMEM;
	if (tmp->n_exposed)
		qsort(tmp->exposed, tmp->n_exposed, sizeof(tmp->exposed[0]), port_cmp_tcp_first);
	return 0;
}

static void upper_proto(__u8 proto, char *buf)
{
	const char *p = proto_name(proto);
	size_t i;

	for (i = 0; p[i]; i++)
		buf[i] = (char)toupper((unsigned char)p[i]);
	buf[i] = '\0';
}

static int port_vars(struct env_list *out, const char *alias, const char *ip,
		     const struct exposed_port *p)
{
	const char *proto = proto_name(p->proto);
	char up[8];
	int err = 0;

	upper_proto(p->proto, up);
	err |= env_add(out, "%s_PORT_%u_%s=%s://%s:%u", alias, p->port, up, proto, ip, p->port);
	err |= env_add(out, "%s_PORT_%u_%s_ADDR=%s", alias, p->port, up, ip);
	err |= env_add(out, "%s_PORT_%u_%s_PORT=%u", alias, p->port, up, p->port);
	err |= env_add(out, "%s_PORT_%u_%s_PROTO=%s", alias, p->port, up, proto);
	return err ? -ENOMEM : 0;
}

static int range_vars(struct env_list *out, const char *alias, const char *ip,
		      const struct exposed_port *start, const struct exposed_port *end)
{
	const char *proto = proto_name(start->proto);
	char up[8];
	int err = 0;

	upper_proto(start->proto, up);
	err |= env_add(out, "%s_PORT_%u_%s_START=%s://%s:%u", alias, start->port, up, proto, ip,
		       start->port);
	err |= env_add(out, "%s_PORT_%u_%s_PORT_START=%u", alias, start->port, up, start->port);
	err |= env_add(out, "%s_PORT_%u_%s_END=%s://%s:%u", alias, start->port, up,
		       proto_name(end->proto), ip, end->port);
	err |= env_add(out, "%s_PORT_%u_%s_PORT_END=%u", alias, start->port, up, end->port);
	return err ? -ENOMEM : 0;
}

/* The ports loop of moby's Link.ToEnv, range detection quirks included. */
static int ports_env(struct env_list *out, const char *alias, const char *ip,
		     const struct container *ports)
{
	const struct exposed_port *p = ports->exposed, *start = NULL, *end = NULL;
	size_t n = ports->n_exposed;

	for (size_t i = 0; i < n; i++) {
		if (i == 0) {
			start = end = &p[0];
			if (env_add(out, "%s_PORT=%s://%s:%u", alias, proto_name(p[0].proto), ip,
				    p[0].port))
				return -ENOMEM;
		}
		if (port_vars(out, alias, ip, &p[i]))
			return -ENOMEM;
		if (p[i].port == end->port + 1 && p[i].proto == end->proto) {
			end = &p[i];
			if (i < n - 1)
				continue;
		}
		if (end != start && range_vars(out, alias, ip, start, end))
			return -ENOMEM;
		start = end = &p[i];
	}
	return 0;
}

int links_env(const struct state *st, const struct container *c, const char *alias,
	      const char *client, struct env_list *out)
{
	char upper[BINDING_ID_MAX * 2], ip[64];
	struct container ports;
	size_t i;
	int err;

	memset(out, 0, sizeof(*out));
	for (i = 0; alias[i] && i < sizeof(upper) - 1; i++)
		upper[i] = alias[i] == '-' ? '_' : (char)toupper((unsigned char)alias[i]);
	upper[i] = '\0';
	if (c->has_ip4)
		addr_format(BPFPORT_AF_INET, &c->ip4, ip, sizeof(ip));
	else if (c->has_ip6)
		addr_format(BPFPORT_AF_INET6, &c->ip6, ip, sizeof(ip));
	else
		ip[0] = '\0';

	err = collect_ports(st, c, &ports);
	if (!err)
		err = ports_env(out, upper, ip, &ports);
	container_free(&ports);
	if (!err && client)
		err = env_add(out, "%s_NAME=/%s/%s", upper, client, alias);
	for (i = 0; i < c->n_env && !err; i++) {
		size_t klen = strcspn(c->env[i], "=");

		/* Docker skips entries without '='. */
		if (!c->env[i][klen])
			continue;
		if ((klen == 4 && !strncmp(c->env[i], "HOME", 4)) ||
		    (klen == 4 && !strncmp(c->env[i], "PATH", 4)))
			continue;
		err = env_add(out, "%s_ENV_%.*s=%s", upper, (int)klen, c->env[i],
			      c->env[i] + klen + 1);
	}
	if (err)
		env_list_free(out);
	return err;
}
