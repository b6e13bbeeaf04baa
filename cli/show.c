// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * inspect, env and config: a container's record, the variables a --link to
 * it sets, and the settings that shape publishing.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "cli.h"
#include "format.h"
#include "json.h"
#include "links.h"
#include "log.h"
#include "publish.h"
#include "dp.h"
#include "state.h"

/* Bindings of one container, in docker port order; caller frees. */
static struct binding *container_bindings(const struct state *st, const char *id, size_t *n)
{
	struct binding *mine = calloc(st->n_bindings + 1, sizeof(*mine));

	*n = 0;
	for (size_t i = 0; mine && i < st->n_bindings; i++)
		if (!strcmp(st->bindings[i].id, id))
			mine[(*n)++] = st->bindings[i];
	if (mine)
		qsort(mine, *n, sizeof(*mine), binding_natural_cmp);
	return mine;
}

static void inspect_json(const struct container *c, const struct binding *bs, size_t n)
{
	struct json_writer *jw = jw_new(stdout);
	char ip[INET6_ADDRSTRLEN], port[16];

	jw_object_start(jw);
	jw_string_field(jw, "id", c->id);
	jw_string_field(jw, "name", c->name);
	jw_name(jw, "ips");
	jw_array_start(jw);
	for (int fam = 0; fam < 2; fam++) {
		__u8 family = fam ? BPFPORT_AF_INET6 : BPFPORT_AF_INET;

		if (!container_has_family(c, family))
			continue;
		addr_format(family, container_addr(c, family), ip, sizeof(ip));
		jw_string(jw, ip);
	}
	jw_array_end(jw);
	jw_name(jw, "exposed");
	jw_array_start(jw);
	for (size_t i = 0; i < c->n_exposed; i++) {
		snprintf(port, sizeof(port), "%u/%s", c->exposed[i].port,
			 proto_name(c->exposed[i].proto));
		jw_string(jw, port);
	}
	jw_array_end(jw);
	jw_name(jw, "env");
	jw_array_start(jw);
	for (size_t i = 0; i < c->n_env; i++)
		jw_string(jw, c->env[i]);
	jw_array_end(jw);
	jw_name(jw, "ports");
	jw_array_start(jw);
	for (size_t i = 0; i < n; i++)
		json_binding_ports(jw, &bs[i]);
	jw_array_end(jw);
	jw_object_end(jw);
	jw_destroy(jw);
}

static void inspect_text(const struct container *c, const struct binding *bs, size_t n)
{
	char ip[INET6_ADDRSTRLEN], line[ENDPOINT_STR_MAX + 16];

	printf("ID:      %s\n", c->id);
	printf("Name:    %s\n", c->name[0] ? c->name : "-");
	printf("IPs:    ");
	for (int fam = 0; fam < 2; fam++) {
		__u8 family = fam ? BPFPORT_AF_INET6 : BPFPORT_AF_INET;

		if (!container_has_family(c, family))
			continue;
		addr_format(family, container_addr(c, family), ip, sizeof(ip));
		printf(" %s", ip);
	}
	printf("\nExposed:");
	for (size_t i = 0; i < c->n_exposed; i++)
		printf(" %u/%s", c->exposed[i].port, proto_name(c->exposed[i].proto));
	printf("\nEnv:\n");
	for (size_t i = 0; i < c->n_env; i++)
		printf("  %s\n", c->env[i]);
	printf("Ports:\n");
	for (size_t i = 0; i < n; i++) {
		binding_port_line(&bs[i], line, sizeof(line));
		printf("  %s\n", line);
	}
}

