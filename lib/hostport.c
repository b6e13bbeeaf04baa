// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hostport.h"

bool hostport_in_use(__u8 family, const struct bpfport_addr *addr, __u16 port, __u8 proto)
{
	int fd, one = 1, err = 0;
	struct sockaddr_storage ss = {};
	socklen_t len;

	fd = socket(family == BPFPORT_AF_INET ? AF_INET : AF_INET6,
		    (proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	/* As Docker binds: TIME_WAIT leftovers are no conflict, a listener is. */
	if (proto == IPPROTO_TCP)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == BPFPORT_AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr.s_addr = addr->a[0];
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		/* [::] must not also claim the IPv4 port: that is 0.0.0.0's check. */
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, addr->a, sizeof(addr->a));
		len = sizeof(*sin6);
	}
	if (bind(fd, (struct sockaddr *)&ss, len))
		err = errno;
	close(fd);
	/* Only a port in use counts; an address not (yet) on this host does not. */
	return err == EADDRINUSE;
}

int hostport_kernel_range(__u16 *begin, __u16 *end)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
	unsigned int b, e;
	int n;

	if (!f)
		return -errno;
	n = fscanf(f, "%u %u", &b, &e);
	fclose(f);
	if (n != 2 || !b || b > e || e > 65535)
		return -EINVAL;
	*begin = (__u16)b;
	*end = (__u16)e;
	return 0;
}

bool hostport_reserved(__u16 port)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_reserved_ports", "re");
	char buf[4096];
	bool reserved = false;

	if (!f)
		return false;
	if (fgets(buf, sizeof(buf), f)) {
		for (char *tok = strtok(buf, ",\n"); tok && !reserved; tok = strtok(NULL, ",\n")) {
			unsigned long b, e;
			char *dash;

			b = strtoul(tok, &dash, 10);
			e = *dash == '-' ? strtoul(dash + 1, NULL, 10) : b;
			reserved = port >= b && port <= e;
		}
	}
	fclose(f);
	return reserved;
}
