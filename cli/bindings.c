// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * add, del, rm: change bindings. Each runs as one transaction under the
 * state lock: check everything first, then change the map, then save the
 * state file, undoing the map change if the save fails. So a failed command
 * leaves maps and state as they were.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "cli.h"
#include "dp.h"
#include "log.h"
#include "state.h"

struct txn {
	struct dp dp;
	struct state st;
	int lock;
};

static int txn_begin(struct txn *t, const char *what)
{
	int err;

	memset(t, 0, sizeof(*t));
	t->lock = -1;
	if (!is_root()) {
		pr_err("%s needs root (CAP_BPF, CAP_NET_ADMIN): run it as root", what);
		return -EPERM;
	}
	err = dp_open(opts.pin_dir, &t->dp);
	if (err) {
		if (err == -ENOENT)
			pr_err("datapath not loaded under %s: run 'bpfport-loader load' first",
			       opts.pin_dir);
		else
			pr_err("cannot open pinned maps under %s: %s", opts.pin_dir,
			       strerror(-err));
		return err;
	}
	t->lock = state_lock(opts.state_path);
	if (t->lock < 0) {
		err = t->lock;
		pr_err("cannot lock state file %s: %s", opts.state_path, strerror(-err));
		dp_close(&t->dp);
		return err;
	}
	err = state_load(opts.state_path, &t->st);
	if (err) {
		state_unlock(t->lock);
		dp_close(&t->dp);
	}
	return err;
}

static void txn_end(struct txn *t)
{
	state_free(&t->st);
	state_unlock(t->lock);
	dp_close(&t->dp);
}

/* Options may come anywhere; everything else is the spec. "->" is a word,
 * not an option, which is why getopt is not used here. */
static int split_args(int argc, char **argv, const char **id, char **words, int *nwords)
{
	bool opts_done = false;

	*nwords = 0;
	for (int i = 1; i < argc; i++) {
		if (!opts_done && !strcmp(argv[i], "--")) {
			opts_done = true;
		} else if (!opts_done && id && !strcmp(argv[i], "--id")) {
			if (++i == argc)
				return cmd_usage_error(CLI, cli_cmds, argv[0],
						       "option --id needs a value");
			*id = argv[i];
		} else if (!opts_done && id && !strncmp(argv[i], "--id=", 5)) {
			*id = argv[i] + 5;
		} else if (!opts_done && argv[i][0] == '-' && argv[i][1] && argv[i][1] != '>') {
			return cmd_usage_error(CLI, cli_cmds, argv[0], "unknown option %s",
					       argv[i]);
		} else {
			words[(*nwords)++] = argv[i];
		}
	}
	return 0;
}

static int parse_binding_args(int argc, char **argv, const char **id, struct binding *b)
{
	char err[ERRBUF_MAX];
	char *words[argc > 0 ? argc : 1];
	int nwords, ret;

	ret = split_args(argc, argv, id, words, &nwords);
	if (ret)
		return ret;
	if (binding_parse_spec(nwords, words, b, err, sizeof(err)))
		return cmd_usage_error(CLI, cli_cmds, argv[0], "%s", err);
	if (b->family != BPFPORT_AF_INET)
		return cmd_usage_error(CLI, cli_cmds, argv[0],
				       "IPv6 bindings are not supported yet: use IPv4 addresses");
	if (id && *id && !id_is_valid(*id))
		return cmd_usage_error(CLI, cli_cmds, argv[0],
				       "invalid ID \"%s\": use letters, digits, '_', '.' and '-', "
				       "starting with a letter or digit",
				       *id);
	return 0;
}

static void report_conflict(const struct binding *b)
{
	char host[ENDPOINT_STR_MAX];

	binding_host_str(b, host, sizeof(host));
	pr_err("Bind for %s failed: port is already allocated", host);
}

