// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#define _GNU_SOURCE /* mkostemp */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "log.h"
#include "portspec.h"
#include "state.h"

#define STATE_MAGIC "bpfport-state"
#define STATE_VERSION 1
#define WHY_MAX sizeof(((struct state_damaged *)0)->why)

static int adopt_orphan_bindings(struct state *st);

/* Root's files and the caller's own are trusted; another user's are not. */
static bool owner_trusted(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

static void dir_of(const char *path, char *dir, size_t len)
{
	char copy[PATH_MAX];

	snprintf(copy, sizeof(copy), "%s", path);
	snprintf(dir, len, "%s", dirname(copy));
}

/* Missing directories of path: parents 0755, the state file's own 0700. */
static int mkdir_parents(const char *path)
{
	char dir[PATH_MAX];

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, strchr(p + 1, '/') ? 0755 : 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

/* The directory holds nothing but the state file and its companions (lock,
 * temp files, set-aside damaged lines): bpfport's own, so its mode is ours. */
static bool dir_only_ours(const char *dir, const char *base)
{
	size_t n = strlen(base);
	struct dirent *de;
	bool ours = true;
	DIR *d = opendir(dir);

	if (!d)
		return false;
	while (ours && (de = readdir(d))) {
		const char *rest = de->d_name + n;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		ours = !strncmp(de->d_name, base, n) &&
		       (!*rest || !strcmp(rest, ".lock") || !strcmp(rest, ".damaged") ||
			!strncmp(rest, ".tmp.", 5));
	}
	closedir(d);
	return ours;
}

/*
 * The state directory, before writing in it: a directory of root or the
 * caller, that no one else may write to (unless sticky, as /tmp). One that
 * holds only our files is ours: it becomes 0700 (older versions made it
 * 0755). Errors are reported here.
 */
static int state_dir_check(const char *path)
{
	char dir[PATH_MAX], copy[PATH_MAX];
	struct stat sb;

	dir_of(path, dir, sizeof(dir));
	snprintf(copy, sizeof(copy), "%s", path);
	if (stat(dir, &sb)) {
		int err = -errno;

		pr_err("cannot use state directory %s: %s", dir, strerror(-err));
		return err;
	}
	if (!S_ISDIR(sb.st_mode)) {
		pr_err("cannot use state directory %s: not a directory", dir);
		return -ENOTDIR;
	}
	if (!owner_trusted(sb.st_uid)) {
		pr_err("refusing state directory %s: it belongs to uid %u (only root's or your own "
		       "is trusted)",
		       dir, (unsigned int)sb.st_uid);
		return -EPERM;
	}
	if ((sb.st_mode & 077) && sb.st_uid == geteuid() && dir_only_ours(dir, basename(copy)) &&
	    !chmod(dir, 0700))
		sb.st_mode &= ~(mode_t)077;
	if ((sb.st_mode & 022) && !(sb.st_mode & S_ISVTX)) {
		pr_err("refusing state directory %s: other users may write to it (mode %04o)", dir,
		       (unsigned int)(sb.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

/*
 * Opens one of the state's files without following a symlink, and checks
 * what was opened: a regular file of root or the caller. A file we own is
 * made 0600. Returns the fd or -errno, errors reported here as "WHAT PATH: ...".
 */
static int open_checked(const char *path, int flags, const char *what)
{
	struct stat sb;
	int fd, err;

	fd = open(path, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		if (err == -ELOOP)
			pr_err("refusing %s %s: it is a symbolic link", what, path);
		else if (err == -EACCES && (flags & O_ACCMODE) == O_RDONLY)
			pr_err("cannot open %s %s: permission denied: this command needs root (or "
			       "read access to the state file)",
			       what, path);
		else if (err == -EACCES)
			pr_err("cannot open %s %s: permission denied: this command needs root",
			       what, path);
		else if (err != -ENOENT)
			pr_err("cannot open %s %s: %s", what, path, strerror(-err));
		return err;
	}
	err = fstat(fd, &sb) ? -errno : 0;
	if (err) {
		pr_err("cannot open %s %s: %s", what, path, strerror(-err));
	} else if (!S_ISREG(sb.st_mode)) {
		pr_err("refusing %s %s: not a regular file", what, path);
		err = -EINVAL;
	} else if (!owner_trusted(sb.st_uid)) {
		pr_err("refusing %s %s: it belongs to uid %u (only root's or your own is trusted)",
		       what, path, (unsigned int)sb.st_uid);
		err = -EPERM;
	} else if ((flags & O_ACCMODE) != O_RDONLY && (sb.st_mode & 077) &&
		   sb.st_uid == geteuid() && fchmod(fd, 0600)) {
		err = -errno;
		pr_err("cannot make %s %s private (0600): %s", what, path, strerror(-err));
	}
	if (err) {
		close(fd);
		return err;
	}
	/* Regular files ignore O_NONBLOCK; it only kept a FIFO from blocking us. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

int state_lock(const char *path)
{
	char lock_path[PATH_MAX];
	int fd, err;

	if (snprintf(lock_path, sizeof(lock_path), "%s.lock", path) >= (int)sizeof(lock_path)) {
		pr_err("cannot lock state file %s: %s", path, strerror(ENAMETOOLONG));
		return -ENAMETOOLONG;
	}
	err = mkdir_parents(lock_path);
	if (err) {
		pr_err("cannot create the directory of state file %s: %s", path, strerror(-err));
		return err;
	}
	err = state_dir_check(path);
	if (err)
		return err;
	fd = open_checked(lock_path, O_RDWR | O_CREAT, "lock file");
	if (fd < 0)
		return fd;
	if (flock(fd, LOCK_EX)) {
		err = -errno;
		pr_err("cannot lock state file %s: %s", path, strerror(-err));
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

/* Each parser returns 0, -ENOMEM, or -EINVAL with what is wrong in why. */
static int bad(char *why, const char *fmt, const char *arg)
{
	snprintf(why, WHY_MAX, fmt, arg);
	return -EINVAL;
}

static int parse_binding_record(char **words, int n, struct binding *b, char *why)
{
	const char *id = field(words, n, "id"), *proto = field(words, n, "proto");
	const char *host = field(words, n, "host"), *container = field(words, n, "container");
	const char *slot = field(words, n, "slot");
	char err[ERRBUF_MAX];
	__u8 cfamily;
	char *end;

	memset(b, 0, sizeof(*b));
	if (!id || !proto || !host || !container || !slot)
		return bad(why, "binding without id, proto, host, container or slot%s", "");
	if (!id_is_valid(id))
		return bad(why, "binding with an invalid id \"%.40s\"", id);
	snprintf(b->id, sizeof(b->id), "%s", id);
	if (proto_parse(proto, &b->proto))
		return bad(why, "binding with an invalid proto \"%.40s\"", proto);
	if (endpoint_parse(host, &b->family, &b->host_addr, &b->host_port, err, sizeof(err)))
		return bad(why, "binding with an invalid host \"%.60s\"", host);
	if (endpoint_parse(container, &cfamily, &b->container_addr, &b->container_port, err,
			   sizeof(err)))
		return bad(why, "binding with an invalid container \"%.60s\"", container);
	if (cfamily != b->family)
		return bad(why, "binding whose host and container differ in address family%s", "");
	errno = 0;
	b->slot = strtoul(slot, &end, 10);
	if (errno || *end || !*slot || b->slot >= BPFPORT_MAX_BINDINGS)
		return bad(why, "binding with an invalid slot \"%.40s\"", slot);
	b->reserved = field(words, n, "reserved") != NULL;
	if (parse_allow(field(words, n, "allow"), b))
		return bad(why, "binding with an invalid allow list \"%.60s\"",
			   field(words, n, "allow"));
	return 0;
}

static int parse_container_word(struct container *c, const char *word, char *why)
{
	static char val[STATE_VALUE_MAX + 1];
	const char *eq = strchr(word, '=');
	__u8 family;
	__u16 port, end;
	__u8 proto;
	char err[ERRBUF_MAX];
	int ret;

	if (!eq)
		return bad(why, "container with an unknown word \"%.40s\"", word);
	ret = value_decode(eq + 1, val, sizeof(val));
	if (ret == -E2BIG)
		snprintf(why, WHY_MAX, "container with a value of %zu bytes (%.20s...), over %d",
			 strlen(eq + 1), word, STATE_VALUE_MAX);
	else if (ret)
		bad(why, "container with a badly %%-encoded value \"%.40s\"", word);
	if (ret)
		return -EINVAL;
	if (!strncmp(word, "id=", 3) || !strncmp(word, "name=", 5)) {
		char *dst = word[0] == 'i' ? c->id : c->name;

		/* id_is_valid() bounds the length below BINDING_ID_MAX. */
		if (!id_is_valid(val))
			return bad(why, "container with an invalid id or name \"%.40s\"", word);
		memcpy(dst, val, strlen(val) + 1);
		return 0;
	}
	if (!strncmp(word, "ip=", 3)) {
		struct bpfport_addr a;

		if (addr_parse(val, &family, &a))
			return bad(why, "container with an invalid address \"%.60s\"", word);
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
			return bad(why, "container with an invalid exposed port \"%.40s\"", word);
		return container_expose_range(c, port, end, proto);
	}
	if (!strncmp(word, "env=", 4)) {
		if (!strchr(val, '=') || val[0] == '=')
			return bad(why,
				   "container with an env entry that is not KEY=VALUE \"%.40s\"",
				   word);
		return container_set_env(c, val);
	}
	return bad(why, "container with an unknown word \"%.40s\"", word);
}

static int parse_container_record(char **words, int n, struct state *st, char *why)
{
	struct container c = {};
	int err = 0;

	for (int i = 1; i < n && !err; i++)
		err = parse_container_word(&c, words[i], why);
	if (!err && !c.id[0])
		err = bad(why, "container without an id%s", "");
	if (!err && state_container_index(st, c.id) >= 0)
		err = bad(why, "container %.64s, already defined on an earlier line", c.id);
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

	/* Digits only: strtoul() would take spaces and a sign ("-1" wraps). */
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	/* 0 is valid here: "never", as the datapath reads it. */
	if (errno || *end || v > CT_TIMEOUT_MAX)
		return -EINVAL;
	*out = (__u32)v;
	return 0;
}

/* All or nothing: a damaged config line leaves the defaults. */
static int parse_config_record(char **words, int n, struct state *st, char *why)
{
	const char *range = field(words, n, "port-range");
	const char *direct = field(words, n, "direct-access");
	__u32 timeouts[CT_TIMEOUT_COUNT];
	__u16 begin = st->port_range_begin, end = st->port_range_end;

	if (range && parse_range(range, &begin, &end))
		return bad(why, "config with an invalid port-range \"%.40s\"", range);
	if (direct && strcmp(direct, "allow") && strcmp(direct, "drop"))
		return bad(why, "config with an invalid direct-access \"%.40s\"", direct);
	for (int i = 0; i < CT_TIMEOUT_COUNT; i++) {
		const char *v = field(words, n, ct_timeout_names[i]);

		timeouts[i] = st->ct_timeout[i];
		if (v && ct_timeout_parse(v, &timeouts[i]))
			return bad(why, "config with an invalid %s", ct_timeout_names[i]);
	}
	st->port_range_begin = begin;
	st->port_range_end = end;
	memcpy(st->ct_timeout, timeouts, sizeof(timeouts));
	st->direct_access_allow = direct && !strcmp(direct, "allow");
	return 0;
}

static int parse_cursor_record(char **words, int n, struct state *st, char *why)
{
	const char *addr = field(words, n, "addr"), *proto = field(words, n, "proto");
	const char *range = field(words, n, "range"), *last = field(words, n, "last");
	struct alloc_cursor c = {};
	struct alloc_cursor *slot;
	__u16 unused;

	if (!addr || !proto || !range || !last || addr_parse(addr, &c.family, &c.addr) ||
	    proto_parse(proto, &c.proto) || parse_range(range, &c.begin, &c.end) || !c.begin ||
	    port_range_parse(last, &c.last, &unused))
		return bad(why, "cursor without a valid addr, proto, range and last%s", "");
	slot = state_cursor(st, c.family, &c.addr, c.proto, c.begin, c.end);
	if (!slot)
		return -ENOMEM;
	slot->last = c.last;
	return 0;
}

static int parse_attach_record(char **words, int n, struct attachment *a, char *why)
{
	const char *iface = field(words, n, "iface"), *mode = field(words, n, "mode");

	if (!iface || !mode || !*iface || strlen(iface) >= IFACE_NAME_MAX || !*mode ||
	    strlen(mode) >= MODE_NAME_MAX)
		return bad(why, "attach without a valid iface and mode%s", "");
	memset(a, 0, sizeof(*a));
	strcpy(a->iface, iface);
	strcpy(a->mode, mode);
	return 0;
}

/* 0, -EPROTO (not a state file: line 1), -ENOMEM, or -EINVAL with why. */
static int parse_line(struct state *st, char *line, int lineno, char *why)
{
	char *words[STATE_WORDS_MAX];
	int n = 0;

	for (char *tok = strtok(line, " \t\n"); tok; tok = strtok(NULL, " \t\n")) {
		if (n == STATE_WORDS_MAX) {
			snprintf(why, WHY_MAX, "more than %d words", STATE_WORDS_MAX);
			return -EINVAL;
		}
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
		int err = parse_binding_record(words, n, &b, why);

		return err ? err : state_add_binding(st, &b);
	}
	if (!strcmp(words[0], "container"))
		return parse_container_record(words, n, st, why);
	if (!strcmp(words[0], "config"))
		return parse_config_record(words, n, st, why);
	if (!strcmp(words[0], "cursor"))
		return parse_cursor_record(words, n, st, why);
	if (!strcmp(words[0], "attach")) {
		struct attachment a;
		int err = parse_attach_record(words, n, &a, why);

		return err ? err : state_set_attachment(st, a.iface, a.mode);
	}
	/* Records of a newer version are kept out rather than misread. */
	return bad(why, "unknown record \"%.40s\"", words[0]);
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

static int add_damaged(struct state *st, int lineno, const char *line, size_t len, const char *why)
{
	struct state_damaged *n = realloc(st->damaged, (st->n_damaged + 1) * sizeof(*n));
	struct state_damaged *d;

	if (!n)
		return -ENOMEM;
	st->damaged = n;
	d = &st->damaged[st->n_damaged];
	if (len && line[len - 1] == '\n')
		len--;
	d->text = malloc(len + 1);
	if (!d->text)
		return -ENOMEM;
	memcpy(d->text, line, len);
	d->text[len] = '\0';
	d->len = len;
	d->lineno = lineno;
	snprintf(d->why, sizeof(d->why), "%s", why);
	st->n_damaged++;
	return 0;
}

/*
 * Reads records into st (initialised); a line that cannot be used goes to
 * st->damaged. Returns 0, -EPROTO (line 1 is not our header), -ENOMEM or -EIO;
 * reports nothing.
 */
static int parse_stream(FILE *f, struct state *st)
{
	char *line = NULL, *copy = NULL, why[WHY_MAX];
	size_t cap = 0, copy_cap = 0;
	int lineno = 0, err = 0;
	ssize_t len;

	while (!err && (len = getline(&line, &cap, f)) > 0) {
		lineno++;
		if (len >= STATE_LINE_MAX) {
			snprintf(why, sizeof(why), "%zd bytes long, not under %d", len,
				 STATE_LINE_MAX);
		} else if (strlen(line) != (size_t)len) {
			snprintf(why, sizeof(why), "holds a NUL byte");
		} else {
			/* Parsing cuts the line up; a damaged one is kept as it was. */
			if ((size_t)len + 1 > copy_cap) {
				char *n = realloc(copy, (size_t)len + 1);

				if (!n) {
					err = -ENOMEM;
					break;
				}
				copy = n;
				copy_cap = (size_t)len + 1;
			}
			memcpy(copy, line, (size_t)len + 1);
			err = parse_line(st, copy, lineno, why);
			if (err != -EINVAL)
				continue;
		}
		err = lineno == 1 ? -EPROTO : add_damaged(st, lineno, line, (size_t)len, why);
	}
	if (!err && ferror(f))
		err = -EIO;
	free(line);
	free(copy);
	return err;
}

int state_load(const char *path, struct state *st)
{
	FILE *f;
	int fd, err;

	state_init(st);
	fd = open_checked(path, O_RDONLY, "state file");
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	f = fdopen(fd, "r");
	if (!f) {
		err = -errno;
		close(fd);
		pr_err("cannot read state file %s: %s", path, strerror(-err));
		return err;
	}
	err = parse_stream(f, st);
	fclose(f);
	if (err == -EPROTO)
		pr_err("state file %s, line 1: not a bpfport state file (version %d)", path,
		       STATE_VERSION);
	else if (err)
		pr_err("cannot read state file %s: %s", path, strerror(-err));
	for (size_t i = 0; !err && i < st->n_damaged; i++)
		pr_warn("state file %s, line %d: skipped: %s", path, st->damaged[i].lineno,
			st->damaged[i].why);
	if (!err)
		err = adopt_orphan_bindings(st);
	if (err)
		state_free(st);
	return err;
}

int state_load_for_update(const char *path, struct state *st)
{
	int err = state_load(path, st);

	if (err || !st->n_damaged)
		return err;
	pr_err("state file %s has %zu damaged line%s (skipped above): saving would lose %s; fix "
	       "%s, or set %s aside with 'bpfport repair'. Nothing was changed",
	       path, st->n_damaged, st->n_damaged == 1 ? "" : "s",
	       st->n_damaged == 1 ? "it" : "them", st->n_damaged == 1 ? "it" : "them",
	       st->n_damaged == 1 ? "it" : "them");
	state_free(st);
	return -EUCLEAN;
}

static void write_range(FILE *f, __u16 begin, __u16 end)
{
	if (!begin)
		fputs("auto", f);
	else
		fprintf(f, "%u-%u", begin, end);
}

/* Env entries must fit STATE_VALUE_MAX: state_container_check() first. */
static void write_container(FILE *f, const struct container *c)
{
	/* value_encode() stops 4 bytes short of the end. */
	static char val[3 * STATE_VALUE_MAX + 4];
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

int state_container_check(const struct container *c, char *err, size_t errlen)
{
	size_t len = 0, words = 1;
	char *buf = NULL;
	FILE *f;

	for (size_t i = 0; i < c->n_env; i++) {
		size_t n = strlen(c->env[i]);
		int klen = (int)strcspn(c->env[i], "=");

		if (n > STATE_VALUE_MAX) {
			snprintf(err, errlen,
				 "container %s: env entry %.*s=... has %zu bytes, over the state "
				 "file's limit of %d per entry",
				 c->id, klen > 40 ? 40 : klen, c->env[i], n, STATE_VALUE_MAX);
			return -E2BIG;
		}
	}
	f = open_memstream(&buf, &len);
	if (!f) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	write_container(f, c);
	if (fclose(f)) {
		free(buf);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < len; i++)
		words += buf[i] == ' ';
	free(buf);
	if (words > STATE_WORDS_MAX) {
		snprintf(err, errlen,
			 "container %s would take %zu words in the state file, over its limit of "
			 "%d per record (each run of consecutive exposed ports and each env entry "
			 "takes one)",
			 c->id, words, STATE_WORDS_MAX);
		return -E2BIG;
	}
	if (len >= STATE_LINE_MAX) {
		snprintf(err, errlen,
			 "container %s would take %zu bytes in the state file, where a record must "
			 "stay under %d (env values are written up to three times their length)",
			 c->id, len, STATE_LINE_MAX);
		return -E2BIG;
	}
	return 0;
}

static int write_records(FILE *f, const struct state *st, char *err, size_t errlen)
{
	for (size_t i = 0; i < st->n_containers; i++) {
		int ret = state_container_check(&st->containers[i], err, errlen);

		if (ret)
			return ret;
	}
	fprintf(f, "%s %d\n", STATE_MAGIC, STATE_VERSION);
	fputs("config port-range=", f);
	write_range(f, st->port_range_begin, st->port_range_end);
	for (int i = 0; i < CT_TIMEOUT_COUNT; i++)
		fprintf(f, " %s=%u", ct_timeout_names[i], st->ct_timeout[i]);
	fprintf(f, " direct-access=%s\n", st->direct_access_allow ? "allow" : "drop");
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
	if (ferror(f)) {
		snprintf(err, errlen, "%s", strerror(EIO));
		return -EIO;
	}
	return 0;
}

/* What state_load() would make of the bytes about to be written: every line
 * readable, every record back. */
static int check_readback(char *buf, size_t len, const struct state *st, char *err, size_t errlen)
{
	FILE *f = fmemopen(buf, len, "r");
	struct state back;
	int ret;

	if (!f) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	state_init(&back);
	ret = parse_stream(f, &back);
	fclose(f);
	if (ret == -ENOMEM) {
		snprintf(err, errlen, "out of memory");
	} else if (ret) {
		snprintf(err, errlen, "its first line would not read back");
		ret = -EINVAL;
	} else if (back.n_damaged) {
		const struct state_damaged *d = &back.damaged[0];

		snprintf(err, errlen, "line %d (%.40s...) would not read back: %s", d->lineno,
			 d->text, d->why);
		ret = -E2BIG;
	} else if (back.n_containers != st->n_containers || back.n_bindings != st->n_bindings ||
		   back.n_cursors != st->n_cursors || back.n_attachments != st->n_attachments) {
		snprintf(err, errlen, "its records would not all read back");
		ret = -EINVAL;
	}
	state_free(&back);
	return ret;
}

static int fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	int fd, err = 0;

	dir_of(path, dir, sizeof(dir));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd))
		err = -errno;
	close(fd);
	return err;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* What rename() will replace must be our state file, not a link or another
 * user's file. */
static int check_target(const char *path)
{
	struct stat sb;

	if (lstat(path, &sb))
		return errno == ENOENT ? 0 : -errno;
	if (S_ISLNK(sb.st_mode)) {
		pr_err("refusing state file %s: it is a symbolic link", path);
		return -ELOOP;
	}
	if (!S_ISREG(sb.st_mode)) {
		pr_err("refusing state file %s: not a regular file", path);
		return -EINVAL;
	}
	if (!owner_trusted(sb.st_uid)) {
		pr_err("refusing state file %s: it belongs to uid %u (only root's or your own is "
		       "trusted)",
		       path, (unsigned int)sb.st_uid);
		return -EPERM;
	}
	return 0;
}

int state_save(const char *path, const struct state *st)
{
	char tmp[PATH_MAX], why[ERRBUF_MAX + 128];
	char *buf = NULL;
	size_t len = 0;
	int fd, err;
	FILE *mem;

	if (st->n_damaged) {
		pr_err("cannot write state file %s: %zu damaged lines would be lost", path,
		       st->n_damaged);
		return -EUCLEAN;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp)) {
		pr_err("cannot write state file %s: %s", path, strerror(ENAMETOOLONG));
		return -ENAMETOOLONG;
	}
	/* The whole file in memory first: it is checked before anything is written. */
	mem = open_memstream(&buf, &len);
	if (!mem) {
		pr_err("cannot write state file %s: %s", path, strerror(errno));
		return -ENOMEM;
	}
	err = write_records(mem, st, why, sizeof(why));
	if (fclose(mem) && !err) {
		err = -ENOMEM;
		snprintf(why, sizeof(why), "out of memory");
	}
	if (!err)
		err = check_readback(buf, len, st, why, sizeof(why));
	if (err) {
		pr_err("cannot write state file %s: %s; nothing was changed", path, why);
		free(buf);
		return err;
	}
	err = mkdir_parents(path);
	if (err) {
		pr_err("cannot create the directory of state file %s: %s", path, strerror(-err));
		goto out_free;
	}
	err = state_dir_check(path);
	if (!err)
		err = check_target(path);
	if (err)
		goto out_free;
	/* A unique name (O_EXCL, 0600): nothing planted under a known name is followed. */
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	err = write_all(fd, buf, len);
	if (!err && fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err) {
		unlink(tmp);
		goto out;
	}
	err = fsync_dir_of(path);
out:
	if (err)
		pr_err("cannot write state file %s: %s", path, strerror(-err));
out_free:
	free(buf);
	return err;
}

int state_set_aside_damaged(const char *path, struct state *st)
{
	char aside[PATH_MAX], when[64];
	time_t now = time(NULL);
	int fd, err = 0, n;
	struct tm tm;
	FILE *f;

	if (!st->n_damaged)
		return 0;
	if (snprintf(aside, sizeof(aside), "%s.damaged", path) >= (int)sizeof(aside)) {
		pr_err("cannot set damaged lines aside: %s", strerror(ENAMETOOLONG));
		return -ENAMETOOLONG;
	}
	err = state_dir_check(path);
	if (err)
		return err;
	fd = open_checked(aside, O_WRONLY | O_APPEND | O_CREAT, "file");
	if (fd < 0)
		return fd;
	f = fdopen(fd, "a");
	if (!f) {
		err = -errno;
		close(fd);
		goto out;
	}
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S%z", localtime_r(&now, &tm));
	for (size_t i = 0; i < st->n_damaged; i++) {
		const struct state_damaged *d = &st->damaged[i];

		fprintf(f, "# %s, line %d, set aside %s: %s\n", path, d->lineno, when, d->why);
		fwrite(d->text, 1, d->len, f);
		fputc('\n', f);
	}
	if (fflush(f) || fsync(fileno(f)))
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	if (!err)
		err = fsync_dir_of(aside);
out:
	if (err) {
		pr_err("cannot set damaged lines aside in %s: %s", aside, strerror(-err));
		return err;
	}
	n = (int)st->n_damaged;
	for (size_t i = 0; i < st->n_damaged; i++)
		free(st->damaged[i].text);
	free(st->damaged);
	st->damaged = NULL;
	st->n_damaged = 0;
	return n;
}

void state_free(struct state *st)
{
	for (size_t i = 0; i < st->n_containers; i++)
		container_free(&st->containers[i]);
	free(st->containers);
	free(st->bindings);
	free(st->cursors);
	free(st->attachments);
	for (size_t i = 0; i < st->n_damaged; i++)
		free(st->damaged[i].text);
	free(st->damaged);
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

/* Room for n bindings, doubling: the array is sized for the next power of
 * two, so reading 10,000 bindings takes 14 reallocations, not 10,000. */
static size_t bindings_room(size_t n)
{
	size_t room = 16;

	while (room < n)
		room *= 2;
	return room;
}

int state_add_binding(struct state *st, const struct binding *b)
{
	struct binding *nb = st->bindings;

	/* Removal only shrinks n: a new size from n is never below what is used. */
	if (!nb || st->n_bindings + 1 > bindings_room(st->n_bindings)) {
		nb = realloc(st->bindings, bindings_room(st->n_bindings + 1) * sizeof(*nb));
		if (!nb)
			return -ENOMEM;
		st->bindings = nb;
	}
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

const char *state_slot_id(const struct state *st, __u32 slot)
{
	for (size_t i = 0; st && i < st->n_bindings; i++)
		if (st->bindings[i].slot == slot)
			return st->bindings[i].id;
	return "-";
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
