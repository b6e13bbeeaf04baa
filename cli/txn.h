/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A change to bindings runs as one transaction under the state lock: check
 * everything first, then change the maps, then save the state file, and
 * undo the map changes if the save fails. A failed command leaves maps and
 * state as they were.
 */
#ifndef BPFPORT_TXN_H
#define BPFPORT_TXN_H

#include "dp.h"
#include "state.h"

struct txn {
	struct dp dp;
	struct state st;
	int lock;
	bool host_netns; /* we run in the namespace the datapath serves */
};

/* Root check, pinned maps, lock, state; reports its own errors. */
int txn_begin(struct txn *t, const char *what);
void txn_end(struct txn *t);

/*
 * Published ports go into net.ipv4.ip_local_reserved_ports of the datapath's
 * namespace (only when we run in it), so the kernel never hands one out as
 * an ephemeral port; ports an administrator reserved are left alone.
 */
void txn_reserve_ports(struct txn *t, struct binding *bs, size_t n);
void txn_release_ports(struct txn *t, const struct binding *removed, size_t n);

#endif /* BPFPORT_TXN_H */