int cmd_inspect(int argc, char **argv)
{
	const char *ref = NULL;
	struct binding *bs;
	struct state st;
	size_t n;
	int idx;

	for (int i = 1; i < argc; i++) {
		if (cmd_json_flag(argv[i])) {
			opts.json = true;
		} else if (!ref) {
			ref = argv[i];
		} else {
			return cmd_usage_error(CLI, cli_cmds, "inspect", "expected one container");
		}
	}
	if (!ref)
		return cmd_usage_error(CLI, cli_cmds, "inspect", "expected one container");
	if (state_load(opts.state_path, &st))
		return EXIT_FAIL;
	idx = container_resolve(&st, ref);
	if (idx < 0) {
		state_free(&st);
		return EXIT_FAIL;
	}
	bs = container_bindings(&st, st.containers[idx].id, &n);
	if (opts.json)
		inspect_json(&st.containers[idx], bs, n);
	else
		inspect_text(&st.containers[idx], bs, n);
	free(bs);
	state_free(&st);
	return EXIT_OK;
}

/* export KEY='VALUE', quoting for any POSIX shell. */
static void print_export(const char *line)
{
	size_t klen = strcspn(line, "=");

	printf("export %.*s='", (int)klen, line);
	for (const char *v = line + klen + 1; *v; v++) {
		if (*v == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*v);
	}
	puts("'");
}

int cmd_env(int argc, char **argv)
{
	const char *ref = NULL, *alias = NULL, *client = NULL;
	struct env_list env;
	bool export = false;
	struct state st;
	int idx, ret;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--export")) {
			export = true;
		} else if (!strcmp(argv[i], "--client")) {
			if (++i == argc || !id_is_valid(argv[i]))
				return cmd_usage_error(CLI, cli_cmds, "env",
						       "--client needs a container name");
			client = argv[i];
		} else if (argv[i][0] == '-') {
			return cmd_usage_error(CLI, cli_cmds, "env", "unknown option %s", argv[i]);
		} else if (!ref) {
			ref = argv[i];
		} else if (!alias) {
			alias = argv[i];
		} else {
			return cmd_usage_error(CLI, cli_cmds, "env", "expected ID [ALIAS]");
		}
	}
	if (!ref)
		return cmd_usage_error(CLI, cli_cmds, "env", "expected ID [ALIAS]");
	if (alias && !id_is_valid(alias))
		return cmd_usage_error(CLI, cli_cmds, "env", "invalid alias \"%s\"", alias);
	if (state_load(opts.state_path, &st))
		return EXIT_FAIL;
	idx = container_resolve(&st, ref);
	if (idx < 0) {
		state_free(&st);
		return EXIT_FAIL;
	}
	if (!alias)
		alias = st.containers[idx].name[0] ? st.containers[idx].name :
						     st.containers[idx].id;
	ret = links_env(&st, &st.containers[idx], alias, client, &env);
	for (size_t i = 0; !ret && i < env.n; i++) {
		if (export)
			print_export(env.lines[i]);
		else
			puts(env.lines[i]);
	}
	if (!ret)
		env_list_free(&env);
	state_free(&st);
	return ret ? EXIT_FAIL : EXIT_OK;
}

static int config_show(void)
{
	__u16 begin = 0, end = 0;
	struct state st;
	bool have;

	if (state_load(opts.state_path, &st))
		return EXIT_FAIL;
	have = !publish_pool(&st, &begin, &end);
	if (opts.json) {
		struct json_writer *jw = jw_new(stdout);
		char range[32];

		if (st.port_range_begin)
			snprintf(range, sizeof(range), "%u-%u", begin, end);
		else
			snprintf(range, sizeof(range), "auto");
		jw_object_start(jw);
		jw_string_field(jw, "port_range", range);
		jw_uint_field(jw, "port_range_begin", have ? begin : 0);
		jw_uint_field(jw, "port_range_end", have ? end : 0);
		for (int i = 0; i < CT_TIMEOUT_COUNT; i++) {
			char key[32];

			/* JSON keys use '_' like every other key: ct_timeout_tcp. */
			snprintf(key, sizeof(key), "%s", ct_timeout_names[i]);
			for (char *c = key; *c; c++)
				*c = *c == '-' ? '_' : *c;
			jw_uint_field(jw, key, st.ct_timeout[i]);
		}
		jw_string_field(jw, "direct_access", st.direct_access_allow ? "allow" : "drop");
		jw_object_end(jw);
		jw_destroy(jw);
	} else {
		if (st.port_range_begin)
			printf("port-range %u-%u\n", begin, end);
		else
			printf("port-range auto (%u-%u)\n", begin, end);
		for (int i = 0; i < CT_TIMEOUT_COUNT; i++)
			printf("%s %u\n", ct_timeout_names[i], st.ct_timeout[i]);
		printf("direct-access %s\n", st.direct_access_allow ? "allow" : "drop");
	}
	state_free(&st);
	return EXIT_OK;
}

