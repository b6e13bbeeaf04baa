// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * list and port: read-only queries. `port` answers from the state file
 * alone, like `docker port` answers from the container's configuration, so
 * it works without a loaded datapath; the file holds --env values, so it
 * takes root (or read access to the file).
 */
#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "cli.h"
#include "dp.h"
#include "json.h"
#include "log.h"
#include "format.h"
#include "natsort.h"
#include "state.h"

static void list_json(const struct state *st, const struct dp *dp)
{
	struct json_writer *jw = jw_new(stdout);

	jw_array_start(jw);
	for (size_t i = 0; i < st->n_bindings; i++) {
		const struct binding *b = &st->bindings[i];
		struct bpfport_counters c = {};
		char host[INET6_ADDRSTRLEN], container[INET6_ADDRSTRLEN];

		if (dp)
			dp_counters_read(dp, b->slot, &c);
		addr_format(b->family, &b->host_addr, host, sizeof(host));
		addr_format(b->family, &b->container_addr, container, sizeof(container));
		jw_object_start(jw);
		jw_string_field(jw, "id", b->id);
		jw_string_field(jw, "proto", proto_name(b->proto));
		jw_string_field(jw, "host_ip", host);
		jw_uint_field(jw, "host_port", b->host_port);
		jw_string_field(jw, "container_ip", container);
		jw_uint_field(jw, "container_port", b->container_port);
		jw_uint_field(jw, "rx_packets", c.rx_packets);
		jw_uint_field(jw, "rx_bytes", c.rx_bytes);
		jw_uint_field(jw, "tx_packets", c.tx_packets);
		jw_uint_field(jw, "tx_bytes", c.tx_bytes);
		jw_uint_field(jw, "dropped_packets", c.dropped_packets);
		jw_name(jw, "allow");
		jw_array_start(jw);
		for (size_t j = 0; j < b->n_allow; j++) {
			char cidr[64];

			cidr_format(&b->allow[j], cidr, sizeof(cidr));
			jw_string(jw, cidr);
		}
		jw_array_end(jw);
		jw_object_end(jw);
	}
	jw_array_end(jw);
	jw_destroy(jw);
}

static void list_text(const struct state *st, const struct dp *dp)
{
	printf("%-20s %-5s %-24s %-24s %10s %12s %10s %12s %8s\n", "ID", "PROTO", "HOST",
	       "CONTAINER", "RX_PKTS", "RX_BYTES", "TX_PKTS", "TX_BYTES", "DROPPED");
	for (size_t i = 0; i < st->n_bindings; i++) {
		const struct binding *b = &st->bindings[i];
		char host[ENDPOINT_STR_MAX], container[ENDPOINT_STR_MAX];
		struct bpfport_counters c = {};

		if (dp)
			dp_counters_read(dp, b->slot, &c);
		binding_host_str(b, host, sizeof(host));
		binding_container_str(b, container, sizeof(container));
		printf("%-20s %-5s %-24s %-24s %10llu %12llu %10llu %12llu %8llu\n", b->id,
		       proto_name(b->proto), host, container, c.rx_packets, c.rx_bytes,
		       c.tx_packets, c.tx_bytes, c.dropped_packets);
	}
}

int cmd_list(int argc, char **argv)
{
	struct state st;
	struct dp dp;
	bool have_dp;

	for (int i = 1; i < argc; i++) {
		if (cmd_json_flag(argv[i])) {
			opts.json = true;
			continue;
		}
		return cmd_usage_error(CLI, cli_cmds, "list", "unexpected argument \"%s\"",
				       argv[i]);
	}
	if (state_load(opts.state_path, &st))
		return EXIT_FAIL;
	/* Without the datapath (or root) counters read as zero. */
	have_dp = dp_open(opts.pin_dir, &dp) == 0;
	if (opts.json)
		list_json(&st, have_dp ? &dp : NULL);
	else
		list_text(&st, have_dp ? &dp : NULL);
	if (have_dp)
		dp_close(&dp);
	state_free(&st);
	return EXIT_OK;
}

