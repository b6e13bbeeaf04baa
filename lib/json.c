// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>

#include "json.h"

#define JW_MAX_DEPTH 32

struct json_writer {
	FILE *f;
	int depth;
	bool need_comma[JW_MAX_DEPTH];
	bool after_name;
};

struct json_writer *jw_new(FILE *f)
{
	struct json_writer *jw = calloc(1, sizeof(*jw));

	if (!jw)
		abort();
	jw->f = f;
	return jw;
}

void jw_destroy(struct json_writer *jw)
{
	fputc('\n', jw->f);
	fflush(jw->f);
	free(jw);
}

/* Separator before a value: a comma unless first in its container or after a name. */
static void jw_begin_value(struct json_writer *jw)
{
	if (jw->after_name) {
		jw->after_name = false;
		return;
	}
	if (jw->need_comma[jw->depth])
		fputc(',', jw->f);
	jw->need_comma[jw->depth] = true;
}

static void jw_open(struct json_writer *jw, char c)
{
	jw_begin_value(jw);
	fputc(c, jw->f);
	if (jw->depth < JW_MAX_DEPTH - 1)
		jw->depth++;
	jw->need_comma[jw->depth] = false;
}

static void jw_close(struct json_writer *jw, char c)
{
	if (jw->depth > 0)
		jw->depth--;
	fputc(c, jw->f);
}

void jw_object_start(struct json_writer *jw)
{
	jw_open(jw, '{');
}

void jw_object_end(struct json_writer *jw)
{
	jw_close(jw, '}');
}

void jw_array_start(struct json_writer *jw)
{
	jw_open(jw, '[');
}

void jw_array_end(struct json_writer *jw)
{
	jw_close(jw, ']');
}

static void jw_quoted(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

void jw_name(struct json_writer *jw, const char *name)
{
	jw_begin_value(jw);
	jw_quoted(jw->f, name);
	fputc(':', jw->f);
	jw->after_name = true;
}

void jw_string(struct json_writer *jw, const char *s)
{
	jw_begin_value(jw);
	jw_quoted(jw->f, s);
}

void jw_uint(struct json_writer *jw, uint64_t v)
{
	jw_begin_value(jw);
	fprintf(jw->f, "%" PRIu64, v);
}

void jw_bool(struct json_writer *jw, int v)
{
	jw_begin_value(jw);
	fputs(v ? "true" : "false", jw->f);
}

void jw_string_field(struct json_writer *jw, const char *name, const char *s)
{
	jw_name(jw, name);
	jw_string(jw, s);
}

void jw_uint_field(struct json_writer *jw, const char *name, uint64_t v)
{
	jw_name(jw, name);
	jw_uint(jw, v);
}

void jw_bool_field(struct json_writer *jw, const char *name, int v)
{
	jw_name(jw, name);
	jw_bool(jw, v);
}
