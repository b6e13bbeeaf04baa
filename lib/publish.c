// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "hostport.h"
#include "publish.h"

int publish_pool(const struct state *st, __u16 *begin, __u16 *end)
{
	if (st->port_range_begin) {
		*begin = st->port_range_begin;
		*end = st->port_range_end;
		return 0;
	}
	return hostport_kernel_range(begin, end);
}

/* The binding that already holds b's port, if any. */
static const struct binding *
conflict_holder(const struct state *st, const struct publish_plan *plan, const struct binding *b)
{
	for (size_t i = 0; i < st->n_bindings; i++)
		if (binding_conflicts(&st->bindings[i], b))
			return &st->bindings[i];
	for (size_t i = 0; i < plan->n; i++)
		if (binding_conflicts(&plan->bindings[i], b))
			return &plan->bindings[i];
	return NULL;
}

static int plan_add(struct publish_plan *plan, const struct binding *b)
{
	struct binding *n = realloc(plan->bindings, (plan->n + 1) * sizeof(*n));

	if (!n)
		return PUBLISH_NOMEM;
	plan->bindings = n;
	plan->bindings[plan->n++] = *b;
	return PUBLISH_OK;
}

/* Docker's wording: the address as Go prints it, then ":port". */
static void bind_addr_str(const struct binding *b, char *buf, size_t len)
{
	char ip[64];

	addr_format(b->family, &b->host_addr, ip, sizeof(ip));
	snprintf(buf, len, "%s:%u", ip, b->host_port);
}

/* The bindings one mapping asks for, one per family, host port still unset. */
static int mapping_bindings(const struct container *c, const struct port_mapping *m,
			    struct binding out[2], size_t *n, char *err, size_t errlen)
{
	static const __u8 families[] = { BPFPORT_AF_INET, BPFPORT_AF_INET6 };

	*n = 0;
	if (m->proto == IPPROTO_SCTP_NUM) {
		snprintf(err, errlen,
			 "invalid proto: sctp is not supported: bpfport translates "
			 "tcp and udp only");
		return PUBLISH_UNSUPPORTED;
	}
	for (size_t i = 0; i < 2; i++) {
		__u8 fam = families[i];
		struct binding *b = &out[*n];

		if (m->has_host_ip && m->host_family != fam)
			continue;
		if (!container_has_family(c, fam)) {
			if (!m->has_host_ip)
				continue;
			snprintf(err, errlen, "container %s has no %s address to publish %u/%s on",
				 c->id, family_name(fam), m->container_port, proto_name(m->proto));
			return PUBLISH_UNSUPPORTED;
		}
		memset(b, 0, sizeof(*b));
		snprintf(b->id, sizeof(b->id), "%s", c->id);
		b->family = fam;
		b->proto = m->proto;
		if (m->has_host_ip)
			b->host_addr = m->host_addr;
		b->container_addr = *container_addr(c, fam);
		b->container_port = m->container_port;
		(*n)++;
	}
	if (!*n) {
		snprintf(err, errlen, "container %s has no IP address: give it one with --ip",
			 c->id);
		return PUBLISH_UNSUPPORTED;
	}
	return PUBLISH_OK;
}

static bool port_free(const struct state *st, const struct publish_plan *plan, struct binding *bs,
		      size_t n, __u16 port, bool check_sockets)
{
	for (size_t i = 0; i < n; i++) {
		bs[i].host_port = port;
		if (conflict_holder(st, plan, &bs[i]))
			return false;
		if (check_sockets &&
		    hostport_in_use(bs[i].family, &bs[i].host_addr, port, bs[i].proto))
			return false;
	}
	return true;
}

