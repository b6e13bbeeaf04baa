// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>

#include "cli.h"
#include "hostport.h"
#include "log.h"
#include "txn.h"

static bool txn_in_host_netns(const struct txn *t)
{
	struct bpfport_config cfg;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(t->dp.config_fd, &zero, &cfg))
		return false;
	return cfg.host_netns_cookie && cfg.host_netns_cookie == hostport_netns_cookie();
}

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
		dp_close(&t->dp);
		return err;
	}
	/* A file with damaged lines is refused: saving would drop them. */
	err = state_load_for_update(opts.state_path, &t->st);
	if (err) {
		state_unlock(t->lock);
		dp_close(&t->dp);
		return err;
	}
	t->host_netns = txn_in_host_netns(t);
	return 0;
}

static bool port_in_use_by_state(const struct state *st, __u16 port)
{
	for (size_t i = 0; i < st->n_bindings; i++)
		if (st->bindings[i].host_port == port)
			return true;
	return false;
}

void txn_reserve_ports(struct txn *t, struct binding *bs, size_t n)
{
	if (!t->host_netns)
		return;
	for (size_t i = 0; i < n; i++) {
		if (hostport_reserved(bs[i].host_port))
			continue;
		if (hostport_reserve(bs[i].host_port, true))
			pr_warn("cannot add port %u to net.ipv4.ip_local_reserved_ports",
				bs[i].host_port);
		else
			bs[i].reserved = true;
	}
}

void txn_release_ports(struct txn *t, const struct binding *removed, size_t n)
{
	if (!t->host_netns)
		return;
	for (size_t i = 0; i < n; i++)
		if (removed[i].reserved && !port_in_use_by_state(&t->st, removed[i].host_port))
			hostport_reserve(removed[i].host_port, false);
}

void txn_end(struct txn *t)
{
	state_free(&t->st);
	state_unlock(t->lock);
	dp_close(&t->dp);
}
