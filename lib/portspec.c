// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "portspec.h"

#define SPEC_MAX 256

/* Go's strconv.ParseInt(s, 10, 0) followed by a 0-65535 check. */
static int port_number_parse(const char *s, __u16 *port)
{
	const char *p = s;
	long long v = 0;

	/* Go's ParseInt takes a '+' sign; a '-' never reaches here (it splits ranges). */
	if (*p == '+')
		p++;
	if (!*p)
		return -EINVAL;
	for (; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		v = v * 10 + (*p - '0');
		if (v > 65535)
			return -ERANGE;
	}
	*port = (__u16)v;
	return 0;
}

/* go-connections' parsePortRange: split at the first '-' (strings.Cut). */
int port_range_parse(const char *s, __u16 *start, __u16 *end)
{
	char buf[64];
	char *dash;

	if (!*s || snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf))
		return -EINVAL;
	dash = strchr(buf, '-');
	if (dash)
		*dash = '\0';
	if (port_number_parse(buf, start))
		return -EINVAL;
	if (!dash || !strcmp(buf, dash + 1)) {
		*end = *start;
		return 0;
	}
	if (port_number_parse(dash + 1, end) || *end < *start)
		return -EINVAL;
	return 0;
}

static int proto_lookup(const char *s, __u8 *proto)
{
	char lower[16];
	size_t i;

	for (i = 0; s[i] && i < sizeof(lower) - 1; i++)
		lower[i] = (char)tolower((unsigned char)s[i]);
	lower[i] = '\0';
	if (s[i])
		return -EINVAL;
	if (!strcmp(lower, "sctp")) {
		*proto = IPPROTO_SCTP_NUM;
		return 0;
	}
	return proto_parse(lower, proto);
}

/* go-connections' splitParts: the last two ':'-parts are ports, the rest the IP. */
static void split_parts(char *raw, char **ip, char **host_port, char **container_port)
{
	char *last = strrchr(raw, ':'), *prev;

	*ip = "";
	*host_port = "";
	if (!last) {
		*container_port = raw;
		return;
	}
	*last = '\0';
	*container_port = last + 1;
	prev = strrchr(raw, ':');
	if (!prev) {
		*host_port = raw;
		return;
	}
	*prev = '\0';
	*host_port = prev + 1;
	*ip = raw;
}

/*
 * Go's net.SplitHostPort(ip + ":") as ParsePortSpec uses it on a bracketed
 * address: the same checks in the same order, the same error texts.
 */
static int strip_brackets(char *ip, char *err, size_t errlen)
{
	char hostport[SPEC_MAX + 2];
	const char *why = NULL;
	size_t n, last, end = 0;
	char *close;

	snprintf(hostport, sizeof(hostport), "%s:", ip);
	n = strlen(hostport);
	last = (size_t)(strrchr(hostport, ':') - hostport);
	close = strchr(hostport, ']');
	if (!close) {
		why = "missing ']' in address";
	} else {
		end = (size_t)(close - hostport);
		if (end + 1 == n)
			why = "missing port in address";
		else if (end + 1 != last)
			why = hostport[end + 1] == ':' ? "too many colons in address" :
							 "missing port in address";
		else if (strchr(hostport + 1, '['))
			why = "unexpected '[' in address";
		else if (strchr(hostport + end + 1, ']'))
			why = "unexpected ']' in address";
	}
	if (why) {
		snprintf(err, errlen, "invalid IP address %s: address %s: %s", ip, hostport, why);
		return -EINVAL;
	}
	memmove(ip, ip + 1, end - 1);
	ip[end - 1] = '\0';
	return 0;
}

static int parse_host_ip(char *ip, struct port_mapping *m, char *err, size_t errlen)
{
	if (ip[0] == '[' && strip_brackets(ip, err, errlen))
		return -EINVAL;
	/* "[]" leaves no address: Docker then validates nothing and binds all. */
	if (!*ip)
		return 0;
	/* Unlike addr_parse(), brackets are gone: parse exactly what Go's net.ParseIP does. */
	memset(&m->host_addr, 0, sizeof(m->host_addr));
	if (inet_pton(AF_INET, ip, &m->host_addr.a[0]) == 1) {
		m->host_family = BPFPORT_AF_INET;
	} else if (inet_pton(AF_INET6, ip, m->host_addr.a) == 1) {
		m->host_family = BPFPORT_AF_INET6;
	} else {
		snprintf(err, errlen, "invalid IP address: %s", ip);
		return -EINVAL;
	}
	m->has_host_ip = true;
	/* ::ffff:a.b.c.d is an IPv4 address, as Docker unmaps it. */
	addr_unmap_v4(&m->host_family, &m->host_addr);
	return 0;
}

