/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What both datapath test binaries (tests/datapath, tests/datapath_icmp)
 * share: a skeleton loaded with pinning off, libbpf's messages kept for
 * when something fails, and a small file writer for sysctls.
 *
 *   harness_load()       open and load the skeleton, no map pinned
 *   harness_libbpf_log() libbpf's warnings so far (show them on failure)
 *   harness_write_file() write a string to a file (a /proc/sys knob)
 *   harness_unpublish_all()  clear bp_published (published_set(), lib/published.h,
 *                            marks one port, as the CLI does for every binding)
 */
#ifndef BPFPORT_TEST_HARNESS_H
#define BPFPORT_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>

struct bpfport;

/* Returns the loaded skeleton, or NULL with the reason in why. */
struct bpfport *harness_load(char *why, size_t whylen);
const char *harness_libbpf_log(void);
bool harness_write_file(const char *path, const char *s);
void harness_unpublish_all(int published_fd);

#endif /* BPFPORT_TEST_HARNESS_H */
