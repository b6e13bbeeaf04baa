// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The config setter: `bpfport config set KEY VALUE`, run through the CLI's
 * own cmd_config() (cli/show.c) on a state file in a scratch directory.
 * KEY and VALUE come from the input: split at its first NUL byte if it has
 * one, else at its first space ("port-range 49000-49900"); VALUE ends at the
 * next NUL.
 *
 * Each run starts from the same small state file (a container, a binding, a
 * cursor, an attachment), as state_save() writes it. The pin directory does
 * not exist, so no datapath is ever touched. Checked beyond memory safety and
 * leaks:
 *   - a refused setting (exit 2) leaves the file byte for byte as it was;
 *   - an accepted one (exit 0) leaves a file that loads without a damaged
 *     line, whose lines other than "config" are unchanged, and which holds
 *     the value asked for (port-range and ct-timeout-*; other keys, such as
 *     direct-access, only the rest);
 *   - setting it again succeeds and writes the same bytes;
 *   - exit 1 (lock, load or save failed) never happens here.
 */
#include <errno.h>
#include <fcntl.h>

#include "cli.h"
#include "log.h"
#include "portspec.h"
#include "state.h"
#include "fuzz.h"

static const char initial[] =
	"bpfport-state 1\n"
	"container id=web name=web ip=172.17.0.8 expose=80/tcp env=KEY=VALUE\n"
	"binding id=web proto=tcp host=0.0.0.0:80 container=172.17.0.8:8080 slot=0\n"
	"cursor addr=0.0.0.0 proto=tcp range=49000-49900 last=49003\n"
	"attach iface=eth0 mode=native\n";

static char tmpdir[256], state_path[300], pin_dir[300];
/* The initial state as state_save() writes it, and loaded. */
static char *canonical;
static size_t canonical_len;
static struct state before;

static void cleanup(void)
{
	state_free(&before);
	free(canonical);
	fuzz_tmpdir_remove(tmpdir);
}

static void write_file(const char *text, size_t len)
{
	int fd = open(state_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		abort();
	close(fd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	log_init(LOG_ERR, false);
	fuzz_tmpdir(tmpdir, sizeof(tmpdir));
	snprintf(state_path, sizeof(state_path), "%s/state", tmpdir);
	snprintf(pin_dir, sizeof(pin_dir), "%s/no-such-pin-dir", tmpdir);
	/* Belt and braces: nothing may fall back to the machine's own state or pins. */
	setenv("BPFPORT_STATE", state_path, 1);
	setenv("BPFPORT_PIN_DIR", pin_dir, 1);
	atexit(cleanup);
	write_file(initial, sizeof(initial) - 1);
	if (state_load(state_path, &before) || before.n_damaged || before.n_containers != 1 ||
	    before.n_bindings != 1 || before.n_cursors != 1 || before.n_attachments != 1 ||
	    state_save(state_path, &before))
		fuzz_fail("the initial state file does not load and save: has the format changed?");
	canonical = fuzz_slurp(state_path, &canonical_len);
	if (!canonical)
		fuzz_fail("cannot read %s", state_path);
	return 0;
}

static int timeout_index(const char *key)
{
	for (int i = 0; i < CT_TIMEOUT_COUNT; i++)
		if (!strcmp(key, ct_timeout_names[i]))
			return i;
	return -1;
}

/* The text without its "config ..." line(s), into out (as large as text). */
static void drop_config_lines(const char *text, char *out)
{
	while (*text) {
		size_t n = strcspn(text, "\n");

		n += text[n] == '\n';
		if (strncmp(text, "config ", 7)) {
			memcpy(out, text, n);
			out += n;
		}
		text += n;
	}
	*out = '\0';
}

/* After "config set key value" succeeded: the file has exactly that change. */
static void check_accepted(const char *key, const char *value, const char *text)
{
	char *rest = malloc(strlen(text) + 1), *was = malloc(canonical_len + 1);
	int idx = timeout_index(key);
	__u16 begin = 0, end = 0;
	struct state st;
	__u32 timeout;

	if (!rest || !was)
		abort();
	if (state_load(state_path, &st))
		fuzz_fail("config set %s \"%s\" left a state file that does not load", key, value);
	if (st.n_damaged)
		fuzz_fail("config set %s \"%s\" left a damaged line %d: %s", key, value,
			  st.damaged[0].lineno, st.damaged[0].why);
	drop_config_lines(text, rest);
	drop_config_lines(canonical, was);
	if (strcmp(rest, was))
		fuzz_fail("config set %s \"%s\" changed other records:\n%s", key, value, text);
	if (idx >= 0) {
		if (ct_timeout_parse(value, &timeout) || !timeout)
			fuzz_fail("config set %s \"%s\" accepted a value the reader refuses", key,
				  value);
		if (st.ct_timeout[idx] != timeout)
			fuzz_fail("config set %s \"%s\" stored %u", key, value, st.ct_timeout[idx]);
	} else if (!strcmp(key, "port-range")) {
		if (strcmp(value, "auto") &&
		    (port_range_parse(value, &begin, &end) || !begin || end <= begin))
			fuzz_fail("config set port-range \"%s\" accepted a bad range", value);
		if (st.port_range_begin != begin || st.port_range_end != end)
			fuzz_fail("config set port-range \"%s\" stored %u-%u", value,
				  st.port_range_begin, st.port_range_end);
	}
	for (int i = 0; i < CT_TIMEOUT_COUNT; i++)
		if (i != idx && st.ct_timeout[i] != before.ct_timeout[i])
			fuzz_fail("config set %s \"%s\" changed %s", key, value,
				  ct_timeout_names[i]);
	if (strcmp(key, "port-range") && (st.port_range_begin != before.port_range_begin ||
					  st.port_range_end != before.port_range_end))
		fuzz_fail("config set %s \"%s\" changed port-range", key, value);
	state_free(&st);
	free(rest);
	free(was);
}

static int config_set(char *key, char *value)
{
	char *argv[] = { "config", "set", key, value, NULL };

	/* What cmd_main would have set up; "-j" among the words switches to JSON. */
	opts.state_path = state_path;
	opts.pin_dir = pin_dir;
	opts.json = false;
	log_set_json(false);
	return cmd_config(4, argv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const void *nul = memchr(data, '\0', size);
	const void *sep = nul ? nul : memchr(data, ' ', size);
	size_t klen = sep ? (size_t)((const uint8_t *)sep - data) : size, len, len2;
	char *key, *value, *text, *again;
	int rc;

	key = fuzz_cstr(data, klen);
	value = sep ? fuzz_cstr(data + klen + 1, size - klen - 1) : fuzz_cstr(data, 0);
	write_file(canonical, canonical_len);

	rc = config_set(key, value);
	text = fuzz_slurp(state_path, &len);
	if (!text)
		fuzz_fail("config set %s \"%s\": the state file is gone", key, value);
	if (rc == EXIT_USAGE) {
		if (len != canonical_len || memcmp(text, canonical, len))
			fuzz_fail("config set %s \"%s\" was refused but changed the state file",
				  key, value);
	} else if (rc == EXIT_OK) {
		check_accepted(key, value, text);
		rc = config_set(key, value);
		again = fuzz_slurp(state_path, &len2);
		if (rc != EXIT_OK || !again || len2 != len || memcmp(again, text, len))
			fuzz_fail("config set %s \"%s\" twice: exit %d, and another file", key,
				  value, rc);
		free(again);
	} else {
		fuzz_fail("config set %s \"%s\": exit %d on a writable state file", key, value, rc);
	}
	free(text);
	free(key);
	free(value);
	return 0;
}
