/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The state file: the source of truth for bindings and attachments, from
 * which the maps are rebuilt after a reboot or unload. Plain text, one
 * record a line, so an operator can read and diff it:
 *
 *   bpfport-state 1
 *   config port-range=49000-49900 ct-timeout-tcp=432000 ...
 *   container id=web name=web ip=172.17.0.8 expose=80/tcp env=KEY=VALUE
 *   binding id=web proto=tcp host=0.0.0.0:80 container=172.17.0.8:8080 slot=0
 *   cursor addr=0.0.0.0 proto=tcp range=49000-49900 last=49003
 *   attach iface=eth0 mode=native
 *
 * Values are percent-encoded where they could hold spaces (env).
 *
 * Writers hold an exclusive flock on "<path>.lock" for the whole
 * read-modify-write, and replace the file atomically (temp file, fsync,
 * rename, fsync of the directory).
 */
#ifndef BPFPORT_STATE_H
#define BPFPORT_STATE_H

#include <stddef.h>

#include "binding.h"
#include "container.h"

#define STATE_DEFAULT_PATH "/var/lib/bpfport/state"
#define IFACE_NAME_MAX 16
#define MODE_NAME_MAX 16

struct attachment {
	char iface[IFACE_NAME_MAX];
	char mode[MODE_NAME_MAX];
};

/* The allocator's round-robin position for one address, protocol and range,
 * kept so that a released port is not handed out again until the pool wraps. */
struct alloc_cursor {
	__u8 family;
	__u8 proto;
	__u16 begin;
	__u16 end;
	__u16 last;
	struct bpfport_addr addr;
};

/* Dynamic host ports come from [begin, end]; 0-0 means the kernel's
 * ip_local_port_range ("auto"). */
#define PORT_RANGE_DEFAULT_BEGIN 49000
#define PORT_RANGE_DEFAULT_END 49900

/* Connection-tracking timeouts, in seconds (see bpfport.h for defaults). */
enum ct_timeout {
	CT_TIMEOUT_TCP,
	CT_TIMEOUT_TCP_CLOSE,
	CT_TIMEOUT_TCP_RST,
	CT_TIMEOUT_UDP,
	CT_TIMEOUT_COUNT,
};

extern const char *const ct_timeout_names[CT_TIMEOUT_COUNT];
#define CT_TIMEOUT_MAX (30 * 86400)
int ct_timeout_parse(const char *s, __u32 *out);

struct state {
	__u16 port_range_begin;
	__u16 port_range_end;
	__u32 ct_timeout[CT_TIMEOUT_COUNT];
	struct container *containers;
	size_t n_containers;
	struct binding *bindings;
	size_t n_bindings;
	struct alloc_cursor *cursors;
	size_t n_cursors;
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
/* Index of the container with exactly this ID, or -1. */
int state_container_index(const struct state *st, const char *id);
/* Appends a copy; returns its index or -errno. */
int state_add_container(struct state *st, const struct container *c);
/*
 * A container named the way Docker accepts: its ID, its name, one of its
 * addresses, or a unique prefix of its ID. Reports "No such container"
 * (or an ambiguous prefix) itself; returns the index or -1.
 */
int container_resolve(const struct state *st, const char *ref);
void state_remove_container(struct state *st, size_t idx);
struct alloc_cursor *state_cursor(struct state *st, __u8 family, const struct bpfport_addr *addr,
				  __u8 proto, __u16 begin, __u16 end);
void state_remove_binding(struct state *st, size_t idx);
/* Lowest counters slot no binding uses, or -ENOSPC. */
int state_free_slot(const struct state *st);

int state_set_attachment(struct state *st, const char *iface, const char *mode);
void state_remove_attachment(struct state *st, const char *iface);

#endif /* BPFPORT_STATE_H */
