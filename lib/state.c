// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "log.h"
#include "portspec.h"
#include "state.h"

#define STATE_MAGIC "bpfport-state"
#define STATE_VERSION 1
/* A line holds one record; a container's exposed ports are written as ranges,
 * so even 65535 ports take few words. */
#define STATE_LINE_MAX (1 << 20)
#define STATE_WORDS_MAX 16384
/* One value (an env entry), decoded; encoded it may take three times that. */
#define STATE_VALUE_MAX 65536

static int adopt_orphan_bindings(struct state *st);

static int mkdir_parents(const char *path)
{
	char dir[PATH_MAX];

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

int state_lock(const char *path)
{
	char lock_path[PATH_MAX];
	int fd, err;

	if (snprintf(lock_path, sizeof(lock_path), "%s.lock", path) >= (int)sizeof(lock_path))
		return -ENAMETOOLONG;
	err = mkdir_parents(lock_path);
	if (err)
		return err;
	fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

void state_unlock(int lock_fd)
{
	if (lock_fd >= 0)
		close(lock_fd);
}

/* Value of "key=" among the words of a record, or NULL. */
static const char *field(char **words, int n, const char *key)
{
	size_t klen = strlen(key);

	for (int i = 1; i < n; i++)
		if (!strncmp(words[i], key, klen) && words[i][klen] == '=')
			return words[i] + klen + 1;
	return NULL;
}

static int parse_allow(const char *list, struct binding *b)
{
	char buf[4096];

	if (!list)
		return 0;
	if (snprintf(buf, sizeof(buf), "%s", list) >= (int)sizeof(buf))
		return -EINVAL;
	for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
		struct cidr c;

		if (cidr_parse(tok, &c) || c.family != b->family || b->n_allow == BINDING_ALLOW_MAX)
			return -EINVAL;
		b->allow[b->n_allow++] = c;
	}
	return b->n_allow ? 0 : -EINVAL;
}

static int parse_binding_record(char **words, int n, struct binding *b)
{
	const char *id = field(words, n, "id"), *proto = field(words, n, "proto");
	const char *host = field(words, n, "host"), *container = field(words, n, "container");
	const char *slot = field(words, n, "slot");
	char err[ERRBUF_MAX];
	__u8 cfamily;
	char *end;

	memset(b, 0, sizeof(*b));
	if (!id || !proto || !host || !container || !slot || !id_is_valid(id))
		return -EINVAL;
	snprintf(b->id, sizeof(b->id), "%s", id);
	if (proto_parse(proto, &b->proto) ||
	    endpoint_parse(host, &b->family, &b->host_addr, &b->host_port, err, sizeof(err)) ||
	    endpoint_parse(container, &cfamily, &b->container_addr, &b->container_port, err,
			   sizeof(err)) ||
	    cfamily != b->family)
		return -EINVAL;
	errno = 0;
	b->slot = strtoul(slot, &end, 10);
	if (errno || *end || b->slot >= BPFPORT_MAX_BINDINGS)
		return -EINVAL;
	b->reserved = field(words, n, "reserved") != NULL;
	return parse_allow(field(words, n, "allow"), b);
}

static int parse_container_word(struct container *c, const char *word)
{
	static char val[STATE_VALUE_MAX];
	const char *eq = strchr(word, '=');
	__u8 family;
	__u16 port, end;
	__u8 proto;
	char err[ERRBUF_MAX];

	if (!eq || value_decode(eq + 1, val, sizeof(val)))
		return -EINVAL;
	if (!strncmp(word, "id=", 3) || !strncmp(word, "name=", 5)) {
		char *dst = word[0] == 'i' ? c->id : c->name;

		/* id_is_valid() bounds the length below BINDING_ID_MAX. */
		if (!id_is_valid(val))
			return -EINVAL;
		memcpy(dst, val, strlen(val) + 1);
		return 0;
	}
	if (!strncmp(word, "ip=", 3)) {
		struct bpfport_addr a;

		if (addr_parse(val, &family, &a))
			return -EINVAL;
		if (family == BPFPORT_AF_INET) {
			c->ip4 = a;
			c->has_ip4 = true;
		} else {
			c->ip6 = a;
			c->has_ip6 = true;
		}
		return 0;
	}
	if (!strncmp(word, "expose=", 7)) {
		if (port_proto_parse(val, &port, &end, &proto, err, sizeof(err)))
			return -EINVAL;
		for (__u32 p = port; p <= end; p++)
			if (container_expose(c, (__u16)p, proto))
				return -ENOMEM;
		return 0;
	}
	if (!strncmp(word, "env=", 4))
		return strchr(val, '=') ? container_set_env(c, val) : -EINVAL;
	return -EINVAL;
}

static int parse_container_record(char **words, int n, struct state *st)
{
	struct container c = {};
	int err = 0;

	for (int i = 1; i < n && !err; i++)
		err = parse_container_word(&c, words[i]);
	if (!err && (!c.id[0] || state_container_index(st, c.id) >= 0))
		err = -EINVAL;
	if (!err)
		err = state_add_container(st, &c) < 0 ? -ENOMEM : 0;
	container_free(&c);
	return err;
}

static int parse_range(const char *s, __u16 *begin, __u16 *end)
{
	if (!strcmp(s, "auto")) {
		*begin = *end = 0;
		return 0;
	}
	return port_range_parse(s, begin, end) || !*begin || *end < *begin ? -EINVAL : 0;
}

const char *const ct_timeout_names[CT_TIMEOUT_COUNT] = {
	"ct-timeout-tcp",
	"ct-timeout-tcp-close",
	"ct-timeout-tcp-rst",
	"ct-timeout-udp",
};

int ct_timeout_parse(const char *s, __u32 *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	/* 0 is valid here: "never", as the datapath reads it. */
	if (errno || *end || !*s || v > CT_TIMEOUT_MAX)
		return -EINVAL;
	*out = (__u32)v;
	return 0;
}

static int parse_config_record(char **words, int n, struct state *st)
{
	const char *range = field(words, n, "port-range");

	if (range && parse_range(range, &st->port_range_begin, &st->port_range_end))
		return -EINVAL;
	for (int i = 0; i < CT_TIMEOUT_COUNT; i++) {
		const char *v = field(words, n, ct_timeout_names[i]);

		if (v && ct_timeout_parse(v, &st->ct_timeout[i]))
			return -EINVAL;
	}
	return 0;
}

static int parse_cursor_record(char **words, int n, struct state *st)
{
	const char *addr = field(words, n, "addr"), *proto = field(words, n, "proto");
	const char *range = field(words, n, "range"), *last = field(words, n, "last");
	struct alloc_cursor c = {};
	struct alloc_cursor *slot;
	__u16 unused;

	if (!addr || !proto || !range || !last || addr_parse(addr, &c.family, &c.addr) ||
	    proto_parse(proto, &c.proto) || parse_range(range, &c.begin, &c.end) || !c.begin ||
	    port_range_parse(last, &c.last, &unused))
		return -EINVAL;
	slot = state_cursor(st, c.family, &c.addr, c.proto, c.begin, c.end);
	if (!slot)
		return -ENOMEM;
	slot->last = c.last;
	return 0;
}

static int parse_attach_record(char **words, int n, struct attachment *a)
{
	const char *iface = field(words, n, "iface"), *mode = field(words, n, "mode");

	if (!iface || !mode || strlen(iface) >= IFACE_NAME_MAX || strlen(mode) >= MODE_NAME_MAX)
		return -EINVAL;
	memset(a, 0, sizeof(*a));
	strcpy(a->iface, iface);
	strcpy(a->mode, mode);
	return 0;
}

static int parse_line(struct state *st, char *line, int lineno)
{
	char *words[STATE_WORDS_MAX];
	int n = 0;

	for (char *tok = strtok(line, " \t\n"); tok; tok = strtok(NULL, " \t\n")) {
		if (n == STATE_WORDS_MAX)
			return -E2BIG;
		words[n++] = tok;
	}
	if (n == 0 || words[0][0] == '#')
		return 0;
	if (lineno == 1) {
		if (n != 2 || strcmp(words[0], STATE_MAGIC) || atoi(words[1]) != STATE_VERSION)
			return -EPROTO;
		return 0;
	}
	if (!strcmp(words[0], "binding")) {
		struct binding b;

		if (parse_binding_record(words, n, &b))
			return -EINVAL;
		return state_add_binding(st, &b);
	}
	if (!strcmp(words[0], "container"))
		return parse_container_record(words, n, st);
	if (!strcmp(words[0], "config"))
		return parse_config_record(words, n, st);
	if (!strcmp(words[0], "cursor"))
		return parse_cursor_record(words, n, st);
	if (!strcmp(words[0], "attach")) {
		struct attachment a;

		if (parse_attach_record(words, n, &a))
			return -EINVAL;
		return state_set_attachment(st, a.iface, a.mode);
	}
	/* Records from a newer version are kept out rather than misread. */
	return -EINVAL;
}

static void state_init(struct state *st)
{
	memset(st, 0, sizeof(*st));
	st->port_range_begin = PORT_RANGE_DEFAULT_BEGIN;
	st->port_range_end = PORT_RANGE_DEFAULT_END;
	st->ct_timeout[CT_TIMEOUT_TCP] = BPFPORT_CT_TIMEOUT_TCP;
	st->ct_timeout[CT_TIMEOUT_TCP_CLOSE] = BPFPORT_CT_TIMEOUT_TCP_CLOSE;
	st->ct_timeout[CT_TIMEOUT_TCP_RST] = BPFPORT_CT_TIMEOUT_TCP_RST;
	st->ct_timeout[CT_TIMEOUT_UDP] = BPFPORT_CT_TIMEOUT_UDP;
}

int state_load(const char *path, struct state *st)
{
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0, err = 0;
	FILE *f;

	state_init(st);
	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		err = -errno;
		pr_err("cannot read state file %s: %s", path, strerror(errno));
		return err;
	}
	while (getline(&line, &cap, f) > 0) {
		lineno++;
		if (strlen(line) >= STATE_LINE_MAX) {
			err = -E2BIG;
			pr_err("state file %s, line %d: longer than %d bytes", path, lineno,
			       STATE_LINE_MAX);
			break;
		}
		err = parse_line(st, line, lineno);
		if (err) {
			pr_err("state file %s, line %d: %s", path, lineno,
			       err == -EPROTO ? "not a bpfport state file (version 1)" :
						"malformed record; fix or remove it");
			break;
		}
	}
	free(line);
	fclose(f);
	if (!err)
		err = adopt_orphan_bindings(st);
	if (err)
		state_free(st);
	return err;
}

