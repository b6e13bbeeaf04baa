// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bpfport add: create or update a container and publish its ports.
 *
 *   add [--id ID] [--name NAME] [--ip ADDR]... [--expose PORT[-END][/PROTO]]...
 *       [--env KEY=VALUE]... [-p SPEC]... [-P] [--force] [--allow CIDR[,CIDR...]]
 *       ['HOST -> CONTAINER[/PROTO]']
 *
 * Everything is parsed and checked before anything changes: usage errors
 * exit 2 with Docker's texts, conflicts and ports in use exit 1, and either
 * every binding is installed and saved or none is.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "cli.h"
#include "dp.h"
#include "hostport.h"
#include "log.h"
#include "portspec.h"
#include "publish.h"
#include "state.h"
#include "txn.h"

struct add_args {
	const char *id;
	const char *name;
	struct container upd; /* ips, exposed ports and env to merge in */
	struct port_mapping *maps; /* from -p */
	size_t n_maps;
	bool publish_all; /* -P */
	bool force; /* --force: publish over a host listener */
	struct cidr allow[BINDING_ALLOW_MAX * 2]; /* --allow, both families */
	size_t n_allow;
	char *spec_words[64]; /* the arrow form, if any */
	int n_spec_words;
};

static void add_args_free(struct add_args *a)
{
	container_free(&a->upd);
	free(a->maps);
}

static int add_usage(const char *fmt, const char *arg)
{
	return cmd_usage_error(CLI, cli_cmds, "add", fmt, arg);
}

static int add_ip(struct add_args *a, const char *s)
{
	struct bpfport_addr addr;
	__u8 family;

	if (addr_parse(s, &family, &addr) || addr_is_unspec(&addr))
		return add_usage("invalid --ip \"%s\": expected a specific IPv4 or IPv6 address",
				 s);
	if (container_has_family(&a->upd, family))
		return add_usage("--ip given twice for one address family: \"%s\"", s);
	if (family == BPFPORT_AF_INET) {
		a->upd.ip4 = addr;
		a->upd.has_ip4 = true;
	} else {
		a->upd.ip6 = addr;
		a->upd.has_ip6 = true;
	}
	return 0;
}

static int add_expose(struct add_args *a, const char *s)
{
	char err[ERRBUF_MAX];
	__u16 start, end;
	__u8 proto;

	if (port_proto_parse(s, &start, &end, &proto, err, sizeof(err)))
		return cmd_usage_error(CLI, cli_cmds, "add", "%s", err);
	return container_expose_range(&a->upd, start, end, proto) ? EXIT_FAIL : 0;
}

static int add_publish(struct add_args *a, const char *s)
{
	struct port_mapping *maps, *n;
	char err[ERRBUF_MAX];
	size_t count;

	if (portspec_parse(s, &maps, &count, err, sizeof(err)))
		return cmd_usage_error(CLI, cli_cmds, "add", "%s", err);
	n = realloc(a->maps, (a->n_maps + count) * sizeof(*n));
	if (!n) {
		free(maps);
		return EXIT_FAIL;
	}
	memcpy(n + a->n_maps, maps, count * sizeof(*maps));
	a->maps = n;
	a->n_maps += count;
	free(maps);
	return 0;
}

static int add_allow(struct add_args *a, const char *list)
{
	char buf[1024];

	if (snprintf(buf, sizeof(buf), "%s", list) >= (int)sizeof(buf))
		return add_usage("--allow list too long: \"%.32s...\"", list);
	for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
		if (a->n_allow == sizeof(a->allow) / sizeof(a->allow[0]))
			return add_usage("too many --allow prefixes (at most 16 per family)%s", "");
		if (cidr_parse(tok, &a->allow[a->n_allow]))
			return add_usage("invalid --allow prefix \"%s\": expected ADDRESS[/LENGTH]",
					 tok);
		a->n_allow++;
	}
	return a->n_allow ? 0 : add_usage("--allow needs at least one prefix%s", "");
}

