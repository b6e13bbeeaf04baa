// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * repair: set the state file's damaged lines aside. Readers skip a damaged
 * line with a warning; commands that change the state refuse the file, since
 * saving it would drop the line. This is the explicit way past that: the
 * lines go to "<state>.damaged", verbatim, and the rest is saved.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "state.h"

int cmd_repair(int argc, char **argv)
{
	size_t bindings = 0;
	struct state st;
	int lock, n, ret = EXIT_FAIL;

	if (argc != 1)
		return cmd_usage_error(CLI, cli_cmds, "repair", "unexpected argument \"%s\"",
				       argv[1]);
	lock = state_lock(opts.state_path);
	if (lock < 0)
		return EXIT_FAIL;
	if (state_load(opts.state_path, &st))
		goto out_unlock;
	for (size_t i = 0; i < st.n_damaged; i++)
		bindings += !strncmp(st.damaged[i].text, "binding", 7);
	/* Set aside (synced) before the save drops them: nothing is lost either way. */
	n = state_set_aside_damaged(opts.state_path, &st);
	if (n < 0)
		goto out;
	if (n == 0) {
		pr_info("state file %s has no damaged lines", opts.state_path);
		ret = EXIT_OK;
		goto out;
	}
	if (state_save(opts.state_path, &st))
		goto out;
	pr_info("set %d damaged line%s of %s aside in %s.damaged", n, n == 1 ? "" : "s",
		opts.state_path, opts.state_path);
	/* The maps may still hold what a dropped binding line described. */
	if (bindings)
		pr_warn("%zu of them %s: 'bpfport sync' removes from the maps what the state no "
			"longer holds",
			bindings, bindings == 1 ? "was a binding" : "were bindings");
	ret = EXIT_OK;
out:
	state_free(&st);
out_unlock:
	state_unlock(lock);
	return ret;
}
