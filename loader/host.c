// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The host's own processes: socket programs on a cgroup (by default the
 * cgroup2 root, so every process), pinned as links under <pin-dir>/cgroup/,
 * and the table of the host's addresses that wildcard bindings answer on.
 */
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <mntent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dp.h"
#include "loader.h"
#include "log.h"

struct sock_prog {
	const char *name;
	enum bpf_attach_type type;
};

static const struct sock_prog sock_progs[] = {
	{ "sock_connect4", BPF_CGROUP_INET4_CONNECT },
	{ "sock_connect6", BPF_CGROUP_INET6_CONNECT },
	{ "sock_sendmsg4", BPF_CGROUP_UDP4_SENDMSG },
	{ "sock_sendmsg6", BPF_CGROUP_UDP6_SENDMSG },
	{ "sock_recvmsg4", BPF_CGROUP_UDP4_RECVMSG },
	{ "sock_recvmsg6", BPF_CGROUP_UDP6_RECVMSG },
	{ "sock_getpeername4", BPF_CGROUP_INET4_GETPEERNAME },
	{ "sock_getpeername6", BPF_CGROUP_INET6_GETPEERNAME },
	{ "sock_post_bind4", BPF_CGROUP_INET4_POST_BIND },
	{ "sock_post_bind6", BPF_CGROUP_INET6_POST_BIND },
};

#define N_SOCK_PROGS (sizeof(sock_progs) / sizeof(sock_progs[0]))

const char *sock_prog_name(size_t i)
{
	return i < N_SOCK_PROGS ? sock_progs[i].name : NULL;
}

/* The cgroup2 mount point: /sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid hosts. */
int cgroup2_root(char *buf, size_t len)
{
	FILE *f = setmntent("/proc/self/mounts", "r");
	struct mntent *m;
	int err = -ENOENT;

	if (!f)
		return -errno;
	while ((m = getmntent(f))) {
		if (strcmp(m->mnt_type, "cgroup2"))
			continue;
		snprintf(buf, len, "%s", m->mnt_dir);
		err = 0;
		break;
	}
	endmntent(f);
	return err;
}

bool host_path_attached(void)
{
	char path[PATH_MAX];

	return !pin_path(path, sizeof(path), PIN_CGROUP_SUBDIR, sock_progs[0].name) &&
	       path_exists(path);
}

int host_path_attach(const char *cgroup)
{
	char path[PATH_MAX], dir[PATH_MAX];
	int cg_fd, err = 0;

	if (host_path_attached())
		return 0;
	cg_fd = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0) {
		pr_err("cannot open cgroup %s: %s", cgroup, strerror(errno));
		return -errno;
	}
	pin_path(dir, sizeof(dir), PIN_CGROUP_SUBDIR, NULL);
	err = mkdir_p(dir);
	for (size_t i = 0; i < N_SOCK_PROGS && !err; i++) {
		int prog_fd, link_fd;

		pin_path(path, sizeof(path), PIN_PROGS_SUBDIR, sock_progs[i].name);
		prog_fd = bpf_obj_get(path);
		if (prog_fd < 0) {
			err = -errno;
			break;
		}
		link_fd = bpf_link_create(prog_fd, cg_fd, sock_progs[i].type, NULL);
		err = link_fd < 0 ? -errno : 0;
		close(prog_fd);
		if (err)
			break;
		pin_path(path, sizeof(path), PIN_CGROUP_SUBDIR, sock_progs[i].name);
		if (bpf_obj_pin(link_fd, path))
			err = -errno;
		close(link_fd);
	}
	close(cg_fd);
	if (err) {
		pr_err("cannot attach the host-local socket programs to cgroup %s: %s", cgroup,
		       strerror(-err));
		host_path_detach();
	}
	return err;
}

void host_path_detach(void)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < N_SOCK_PROGS; i++) {
		pin_path(path, sizeof(path), PIN_CGROUP_SUBDIR, sock_progs[i].name);
		link_unpin(path);
	}
	pin_path(path, sizeof(path), PIN_CGROUP_SUBDIR, NULL);
	rmdir(path);
}

static int local_key(const struct sockaddr *sa, struct bpfport_local_key *k)
{
	memset(k, 0, sizeof(*k));
	if (sa->sa_family == AF_INET) {
		k->family = BPFPORT_AF_INET;
		k->addr.a[0] = ((const struct sockaddr_in *)sa)->sin_addr.s_addr;
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		k->family = BPFPORT_AF_INET6;
		memcpy(k->addr.a, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return 0;
	}
	return -EAFNOSUPPORT;
}

/* Replace the map's contents with the addresses of this network namespace. */
int local_addrs_refresh(void)
{
	struct bpfport_local_key key, next;
	struct ifaddrs *ifa, *i;
	char path[PATH_MAX];
	__u8 one = 1;
	int fd, err = 0;

	pin_path(path, sizeof(path), PIN_MAPS_SUBDIR, MAP_LOCAL_ADDRS);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	while (!bpf_map_get_next_key(fd, NULL, &next))
		bpf_map_delete_elem(fd, &next);
	if (getifaddrs(&ifa)) {
		err = -errno;
		goto out;
	}
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || local_key(i->ifa_addr, &key))
			continue;
		if (bpf_map_update_elem(fd, &key, &one, BPF_ANY)) {
			err = -errno;
			break;
		}
	}
	freeifaddrs(ifa);
out:
	close(fd);
	return err;
}