static int add_env(struct add_args *a, const char *kv)
{
	size_t len = strlen(kv), klen = strcspn(kv, "=");

	if (!kv[klen] || !klen)
		return add_usage("invalid --env \"%s\": expected KEY=VALUE", kv);
	/* The state file's limit, checked here so that nothing is half done. */
	if (len > STATE_VALUE_MAX)
		return cmd_usage_error(CLI, cli_cmds, "add",
				       "invalid --env %.*s=...: %zu bytes, over the state file's "
				       "limit of %d per entry",
				       (int)(klen > 40 ? 40 : klen), kv, len, STATE_VALUE_MAX);
	return container_set_env(&a->upd, kv) ? EXIT_FAIL : 0;
}

/* "--opt VALUE" or "--opt=VALUE"; returns the value or NULL. */
static const char *opt_value(int argc, char **argv, int *i, const char *opt)
{
	size_t n = strlen(opt);

	if (!strncmp(argv[*i], opt, n) && argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (strcmp(argv[*i], opt))
		return NULL;
	if (*i + 1 >= argc)
		return "";
	return argv[++*i];
}

/* Options may come anywhere; "->" is a word, not an option. */
static int parse_add_args(int argc, char **argv, struct add_args *a)
{
	bool opts_done = false;
	const char *v;
	int ret = 0;

	for (int i = 1; i < argc && !ret; i++) {
		const char *w = argv[i];

		if (opts_done || w[0] != '-' || !w[1] || w[1] == '>') {
			if (a->n_spec_words == 64)
				return add_usage("too many words in the binding spec%s", "");
			a->spec_words[a->n_spec_words++] = argv[i];
		} else if (!strcmp(w, "--")) {
			opts_done = true;
		} else if (!strcmp(w, "-P") || !strcmp(w, "--publish-all")) {
			a->publish_all = true;
		} else if (!strcmp(w, "--force")) {
			a->force = true;
		} else if ((v = opt_value(argc, argv, &i, "--id"))) {
			a->id = v;
		} else if ((v = opt_value(argc, argv, &i, "--name"))) {
			a->name = v;
		} else if ((v = opt_value(argc, argv, &i, "--ip"))) {
			ret = add_ip(a, v);
		} else if ((v = opt_value(argc, argv, &i, "--expose"))) {
			ret = add_expose(a, v);
		} else if ((v = opt_value(argc, argv, &i, "--allow"))) {
			ret = add_allow(a, v);
		} else if ((v = opt_value(argc, argv, &i, "--env"))) {
			ret = add_env(a, v);
		} else if ((v = opt_value(argc, argv, &i, "-p")) ||
			   (v = opt_value(argc, argv, &i, "--publish"))) {
			ret = add_publish(a, v);
		} else if (!strncmp(w, "-p", 2) && w[2]) {
			ret = add_publish(a, w + 2);
		} else {
			return add_usage("unknown option %s", w);
		}
	}
	if (ret)
		return ret;
	if (a->id && !id_is_valid(a->id))
		return add_usage("invalid ID \"%s\": use letters, digits, '_', '.' and '-', "
				 "starting with a letter or digit",
				 a->id);
	if (a->name && !id_is_valid(a->name))
		return add_usage("invalid name \"%s\": use letters, digits, '_', '.' and '-', "
				 "starting with a letter or digit",
				 a->name);
	return 0;
}

/* The container as it will be: the stored one (if any) with the update merged. */
static int merge_container(struct txn *t, const struct add_args *a, const char *id,
			   struct container *c)
{
	int idx = state_container_index(&t->st, id);

	/* --id may also name an existing container by its name. */
	for (size_t i = 0; idx < 0 && i < t->st.n_containers; i++)
		if (!strcmp(t->st.containers[i].name, id))
			idx = (int)i;
	if (idx >= 0)
		id = t->st.containers[idx].id;

	memset(c, 0, sizeof(*c));
	if (idx >= 0 && container_copy(c, &t->st.containers[idx]))
		return -ENOMEM;
	snprintf(c->id, sizeof(c->id), "%s", id);
	if (a->name) {
		for (size_t i = 0; i < t->st.n_containers; i++) {
			const struct container *o = &t->st.containers[i];

			if (strcmp(o->id, id) && !strcmp(o->name, a->name)) {
				pr_err("name \"%s\" is already in use by container %s", a->name,
				       o->id);
				return -EEXIST;
			}
		}
		snprintf(c->name, sizeof(c->name), "%s", a->name);
	}
	for (int fam = 0; fam < 2; fam++) {
		__u8 family = fam ? BPFPORT_AF_INET6 : BPFPORT_AF_INET;
		const struct bpfport_addr *want = container_addr(&a->upd, family);

		if (!container_has_family(&a->upd, family))
			continue;
		if (container_has_family(c, family) &&
		    !addr_equal(container_addr(c, family), want)) {
			char ip[64];

			addr_format(family, container_addr(c, family), ip, sizeof(ip));
			pr_err("container %s already has %s address %s: 'bpfport rm %s' first", id,
			       family_name(family), ip, id);
			return -EEXIST;
		}
		if (family == BPFPORT_AF_INET) {
			c->ip4 = *want;
			c->has_ip4 = true;
		} else {
			c->ip6 = *want;
			c->has_ip6 = true;
		}
	}
	for (size_t i = 0; i < a->upd.n_exposed; i++)
		if (container_expose(c, a->upd.exposed[i].port, a->upd.exposed[i].proto))
			return -ENOMEM;
	for (size_t i = 0; i < a->upd.n_env; i++)
		if (container_set_env(c, a->upd.env[i]))
			return -ENOMEM;
	return 0;
}

static bool has_binding_for(const struct state *st, const struct publish_plan *plan, const char *id,
			    __u16 port, __u8 proto)
{
	for (size_t i = 0; i < st->n_bindings; i++)
		if (!strcmp(st->bindings[i].id, id) && st->bindings[i].container_port == port &&
		    st->bindings[i].proto == proto)
			return true;
	for (size_t i = 0; i < plan->n; i++)
		if (plan->bindings[i].container_port == port && plan->bindings[i].proto == proto)
			return true;
	return false;
}

/* -P: every exposed port without a binding gets a dynamic one. */
static int plan_publish_all(struct txn *t, const struct container *c, bool check_sockets,
			    struct publish_plan *plan, char *err, size_t errlen)
{
	for (size_t i = 0; i < c->n_exposed; i++) {
		struct port_mapping m = { .container_port = c->exposed[i].port,
					  .proto = c->exposed[i].proto };
		struct publish_plan more;
		struct binding *n;
		int ret;

		if (has_binding_for(&t->st, plan, c->id, m.container_port, m.proto))
			continue;
		/* Plan against the state plus what is planned so far. */
		for (size_t j = 0; j < plan->n; j++)
			state_add_binding(&t->st, &plan->bindings[j]);
		ret = publish_plan(&t->st, c, &m, 1, check_sockets, &more, err, errlen);
		t->st.n_bindings -= plan->n;
		if (ret)
			return ret;
		n = realloc(plan->bindings, (plan->n + more.n) * sizeof(*n));
		if (!n) {
			publish_plan_free(&more);
			return PUBLISH_NOMEM;
		}
		memcpy(n + plan->n, more.bindings, more.n * sizeof(*n));
		plan->bindings = n;
		plan->n += more.n;
		publish_plan_free(&more);
	}
	return PUBLISH_OK;
}

/* The arrow form: one explicit binding, checked like a fixed -p port. */
static int plan_arrow(struct txn *t, struct binding *b, bool check_sockets,
		      struct publish_plan *plan, char *err, size_t errlen)
{
	struct binding *n;
	char host[ENDPOINT_STR_MAX], ip[64];

	const struct binding *holder = NULL;

	for (size_t i = 0; !holder && i < t->st.n_bindings; i++)
		if (binding_conflicts(&t->st.bindings[i], b))
			holder = &t->st.bindings[i];
	for (size_t i = 0; !holder && i < plan->n; i++)
		if (binding_conflicts(&plan->bindings[i], b))
			holder = &plan->bindings[i];
	if (holder) {
		/* Docker names the address that holds the port. */
		addr_format(holder->family, &holder->host_addr, ip, sizeof(ip));
		snprintf(err, errlen, "Bind for %s:%u failed: port is already allocated", ip,
			 holder->host_port);
		return PUBLISH_CONFLICT;
	}
	if (check_sockets && hostport_in_use(b->family, &b->host_addr, b->host_port, b->proto)) {
		binding_host_str(b, host, sizeof(host));
		snprintf(err, errlen, "failed to bind host port %s/%s: address already in use",
			 host, proto_name(b->proto));
		return PUBLISH_IN_USE;
	}
	n = realloc(plan->bindings, (plan->n + 1) * sizeof(*n));
	if (!n)
		return PUBLISH_NOMEM;
	plan->bindings = n;
	plan->bindings[plan->n++] = *b;
	return PUBLISH_OK;
}

/* Install every planned binding, then save; undo the installs on failure. */
/* Put back the state as loaded: the bindings commit_plan added, the container record. */
static int state_undo(struct txn *t, const char *id, size_t added, const struct container *old)
{
	int idx = state_container_index(&t->st, id);

	while (added--)
		state_remove_binding(&t->st, t->st.n_bindings - 1);
	if (idx >= 0)
		state_remove_container(&t->st, (size_t)idx);
	if (old && state_add_container(&t->st, old) < 0)
		return -ENOMEM;
	return state_save(opts.state_path, &t->st);
}

/*
 * The state first, then the maps: killed in between, the new bindings are in
 * the state, where `list` shows them, `del`/`rm` remove them and `sync`
 * installs them; never in the maps alone, forwarding unseen. A failure puts
 * both back.
 */
static int commit_plan(struct txn *t, const struct container *c, struct publish_plan *plan)
{
	size_t added = 0, installed = 0;
	struct container old;
	bool had_old = false;
	struct binding *bs;
	int idx, err = 0;

	for (size_t i = 0; i < plan->n && !err; i++) {
		int slot = state_free_slot(&t->st);

		if (slot < 0) {
			pr_err("cannot add binding: all %d binding slots are in use",
			       BPFPORT_MAX_BINDINGS);
			err = -ENOSPC;
			break;
		}
		plan->bindings[i].slot = (__u32)slot;
		err = state_add_binding(&t->st, &plan->bindings[i]);
		if (!err)
			added++;
	}
	bs = &t->st.bindings[t->st.n_bindings - added];
	idx = state_container_index(&t->st, c->id);
	if (!err && idx >= 0) {
		err = container_copy(&old, &t->st.containers[idx]);
		had_old = !err;
		if (!err)
			state_remove_container(&t->st, (size_t)idx);
	}
	if (!err && state_add_container(&t->st, c) < 0)
		err = -ENOMEM;
	if (!err) {
		txn_reserve_ports(t, bs, added);
		err = state_save(opts.state_path, &t->st);
		if (err)
			txn_release_ports(t, bs, added);
	}
	for (size_t i = 0; !err && i < added; i++) {
		/* A slot freed by a killed removal may still hold its prefixes. */
		err = dp_allow_clear_slot(&t->dp, bs[i].slot);
		if (err >= 0)
			err = dp_binding_install(&t->dp, &bs[i]);
		if (err) {
			pr_err("cannot add binding to the datapath: %s", strerror(-err));
			for (size_t k = 0; k < installed; k++)
				dp_binding_remove(&t->dp, &bs[k]);
			txn_release_ports(t, bs, added);
			if (state_undo(t, c->id, added, had_old ? &old : NULL))
				pr_err("cannot restore the state file: run 'bpfport sync'");
			break;
		}
		installed++;
	}
	if (had_old)
		container_free(&old);
	return err;
}

static int arrow_binding(const struct add_args *a, struct binding *b)
{
	char err[ERRBUF_MAX];

	if (binding_parse_spec(a->n_spec_words, (char **)a->spec_words, b, err, sizeof(err)))
		return cmd_usage_error(CLI, cli_cmds, "add", "%s", err);
	if (a->id)
		snprintf(b->id, sizeof(b->id), "%s", a->id);
	else
		addr_to_id(b->family, &b->container_addr, b->id, sizeof(b->id));
	return 0;
}

/* Without --id: the arrow's container address, else the first --ip. */
static const char *default_id(const struct add_args *a, const struct binding *arrow, char *buf,
			      size_t len)
{
	if (a->id)
		return a->id;
	if (a->n_spec_words)
		return arrow->id;
	if (a->upd.has_ip4 || a->upd.has_ip6) {
		__u8 fam = a->upd.has_ip4 ? BPFPORT_AF_INET : BPFPORT_AF_INET6;

		addr_to_id(fam, container_addr(&a->upd, fam), buf, len);
		return id_is_valid(buf) ? buf : NULL;
	}
	return NULL;
}

static int plan_all(struct txn *t, const struct add_args *a, struct container *c,
		    const struct binding *arrow, struct publish_plan *plan)
{
	char err[ERRBUF_MAX];
	struct binding b;
	int ret;

	ret = publish_plan(&t->st, c, a->maps, a->n_maps, !a->force, plan, err, sizeof(err));
	if (!ret && a->n_spec_words) {
		b = *arrow;
		ret = plan_arrow(t, &b, !a->force, plan, err, sizeof(err));
	}
	/* Published ports count as exposed, as in Docker; -P then sees them too. */
	for (size_t i = 0; !ret && i < plan->n; i++)
		ret = container_expose(c, plan->bindings[i].container_port,
				       plan->bindings[i].proto) ?
			      PUBLISH_NOMEM :
			      0;
	if (!ret && a->publish_all)
		ret = plan_publish_all(t, c, !a->force, plan, err, sizeof(err));
	/* Each binding admits the --allow prefixes of its own family. */
	for (size_t i = 0; !ret && a->n_allow && i < plan->n; i++) {
		struct binding *pb = &plan->bindings[i];
		char host[ENDPOINT_STR_MAX];

		binding_host_str(pb, host, sizeof(host));
		if (binding_set_allow(pb, a->allow, a->n_allow)) {
			snprintf(err, sizeof(err), "too many --allow prefixes for %s (at most %d)",
				 host, BINDING_ALLOW_MAX);
			ret = PUBLISH_UNSUPPORTED;
		} else if (!pb->n_allow) {
			snprintf(err, sizeof(err),
				 "no %s prefix in --allow for %s: it would admit "
				 "no one",
				 family_name(pb->family), host);
			ret = PUBLISH_UNSUPPORTED;
		}
	}
	if (ret) {
		if (ret == PUBLISH_NOMEM)
			snprintf(err, sizeof(err), "out of memory");
		pr_err("%s", err);
		publish_plan_free(plan);
	}
	return ret;
}

int cmd_add(int argc, char **argv)
{
	struct add_args a = {};
	struct publish_plan plan = {};
	struct container c = {};
	struct binding arrow = {};
	char id_buf[64], err[ERRBUF_MAX + 128];
	const char *id;
	struct txn t;
	int ret;

	ret = parse_add_args(argc, argv, &a);
	if (!ret && a.n_spec_words)
		ret = arrow_binding(&a, &arrow);
	if (ret)
		goto out_args;
	id = default_id(&a, &arrow, id_buf, sizeof(id_buf));
	if (!id) {
		ret = add_usage("no container given: use --id ID (with --ip), or a binding spec%s",
				"");
		goto out_args;
	}
	if (!a.n_spec_words && !a.n_maps && !a.publish_all && !a.upd.has_ip4 && !a.upd.has_ip6 &&
	    !a.name && !a.upd.n_exposed && !a.upd.n_env) {
		ret = add_usage("nothing to add: give a binding spec, -p, -P, --ip, --expose, "
				"--env or --name%s",
				"");
		goto out_args;
	}
	ret = EXIT_FAIL;
	if (txn_begin(&t, "bpfport add"))
		goto out_args;
	if (merge_container(&t, &a, id, &c))
		goto out;
	if (a.n_spec_words && !container_has_family(&c, arrow.family)) {
		if (arrow.family == BPFPORT_AF_INET) {
			c.ip4 = arrow.container_addr;
			c.has_ip4 = true;
		} else {
			c.ip6 = arrow.container_addr;
			c.has_ip6 = true;
		}
	}
	if (plan_all(&t, &a, &c, &arrow, &plan))
		goto out;
	/* What the state file could not hold (or read back) is refused before any change. */
	if (state_container_check(&c, err, sizeof(err))) {
		pr_err("%s", err);
		goto out;
	}
	if (!commit_plan(&t, &c, &plan))
		ret = EXIT_OK;
out:
	publish_plan_free(&plan);
	container_free(&c);
	txn_end(&t);
out_args:
	add_args_free(&a);
	return ret;
}
