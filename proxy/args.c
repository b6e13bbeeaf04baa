// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * docker-proxy's command line, parsed as Go's flag package does: -name VALUE,
 * -name=VALUE, one dash or two, booleans as -name or -name=true|false,
 * parsing stops at "--" or the first word that is not a flag. Addresses as
 * net.ParseIP takes them (IPv4-mapped IPv6 is IPv4, as Docker unmaps it).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "addr.h"
#include "args.h"

static int parse_ip(const char *s, struct proxy_endpoint *e)
{
	/* addr_parse() also takes "[::1]": net.ParseIP does not. */
	if (!*s || s[0] == '[' || addr_parse(s, &e->family, &e->addr))
		return -EINVAL;
	addr_unmap_v4(&e->family, &e->addr);
	return 0;
}

/* strconv.ParseInt(s, 0, 64), then 1-65535. */
static int parse_port(const char *s, __u16 *port)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || !*s || *end || v < 1 || v > 65535)
		return -EINVAL;
	*port = (__u16)v;
	return 0;
}

static int parse_bool(const char *s, bool *v)
{
	static const char *const yes[] = { "1", "t", "T", "true", "TRUE", "True" };
	static const char *const no[] = { "0", "f", "F", "false", "FALSE", "False" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcmp(s, yes[i])) {
			*v = true;
			return 0;
		}
		if (!strcmp(s, no[i])) {
			*v = false;
			return 0;
		}
	}
	return -EINVAL;
}

enum flag_kind { FLAG_STRING, FLAG_BOOL };

static const struct {
	const char *name;
	enum flag_kind kind;
} flags[] = {
	{ "proto", FLAG_STRING },
	{ "host-ip", FLAG_STRING },
	{ "host-port", FLAG_STRING },
	{ "container-ip", FLAG_STRING },
	{ "container-port", FLAG_STRING },
	{ "use-listen-fd", FLAG_BOOL },
	{ "v", FLAG_BOOL },
	{ "version", FLAG_BOOL },
	{ "h", FLAG_BOOL },
	{ "help", FLAG_BOOL },
	{ "cleanup", FLAG_BOOL },
	{ "dry-run", FLAG_BOOL },
	{ "log", FLAG_STRING },
	{ "udp-timeout", FLAG_STRING },
};

static int set_flag(struct proxy_args *a, const char *name, const char *val, bool bval, char *err,
		    size_t len)
{
	int ret = 0;

	if (!strcmp(name, "proto")) {
		a->b.proto = proxy_proto_parse(val);
		if (a->b.proto < 0)
			ret = -EINVAL;
	} else if (!strcmp(name, "host-ip")) {
		ret = parse_ip(val, &a->b.host);
	} else if (!strcmp(name, "container-ip")) {
		ret = parse_ip(val, &a->b.container);
	} else if (!strcmp(name, "host-port")) {
		ret = parse_port(val, &a->b.host.port);
		a->have_host_port = !ret;
	} else if (!strcmp(name, "container-port")) {
		ret = parse_port(val, &a->b.container.port);
		a->have_container_port = !ret;
	} else if (!strcmp(name, "udp-timeout")) {
		char *end;
		unsigned long v = strtoul(val, &end, 10);

		if (!*val || *end || !v || v > 86400)
			ret = -EINVAL;
		else
			a->udp_timeout_ms = (unsigned int)v * 1000;
	} else if (!strcmp(name, "log")) {
		a->log = val;
	} else if (!strcmp(name, "use-listen-fd")) {
		a->use_listen_fd = bval;
	} else if (!strcmp(name, "v") || !strcmp(name, "version")) {
		a->version = bval;
	} else if (!strcmp(name, "h") || !strcmp(name, "help")) {
		a->help = bval;
	} else if (!strcmp(name, "cleanup")) {
		a->cleanup = bval;
	} else if (!strcmp(name, "dry-run")) {
		a->dry_run = bval;
	}
	if (ret)
		snprintf(err, len, "invalid value \"%s\" for flag -%s", val, name);
	return ret;
}

void proxy_args_init(struct proxy_args *a)
{
	memset(a, 0, sizeof(*a));
	/* docker-proxy's defaults: tcp, 0.0.0.0 on both sides, no ports. */
	a->b.proto = IPPROTO_TCP;
	a->b.host.family = BPFPORT_AF_INET;
	a->b.container.family = BPFPORT_AF_INET;
	a->udp_timeout_ms = PROXY_UDP_TIMEOUT_MS;
}

int proxy_args_parse(int argc, char **argv, struct proxy_args *a, char *err, size_t len)
{
	for (int i = 1; i < argc; i++) {
		const char *w = argv[i], *name, *eq, *val = NULL;
		char buf[64];
		size_t n, k;
		bool bval = true;

		if (w[0] != '-' || !w[1])
			break;
		if (!strcmp(w, "--"))
			break;
		name = w + 1 + (w[1] == '-');
		eq = strchr(name, '=');
		n = eq ? (size_t)(eq - name) : strlen(name);
		if (!n || n >= sizeof(buf) || name[0] == '-' || name[0] == '=') {
			snprintf(err, len, "bad flag syntax: %s", w);
			return -EINVAL;
		}
		memcpy(buf, name, n);
		buf[n] = '\0';
		for (k = 0; k < sizeof(flags) / sizeof(flags[0]); k++)
			if (!strcmp(flags[k].name, buf))
				break;
		if (k == sizeof(flags) / sizeof(flags[0])) {
			snprintf(err, len, "flag provided but not defined: -%s", buf);
			return -EINVAL;
		}
		if (eq)
			val = eq + 1;
		if (flags[k].kind == FLAG_BOOL) {
			if (val && parse_bool(val, &bval)) {
				snprintf(err, len, "invalid boolean value \"%s\" for -%s", val,
					 buf);
				return -EINVAL;
			}
		} else if (!val) {
			if (i + 1 >= argc) {
				snprintf(err, len, "flag needs an argument: -%s", buf);
				return -EINVAL;
			}
			val = argv[++i];
		}
		if (set_flag(a, buf, val, bval, err, len))
			return -EINVAL;
	}
	return 0;
}

/* What a proxy needs beyond the syntax: both ports, addresses of sense. */
int proxy_args_check(const struct proxy_args *a, char *err, size_t len)
{
	if (!a->have_host_port || !a->have_container_port) {
		snprintf(err, len, "-host-port and -container-port are required (1-65535)");
		return -EINVAL;
	}
	if (addr_is_unspec(&a->b.container.addr)) {
		snprintf(err, len,
			 "-container-ip must be the container's address, not unspecified");
		return -EINVAL;
	}
	return 0;
}
