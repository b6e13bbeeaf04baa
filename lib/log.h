/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Messages for both tools. Errors go to stderr as "Error: ..." (or
 * {"error": "..."} on stdout in JSON mode, as bpftool does), once, from the
 * level that knows what the user asked for. libbpf's own output is routed
 * through pr_debug() so it shows only with --debug.
 */
#ifndef BPFPORT_LOG_H
#define BPFPORT_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_ERR,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
};

void log_init(enum log_level level, bool json);
bool log_json(void);
/* Switch errors to JSON (a command's own -j), keeping the log level. */
void log_set_json(bool json);

void pr_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pr_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pr_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pr_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* BPFPORT_LOG_H */
