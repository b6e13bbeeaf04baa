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

#define RESERVED_PORTS "/proc/sys/net/ipv4/ip_local_reserved_ports"
#define PORT_BITMAP_BYTES (65536 / 8)

/* The sysctl as a bitmap of ports (caller frees), or NULL. */
static unsigned char *reserved_read(void)
{
	unsigned char *map = calloc(PORT_BITMAP_BYTES, 1);
	FILE *f = fopen(RESERVED_PORTS, "re");
	char *buf = NULL;
	size_t cap = 0;

	if (!map || !f) {
		free(map);
		if (f)
			fclose(f);
		return NULL;
	}
	if (getline(&buf, &cap, f) > 0) {
		for (char *tok = strtok(buf, ",\n"); tok; tok = strtok(NULL, ",\n")) {
			unsigned long b, e;
			char *dash;

			b = strtoul(tok, &dash, 10);
			e = *dash == '-' ? strtoul(dash + 1, NULL, 10) : b;
			for (unsigned long p = b; p <= e && p < 65536; p++)
				map[p / 8] |= (unsigned char)(1u << (p % 8));
		}
	}
	free(buf);
	fclose(f);
	return map;
}

static bool bit(const unsigned char *map, unsigned int p)
{
	return map[p / 8] & (1u << (p % 8));
}

bool hostport_reserved(__u16 port)
{
	unsigned char *map = reserved_read();
	bool reserved = map && bit(map, port);

	free(map);
	return reserved;
}

/* Written back as ranges, the form the kernel prints. */
static int reserved_write(const unsigned char *map)
{
	FILE *f = fopen(RESERVED_PORTS, "we");
	unsigned int p = 0;
	bool first = true;
	int err = 0;

	if (!f)
		return -errno;
	while (p < 65536) {
		unsigned int start;

		if (!bit(map, p)) {
			p++;
			continue;
		}
		start = p;
		while (p + 1 < 65536 && bit(map, p + 1))
			p++;
		fprintf(f, first ? "%u" : ",%u", start);
		if (p > start)
			fprintf(f, "-%u", p);
		first = false;
		p++;
	}
	/* An empty write is rejected: a lone newline clears the list. */
	fputc('\n', f);
	if (fclose(f))
		err = -errno;
	return err;
}

int hostport_reserve(__u16 port, bool reserve)
{
	unsigned char *map = reserved_read();
	int err;

	if (!map)
		return -errno ? -errno : -ENOMEM;
	if (reserve)
		map[port / 8] |= (unsigned char)(1u << (port % 8));
	else
		map[port / 8] &= (unsigned char)~(1u << (port % 8));
	err = reserved_write(map);
	free(map);
	return err;
}

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

__u64 hostport_netns_cookie(void)
{
	__u64 cookie = 0;
	socklen_t len = sizeof(cookie);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd >= 0) {
		if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len))
			cookie = 0;
		close(fd);
	}
	return cookie;
}
