/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The command line docker-proxy takes (Go flag syntax), plus bpfport-proxy's
 * own -cleanup, -dry-run, -log and -udp-timeout. Also used on other proxies'
 * /proc/PID/cmdline to learn which binding a running proxy serves.
 */
#ifndef BPFPORT_PROXY_ARGS_H
#define BPFPORT_PROXY_ARGS_H

#include "proxy.h"

/* docker-proxy's UDPConnTrackTimeout: a client's relay socket idle this long goes. */
#define PROXY_UDP_TIMEOUT_MS 90000

struct proxy_args {
	struct proxy_binding b;
	bool have_host_port;
	bool have_container_port;
	bool use_listen_fd;
	bool version;
	bool help;
	bool cleanup;
	bool dry_run;
	const char *log;
	unsigned int udp_timeout_ms;
};

void proxy_args_init(struct proxy_args *a);
/* 0, or -EINVAL with the message in err (as Go's flag package words it). */
int proxy_args_parse(int argc, char **argv, struct proxy_args *a, char *err, size_t len);
int proxy_args_check(const struct proxy_args *a, char *err, size_t len);

#endif /* BPFPORT_PROXY_ARGS_H */
