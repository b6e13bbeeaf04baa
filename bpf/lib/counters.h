/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 *   count_rx()  a packet translated towards a container
 *   count_tx()  a reply translated back towards a client
 *   count_drop()  a new flow refused by the binding's allow-list
 *   count_stat()  one datapath event (enum bpfport_stat)
 */
#ifndef BPFPORT_COUNTERS_H
#define BPFPORT_COUNTERS_H

#include "maps.h"

/* Per-CPU values: plain adds are safe, no atomics needed. */
static __always_inline void count_rx(__u32 slot, __u32 len)
{
	struct bpfport_counters *c = bpf_map_lookup_elem(&bp_counters, &slot);

	if (!c)
		return;
	c->rx_packets++;
	c->rx_bytes += len;
}

static __always_inline void count_tx(__u32 slot, __u32 len)
{
	struct bpfport_counters *c = bpf_map_lookup_elem(&bp_counters, &slot);

	if (!c)
		return;
	c->tx_packets++;
	c->tx_bytes += len;
}

static __always_inline void count_drop(__u32 slot)
{
	struct bpfport_counters *c = bpf_map_lookup_elem(&bp_counters, &slot);

	if (c)
		c->dropped_packets++;
}

static __always_inline void count_stat(enum bpfport_stat stat)
{
	__u32 key = stat;
	__u64 *n = bpf_map_lookup_elem(&bp_stats, &key);

	if (n)
		(*n)++;
}

#endif /* BPFPORT_COUNTERS_H */
