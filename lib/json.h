/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A small streaming JSON writer, the one path for every -j output.
 * Keys are emitted in call order, so output is stable for scripts.
 */
#ifndef BPFPORT_JSON_H
#define BPFPORT_JSON_H

#include <stdint.h>
#include <stdio.h>

struct json_writer;

struct json_writer *jw_new(FILE *f);
/* Ends the document with a newline and frees the writer. */
void jw_destroy(struct json_writer *jw);

void jw_object_start(struct json_writer *jw);
void jw_object_end(struct json_writer *jw);
void jw_array_start(struct json_writer *jw);
void jw_array_end(struct json_writer *jw);
void jw_name(struct json_writer *jw, const char *name);
void jw_string(struct json_writer *jw, const char *s);
void jw_uint(struct json_writer *jw, uint64_t v);
void jw_bool(struct json_writer *jw, int v);

void jw_string_field(struct json_writer *jw, const char *name, const char *s);
void jw_uint_field(struct json_writer *jw, const char *name, uint64_t v);
void jw_bool_field(struct json_writer *jw, const char *name, int v);

#endif /* BPFPORT_JSON_H */