static void write_range(FILE *f, __u16 begin, __u16 end)
{
	if (!begin)
		fputs("auto", f);
	else
		fprintf(f, "%u-%u", begin, end);
}

static void write_container(FILE *f, const struct container *c)
{
	static char val[3 * STATE_VALUE_MAX + 1];
	char ip[64];

	fprintf(f, "container id=%s", c->id);
	if (c->name[0])
		fprintf(f, " name=%s", c->name);
	if (c->has_ip4) {
		addr_format(BPFPORT_AF_INET, &c->ip4, ip, sizeof(ip));
		fprintf(f, " ip=%s", ip);
	}
	if (c->has_ip6) {
		addr_format(BPFPORT_AF_INET6, &c->ip6, ip, sizeof(ip));
		fprintf(f, " ip=%s", ip);
	}
	/* Runs of consecutive ports (in the order they were exposed) as ranges. */
	for (size_t i = 0; i < c->n_exposed;) {
		size_t j = i;

		while (j + 1 < c->n_exposed && c->exposed[j + 1].proto == c->exposed[i].proto &&
		       c->exposed[j + 1].port == c->exposed[j].port + 1)
			j++;
		if (j > i)
			fprintf(f, " expose=%u-%u/%s", c->exposed[i].port, c->exposed[j].port,
				proto_name(c->exposed[i].proto));
		else
			fprintf(f, " expose=%u/%s", c->exposed[i].port,
				proto_name(c->exposed[i].proto));
		i = j + 1;
	}
	for (size_t i = 0; i < c->n_env; i++) {
		value_encode(c->env[i], val, sizeof(val));
		fprintf(f, " env=%s", val);
	}
	fputc('\n', f);
}

