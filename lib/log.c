// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdarg.h>
#include <stdio.h>

#include <bpf/libbpf.h>

#include "json.h"
#include "log.h"

static enum log_level log_level = LOG_INFO;
static bool log_json_mode;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* Even libbpf's warnings wait for --debug: we report failures ourselves. */
	if (log_level < LOG_DEBUG)
		return 0;
	(void)level;
	return vfprintf(stderr, fmt, ap);
}

void log_init(enum log_level level, bool json)
{
	log_level = level;
	log_json_mode = json;
	libbpf_set_print(libbpf_print);
}

void log_set_json(bool json)
{
	log_json_mode = json;
}

bool log_json(void)
{
	return log_json_mode;
}

void pr_err(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_json_mode) {
		struct json_writer *jw = jw_new(stdout);

		jw_object_start(jw);
		jw_string_field(jw, "error", msg);
		jw_object_end(jw);
		jw_destroy(jw);
		return;
	}
	fprintf(stderr, "Error: %s\n", msg);
}

static void vlog(enum log_level level, const char *prefix, const char *fmt, va_list ap)
{
	if (level > log_level)
		return;
	fputs(prefix, stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void pr_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARN, "Warning: ", fmt, ap);
	va_end(ap);
}

void pr_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, "", fmt, ap);
	va_end(ap);
}

void pr_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_DEBUG, "debug: ", fmt, ap);
	va_end(ap);
}