static int allocate(struct state *st, const struct publish_plan *plan, struct binding *bs, size_t n,
		    __u16 begin, __u16 end, bool skip_reserved, bool check_sockets, char *err,
		    size_t errlen)
{
	struct alloc_cursor *cur =
		state_cursor(st, bs[0].family, &bs[0].host_addr, bs[0].proto, begin, end);
	__u32 port;

	if (!cur)
		return PUBLISH_NOMEM;
	/* Search after the first address's cursor; advance every address's. */
	port = cur->last;
	for (__u32 i = begin; i <= end; i++) {
		port = port >= end ? begin : port + 1;
		if (skip_reserved && hostport_reserved((__u16)port))
			continue;
		if (!port_free(st, plan, bs, n, (__u16)port, check_sockets))
			continue;
		for (size_t j = 0; j < n; j++) {
			cur = state_cursor(st, bs[j].family, &bs[j].host_addr, bs[j].proto, begin,
					   end);
			if (!cur)
				return PUBLISH_NOMEM;
			cur->last = (__u16)port;
		}
		return PUBLISH_OK;
	}
	snprintf(err, errlen, "all ports are allocated");
	return PUBLISH_EXHAUSTED;
}

static int plan_mapping(struct state *st, const struct container *c, const struct port_mapping *m,
			bool check_sockets, struct publish_plan *plan, char *err, size_t errlen)
{
	struct binding bs[2];
	size_t n;
	int ret;

	ret = mapping_bindings(c, m, bs, &n, err, errlen);
	if (ret)
		return ret;
	if (m->host_port_start && m->host_port_start == m->host_port_end) {
		for (size_t i = 0; i < n; i++) {
			const struct binding *holder;

			bs[i].host_port = m->host_port_start;
			holder = conflict_holder(st, plan, &bs[i]);
			if (holder) {
				char where[80];

				/* Docker names the address that holds the port. */
				bind_addr_str(holder, where, sizeof(where));
				snprintf(err, errlen,
					 "Bind for %s failed: port is already allocated", where);
				return PUBLISH_CONFLICT;
			}
		}
	} else {
		__u16 begin = m->host_port_start, end = m->host_port_end;
		bool pool = !begin;

		/* moby's RequestPortsInRange: a range must not start (or end) at 0. */
		if (!begin && end) {
			snprintf(err, errlen, "invalid port range: %u-%u", begin, end);
			return PUBLISH_UNSUPPORTED;
		}
		if (pool && publish_pool(st, &begin, &end)) {
			snprintf(err, errlen, "cannot read the dynamic port range");
			return PUBLISH_EXHAUSTED;
		}
		ret = allocate(st, plan, bs, n, begin, end, pool, check_sockets, err, errlen);
		if (ret)
			return ret;
	}
	for (size_t i = 0; i < n && !ret; i++)
		ret = plan_add(plan, &bs[i]);
	return ret;
}

/* Docker v27+: a fixed port some program already holds fails the whole add. */
static int check_fixed_sockets(const struct port_mapping *maps, size_t n_maps,
			       const struct publish_plan *plan, char *err, size_t errlen)
{
	for (size_t i = 0; i < plan->n; i++) {
		const struct binding *b = &plan->bindings[i];
		bool fixed = false;
		char where[80];

		for (size_t j = 0; j < n_maps && !fixed; j++)
			fixed = maps[j].host_port_start == b->host_port &&
				maps[j].host_port_end == b->host_port;
		if (!fixed || !hostport_in_use(b->family, &b->host_addr, b->host_port, b->proto))
			continue;
		binding_host_str(b, where, sizeof(where));
		snprintf(err, errlen, "failed to bind host port %s/%s: address already in use",
			 where, proto_name(b->proto));
		return PUBLISH_IN_USE;
	}
	return PUBLISH_OK;
}

int publish_plan(struct state *st, const struct container *c, const struct port_mapping *maps,
		 size_t n_maps, bool check_sockets, struct publish_plan *plan, char *err,
		 size_t errlen)
{
	int ret = PUBLISH_OK;

	memset(plan, 0, sizeof(*plan));
	for (size_t i = 0; i < n_maps && !ret; i++)
		ret = plan_mapping(st, c, &maps[i], check_sockets, plan, err, errlen);
	if (!ret && check_sockets)
		ret = check_fixed_sockets(maps, n_maps, plan, err, errlen);
	if (ret)
		publish_plan_free(plan);
	return ret;
}

void publish_plan_free(struct publish_plan *plan)
{
	free(plan->bindings);
	memset(plan, 0, sizeof(*plan));
}
