// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "txn.h"

int txn_begin(struct txn *t, const char *what)
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

void txn_end(struct txn *t)
{
	state_free(&t->st);
	state_unlock(t->lock);
	dp_close(&t->dp);
}