static int ct_timeout_index(const char *key)
{
	for (int i = 0; i < CT_TIMEOUT_COUNT; i++)
		if (!strcmp(key, ct_timeout_names[i]))
			return i;
	return -1;
}

/* A running datapath picks settings up at once; the state file keeps them. */
static void config_push(const struct state *st)
{
	struct dp dp;

	if (dp_open(opts.pin_dir, &dp))
		return;
	if (dp_config_timeouts(&dp, st->ct_timeout) ||
	    dp_config_flag(&dp, BPFPORT_CFG_DIRECT_ACCESS_ALLOW, st->direct_access_allow))
		pr_warn("settings saved, but the loaded datapath was not updated");
	dp_close(&dp);
}

static int config_set(const char *key, const char *value)
{
	int timeout_idx = ct_timeout_index(key);
	bool direct = !strcmp(key, "direct-access");
	__u16 begin = 0, end = 0;
	__u32 timeout = 0;
	struct state st;
	int lock, ret;

	if (direct && strcmp(value, "allow") && strcmp(value, "drop"))
		return cmd_usage_error(CLI, cli_cmds, "config",
				       "invalid direct-access \"%s\": expected drop or allow",
				       value);
	if (strcmp(key, "port-range") && timeout_idx < 0 && !direct)
		return cmd_usage_error(CLI, cli_cmds, "config",
				       "unknown setting \"%s\": try port-range, ct-timeout-tcp or "
				       "direct-access",
				       key);
	if (timeout_idx >= 0 && (ct_timeout_parse(value, &timeout) || !timeout))
		return cmd_usage_error(CLI, cli_cmds, "config",
				       "invalid %s \"%s\": expected seconds, 1 to %d", key, value,
				       CT_TIMEOUT_MAX);
	if (timeout_idx < 0 && !direct && strcmp(value, "auto") &&
	    (port_range_parse(value, &begin, &end) || !begin || begin == end))
		return cmd_usage_error(CLI, cli_cmds, "config",
				       "invalid port-range \"%s\": expected START-END (1-65535) "
				       "or auto",
				       value);
	/* Settings live in the state file alone: no datapath needed. */
	lock = state_lock(opts.state_path);
	if (lock < 0)
		return EXIT_FAIL;
	ret = EXIT_FAIL;
	if (!state_load_for_update(opts.state_path, &st)) {
		if (direct) {
			st.direct_access_allow = !strcmp(value, "allow");
		} else if (timeout_idx >= 0) {
			st.ct_timeout[timeout_idx] = timeout;
		} else {
			st.port_range_begin = begin;
			st.port_range_end = end;
		}
		if (!state_save(opts.state_path, &st)) {
			ret = EXIT_OK;
			if (timeout_idx >= 0 || direct)
				config_push(&st);
		}
		state_free(&st);
	}
	state_unlock(lock);
	return ret;
}

int cmd_config(int argc, char **argv)
{
	int nargs = 0;
	char *args[4];

	for (int i = 1; i < argc; i++) {
		if (cmd_json_flag(argv[i])) {
			opts.json = true;
		} else if (nargs < 4) {
			args[nargs++] = argv[i];
		}
	}
	if (nargs == 0 || (nargs == 1 && !strcmp(args[0], "show")))
		return config_show();
	if (nargs == 3 && !strcmp(args[0], "set"))
		return config_set(args[1], args[2]);
	return cmd_usage_error(CLI, cli_cmds, "config",
			       "expected 'config show' or 'config set port-range START-END|auto', "
			       "'config set ct-timeout-... SECONDS' or 'config set direct-access "
			       "drop|allow'");
}
