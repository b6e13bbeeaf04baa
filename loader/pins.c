// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include <bpf/bpf.h>

#include "dp.h"
#include "loader.h"
#include "log.h"

#define BPFFS_DEFAULT_MOUNT "/sys/fs/bpf"

int pin_path(char *buf, size_t len, const char *sub, const char *name)
{
	int n;

	if (name)
		n = snprintf(buf, len, "%s/%s/%s", opts.pin_dir, sub, name);
	else if (sub)
		n = snprintf(buf, len, "%s/%s", opts.pin_dir, sub);
	else
		n = snprintf(buf, len, "%s", opts.pin_dir);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

bool path_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* Missing directories are created 0700: the pin directory and its
 * subdirectories must not be writable by anyone but root (dp_pin_dir_check). */
int mkdir_p(const char *dir)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s/", dir) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

/* The nearest existing ancestor of dir must be on bpffs; a fresh machine may
 * not have /sys/fs/bpf mounted, so mount it there (and only there). */
int ensure_bpffs(const char *dir)
{
	char buf[PATH_MAX];
	struct statfs st;

	snprintf(buf, sizeof(buf), "%s", dir);
	while (statfs(buf, &st)) {
		char *slash = strrchr(buf, '/');

		if (errno != ENOENT || !slash || slash == buf)
			return -errno;
		*slash = '\0';
	}
	if (st.f_type == BPF_FS_MAGIC)
		return 0;
	if (strncmp(dir, BPFFS_DEFAULT_MOUNT "/", strlen(BPFFS_DEFAULT_MOUNT) + 1) &&
	    strcmp(dir, BPFFS_DEFAULT_MOUNT)) {
		pr_err("pin dir %s is not on a bpf filesystem: mount one (mount -t bpf bpf DIR)",
		       dir);
		return -EINVAL;
	}
	if (mount("bpf", BPFFS_DEFAULT_MOUNT, "bpf", 0, "mode=0700")) {
		pr_err("cannot mount bpffs on %s: %s", BPFFS_DEFAULT_MOUNT, strerror(errno));
		return -errno;
	}
	pr_debug("mounted bpffs on %s", BPFFS_DEFAULT_MOUNT);
	return 0;
}

/*
 * One loader at a time per pin directory, as xdp-tools locks its own. The
 * directory is checked again here, on the open fd (cmd_main() checked the
 * path before the command ran): one that appeared or was swapped since, by
 * someone else, is refused before anything is pinned into it or removed
 * from it. -ELOOP for a symlink, -EPERM for a foreign owner or group/world
 * write; the reason shows with --debug.
 */
int pin_dir_lock(void)
{
	int fd = open(opts.pin_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	char why[PATH_MAX + 64] = "cannot stat it";
	struct stat st;
	int err;

	if (fd < 0)
		return -errno;
	err = fstat(fd, &st) ? -errno : dp_pin_stat_check(&st, opts.pin_dir, why, sizeof(why));
	if (err)
		pr_debug("pin dir %s refused: %s", opts.pin_dir, why);
	if (!err && flock(fd, LOCK_EX))
		err = -errno;
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

void pin_dir_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

bool datapath_loaded(void)
{
	char path[PATH_MAX];

	return !pin_path(path, sizeof(path), PIN_PROGS_SUBDIR, PROG_XDP_INGRESS) &&
	       path_exists(path);
}

/* Detach a pinned link now (other fds, a running bpftool say, must not keep
 * it alive) and remove its pin. Missing pins are fine. */
void link_unpin(const char *path)
{
	int fd = bpf_obj_get(path);

	if (fd < 0)
		return;
	bpf_link_detach(fd);
	close(fd);
	unlink(path);
}
