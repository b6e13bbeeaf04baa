/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the host's own stack says about a port, in the current network
 * namespace (bpfport --netns picks it).
 *
 *   hostport_in_use()        would a bind() fail with EADDRINUSE, as Docker
 *                            v27+ checks before publishing
 *   hostport_kernel_range()  net.ipv4.ip_local_port_range
 *   hostport_reserved()      listed in net.ipv4.ip_local_reserved_ports
 *   hostport_reserve()       add it there, or take it out
 */
#ifndef BPFPORT_HOSTPORT_H
#define BPFPORT_HOSTPORT_H

#include <stdbool.h>
#include <linux/types.h>

#include "bpfport.h"

bool hostport_in_use(__u8 family, const struct bpfport_addr *addr, __u16 port, __u8 proto);
int hostport_kernel_range(__u16 *begin, __u16 *end);
bool hostport_reserved(__u16 port);
/* Add a port to, or drop it from, net.ipv4.ip_local_reserved_ports (which
 * covers IPv6 too), so the kernel never picks it as an ephemeral port. */
int hostport_reserve(__u16 port, bool reserve);
/* This process's network namespace cookie (SO_NETNS_COOKIE), 0 if unknown. */
__u64 hostport_netns_cookie(void);

#endif /* BPFPORT_HOSTPORT_H */
