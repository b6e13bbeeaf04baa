/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The state file: the source of truth for bindings and attachments, from
 * which the maps are rebuilt after a reboot or unload. Plain text, one
 * record a line, so an operator can read and diff it:
 *
 *   bpfport-state 1
 *   binding id=web proto=tcp host=0.0.0.0:80 container=172.17.0.8:8080 slot=0
 *   attach iface=eth0 mode=native
 *
 * Writers hold an exclusive flock on "<path>.lock" for the whole
 * read-modify-write, and replace the file atomically (temp file, fsync,
 * rename, fsync of the directory).
 */
#ifndef BPFPORT_STATE_H
#define BPFPORT_STATE_H

#include <stddef.h>

#include "binding.h"

#define STATE_DEFAULT_PATH "/var/lib/bpfport/state"
#define IFACE_NAME_MAX 16
#define MODE_NAME_MAX 16

struct attachment {
	char iface[IFACE_NAME_MAX];
	char mode[MODE_NAME_MAX];
};

struct state {
	struct binding *bindings;
	size_t n_bindings;
	struct attachment *attachments;
	size_t n_attachments;
};

/* Takes the lock, creating the state directory if needed; returns an fd or -errno. */
int state_lock(const char *path);
void state_unlock(int lock_fd);

/* A missing file is an empty state. Errors are reported here, with the line. */
int state_load(const char *path, struct state *st);
int state_save(const char *path, const struct state *st);
void state_free(struct state *st);

int state_add_binding(struct state *st, const struct binding *b);
void state_remove_binding(struct state *st, size_t idx);
/* Lowest counters slot no binding uses, or -ENOSPC. */
int state_free_slot(const struct state *st);

int state_set_attachment(struct state *st, const char *iface, const char *mode);
void state_remove_attachment(struct state *st, const char *iface);

#endif /* BPFPORT_STATE_H */