static int write_records(FILE *f, const struct state *st)
{
	fprintf(f, "%s %d\n", STATE_MAGIC, STATE_VERSION);
	fputs("config port-range=", f);
	write_range(f, st->port_range_begin, st->port_range_end);
	for (int i = 0; i < CT_TIMEOUT_COUNT; i++)
		fprintf(f, " %s=%u", ct_timeout_names[i], st->ct_timeout[i]);
	fputc('\n', f);
	for (size_t i = 0; i < st->n_containers; i++)
		write_container(f, &st->containers[i]);
	for (size_t i = 0; i < st->n_bindings; i++) {
		const struct binding *b = &st->bindings[i];
		char host[ENDPOINT_STR_MAX], container[ENDPOINT_STR_MAX];

		binding_host_str(b, host, sizeof(host));
		binding_container_str(b, container, sizeof(container));
		fprintf(f, "binding id=%s proto=%s host=%s container=%s slot=%u%s", b->id,
			proto_name(b->proto), host, container, b->slot,
			b->reserved ? " reserved=1" : "");
		for (size_t j = 0; j < b->n_allow; j++) {
			char cidr[64];

			cidr_format(&b->allow[j], cidr, sizeof(cidr));
			fprintf(f, "%s%s", j ? "," : " allow=", cidr);
		}
		fputc('\n', f);
	}
	for (size_t i = 0; i < st->n_cursors; i++) {
		const struct alloc_cursor *c = &st->cursors[i];
		char ip[64];

		addr_format(c->family, &c->addr, ip, sizeof(ip));
		fprintf(f, "cursor addr=%s proto=%s range=", ip, proto_name(c->proto));
		write_range(f, c->begin, c->end);
		fprintf(f, " last=%u\n", c->last);
	}
	for (size_t i = 0; i < st->n_attachments; i++)
		fprintf(f, "attach iface=%s mode=%s\n", st->attachments[i].iface,
			st->attachments[i].mode);
	return ferror(f) ? -EIO : 0;
}