static int parse_port_filter(const char *s, __u16 *port, __u8 *proto)
{
	char buf[32];
	char *slash;

	if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf))
		return -EINVAL;
	*proto = IPPROTO_TCP;
	slash = strchr(buf, '/');
	if (slash) {
		*slash++ = '\0';
		if (proto_parse(slash, proto))
			return -EINVAL;
	}
	return port_parse(buf, port);
}

/* One output line per binding, sorted as docker/cli sorts them. */
static char **port_lines(const struct state *st, const char *id, __u16 port, __u8 proto, size_t *n)
{
	char **lines = calloc(st->n_bindings + 1, sizeof(*lines));

	*n = 0;
	if (!lines)
		return NULL;
	for (size_t i = 0; i < st->n_bindings; i++) {
		const struct binding *b = &st->bindings[i];
		char host[ENDPOINT_STR_MAX];
		int len;

		if (strcmp(b->id, id) || (port && (b->container_port != port || b->proto != proto)))
			continue;
		binding_host_str(b, host, sizeof(host));
		if (port)
			len = asprintf(&lines[*n], "%s", host);
		else
			len = asprintf(&lines[*n], "%u/%s -> %s", b->container_port,
				       proto_name(b->proto), host);
		if (len < 0)
			break;
		(*n)++;
	}
	qsort(lines, *n, sizeof(*lines), natural_cmp);
	return lines;
}

static void port_json(const struct state *st, const char *id, __u16 port, __u8 proto)
{
	struct json_writer *jw = jw_new(stdout);
	struct binding *mine = calloc(st->n_bindings + 1, sizeof(*mine));
	size_t n = 0;

	for (size_t i = 0; mine && i < st->n_bindings; i++) {
		const struct binding *b = &st->bindings[i];

		if (!strcmp(b->id, id) &&
		    (!port || (b->container_port == port && b->proto == proto)))
			mine[n++] = *b;
	}
	qsort(mine, n, sizeof(*mine), binding_natural_cmp);
	jw_array_start(jw);
	for (size_t i = 0; i < n; i++)
		json_binding_ports(jw, &mine[i]);
	jw_array_end(jw);
	jw_destroy(jw);
	free(mine);
}

int cmd_port(int argc, char **argv)
{
	char id[BINDING_ID_MAX], *args[2];
	__u16 port = 0;
	__u8 proto = IPPROTO_TCP;
	struct state st;
	char **lines;
	size_t n = 0;
	int nargs = 0, idx;

	for (int i = 1; i < argc; i++) {
		if (cmd_json_flag(argv[i])) {
			opts.json = true;
		} else if (nargs < 2) {
			args[nargs++] = argv[i];
		} else {
			return cmd_usage_error(CLI, cli_cmds, "port", "expected ID [PORT[/PROTO]]");
		}
	}
	if (nargs < 1)
		return cmd_usage_error(CLI, cli_cmds, "port", "expected ID [PORT[/PROTO]]");
	if (nargs == 2 && parse_port_filter(args[1], &port, &proto))
		return cmd_usage_error(CLI, cli_cmds, "port",
				       "invalid port \"%s\": expected PORT[/tcp|/udp]", args[1]);
	if (state_load(opts.state_path, &st))
		return EXIT_FAIL;
	idx = container_resolve(&st, args[0]);
	if (idx < 0) {
		state_free(&st);
		return EXIT_FAIL;
	}
	snprintf(id, sizeof(id), "%s", st.containers[idx].id);
	if (opts.json) {
		port_json(&st, id, port, proto);
		state_free(&st);
		return EXIT_OK;
	}
	lines = port_lines(&st, id, port, proto, &n);
	for (size_t i = 0; i < n; i++) {
		printf("%s\n", lines[i]);
		free(lines[i]);
	}
	free(lines);
	state_free(&st);
	if (port && !n) {
		pr_err("No public port '%u/%s' published for %s", port, proto_name(proto), args[0]);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}
