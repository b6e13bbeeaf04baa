// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The binding a proxy owns in bpfport.
 *
 * Publishing goes through the bpfport binary (`bpfport add`), so the state
 * file, its lock, the conflict rules, port reservations and the maps are
 * handled by the one implementation users run by hand.
 *
 * Ownership: a proxy's binding has the ID docker-proxy-HOSTADDR-PORT-PROTO,
 * a function of its host endpoint alone, which no other proxy can hold at
 * the same time (each one keeps a socket bound to it). A binding with such
 * an ID is stale when no running bpfport-proxy of this network namespace has
 * that host endpoint on its command line: its proxy was killed (SIGKILL, a
 * crash) or the machine rebooted. Who removes it:
 *   - the next proxy for the same host endpoint, before it publishes;
 *   - `bpfport-proxy -cleanup`, for all of them (before dockerd starts, when
 *     every one is stale, or any time: live proxies are recognised).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <netinet/in.h>

#include "addr.h"
#include "args.h"
#include "dp.h"
#include "proxy.h"
#include "state.h"

extern char **environ;

const char *proxy_proto_name(int proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_SCTP:
		return "sctp";
	}
	return "?";
}

int proxy_proto_parse(const char *s)
{
	if (!strcmp(s, "tcp"))
		return IPPROTO_TCP;
	if (!strcmp(s, "udp"))
		return IPPROTO_UDP;
	if (!strcmp(s, "sctp"))
		return IPPROTO_SCTP;
	return -1;
}

void proxy_endpoint_str(const struct proxy_endpoint *e, char *buf, size_t len)
{
	char ip[64];

	addr_format(e->family, &e->addr, ip, sizeof(ip));
	if (e->family == BPFPORT_AF_INET6)
		snprintf(buf, len, "[%s]:%u", ip, e->port);
	else
		snprintf(buf, len, "%s:%u", ip, e->port);
}

void proxy_sockaddr(const struct proxy_endpoint *e, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (e->family == BPFPORT_AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(e->port);
		sin->sin_addr.s_addr = e->addr.a[0];
		*len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(e->port);
		memcpy(&sin6->sin6_addr, e->addr.a, sizeof(e->addr.a));
		*len = sizeof(*sin6);
	}
}

/*
 * The protocol comes last and starts with a letter that is no hex digit, so
 * no proxy ID is a prefix of another: `bpfport rm ID` (which also takes a
 * unique prefix) can only ever match the one meant.
 */
void proxy_id(const struct proxy_binding *b, char *buf, size_t len)
{
	char host[64];

	addr_to_id(b->host.family, &b->host.addr, host, sizeof(host));
	snprintf(buf, len, PROXY_ID_PREFIX "%s-%u-%s", host, b->host.port,
		 proxy_proto_name(b->proto));
}

static bool datapath_loaded(void)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/" PIN_MAPS_SUBDIR "/" MAP_BINDINGS, dp_pin_dir(NULL));
	return access(path, F_OK) == 0;
}

const char *proxy_untranslatable(const struct proxy_binding *b, char *buf, size_t len)
{
	if (b->proto != IPPROTO_TCP && b->proto != IPPROTO_UDP) {
		snprintf(buf, len, "bpfport translates tcp and udp, not %s",
			 proxy_proto_name(b->proto));
		return buf;
	}
	if (b->host.family != b->container.family) {
		snprintf(buf, len,
			 "bpfport translates within one address family, and this binding "
			 "joins an %s host address to an %s container",
			 b->host.family == BPFPORT_AF_INET ? "IPv4" : "IPv6",
			 b->container.family == BPFPORT_AF_INET ? "IPv4" : "IPv6");
		return buf;
	}
	if (!datapath_loaded()) {
		snprintf(buf, len, "bpfport's datapath is not loaded (no pinned maps under %s)",
			 dp_pin_dir(NULL));
		return buf;
	}
	return NULL;
}

/* BPFPORT_BIN, else the bpfport installed beside this program, else $PATH. */
static const char *bpfport_bin(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("BPFPORT_BIN");
	ssize_t n;
	char *slash;

	if (env && *env)
		return env;
	n = readlink("/proc/self/exe", path, sizeof(path) - sizeof("/bpfport"));
	if (n > 0) {
		path[n] = '\0';
		slash = strrchr(path, '/');
		if (slash) {
			strcpy(slash + 1, "bpfport");
			if (access(path, X_OK) == 0)
				return path;
		}
	}
	return "bpfport";
}

