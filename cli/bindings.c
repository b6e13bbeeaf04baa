// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * del and rm: remove bindings (and, for rm, the container), each as one
 * transaction (txn.h).
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
#include "txn.h"

/* The spec of del, in any of add's word forms; "->" is a word, not an option. */
static int parse_del_args(int argc, char **argv, struct binding *b)
{
	char err[ERRBUF_MAX];
	char *words[argc > 0 ? argc : 1];
	int nwords = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			continue;
		if (argv[i][0] == '-' && argv[i][1] && argv[i][1] != '>')
			return cmd_usage_error(CLI, cli_cmds, "del", "unknown option %s", argv[i]);
		words[nwords++] = argv[i];
	}
	if (binding_parse_spec(nwords, words, b, err, sizeof(err)))
		return cmd_usage_error(CLI, cli_cmds, "del", "%s", err);
	return 0;
}

/*
 * Removes every binding for which match() holds, then saves once. The order
 * is chosen so that a kill at any step leaves nothing that `list` does not
 * show or `del`/`rm` cannot finish (the state file is what both read):
 *
 *   1. the maps, binding by binding (dp_binding_remove: the key first, so no
 *      new flow starts, then port and endpoint counts and allow-list, then the
 *      flows). Killed here, the state still lists every binding; running the
 *      command again removes the rest (a key already gone is skipped, its flows
 *      are ended again). A kill between a key's removal and its counts leaves
 *      those counts one too high (the port stays in bp_published, prefixes on
 *      the slot): harmless to traffic, and `bpfport sync` fixes them.
 *   2. net.ipv4.ip_local_reserved_ports gives the ports back. Killed here,
 *      the state still lists the bindings, and the retry releases again.
 *   3. the state file, last, atomically. Only now do the bindings disappear
 *      from `list`, when nothing of them is left but stale counts.
 *
 * Removing from the state first would be wrong: killed after the save, the
 * bindings would keep forwarding with no record that `list` shows or `del`
 * can match. If the save fails, the bindings go back into the maps and the
 * ports are reserved again: a failed command changes nothing.
 */
static int remove_matching(struct txn *t, bool (*match)(const struct binding *, const void *),
			   const void *arg)
{
	struct binding *removed = calloc(t->st.n_bindings ? t->st.n_bindings : 1, sizeof(*removed));
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
	if (!err) {
		/* Ports still used by a binding the state keeps stay reserved. */
		txn_release_ports(t, removed, n_removed);
		err = state_save(opts.state_path, &t->st);
	}
	if (err) {
		for (size_t i = 0; i < n_removed; i++) {
			dp_binding_install(&t->dp, &removed[i]);
			if (removed[i].reserved)
				txn_reserve_ports(t, &removed[i], 1);
		}
	}
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

	ret = parse_del_args(argc, argv, &b);
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
	char id[BINDING_ID_MAX];
	struct txn t;
	int idx, ret;

	if (argc != 2 || argv[1][0] == '-')
		return cmd_usage_error(CLI, cli_cmds, "rm", "expected one container");
	if (txn_begin(&t, "bpfport rm"))
		return EXIT_FAIL;
	idx = container_resolve(&t.st, argv[1]);
	if (idx < 0) {
		txn_end(&t);
		return EXIT_FAIL;
	}
	snprintf(id, sizeof(id), "%s", t.st.containers[idx].id);
	state_remove_container(&t.st, (size_t)idx);
	ret = remove_matching(&t, match_id, id) ? EXIT_FAIL : EXIT_OK;
	txn_end(&t);
	return ret;
}
