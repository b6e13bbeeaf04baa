/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The state file: the source of truth for bindings and attachments, from
 * which the maps are rebuilt after a reboot or unload. Plain text, one
 * record a line, so an operator can read and diff it:
 *
 *   bpfport-state 1
 *   config port-range=49000-49900 ct-timeout-tcp=432000 ... direct-access=drop
 *   container id=web name=web ip=172.17.0.8 expose=80/tcp env=KEY=VALUE
 *   binding id=web proto=tcp host=0.0.0.0:80 container=172.17.0.8:8080 slot=0
 *   cursor addr=0.0.0.0 proto=tcp range=49000-49900 last=49003
 *   attach iface=eth0 mode=native
 *
 * Values are percent-encoded where they could hold spaces (env).
 *
 * Writers hold an exclusive flock on "<path>.lock" for the whole
 * read-modify-write, and replace the file atomically (a temp file of a
 * unique name in the same directory, fsync, rename, fsync of the directory).
 * The file holds --env values: it is written 0600 in a 0700 directory, and
 * the state file, its lock and temp files are opened without following
 * symlinks and refused when another user (than root or the caller) owns them.
 *
 * A damaged line (one the reader cannot use) is skipped with a warning naming
 * its number, so readers and the loader's restore still get every readable
 * record; commands that change the state refuse such a file (see
 * state_load_for_update) rather than drop the lines, until they are fixed or
 * set aside (state_set_aside_damaged, `bpfport repair`).
 */
#ifndef BPFPORT_STATE_H
#define BPFPORT_STATE_H

#include <stddef.h>

#include "binding.h"
#include "container.h"

#define STATE_DEFAULT_PATH "/var/lib/bpfport/state"

/*
 * Limits of the state file, shared by its writer, its reader and the CLI's
 * input checks: what the reader cannot read back is never written.
 *
 *   STATE_LINE_MAX   bytes of one record, its newline included, stay under
 *                    this (as version 1 readers have always required)
 *   STATE_WORDS_MAX  words of one record; a container's are its ID, name,
 *                    addresses, each run of consecutive exposed ports (of one
 *                    protocol, in the order they were exposed) and each env
 *                    entry
 *   STATE_VALUE_MAX  bytes of one env entry, KEY=VALUE as given (written
 *                    percent-encoded: up to three times as long)
 */
#define STATE_LINE_MAX (1 << 20)
#define STATE_WORDS_MAX 16384
#define STATE_VALUE_MAX 65535
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

/* A line the reader skipped: kept, so that nothing is lost without a word. */
struct state_damaged {
	int lineno;
	char *text; /* the line as read, without its newline */
	size_t len;
	char why[192];
};

struct state {
	__u16 port_range_begin;
	__u16 port_range_end;
	__u32 ct_timeout[CT_TIMEOUT_COUNT];
	bool direct_access_allow; /* `config set direct-access allow` (default drop) */
	struct container *containers;
	size_t n_containers;
	struct binding *bindings;
	size_t n_bindings;
	struct alloc_cursor *cursors;
	size_t n_cursors;
	struct attachment *attachments;
	size_t n_attachments;
	struct state_damaged *damaged; /* lines skipped by the reader */
	size_t n_damaged;
};

/*
 * Takes the lock, creating the state directory (0700) if needed; returns an
 * fd or -errno. Errors are reported here: a symlink or a file of another
 * user as the lock, or a state directory others may write to (-EPERM).
 */
int state_lock(const char *path);
void state_unlock(int lock_fd);

/*
 * A missing file is an empty state. A damaged line is skipped with a warning
 * naming its number and what is wrong, and kept in st->damaged; the whole
 * file is refused only when it cannot be read or is not a version 1 state
 * file. Errors are reported here.
 */
int state_load(const char *path, struct state *st);
/*
 * For commands that change the state: state_load(), then a file with
 * damaged lines is refused (-EUCLEAN, reported here), since saving would
 * drop them.
 */
int state_load_for_update(const char *path, struct state *st);
/*
 * Writes the state, refusing (-E2BIG or -EUCLEAN, reported here, the file
 * untouched) what state_load() could not read back whole, and a state that
 * still carries damaged lines.
 */
int state_save(const char *path, const struct state *st);
/*
 * Appends st's damaged lines to "<path>.damaged" (0600), each after a comment
 * with its line number and what was wrong, synced; then forgets them, so that
 * state_save() may write the rest. Returns how many, or -errno (reported).
 */
int state_set_aside_damaged(const char *path, struct state *st);
void state_free(struct state *st);

/*
 * Whether a container's record fits the state file's limits (env entries,
 * words and bytes of the record); if not, -E2BIG and a one-line message
 * naming the limit in err.
 */
int state_container_check(const struct container *c, char *err, size_t errlen);

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
/* The ID of the binding on a counters slot, "-" if none (st may be NULL). */
const char *state_slot_id(const struct state *st, __u32 slot);
/* Lowest counters slot no binding uses, or -ENOSPC. */
int state_free_slot(const struct state *st);

int state_set_attachment(struct state *st, const char *iface, const char *mode);
void state_remove_attachment(struct state *st, const char *iface);

#endif /* BPFPORT_STATE_H */