static int fsync_dir_of(const char *path)
{
	char copy[PATH_MAX];
	int fd, err = 0;

	snprintf(copy, sizeof(copy), "%s", path);
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd))
		err = -errno;
	close(fd);
	return err;
}

int state_save(const char *path, const struct state *st)
{
	char tmp[PATH_MAX];
	FILE *f = NULL;
	int fd, err;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	err = mkdir_parents(path);
	if (err)
		goto out;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	f = fdopen(fd, "w");
	if (!f) {
		err = -errno;
		close(fd);
		goto out_unlink;
	}
	err = write_records(f, st);
	if (!err && fflush(f))
		err = -errno;
	if (!err && fsync(fileno(f)))
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	if (err)
		goto out_unlink;
	if (rename(tmp, path)) {
		err = -errno;
		goto out_unlink;
	}
	err = fsync_dir_of(path);
	goto out;
out_unlink:
	unlink(tmp);
out:
	if (err)
		pr_err("cannot write state file %s: %s", path, strerror(-err));
	return err;
}

void state_free(struct state *st)
{
	for (size_t i = 0; i < st->n_containers; i++)
		container_free(&st->containers[i]);
	free(st->containers);
	free(st->bindings);
	free(st->cursors);
	free(st->attachments);
	memset(st, 0, sizeof(*st));
}

int state_container_index(const struct state *st, const char *id)
{
	for (size_t i = 0; i < st->n_containers; i++)
		if (!strcmp(st->containers[i].id, id))
			return (int)i;
	return -1;
}

int container_resolve(const struct state *st, const char *ref)
{
	struct bpfport_addr addr;
	size_t n = strlen(ref);
	int match = -1;
	__u8 family;

	for (size_t i = 0; i < st->n_containers; i++)
		if (!strcmp(st->containers[i].id, ref))
			return (int)i;
	for (size_t i = 0; i < st->n_containers; i++)
		if (st->containers[i].name[0] && !strcmp(st->containers[i].name, ref))
			return (int)i;
	if (!addr_parse(ref, &family, &addr)) {
		for (size_t i = 0; i < st->n_containers; i++)
			if (container_has_family(&st->containers[i], family) &&
			    addr_equal(container_addr(&st->containers[i], family), &addr))
				return (int)i;
	}
	for (size_t i = 0; n && i < st->n_containers; i++) {
		if (strncmp(st->containers[i].id, ref, n))
			continue;
		if (match >= 0) {
			pr_err("container \"%s\" is ambiguous: more than one ID starts with it",
			       ref);
			return -1;
		}
		match = (int)i;
	}
	if (match < 0)
		pr_err("No such container: %s", ref);
	return match;
}

