// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"

bool container_exposes(const struct container *c, __u16 port, __u8 proto)
{
	for (size_t i = 0; i < c->n_exposed; i++)
		if (c->exposed[i].port == port && c->exposed[i].proto == proto)
			return true;
	return false;
}

int container_expose(struct container *c, __u16 port, __u8 proto)
{
	struct exposed_port *n;

	if (container_exposes(c, port, proto))
		return 0;
	n = realloc(c->exposed, (c->n_exposed + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	c->exposed = n;
	c->exposed[c->n_exposed].port = port;
	c->exposed[c->n_exposed].proto = proto;
	c->n_exposed++;
	return 0;
}

int container_expose_range(struct container *c, __u16 first, __u16 last, __u8 proto)
{
	/* One bit per port of this protocol already exposed: linear, where a
	 * scan per port made 1-65535 take seconds to read. */
	__u64 *seen = calloc(65536 / 64, sizeof(*seen));
	struct exposed_port *n;
	size_t count = 0;

	if (!seen)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_exposed; i++)
		if (c->exposed[i].proto == proto)
			seen[c->exposed[i].port / 64] |= 1ULL << (c->exposed[i].port % 64);
	for (__u32 p = first; p <= last; p++)
		count += !(seen[p / 64] & (1ULL << (p % 64)));
	n = count ? realloc(c->exposed, (c->n_exposed + count) * sizeof(*n)) : c->exposed;
	if (!n) {
		free(seen);
		return -ENOMEM;
	}
	c->exposed = n;
	for (__u32 p = first; p <= last; p++) {
		if (seen[p / 64] & (1ULL << (p % 64)))
			continue;
		c->exposed[c->n_exposed].port = (__u16)p;
		c->exposed[c->n_exposed].proto = proto;
		c->n_exposed++;
	}
	free(seen);
	return 0;
}

int container_set_env(struct container *c, const char *kv)
{
	size_t klen = strcspn(kv, "=");
	char *copy = strdup(kv), **n;

	if (!copy)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_env; i++) {
		if (!strncmp(c->env[i], kv, klen) && c->env[i][klen] == kv[klen]) {
			free(c->env[i]);
			c->env[i] = copy;
			return 0;
		}
	}
	n = realloc(c->env, (c->n_env + 1) * sizeof(*n));
	if (!n) {
		free(copy);
		return -ENOMEM;
	}
	c->env = n;
	c->env[c->n_env++] = copy;
	return 0;
}

bool container_has_family(const struct container *c, __u8 family)
{
	return family == BPFPORT_AF_INET ? c->has_ip4 : c->has_ip6;
}

const struct bpfport_addr *container_addr(const struct container *c, __u8 family)
{
	return family == BPFPORT_AF_INET ? &c->ip4 : &c->ip6;
}

int container_copy(struct container *dst, const struct container *src)
{
	*dst = *src;
	dst->exposed = NULL;
	dst->env = NULL;
	dst->n_exposed = dst->n_env = 0;
	if (src->n_exposed) {
		dst->exposed = malloc(src->n_exposed * sizeof(*dst->exposed));
		if (!dst->exposed)
			goto fail;
		memcpy(dst->exposed, src->exposed, src->n_exposed * sizeof(*dst->exposed));
		dst->n_exposed = src->n_exposed;
	}
	for (size_t i = 0; i < src->n_env; i++)
		if (container_set_env(dst, src->env[i]))
			goto fail;
	return 0;
fail:
	container_free(dst);
	return -ENOMEM;
}

void container_free(struct container *c)
{
	for (size_t i = 0; i < c->n_env; i++)
		free(c->env[i]);
	free(c->env);
	free(c->exposed);
	c->env = NULL;
	c->exposed = NULL;
	c->n_env = c->n_exposed = 0;
}

void value_encode(const char *in, char *out, size_t len)
{
	size_t o = 0;

	for (; *in && o + 4 < len; in++) {
		unsigned char ch = (unsigned char)*in;

		if (ch <= ' ' || ch == '%' || ch == 0x7f)
			o += (size_t)snprintf(out + o, len - o, "%%%02X", ch);
		else
			out[o++] = (char)ch;
	}
	out[o] = '\0';
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int value_decode(const char *in, char *out, size_t len)
{
	size_t o = 0;

	for (; *in; in++) {
		char ch = *in;

		if (o + 1 >= len)
			return -E2BIG;
		if (ch == '%') {
			int hi = hex_val(in[1]), lo = hi < 0 ? -1 : hex_val(in[2]);

			if (hi < 0 || lo < 0)
				return -EINVAL;
			ch = (char)(hi << 4 | lo);
			in += 2;
		}
		out[o++] = ch;
	}
	out[o] = '\0';
	return 0;
}
