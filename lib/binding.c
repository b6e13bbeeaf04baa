// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "binding.h"

#define SPEC_USAGE "expected 'HOST_IP:HOST_PORT -> CONTAINER_IP:CONTAINER_PORT[/tcp|/udp]'"
#define SPEC_MAX 512

/* Join the words, with the arrow set apart, so all forms split the same way. */
static int spec_join(int argc, char **argv, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < argc; i++) {
		for (const char *s = argv[i]; *s; s++) {
			const char *piece = s[0] == '-' && s[1] == '>' ? " -> " : NULL;
			size_t n = piece ? 4 : 1;

			if (used + n + 2 > len)
				return -E2BIG;
			memcpy(buf + used, piece ? piece : s, n);
			used += n;
			if (piece)
				s++;
		}
		/* An empty word adds its separator alone: room for it and the NUL too. */
		if (used + 2 > len)
			return -E2BIG;
		buf[used++] = ' ';
		buf[used] = '\0';
	}
	return 0;
}

static int spec_split(char *spec, char **host, char **container)
{
	char *words[4];
	int n = 0;

	for (char *tok = strtok(spec, " \t"); tok; tok = strtok(NULL, " \t")) {
		if (n == 3)
			return -EINVAL;
		words[n++] = tok;
	}
	if (n != 3 || (strcmp(words[1], "->") && strcmp(words[1], "to")))
		return -EINVAL;
	*host = words[0];
	*container = words[2];
	return 0;
}

int binding_parse_spec(int argc, char **argv, struct binding *b, char *err, size_t errlen)
{
	char spec[SPEC_MAX], shown[SPEC_MAX], *host, *container, *proto;
	__u8 cfamily;
	int ret;

	memset(b, 0, sizeof(*b));
	b->proto = IPPROTO_TCP;
	if (argc < 1 || spec_join(argc, argv, spec, sizeof(spec))) {
		snprintf(err, errlen, "missing or overlong binding spec: %s", SPEC_USAGE);
		return -EINVAL;
	}
	snprintf(shown, sizeof(shown), "%s", spec);
	shown[strcspn(shown, "\n")] = '\0';
	if (spec_split(spec, &host, &container)) {
		snprintf(err, errlen, "invalid binding spec \"%.*s\": %s", (int)strlen(shown) - 1,
			 shown, SPEC_USAGE);
		return -EINVAL;
	}

	proto = strchr(container, '/');
	if (proto) {
		*proto++ = '\0';
		if (proto_parse(proto, &b->proto)) {
			snprintf(err, errlen, "invalid protocol \"%s\": must be tcp or udp", proto);
			return -EINVAL;
		}
	}
	ret = endpoint_parse(host, &b->family, &b->host_addr, &b->host_port, err, errlen);
	if (ret)
		return ret;
	ret = endpoint_parse(container, &cfamily, &b->container_addr, &b->container_port, err,
			     errlen);
	if (ret)
		return ret;
	if (cfamily != b->family) {
		snprintf(err, errlen, "host %s and container %s are of different address families",
			 host, container);
		return -EINVAL;
	}
	if (addr_is_unspec(&b->container_addr)) {
		snprintf(err, errlen, "container address in \"%s\" must be a specific address",
			 container);
		return -EINVAL;
	}
	return 0;
}

bool binding_conflicts(const struct binding *a, const struct binding *b)
{
	if (a->proto != b->proto || a->family != b->family || a->host_port != b->host_port)
		return false;
	return addr_is_unspec(&a->host_addr) || addr_is_unspec(&b->host_addr) ||
	       addr_equal(&a->host_addr, &b->host_addr);
}

bool binding_same(const struct binding *a, const struct binding *b)
{
	return a->proto == b->proto && a->family == b->family && a->host_port == b->host_port &&
	       a->container_port == b->container_port && addr_equal(&a->host_addr, &b->host_addr) &&
	       addr_equal(&a->container_addr, &b->container_addr);
}

void binding_to_key(const struct binding *b, struct bpfport_bind_key *key)
{
	memset(key, 0, sizeof(*key));
	key->host_addr = b->host_addr;
	key->host_port = htons(b->host_port);
	key->family = b->family;
	key->proto = b->proto;
}

void binding_to_val(const struct binding *b, struct bpfport_bind_val *val)
{
	memset(val, 0, sizeof(*val));
	val->container_addr = b->container_addr;
	val->container_port = htons(b->container_port);
	val->slot = b->slot;
	if (b->n_allow)
		val->flags |= BPFPORT_BIND_ALLOWLIST;
}

void binding_host_str(const struct binding *b, char *buf, size_t len)
{
	endpoint_format(b->family, &b->host_addr, b->host_port, buf, len);
}

void binding_container_str(const struct binding *b, char *buf, size_t len)
{
	endpoint_format(b->family, &b->container_addr, b->container_port, buf, len);
}

void binding_spec_str(const struct binding *b, char *buf, size_t len)
{
	char host[ENDPOINT_STR_MAX], container[ENDPOINT_STR_MAX];

	binding_host_str(b, host, sizeof(host));
	binding_container_str(b, container, sizeof(container));
	snprintf(buf, len, "%s -> %s/%s", host, container, proto_name(b->proto));
}

bool id_is_valid(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n >= BINDING_ID_MAX || !isalnum((unsigned char)id[0]))
		return false;
	for (size_t i = 1; i < n; i++) {
		unsigned char c = (unsigned char)id[i];

		if (!isalnum(c) && c != '_' && c != '.' && c != '-')
			return false;
	}
	return true;
}

/* Host bits are cleared, so equal prefixes compare (and key the trie) equal. */
static void cidr_mask(struct cidr *c)
{
	unsigned int bits = c->family == BPFPORT_AF_INET ? 32 : 128;
	__u8 *bytes = (__u8 *)c->addr.a;

	for (unsigned int i = c->prefixlen; i < bits; i++)
		bytes[i / 8] &= (__u8) ~(0x80 >> (i % 8));
}

int cidr_parse(const char *s, struct cidr *c)
{
	char buf[INET6_ADDRSTRLEN + 8];
	unsigned long len;
	char *slash, *end;

	if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf))
		return -EINVAL;
	memset(c, 0, sizeof(*c));
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = '\0';
	if (addr_parse(buf, &c->family, &c->addr))
		return -EINVAL;
	len = c->family == BPFPORT_AF_INET ? 32 : 128;
	if (slash) {
		unsigned long max = len;

		errno = 0;
		len = strtoul(slash, &end, 10);
		if (errno || *end || !*slash || len > max)
			return -EINVAL;
	}
	c->prefixlen = (__u8)len;
	cidr_mask(c);
	return 0;
}

void cidr_format(const struct cidr *c, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	addr_format(c->family, &c->addr, ip, sizeof(ip));
	snprintf(buf, len, "%s/%u", ip, c->prefixlen);
}

int binding_set_allow(struct binding *b, const struct cidr *all, size_t n)
{
	b->n_allow = 0;
	for (size_t i = 0; i < n; i++) {
		if (all[i].family != b->family)
			continue;
		if (b->n_allow == BINDING_ALLOW_MAX)
			return -E2BIG;
		b->allow[b->n_allow++] = all[i];
	}
	return 0;
}
