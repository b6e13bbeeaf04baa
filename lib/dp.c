// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dp.h"
#include "published.h"
#include "state.h"

const char *dp_pin_dir(const char *flag)
{
	const char *env = getenv("BPFPORT_PIN_DIR");

	if (flag)
		return flag;
	return env && *env ? env : PIN_DIR_DEFAULT;
}

const char *dp_state_path(const char *flag)
{
	const char *env = getenv("BPFPORT_STATE");

	if (flag)
		return flag;
	return env && *env ? env : STATE_DEFAULT_PATH;
}

static int open_map(const char *pin_dir, const char *name)
{
	char path[PATH_MAX];
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s/%s", pin_dir, PIN_MAPS_SUBDIR, name) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

/* Every map user space opens: dp_open() and dp_close() walk this table. */
static const struct {
	size_t fd_offset;
	const char *name;
} dp_maps[] = {
	{ offsetof(struct dp, bindings_fd), MAP_BINDINGS },
	{ offsetof(struct dp, ct_fd), MAP_CT },
	{ offsetof(struct dp, counters_fd), MAP_COUNTERS },
	{ offsetof(struct dp, config_fd), MAP_CONFIG },
	{ offsetof(struct dp, ports_fd), MAP_PORTS },
	{ offsetof(struct dp, allow_fd), MAP_ALLOW },
	{ offsetof(struct dp, published_fd), MAP_PUBLISHED },
	{ offsetof(struct dp, ct_new_fd), MAP_CT_NEW },
	{ offsetof(struct dp, slot_gen_fd), MAP_SLOT_GEN },
	{ offsetof(struct dp, backends_fd), MAP_BACKENDS },
	{ offsetof(struct dp, stats_fd), MAP_STATS },
	{ offsetof(struct dp, containers_fd), MAP_CONTAINERS },
};
#define DP_N_MAPS (sizeof(dp_maps) / sizeof(dp_maps[0]))

static int *dp_fd(struct dp *dp, size_t i)
{
	return (int *)((char *)dp + dp_maps[i].fd_offset);
}

int dp_open(const char *pin_dir, struct dp *dp)
{
	int err;

	for (size_t i = 0; i < DP_N_MAPS; i++)
		*dp_fd(dp, i) = -1;
	err = dp_pin_dir_check(pin_dir, NULL, 0);
	if (err)
		return err;
	for (size_t i = 0; i < DP_N_MAPS; i++) {
		int fd = open_map(pin_dir, dp_maps[i].name);

		if (fd < 0) {
			dp_close(dp);
			return fd;
		}
		*dp_fd(dp, i) = fd;
	}
	return 0;
}

void dp_close(struct dp *dp)
{
	for (size_t i = 0; i < DP_N_MAPS; i++) {
		if (*dp_fd(dp, i) >= 0)
			close(*dp_fd(dp, i));
		*dp_fd(dp, i) = -1;
	}
}

/* Count one more (delta 1) or one fewer (-1) binding on b's port; the port
 * is published while the count is above zero. */
static int ports_adjust(const struct dp *dp, const struct binding *b, int delta)
{
	struct bpfport_port_key key = { .port = htons(b->host_port),
					.family = b->family,
					.proto = b->proto };
	__u32 count = 0;

	bpf_map_lookup_elem(dp->ports_fd, &key, &count);
	if (delta < 0 && count <= 1) {
		if (bpf_map_delete_elem(dp->ports_fd, &key) && errno != ENOENT)
			return -errno;
		return published_set(dp->published_fd, b->family, b->proto, b->host_port, false);
	}
	count += delta;
	if (bpf_map_update_elem(dp->ports_fd, &key, &count, BPF_ANY))
		return -errno;
	return published_set(dp->published_fd, b->family, b->proto, b->host_port, true);
}

/* One more (delta 1) or one fewer (-1) user of a key in a count map; the
 * key goes with its last user. */
static int count_adjust(int fd, const void *key, int delta)
{
	__u32 count = 0;

	bpf_map_lookup_elem(fd, key, &count);
	if (delta < 0 && count <= 1)
		return bpf_map_delete_elem(fd, key) && errno != ENOENT ? -errno : 0;
	count += delta;
	return bpf_map_update_elem(fd, key, &count, BPF_ANY) ? -errno : 0;
}

/* b's container endpoint (direct connections) and address (direct access). */
static int backends_adjust(const struct dp *dp, const struct binding *b, int delta)
{
	struct bpfport_backend_key key;
	struct bpfport_container_key ckey;
	int err;

	memset(&key, 0, sizeof(key));
	key.addr = b->container_addr;
	key.port = htons(b->container_port);
	key.family = b->family;
	key.proto = b->proto;
	memset(&ckey, 0, sizeof(ckey));
	ckey.addr = b->container_addr;
	ckey.family = b->family;
	err = count_adjust(dp->backends_fd, &key, delta);
	if (!err) {
		err = count_adjust(dp->containers_fd, &ckey, delta);
		if (err)
			count_adjust(dp->backends_fd, &key, -delta);
	}
	return err;
}

static __u32 slot_gen(const struct dp *dp, __u32 slot)
{
	__u32 gen = 0;

	bpf_map_lookup_elem(dp->slot_gen_fd, &slot, &gen);
	return gen;
}

int dp_published_sync(const struct dp *dp)
{
	__u64 *words = calloc(BPFPORT_PUBLISHED_WORDS, sizeof(*words));
	struct bpfport_port_key k, next, *prev = NULL;
	int err = 0;

	if (!words)
		return -ENOMEM;
	while (!bpf_map_get_next_key(dp->ports_fd, prev, &next)) {
		__u16 port = ntohs(next.port);

		words[BPFPORT_PUBLISHED_WORD(next.family, next.proto, port)] |=
			BPFPORT_PUBLISHED_BIT(port);
		k = next;
		prev = &k;
	}
	for (__u32 i = 0; i < BPFPORT_PUBLISHED_WORDS && !err; i++)
		if (bpf_map_update_elem(dp->published_fd, &i, &words[i], BPF_ANY))
			err = -errno;
	free(words);
	return err;
}

static void allow_key(const struct binding *b, const struct cidr *c, struct bpfport_allow_key *k)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = 32 + c->prefixlen;
	k->slot = b->slot;
	memcpy(k->addr, c->addr.a, sizeof(k->addr));
}

