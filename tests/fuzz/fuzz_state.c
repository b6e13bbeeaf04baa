// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The state file reader: the input is a state file, written to a regular
 * file in a scratch directory (the reader refuses symlinks such as
 * /proc/self/fd/N) and read with state_load(), state.h's public API.
 *
 * Checked beyond memory safety and leaks: what loads is a state the rest of
 * the code can rely on (valid IDs, every binding owned by a container, slots
 * and allow-lists in bounds, damaged lines kept as they were), and it
 * survives a save: once its damaged lines are set aside
 * (state_set_aside_damaged), state_save() writes it (inputs of 64 KiB and
 * more may be refused with -E2BIG, as documented: a record over the limits
 * once re-encoded), loading that file gives the same state again with no
 * damaged line, and saving that gives the same bytes again.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>

#include "addr.h"
#include "log.h"
#include "portspec.h"
#include "state.h"
#include "fuzz.h"

static char tmpdir[256], input_path[300], saved_path[300], again_path[300], aside_path[320];

/* Inputs this large may make a state the writer refuses, as documented (a
 * record's bytes or words over the limits once re-encoded); smaller ones never
 * come near the limits, so there a refusal is a writer/reader mismatch. */
#define FUZZ_SMALL_INPUT 65536
static int input_fd = -1;