/* State written before container records existed: derive them. */
static int adopt_orphan_bindings(struct state *st)
{
	for (size_t i = 0; i < st->n_bindings; i++) {
		const struct binding *b = &st->bindings[i];
		struct container c = {};

		if (state_container_index(st, b->id) >= 0)
			continue;
		snprintf(c.id, sizeof(c.id), "%s", b->id);
		if (b->family == BPFPORT_AF_INET) {
			c.ip4 = b->container_addr;
			c.has_ip4 = true;
		} else {
			c.ip6 = b->container_addr;
			c.has_ip6 = true;
		}
		if (state_add_container(st, &c) < 0)
			return -ENOMEM;
	}
	return 0;
}

int state_add_container(struct state *st, const struct container *c)
{
	struct container *n = realloc(st->containers, (st->n_containers + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	st->containers = n;
	if (container_copy(&st->containers[st->n_containers], c))
		return -ENOMEM;
	return (int)st->n_containers++;
}

void state_remove_container(struct state *st, size_t idx)
{
	if (idx >= st->n_containers)
		return;
	container_free(&st->containers[idx]);
	memmove(&st->containers[idx], &st->containers[idx + 1],
		(st->n_containers - idx - 1) * sizeof(st->containers[0]));
	st->n_containers--;
}

struct alloc_cursor *state_cursor(struct state *st, __u8 family, const struct bpfport_addr *addr,
				  __u8 proto, __u16 begin, __u16 end)
{
	struct alloc_cursor *n;

	for (size_t i = 0; i < st->n_cursors; i++) {
		struct alloc_cursor *c = &st->cursors[i];

		if (c->family == family && c->proto == proto && c->begin == begin &&
		    c->end == end && addr_equal(&c->addr, addr))
			return c;
	}
	n = realloc(st->cursors, (st->n_cursors + 1) * sizeof(*n));
	if (!n)
		return NULL;
	st->cursors = n;
	n = &st->cursors[st->n_cursors++];
	memset(n, 0, sizeof(*n));
	n->family = family;
	n->proto = proto;
	n->begin = begin;
	n->end = end;
	n->last = end; /* so the first allocation is begin, as in Docker */
	n->addr = *addr;
	return n;
}

int state_add_binding(struct state *st, const struct binding *b)
{
	struct binding *nb = realloc(st->bindings, (st->n_bindings + 1) * sizeof(*nb));

	if (!nb)
		return -ENOMEM;
	st->bindings = nb;
	st->bindings[st->n_bindings++] = *b;
	return 0;
}

void state_remove_binding(struct state *st, size_t idx)
{
	if (idx >= st->n_bindings)
		return;
	memmove(&st->bindings[idx], &st->bindings[idx + 1],
		(st->n_bindings - idx - 1) * sizeof(st->bindings[0]));
	st->n_bindings--;
}

int state_free_slot(const struct state *st)
{
	unsigned char *used = calloc(BPFPORT_MAX_BINDINGS, 1);
	int slot = -ENOSPC;

	if (!used)
		return -ENOMEM;
	for (size_t i = 0; i < st->n_bindings; i++)
		if (st->bindings[i].slot < BPFPORT_MAX_BINDINGS)
			used[st->bindings[i].slot] = 1;
	for (int i = 0; i < BPFPORT_MAX_BINDINGS; i++) {
		if (!used[i]) {
			slot = i;
			break;
		}
	}
	free(used);
	return slot;
}

int state_set_attachment(struct state *st, const char *iface, const char *mode)
{
	struct attachment *na;

	for (size_t i = 0; i < st->n_attachments; i++) {
		if (!strcmp(st->attachments[i].iface, iface)) {
			snprintf(st->attachments[i].mode, MODE_NAME_MAX, "%s", mode);
			return 0;
		}
	}
	na = realloc(st->attachments, (st->n_attachments + 1) * sizeof(*na));
	if (!na)
		return -ENOMEM;
	st->attachments = na;
	memset(&na[st->n_attachments], 0, sizeof(*na));
	snprintf(na[st->n_attachments].iface, IFACE_NAME_MAX, "%s", iface);
	snprintf(na[st->n_attachments].mode, MODE_NAME_MAX, "%s", mode);
	st->n_attachments++;
	return 0;
}

void state_remove_attachment(struct state *st, const char *iface)
{
	for (size_t i = 0; i < st->n_attachments; i++) {
		if (strcmp(st->attachments[i].iface, iface))
			continue;
		memmove(&st->attachments[i], &st->attachments[i + 1],
			(st->n_attachments - i - 1) * sizeof(st->attachments[0]));
		st->n_attachments--;
		return;
	}
}