static void allow_remove(const struct dp *dp, const struct binding *b)
{
	struct bpfport_allow_key k;

	for (size_t i = 0; i < b->n_allow; i++) {
		allow_key(b, &b->allow[i], &k);
		bpf_map_delete_elem(dp->allow_fd, &k);
	}
}

/* Prefixes first: the binding must never be live with a partial list. */
static int allow_install(const struct dp *dp, const struct binding *b)
{
	struct bpfport_allow_key k;
	__u8 one = 1;

	for (size_t i = 0; i < b->n_allow; i++) {
		allow_key(b, &b->allow[i], &k);
		if (bpf_map_update_elem(dp->allow_fd, &k, &one, BPF_ANY)) {
			int err = -errno;

			allow_remove(dp, b);
			return err;
		}
	}
	return 0;
}

int dp_binding_install(const struct dp *dp, const struct binding *b)
{
	struct bpfport_bind_key key;
	struct bpfport_bind_val val;
	int err;

	err = dp_counters_reset(dp, b->slot);
	if (!err)
		err = allow_install(dp, b);
	if (err)
		return err;
	binding_to_key(b, &key);
	binding_to_val(b, &val);
	val.gen = slot_gen(dp, b->slot);
	if (bpf_map_update_elem(dp->bindings_fd, &key, &val, BPF_NOEXIST)) {
		err = -errno;
		allow_remove(dp, b);
		return err;
	}
	err = ports_adjust(dp, b, 1);
	if (!err) {
		err = backends_adjust(dp, b, 1);
		if (err)
			ports_adjust(dp, b, -1);
	}
	if (err) {
		bpf_map_delete_elem(dp->bindings_fd, &key);
		allow_remove(dp, b);
	}
	return err;
}

int dp_binding_remove(const struct dp *dp, const struct binding *b)
{
	struct bpfport_bind_key key;
	int n;

	binding_to_key(b, &key);
	if (bpf_map_delete_elem(dp->bindings_fd, &key)) {
		if (errno != ENOENT)
			return -errno;
	} else {
		ports_adjust(dp, b, -1);
		backends_adjust(dp, b, -1);
		allow_remove(dp, b);
	}
	/* New flows miss from here on; existing ones must stop too. */
	n = dp_flows_end(dp, b);
	return n < 0 ? n : 0;
}

/* Delete a conntrack table's entries: all, or those of one slot. */
static int ct_sweep(int fd, bool all, __u32 slot)
{
	struct bpfport_ct_key key, next, *prev = NULL;
	struct bpfport_ct_val val;
	int deleted = 0;

	/* Deleting the current key would restart the walk; delete one step behind. */
	for (;;) {
		bool more = !bpf_map_get_next_key(fd, prev, &next);

		if (prev && !bpf_map_lookup_elem(fd, prev, &val) && (all || val.slot == slot) &&
		    !bpf_map_delete_elem(fd, prev))
			deleted++;
		if (!more)
			break;
		key = next;
		prev = &key;
	}
	return deleted;
}