int portspec_parse(const char *spec, struct port_mapping **out, size_t *n, char *err, size_t errlen)
{
	char raw[SPEC_MAX], cport_buf[SPEC_MAX];
	char *ip, *host_port, *container_port, *proto_str;
	__u16 cstart, cend, hstart = 0, hend = 0;
	struct port_mapping tmpl = {}, *maps;
	size_t count;

	*out = NULL;
	*n = 0;
	if (snprintf(raw, sizeof(raw), "%s", spec) >= (int)sizeof(raw)) {
		snprintf(err, errlen, "port spec too long: %.32s...", spec);
		return -EINVAL;
	}
	split_parts(raw, &ip, &host_port, &container_port);

	/* SplitProtoPort: "80/udp"; an empty port means none given. */
	snprintf(cport_buf, sizeof(cport_buf), "%s", container_port);
	proto_str = strchr(cport_buf, '/');
	if (proto_str)
		*proto_str++ = '\0';
	if (!cport_buf[0]) {
		snprintf(err, errlen, "no port specified: %s<empty>", spec);
		return -EINVAL;
	}
	if (!proto_str || !*proto_str)
		proto_str = "tcp";
	if (proto_lookup(proto_str, &tmpl.proto)) {
		char lower[SPEC_MAX];
		size_t i;

		for (i = 0; proto_str[i] && i < sizeof(lower) - 1; i++)
			lower[i] = (char)tolower((unsigned char)proto_str[i]);
		lower[i] = '\0';
		snprintf(err, errlen, "invalid proto: %s", lower);
		return -EINVAL;
	}
	if (*ip && parse_host_ip(ip, &tmpl, err, errlen))
		return -EINVAL;
	if (port_range_parse(cport_buf, &cstart, &cend) || cstart == 0) {
		snprintf(err, errlen, "invalid containerPort: %s", cport_buf);
		return -EINVAL;
	}
	if (*host_port) {
		if (port_range_parse(host_port, &hstart, &hend)) {
			snprintf(err, errlen, "invalid hostPort: %s", host_port);
			return -EINVAL;
		}
		/* A host range with one container port is a dynamic range to allocate in. */
		if (cend - cstart != hend - hstart && cend != cstart) {
			snprintf(err, errlen,
				 "invalid ranges specified for container and host Ports: %s and %s",
				 cport_buf, host_port);
			return -EINVAL;
		}
	}

	count = (size_t)(cend - cstart) + 1;
	maps = calloc(count, sizeof(*maps));
	if (!maps)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		maps[i] = tmpl;
		maps[i].container_port = (__u16)(cstart + i);
		if (count == 1) {
			maps[i].host_port_start = hstart;
			maps[i].host_port_end = hend;
		} else if (*host_port) {
			maps[i].host_port_start = maps[i].host_port_end = (__u16)(hstart + i);
		}
	}
	*out = maps;
	*n = count;
	return 0;
}

int port_proto_parse(const char *s, __u16 *start, __u16 *end, __u8 *proto, char *err, size_t errlen)
{
	char buf[64];
	char *slash;

	if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf)) {
		snprintf(err, errlen, "invalid port: %.32s...", s);
		return -EINVAL;
	}
	slash = strchr(buf, '/');
	*proto = IPPROTO_TCP;
	if (slash) {
		*slash++ = '\0';
		if (proto_lookup(slash, proto)) {
			snprintf(err, errlen, "invalid proto: %s", slash);
			return -EINVAL;
		}
	}
	if (port_range_parse(buf, start, end) || *start == 0) {
		snprintf(err, errlen, "invalid range format for --expose: %s", s);
		return -EINVAL;
	}
	return 0;
}