static void cleanup(void)
{
	fuzz_tmpdir_remove(tmpdir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	log_init(LOG_ERR, false);
	fuzz_tmpdir(tmpdir, sizeof(tmpdir));
	snprintf(input_path, sizeof(input_path), "%s/input", tmpdir);
	snprintf(saved_path, sizeof(saved_path), "%s/state", tmpdir);
	snprintf(again_path, sizeof(again_path), "%s/again", tmpdir);
	snprintf(aside_path, sizeof(aside_path), "%s.damaged", saved_path);
	input_fd = open(input_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (input_fd < 0)
		abort();
	atexit(cleanup);
	return 0;
}

static void check_state(const struct state *st)
{
	if (st->port_range_begin ? st->port_range_end < st->port_range_begin :
				   st->port_range_end != 0)
		fuzz_fail("port range %u-%u", st->port_range_begin, st->port_range_end);
	for (int i = 0; i < CT_TIMEOUT_COUNT; i++)
		if (st->ct_timeout[i] > CT_TIMEOUT_MAX)
			fuzz_fail("%s=%u", ct_timeout_names[i], st->ct_timeout[i]);
	for (size_t i = 0; i < st->n_containers; i++) {
		const struct container *c = &st->containers[i];

		if (!id_is_valid(c->id) || (c->name[0] && !id_is_valid(c->name)))
			fuzz_fail("container %zu: id \"%.200s\" name \"%.200s\"", i, c->id,
				  c->name);
		if (state_container_index(st, c->id) != (int)i)
			fuzz_fail("container id %s twice", c->id);
		for (size_t j = 0; j < c->n_exposed; j++)
			if (!c->exposed[j].port || (c->exposed[j].proto != IPPROTO_TCP &&
						    c->exposed[j].proto != IPPROTO_UDP &&
						    c->exposed[j].proto != IPPROTO_SCTP_NUM))
				fuzz_fail("container %s exposes %u/%u", c->id, c->exposed[j].port,
					  c->exposed[j].proto);
		for (size_t j = 0; j < c->n_env; j++)
			if (!strchr(c->env[j], '='))
				fuzz_fail("container %s env \"%.200s\"", c->id, c->env[j]);
	}
	for (size_t i = 0; i < st->n_bindings; i++) {
		const struct binding *b = &st->bindings[i];

		if (!id_is_valid(b->id) || state_container_index(st, b->id) < 0)
			fuzz_fail("binding %zu: id \"%.200s\" without a container", i, b->id);
		if ((b->family != BPFPORT_AF_INET && b->family != BPFPORT_AF_INET6) ||
		    (b->proto != IPPROTO_TCP && b->proto != IPPROTO_UDP) || !b->host_port ||
		    !b->container_port || b->slot >= BPFPORT_MAX_BINDINGS ||
		    b->n_allow > BINDING_ALLOW_MAX)
			fuzz_fail("binding %zu: family %u proto %u ports %u %u slot %u allow %u", i,
				  b->family, b->proto, b->host_port, b->container_port, b->slot,
				  b->n_allow);
		for (size_t j = 0; j < b->n_allow; j++)
			if (b->allow[j].family != b->family)
				fuzz_fail("binding %zu: allow-list of another family", i);
	}
	for (size_t i = 0; i < st->n_cursors; i++) {
		const struct alloc_cursor *c = &st->cursors[i];

		if (!c->begin || c->end < c->begin)
			fuzz_fail("cursor %zu: range %u-%u", i, c->begin, c->end);
	}
	for (size_t i = 0; i < st->n_damaged; i++) {
		const struct state_damaged *d = &st->damaged[i];

		if (d->lineno < 2 || (i && d->lineno <= st->damaged[i - 1].lineno) || !d->text ||
		    d->text[d->len] || memchr(d->text, '\n', d->len) || !d->why[0])
			fuzz_fail("damaged line %zu (line %d)", i, d->lineno);
	}
	for (size_t i = 0; i < st->n_attachments; i++)
		if (!st->attachments[i].iface[0] ||
		    strnlen(st->attachments[i].iface, IFACE_NAME_MAX) == IFACE_NAME_MAX ||
		    strnlen(st->attachments[i].mode, MODE_NAME_MAX) == MODE_NAME_MAX)
			fuzz_fail("attachment %zu", i);
}

static bool container_equal(const struct container *a, const struct container *b)
{
	if (strcmp(a->id, b->id) || strcmp(a->name, b->name) || a->has_ip4 != b->has_ip4 ||
	    a->has_ip6 != b->has_ip6 || a->n_exposed != b->n_exposed || a->n_env != b->n_env)
		return false;
	if ((a->has_ip4 && !addr_equal(&a->ip4, &b->ip4)) ||
	    (a->has_ip6 && !addr_equal(&a->ip6, &b->ip6)))
		return false;
	for (size_t i = 0; i < a->n_exposed; i++)
		if (a->exposed[i].port != b->exposed[i].port ||
		    a->exposed[i].proto != b->exposed[i].proto)
			return false;
	for (size_t i = 0; i < a->n_env; i++)
		if (strcmp(a->env[i], b->env[i]))
			return false;
	return true;
}

static bool binding_equal(const struct binding *a, const struct binding *b)
{
	if (!binding_same(a, b) || strcmp(a->id, b->id) || a->slot != b->slot ||
	    a->reserved != b->reserved || a->n_allow != b->n_allow)
		return false;
	for (size_t i = 0; i < a->n_allow; i++)
		if (a->allow[i].family != b->allow[i].family ||
		    a->allow[i].prefixlen != b->allow[i].prefixlen ||
		    !addr_equal(&a->allow[i].addr, &b->allow[i].addr))
			return false;
	return true;
}

static void check_same(const struct state *a, const struct state *b)
{
	if (a->port_range_begin != b->port_range_begin || a->port_range_end != b->port_range_end ||
	    memcmp(a->ct_timeout, b->ct_timeout, sizeof(a->ct_timeout)))
		fuzz_fail("saved and loaded: config differs");
	if (a->n_containers != b->n_containers || a->n_bindings != b->n_bindings ||
	    a->n_cursors != b->n_cursors || a->n_attachments != b->n_attachments)
		fuzz_fail("saved and loaded: %zu/%zu containers, %zu/%zu bindings, %zu/%zu "
			  "cursors, %zu/%zu attachments",
			  a->n_containers, b->n_containers, a->n_bindings, b->n_bindings,
			  a->n_cursors, b->n_cursors, a->n_attachments, b->n_attachments);
	for (size_t i = 0; i < a->n_containers; i++)
		if (!container_equal(&a->containers[i], &b->containers[i]))
			fuzz_fail("saved and loaded: container %zu (%s) differs", i,
				  a->containers[i].id);
	for (size_t i = 0; i < a->n_bindings; i++)
		if (!binding_equal(&a->bindings[i], &b->bindings[i]))
			fuzz_fail("saved and loaded: binding %zu differs", i);
	for (size_t i = 0; i < a->n_cursors; i++) {
		const struct alloc_cursor *x = &a->cursors[i], *y = &b->cursors[i];

		if (x->family != y->family || x->proto != y->proto || x->begin != y->begin ||
		    x->end != y->end || x->last != y->last || !addr_equal(&x->addr, &y->addr))
			fuzz_fail("saved and loaded: cursor %zu differs", i);
	}
	for (size_t i = 0; i < a->n_attachments; i++)
		if (strcmp(a->attachments[i].iface, b->attachments[i].iface) ||
		    strcmp(a->attachments[i].mode, b->attachments[i].mode))
			fuzz_fail("saved and loaded: attachment %zu differs", i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state st, back;
	char *text, *again;
	size_t len, again_len;
	int err;

	if (ftruncate(input_fd, 0) || pwrite(input_fd, data, size, 0) != (ssize_t)size)
		abort();
	if (state_load(input_path, &st)) {
		/* state_load frees on failure; freeing an emptied state is harmless. */
		state_free(&st);
		return 0;
	}
	check_state(&st);
	if (st.n_damaged) {
		size_t n = st.n_damaged;

		err = state_set_aside_damaged(saved_path, &st);
		if (err != (int)n || st.n_damaged)
			fuzz_fail("setting %zu damaged lines aside: %d, %zu left", n, err,
				  st.n_damaged);
		unlink(aside_path);
	}
	err = state_save(saved_path, &st);
	if (err == -E2BIG && size >= FUZZ_SMALL_INPUT) {
		state_free(&st);
		return 0;
	}
	if (err)
		fuzz_fail("a state that loaded cannot be saved: %d", err);
	if (state_load(saved_path, &back))
		fuzz_fail("a saved state does not load");
	if (back.n_damaged)
		fuzz_fail("a saved state loads with %zu damaged lines, line %d: %s", back.n_damaged,
			  back.damaged[0].lineno, back.damaged[0].why);
	check_same(&st, &back);
	/* Saving what was loaded from a saved file writes the same bytes: this also
	 * covers fields check_same() does not know of. */
	if (state_save(again_path, &back))
		fuzz_fail("a state loaded from a saved file cannot be saved");
	text = fuzz_slurp(saved_path, &len);
	again = fuzz_slurp(again_path, &again_len);
	if (!text || !again)
		fuzz_fail("a saved file cannot be read");
	if (len != again_len || memcmp(text, again, len))
		fuzz_fail("saved twice, the files differ:\n%.2000s\n--- then ---\n%.2000s", text,
			  again);
	free(text);
	free(again);
	state_free(&back);
	state_free(&st);
	return 0;
}