int dp_flows_end(const struct dp *dp, const struct binding *b)
{
	__u32 gen = slot_gen(dp, b->slot) + 1;
	struct bpfport_bind_key key;
	struct bpfport_bind_val val;

	/* The binding first: flows it admits from now on carry the new
	 * generation, which the slot's bump below leaves alone (the datapath
	 * treats only older generations as stale). */
	binding_to_key(b, &key);
	if (!bpf_map_lookup_elem(dp->bindings_fd, &key, &val) && val.slot == b->slot) {
		val.gen = gen;
		if (bpf_map_update_elem(dp->bindings_fd, &key, &val, BPF_EXIST) && errno != ENOENT)
			return -errno;
	}
	if (bpf_map_update_elem(dp->slot_gen_fd, &b->slot, &gen, BPF_ANY))
		return -errno;
	return ct_sweep(dp->ct_fd, false, b->slot) + ct_sweep(dp->ct_new_fd, false, b->slot);
}

int dp_ct_delete_all(const struct dp *dp)
{
	return ct_sweep(dp->ct_fd, true, 0) + ct_sweep(dp->ct_new_fd, true, 0);
}

#define DP_STAT_NAME(id, name, help) [BPFPORT_STAT_##id] = name,
#define DP_STAT_HELP(id, name, help) [BPFPORT_STAT_##id] = help,
const char *const dp_stat_names[BPFPORT_STAT_MAX] = { BPFPORT_STATS(DP_STAT_NAME) };
const char *const dp_stat_help[BPFPORT_STAT_MAX] = { BPFPORT_STATS(DP_STAT_HELP) };

int dp_stats_read(const struct dp *dp, __u64 *counts)
{
	int ncpus = libbpf_num_possible_cpus();
	__u64 *percpu;
	int err = 0;

	if (ncpus < 0)
		return ncpus;
	percpu = calloc(ncpus, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	for (__u32 i = 0; i < BPFPORT_STAT_MAX && !err; i++) {
		counts[i] = 0;
		if (bpf_map_lookup_elem(dp->stats_fd, &i, percpu)) {
			err = -errno;
			break;
		}
		for (int c = 0; c < ncpus; c++)
			counts[i] += percpu[c];
	}
	free(percpu);
	return err;
}

int dp_counters_read(const struct dp *dp, __u32 slot, struct bpfport_counters *sum)
{
	int ncpus = libbpf_num_possible_cpus();
	struct bpfport_counters *percpu;

	memset(sum, 0, sizeof(*sum));
	if (ncpus < 0)
		return ncpus;
	percpu = calloc(ncpus, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	if (bpf_map_lookup_elem(dp->counters_fd, &slot, percpu)) {
		free(percpu);
		return -errno;
	}
	for (int i = 0; i < ncpus; i++) {
		sum->rx_packets += percpu[i].rx_packets;
		sum->rx_bytes += percpu[i].rx_bytes;
		sum->tx_packets += percpu[i].tx_packets;
		sum->tx_bytes += percpu[i].tx_bytes;
		sum->dropped_packets += percpu[i].dropped_packets;
	}
	free(percpu);
	return 0;
}

int dp_counters_reset(const struct dp *dp, __u32 slot)
{
	int ncpus = libbpf_num_possible_cpus();
	struct bpfport_counters *zero;
	int err = 0;

	if (ncpus < 0)
		return ncpus;
	zero = calloc(ncpus, sizeof(*zero));
	if (!zero)
		return -ENOMEM;
	if (bpf_map_update_elem(dp->counters_fd, &slot, zero, BPF_ANY))
		err = -errno;
	free(zero);
	return err;
}

long dp_map_count(int map_fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	void *key, *next, *tmp;
	long n = 0;

	if (bpf_obj_get_info_by_fd(map_fd, &info, &len))
		return -errno;
	key = calloc(1, info.key_size);
	next = calloc(1, info.key_size);
	if (!key || !next) {
		free(key);
		free(next);
		return -ENOMEM;
	}
	for (void *prev = NULL; !bpf_map_get_next_key(map_fd, prev, next); prev = key) {
		tmp = key;
		key = next;
		next = tmp;
		n++;
	}
	free(key);
	free(next);
	return n;
}

int dp_config_flag(const struct dp *dp, __u32 flag, bool on)
{
	struct bpfport_config cfg;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(dp->config_fd, &zero, &cfg))
		return -errno;
	if (on)
		cfg.flags |= flag;
	else
		cfg.flags &= ~flag;
	return bpf_map_update_elem(dp->config_fd, &zero, &cfg, BPF_ANY) ? -errno : 0;
}

int dp_config_timeouts(const struct dp *dp, const __u32 *t)
{
	struct bpfport_config cfg;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(dp->config_fd, &zero, &cfg))
		return -errno;
	cfg.ct_timeout_tcp = t[CT_TIMEOUT_TCP];
	cfg.ct_timeout_tcp_close = t[CT_TIMEOUT_TCP_CLOSE];
	cfg.ct_timeout_tcp_rst = t[CT_TIMEOUT_TCP_RST];
	cfg.ct_timeout_udp = t[CT_TIMEOUT_UDP];
	return bpf_map_update_elem(dp->config_fd, &zero, &cfg, BPF_ANY) ? -errno : 0;
}