/* bpfport's own error line ("Error: ..."), without the prefix, into msg. */
static void error_line(const char *out, int status, char *msg, size_t len)
{
	const char *line = out, *best = NULL, *p;
	size_t best_len = 0;

	for (p = out; *p; line = p + 1) {
		p = strchrnul(line, '\n');
		if (p > line && (!best || !strncmp(line, "Error: ", 7))) {
			best = line;
			best_len = (size_t)(p - line);
		}
		if (!*p)
			break;
	}
	if (best && best_len > 7 && !strncmp(best, "Error: ", 7)) {
		best += 7;
		best_len -= 7;
	}
	if (best)
		snprintf(msg, len, "%.*s", (int)best_len, best);
	else
		snprintf(msg, len, "bpfport exited with status %d", status);
}

/*
 * Runs bpfport with args; its stderr goes to msg (the error line), stdout to
 * /dev/null. Returns its exit status, or 127 if it could not be run. The child
 * gets default signal handling and an empty mask, whatever this process has.
 */
static int run_bpfport(const char *const *args, char *msg, size_t len)
{
	const char *bin = bpfport_bin();
	char *argv[16], out[4096];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, dfl;
	size_t n = 0, argc = 0;
	int pipefd[2], status = 0, err;
	pid_t pid;

	argv[argc++] = (char *)bin;
	for (; *args && argc < 15; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;
	msg[0] = '\0';
	if (pipe2(pipefd, O_CLOEXEC)) {
		snprintf(msg, len, "pipe: %s", strerror(errno));
		return 127;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGTERM);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	err = strchr(bin, '/') ? posix_spawn(&pid, bin, &fa, &attr, argv, environ) :
				 posix_spawnp(&pid, bin, &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(pipefd[1]);
	if (err) {
		close(pipefd[0]);
		snprintf(msg, len, "cannot run %s: %s", bin, strerror(err));
		return 127;
	}
	for (;;) {
		ssize_t r = read(pipefd[0], out + n, sizeof(out) - 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		/* Keep the end: the error line comes last. */
		if (n == sizeof(out) - 1) {
			memmove(out, out + n / 2, n - n / 2);
			n -= n / 2;
		}
	}
	out[n] = '\0';
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (status)
		error_line(out, status, msg, len);
	return status;
}

static bool same_file(const char *a, const struct stat *sb)
{
	struct stat sa;

	return !stat(a, &sa) && sa.st_dev == sb->st_dev && sa.st_ino == sb->st_ino;
}

/*
 * A running bpfport-proxy of this network namespace: its binary is ours, or
 * it is named bpfport-proxy (an upgrade replaces the binary under running
 * proxies). Its binding's ID goes to id.
 */
static bool live_proxy(const char *pid, const struct stat *self_exe, const struct stat *self_net,
		       char *id, size_t len)
{
	char path[64], cmd[4096], *argv[64], *base;
	struct proxy_args a;
	char err[PROXY_MSG_MAX];
	ssize_t n;
	int fd, argc = 0;

	snprintf(path, sizeof(path), "/proc/%s/ns/net", pid);
	if (!same_file(path, self_net))
		return false;
	snprintf(path, sizeof(path), "/proc/%s/cmdline", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, cmd, sizeof(cmd) - 1);
	close(fd);
	if (n <= 0)
		return false;
	cmd[n] = '\0';
	for (char *p = cmd; p < cmd + n && argc < 63; p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;
	base = strrchr(argv[0], '/');
	base = base ? base + 1 : argv[0];
	snprintf(path, sizeof(path), "/proc/%s/exe", pid);
	if (strcmp(base, PROXY) && !same_file(path, self_exe))
		return false;
	proxy_args_init(&a);
	if (proxy_args_parse(argc, argv, &a, err, sizeof(err)) || a.cleanup ||
	    proxy_args_check(&a, err, sizeof(err)))
		return false;
	proxy_id(&a.b, id, len);
	return true;
}

/* Calls fn for the ID of every other running proxy; stops when fn returns true. */
static bool each_live_proxy(bool (*fn)(const char *id, void *arg), void *arg)
{
	struct stat self_exe, self_net;
	char self[16], id[PROXY_ID_MAX];
	struct dirent *de;
	bool stop = false;
	DIR *d;

	if (stat("/proc/self/exe", &self_exe) || stat("/proc/self/ns/net", &self_net))
		return false;
	d = opendir("/proc");
	if (!d)
		return false;
	snprintf(self, sizeof(self), "%d", (int)getpid());
	while (!stop && (de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9' || !strcmp(de->d_name, self))
			continue;
		if (live_proxy(de->d_name, &self_exe, &self_net, id, sizeof(id)))
			stop = fn(id, arg);
	}
	closedir(d);
	return stop;
}

static bool id_matches(const char *id, void *arg)
{
	return !strcmp(id, arg);
}

static int remove_id(const char *id, char *msg, size_t len)
{
	const char *args[] = { "rm", id, NULL };

	return run_bpfport(args, msg, len) ? -1 : 0;
}

/* A stale binding is in b's way: it has b's ID, or a proxy ID and conflicts with b. */
static bool in_the_way(const struct binding *sb, const struct proxy_binding *b, const char *id)
{
	struct binding want = { .family = b->host.family,
				.proto = (__u8)b->proto,
				.host_port = b->host.port,
				.host_addr = b->host.addr };

	if (!strcmp(sb->id, id))
		return true;
	return !strncmp(sb->id, PROXY_ID_PREFIX, strlen(PROXY_ID_PREFIX)) &&
	       binding_conflicts(sb, &want);
}

int proxy_remove_stale(const struct proxy_binding *b)
{
	char id[PROXY_ID_MAX], msg[PROXY_MSG_MAX], (*ids)[PROXY_ID_MAX] = NULL;
	struct state st = {};
	size_t n = 0;
	int ret = 0;

	proxy_id(b, id, sizeof(id));
	if (state_load(dp_state_path(NULL), &st))
		return -1;
	if (st.n_bindings)
		ids = calloc(st.n_bindings, sizeof(*ids));
	for (size_t i = 0; ids && i < st.n_bindings; i++)
		if (in_the_way(&st.bindings[i], b, id))
			snprintf(ids[n++], PROXY_ID_MAX, "%s", st.bindings[i].id);
	/* The container record alone (no binding left) is in the way too. */
	if (!n && state_container_index(&st, id) >= 0) {
		ids = ids ? ids : calloc(1, sizeof(*ids));
		if (ids)
			snprintf(ids[n++], PROXY_ID_MAX, "%s", id);
	}
	state_free(&st);
	for (size_t i = 0; i < n; i++) {
		if (i && !strcmp(ids[i], ids[i - 1]))
			continue;
		if (each_live_proxy(id_matches, ids[i]))
			continue;
		if (remove_id(ids[i], msg, sizeof(msg))) {
			plog("cannot remove the stale binding %s: %s", ids[i], msg);
			ret = -1;
			break;
		}
		plog("removed the stale binding %s, left by a proxy that is gone", ids[i]);
		ret = 1;
	}
	free(ids);
	return ret;
}

static bool conflict(const char *msg)
{
	return strstr(msg, "port is already allocated") || strstr(msg, "address already in use");
}

enum publish_result proxy_publish(const struct proxy_binding *b, char *msg, size_t len)
{
	char id[PROXY_ID_MAX], host[64], ctr[64], spec[192];
	const char *args[] = { "add", "--force", "--id", id, spec, NULL };
	int status;

	proxy_id(b, id, sizeof(id));
	proxy_endpoint_str(&b->host, host, sizeof(host));
	proxy_endpoint_str(&b->container, ctr, sizeof(ctr));
	snprintf(spec, sizeof(spec), "%s -> %s/%s", host, ctr, proxy_proto_name(b->proto));
	status = run_bpfport(args, msg, len);
	/* Refused because a gone proxy left a binding in the way: remove it, try again. */
	if (status == 1 && proxy_remove_stale(b) > 0)
		status = run_bpfport(args, msg, len);
	if (!status)
		return PUBLISH_DONE;
	return status == 1 && conflict(msg) ? PUBLISH_REFUSED : PUBLISH_UNAVAILABLE;
}

int proxy_unpublish(const struct proxy_binding *b, char *msg, size_t len)
{
	char id[PROXY_ID_MAX];

	proxy_id(b, id, sizeof(id));
	return remove_id(id, msg, len);
}

struct live_set {
	char (*ids)[PROXY_ID_MAX];
	size_t n, cap;
};

static bool collect(const char *id, void *arg)
{
	struct live_set *s = arg;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		void *p = realloc(s->ids, cap * sizeof(*s->ids));

		if (!p)
			return true;
		s->ids = p;
		s->cap = cap;
	}
	snprintf(s->ids[s->n++], PROXY_ID_MAX, "%s", id);
	return false;
}

int proxy_cleanup(bool dry_run)
{
	struct live_set live = {};
	struct state st = {};
	int ret = 0, found = 0;

	if (state_load(dp_state_path(NULL), &st))
		return 1;
	each_live_proxy(collect, &live);
	for (size_t i = 0; i < st.n_containers; i++) {
		const char *id = st.containers[i].id;
		char msg[PROXY_MSG_MAX];
		bool alive = false;

		if (strncmp(id, PROXY_ID_PREFIX, strlen(PROXY_ID_PREFIX)))
			continue;
		for (size_t j = 0; j < live.n && !alive; j++)
			alive = !strcmp(live.ids[j], id);
		if (alive)
			continue;
		found++;
		if (dry_run) {
			printf("stale %s\n", id);
		} else if (remove_id(id, msg, sizeof(msg))) {
			fprintf(stderr, "Error: cannot remove %s: %s\n", id, msg);
			ret = 1;
		} else {
			printf("removed %s: its bpfport-proxy is gone\n", id);
		}
	}
	if (!found)
		printf("nothing to clean up\n");
	free(live.ids);
	state_free(&st);
	return ret;
}
