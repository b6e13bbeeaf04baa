// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

int addr_parse(const char *s, __u8 *family, struct bpfport_addr *a)
{
	char buf[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(s);

	memset(a, 0, sizeof(*a));
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		if (n - 2 >= sizeof(buf))
			return -EINVAL;
		memcpy(buf, s + 1, n - 2);
		buf[n - 2] = '\0';
		if (inet_pton(AF_INET6, buf, a->a) != 1)
			return -EINVAL;
		*family = BPFPORT_AF_INET6;
		return 0;
	}
	if (inet_pton(AF_INET, s, &a->a[0]) == 1) {
		*family = BPFPORT_AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a->a) == 1) {
		*family = BPFPORT_AF_INET6;
		return 0;
	}
	return -EINVAL;
}

void addr_format(__u8 family, const struct bpfport_addr *a, char *buf, size_t len)
{
	if (!inet_ntop(family == BPFPORT_AF_INET ? AF_INET : AF_INET6, a->a, buf, len))
		snprintf(buf, len, "?");
}

void addr_to_id(__u8 family, const struct bpfport_addr *a, char *buf, size_t len)
{
	addr_format(family, a, buf, len);
	for (char *c = buf; *c; c++)
		if (*c == ':')
			*c = '-';
}

bool addr_is_unspec(const struct bpfport_addr *a)
{
	return !(a->a[0] | a->a[1] | a->a[2] | a->a[3]);
}

bool addr_equal(const struct bpfport_addr *a, const struct bpfport_addr *b)
{
	return !memcmp(a, b, sizeof(*a));
}

int port_parse(const char *s, __u16 *port)
{
	unsigned long v;
	char *end;

	if (!*s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < 1 || v > 65535)
		return -ERANGE;
	*port = (__u16)v;
	return 0;
}

void addr_unmap_v4(__u8 *family, struct bpfport_addr *a)
{
	if (*family != BPFPORT_AF_INET6 || a->a[0] || a->a[1] || a->a[2] != htonl(0xffff))
		return;
	a->a[0] = a->a[3];
	a->a[1] = a->a[2] = a->a[3] = 0;
	*family = BPFPORT_AF_INET;
}

int endpoint_parse(const char *s, __u8 *family, struct bpfport_addr *a, __u16 *port, char *err,
		   size_t errlen)
{
	const char *colon = strrchr(s, ':');
	char host[INET6_ADDRSTRLEN + 2];
	size_t hlen;

	if (!colon) {
		snprintf(err, errlen, "\"%s\" has no port: expected ADDRESS:PORT", s);
		return -EINVAL;
	}
	hlen = (size_t)(colon - s);
	if (hlen == 0 || hlen >= sizeof(host)) {
		snprintf(err, errlen, "\"%s\" has no valid address: expected ADDRESS:PORT", s);
		return -EINVAL;
	}
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	/* A bare IPv6 address would be ambiguous with its port: require brackets. */
	if (strchr(host, ':') && host[0] != '[') {
		snprintf(err, errlen, "IPv6 address in \"%s\" needs brackets: [ADDRESS]:PORT", s);
		return -EINVAL;
	}
	if (addr_parse(host, family, a)) {
		snprintf(err, errlen, "invalid IP address \"%s\"", host);
		return -EINVAL;
	}
	addr_unmap_v4(family, a);
	if (port_parse(colon + 1, port)) {
		snprintf(err, errlen, "invalid port \"%s\": must be a number from 1 to 65535",
			 colon + 1);
		return -ERANGE;
	}
	return 0;
}

void endpoint_format(__u8 family, const struct bpfport_addr *a, __u16 port, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	addr_format(family, a, ip, sizeof(ip));
	if (family == BPFPORT_AF_INET6)
		snprintf(buf, len, "[%s]:%u", ip, port);
	else
		snprintf(buf, len, "%s:%u", ip, port);
}

int proto_parse(const char *s, __u8 *proto)
{
	if (!strcmp(s, "tcp"))
		*proto = IPPROTO_TCP;
	else if (!strcmp(s, "udp"))
		*proto = IPPROTO_UDP;
	else
		return -EINVAL;
	return 0;
}

const char *proto_name(__u8 proto)
{
	/* Exposed ports may be sctp (Docker's grammar): never write them as tcp. */
	if (proto == IPPROTO_SCTP)
		return "sctp";
	return proto == IPPROTO_UDP ? "udp" : "tcp";
}

const char *family_name(__u8 family)
{
	return family == BPFPORT_AF_INET6 ? "IPv6" : "IPv4";
}