/* Trusted: a directory (not a symlink to one) owned by root or by us, and
 * writable by its owner alone. */
int dp_pin_stat_check(const struct stat *st, const char *path, char *why, size_t len)
{
	if (S_ISLNK(st->st_mode)) {
		snprintf(why, len, "%s is a symbolic link", path);
		return -ELOOP;
	}
	if (!S_ISDIR(st->st_mode)) {
		snprintf(why, len, "%s is not a directory", path);
		return -ENOTDIR;
	}
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		snprintf(why, len, "%s is owned by uid %u", path, (unsigned int)st->st_uid);
		return -EPERM;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(why, len, "%s is writable by %s (mode %04o)", path,
			 st->st_mode & S_IWOTH ? "others" : "its group",
			 (unsigned int)(st->st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

/* One directory by path, without following a final symlink; missing is -ENOENT. */
static int pin_path_check(const char *path, char *why, size_t len)
{
	struct stat st;
	int err;

	if (lstat(path, &st)) {
		err = -errno;
		snprintf(why, len, "cannot inspect %s: %s", path, strerror(errno));
		return err;
	}
	return dp_pin_stat_check(&st, path, why, len);
}

int dp_pin_dir_check(const char *pin_dir, char *why, size_t len)
{
	static const char *const subdirs[] = { PIN_MAPS_SUBDIR, PIN_PROGS_SUBDIR, PIN_LINKS_SUBDIR,
					       "cgroup" };
	char dir[PATH_MAX], path[PATH_MAX + 512];
	struct dirent *de;
	size_t n;
	DIR *d;
	int err = 0;

	/* "dir/" would make lstat() follow a symlink named dir. */
	n = strlen(pin_dir);
	while (n > 1 && pin_dir[n - 1] == '/')
		n--;
	if (n >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, pin_dir, n);
	dir[n] = '\0';
	err = pin_path_check(dir, why, len);
	if (err)
		return err == -ENOENT ? 0 : err;
	for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, subdirs[i]);
		err = pin_path_check(path, why, len);
		if (err && err != -ENOENT)
			return err;
	}
	/* links/IFACE: one directory per attached interface. */
	snprintf(path, sizeof(path), "%s/%s", dir, PIN_LINKS_SUBDIR);
	d = opendir(path);
	if (!d)
		return 0;
	err = 0;
	while (!err && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s/%s", dir, PIN_LINKS_SUBDIR, de->d_name) >=
		    (int)sizeof(path))
			err = -ENAMETOOLONG;
		else
			err = pin_path_check(path, why, len);
		if (err == -ENOENT)
			err = 0;
	}
	closedir(d);
	return err;
}

__u32 dp_slot_gen(const struct dp *dp, __u32 slot)
{
	return slot_gen(dp, slot);
}

void dp_allow_key(const struct binding *b, const struct cidr *c, struct bpfport_allow_key *k)
{
	allow_key(b, c, k);
}

int dp_allow_clear_slot(const struct dp *dp, __u32 slot)
{
	struct bpfport_allow_key key, next, *prev = NULL, *found = NULL;
	size_t n = 0, cap = 0;
	int err = 0;

	/* Collected first: deleting while walking would restart the walk. */
	memset(&next, 0, sizeof(next));
	while (!bpf_map_get_next_key(dp->allow_fd, prev, &next)) {
		if (next.slot == slot) {
			if (n == cap) {
				struct bpfport_allow_key *more;

				cap = cap ? cap * 2 : 16;
				more = realloc(found, cap * sizeof(*found));
				if (!more) {
					free(found);
					return -ENOMEM;
				}
				found = more;
			}
			found[n++] = next;
		}
		key = next;
		prev = &key;
	}
	if (errno != ENOENT)
		err = -errno;
	for (size_t i = 0; i < n && !err; i++)
		if (bpf_map_delete_elem(dp->allow_fd, &found[i]) && errno != ENOENT)
			err = -errno;
	free(found);
	return err ? err : (int)n;
}
