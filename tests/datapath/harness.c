// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfport.h"
#include "bpfport.skel.h"
#include "harness.h"

static char libbpf_log[16384];
static size_t libbpf_log_len;

/* Kept, not printed: a passing run stays quiet. */
static int libbpf_keep(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	int n;

	if (level == LIBBPF_DEBUG || libbpf_log_len >= sizeof(libbpf_log) - 1)
		return 0;
	n = vsnprintf(libbpf_log + libbpf_log_len, sizeof(libbpf_log) - libbpf_log_len, fmt, ap);
	if (n > 0)
		libbpf_log_len += (size_t)n;
	if (libbpf_log_len > sizeof(libbpf_log) - 1)
		libbpf_log_len = sizeof(libbpf_log) - 1;
	return n;
}

const char *harness_libbpf_log(void)
{
	return libbpf_log;
}

bool harness_write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return false;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s);
}

struct bpfport *harness_load(char *why, size_t whylen)
{
	struct bpfport *skel;
	struct bpf_map *map;
	int err;

	libbpf_set_print(libbpf_keep);
	skel = bpfport__open();
	if (!skel) {
		snprintf(why, whylen, "bpfport__open: %s", strerror(errno));
		return NULL;
	}
	bpf_object__for_each_map(map, skel->obj)
		bpf_map__set_pin_path(map, NULL);
	err = bpfport__load(skel);
	if (err) {
		snprintf(why, whylen, "bpfport__load: %s", strerror(-err));
		bpfport__destroy(skel);
		return NULL;
	}
	return skel;
}

void harness_unpublish_all(int published_fd)
{
	__u64 zero = 0;

	for (__u32 i = 0; i < BPFPORT_PUBLISHED_WORDS; i++)
		bpf_map_update_elem(published_fd, &i, &zero, BPF_ANY);
}