int cmd_add(int argc, char **argv)
{
	const char *id = NULL;
	struct binding b;
	struct txn t;
	int ret, slot;

	ret = parse_binding_args(argc, argv, &id, &b);
	if (ret)
		return ret;
	if (id)
		snprintf(b.id, sizeof(b.id), "%s", id);
	else
		addr_format(b.family, &b.container_addr, b.id, sizeof(b.id));

	if (txn_begin(&t, "bpfport add"))
		return EXIT_FAIL;
	ret = EXIT_FAIL;
	for (size_t i = 0; i < t.st.n_bindings; i++) {
		if (binding_conflicts(&t.st.bindings[i], &b)) {
			report_conflict(&b);
			goto out;
		}
	}
	slot = state_free_slot(&t.st);
	if (slot < 0) {
		pr_err("cannot add binding: all %d binding slots are in use", BPFPORT_MAX_BINDINGS);
		goto out;
	}
	b.slot = (__u32)slot;
	ret = dp_binding_install(&t.dp, &b);
	if (ret) {
		if (ret == -EEXIST)
			report_conflict(&b);
		else
			pr_err("cannot add binding to the datapath: %s", strerror(-ret));
		ret = EXIT_FAIL;
		goto out;
	}
	if (state_add_binding(&t.st, &b) || state_save(opts.state_path, &t.st)) {
		dp_binding_remove(&t.dp, &b);
		goto out;
	}
	ret = EXIT_OK;
out:
	txn_end(&t);
	return ret;
}

/* Removes every binding for which match() holds, then saves once; if the save
 * fails, the removed bindings go back into the map. */
static int remove_matching(struct txn *t, bool (*match)(const struct binding *, const void *),
			   const void *arg)
{
	struct binding *removed = calloc(t->st.n_bindings, sizeof(*removed));
	size_t n_removed = 0;
	int err = 0;

	if (!removed)
		return -ENOMEM;
	for (size_t i = 0; i < t->st.n_bindings;) {
		struct binding *b = &t->st.bindings[i];

		if (!match(b, arg)) {
			i++;
			continue;
		}
		err = dp_binding_remove(&t->dp, b);
		if (err) {
			pr_err("cannot remove binding from the datapath: %s", strerror(-err));
			break;
		}
		removed[n_removed++] = *b;
		state_remove_binding(&t->st, i);
	}
	if (!err)
		err = state_save(opts.state_path, &t->st);
	if (err)
		for (size_t i = 0; i < n_removed; i++)
			dp_binding_install(&t->dp, &removed[i]);
	free(removed);
	return err;
}

static bool match_same(const struct binding *b, const void *arg)
{
	return binding_same(b, arg);
}

static bool match_id(const struct binding *b, const void *arg)
{
	return !strcmp(b->id, arg);
}

int cmd_del(int argc, char **argv)
{
	struct binding b;
	bool found = false;
	struct txn t;
	int ret;

	ret = parse_binding_args(argc, argv, NULL, &b);
	if (ret)
		return ret;
	if (txn_begin(&t, "bpfport del"))
		return EXIT_FAIL;
	for (size_t i = 0; i < t.st.n_bindings; i++)
		found |= binding_same(&t.st.bindings[i], &b);
	if (!found) {
		char spec[160];

		binding_spec_str(&b, spec, sizeof(spec));
		pr_err("no binding %s", spec);
		ret = EXIT_FAIL;
	} else {
		ret = remove_matching(&t, match_same, &b) ? EXIT_FAIL : EXIT_OK;
	}
	txn_end(&t);
	return ret;
}

int cmd_rm(int argc, char **argv)
{
	bool found = false;
	struct txn t;
	int ret;

	if (argc != 2 || argv[1][0] == '-')
		return cmd_usage_error(CLI, cli_cmds, "rm", "expected one container ID");
	if (txn_begin(&t, "bpfport rm"))
		return EXIT_FAIL;
	for (size_t i = 0; i < t.st.n_bindings; i++)
		found |= !strcmp(t.st.bindings[i].id, argv[1]);
	if (!found) {
		pr_err("No such container: %s", argv[1]);
		ret = EXIT_FAIL;
	} else {
		ret = remove_matching(&t, match_id, argv[1]) ? EXIT_FAIL : EXIT_OK;
	}
	txn_end(&t);
	return ret;
}
