/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The published-ports bitmap (bp_published, see bpfport.h) from user space:
 * one read-modify-write of the word that holds a port's bit. Header-only so
 * that the datapath tests and the micro-benchmarks share it with lib/dp.c.
 */
#ifndef BPFPORT_PUBLISHED_H
#define BPFPORT_PUBLISHED_H

#include <errno.h>
#include <stdbool.h>

#include <netinet/in.h>

#include <bpf/bpf.h>

#include "bpfport.h"

/* Set (on) or clear a port's bit; port in host order. 0 or -errno. */
static inline int published_set(int fd, __u8 family, __u8 proto, __u16 port, bool on)
{
	__u32 idx = BPFPORT_PUBLISHED_WORD(family, proto, port);
	__u64 word = 0;

	if (bpf_map_lookup_elem(fd, &idx, &word))
		return -errno;
	word = on ? word | BPFPORT_PUBLISHED_BIT(port) : word & ~BPFPORT_PUBLISHED_BIT(port);
	return bpf_map_update_elem(fd, &idx, &word, BPF_ANY) ? -errno : 0;
}

#endif /* BPFPORT_PUBLISHED_H */
