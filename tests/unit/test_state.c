// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The state file's hardening: the writer refuses what the reader cannot read
 * (limits shared in state.h), the reader skips a damaged line and keeps it,
 * files are private (0600 in a 0700 directory) and opened without following
 * symlinks or trusting another user's files. No kernel; some cases need root
 * (chown) and pass trivially without it.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "binding.h"
#include "container.h"
#include "state.h"
#include "unit.h"

/* buf (an array) := the run's temporary directory / name */
#define TMP(buf, name) snprintf(buf, sizeof(buf), "%s/%s", unit_tmpdir(), name)

static void put_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
}

/* The whole file, NUL-terminated (caller frees), or NULL. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	if (buf)
		len = fread(buf, 1, (size_t)n, f);
	fclose(f);
	if (buf)
		buf[len] = '\0';
	return buf;
}

static unsigned int mode_of(const char *path)
{
	struct stat sb;

	return stat(path, &sb) ? 0 : (unsigned int)(sb.st_mode & 07777);
}

/* A state with one binding, saved at path: what a failed save must leave. */
static void save_baseline(const char *path)
{
	struct state st = {};
	struct binding b;
	char err[ERRBUF_MAX];
	char *words[] = { "0.0.0.0:80", "->", "172.17.0.8:8080" };

	if (binding_parse_spec(3, words, &b, err, sizeof(err)))
		abort();
	snprintf(b.id, sizeof(b.id), "web");
	state_add_binding(&st, &b);
	if (state_save(path, &st))
		abort();
	state_free(&st);
}

/* Saving st must fail and leave the baseline file byte for byte. */
static bool save_refused(const char *path, const struct state *st)
{
	char *before = slurp(path), *after;
	bool ok;

	ok = state_save(path, st) != 0;
	after = slurp(path);
	ok = ok && before && after && !strcmp(before, after);
	free(before);
	free(after);
	return ok;
}

/* state_lock()'s result, the lock released if it was taken after all (a test
 * expecting a refusal must not hold it and block the next one). */
static int try_lock(const char *path)
{
	int fd = state_lock(path);

	if (fd >= 0)
		state_unlock(fd);
	return fd >= 0 ? 0 : fd;
}

/* An env value of 70,000 bytes was saved, and then no command could read the
 * file again (not even rm), nor could restore at boot. */
static void test_state_refuses_long_env(void)
{
	char path[512], err[512] = "";
	struct container c = {};
	struct state st = {}, back;
	size_t n = 70000;
	char *kv = malloc(n + 1);

	TMP(path, "long-env/state");
	save_baseline(path);
	memset(kv, 'v', n);
	memcpy(kv, "K=", 2);
	kv[n] = '\0';
	snprintf(c.id, sizeof(c.id), "big");
	container_set_env(&c, kv);
	state_add_container(&st, &c);
	CHECK(save_refused(path, &st), "a 70000-byte env entry was saved (or the file changed)");
	CHECK(state_container_check(&c, err, sizeof(err)) == -E2BIG && strstr(err, "65535"),
	      "state_container_check: \"%s\"", err);
	CHECK(!state_load(path, &back) && back.n_bindings == 1, "the old state does not load");
	state_free(&back);
	/* The largest entry the limit allows goes through, and reads back. */
	kv[STATE_VALUE_MAX] = '\0';
	container_set_env(&st.containers[0], kv);
	CHECK(!state_save(path, &st), "an env entry of STATE_VALUE_MAX bytes was refused");
	CHECK(!state_load(path, &back) && back.n_containers == 1 && back.containers[0].n_env == 1 &&
		      strlen(back.containers[0].env[0]) == STATE_VALUE_MAX && !back.n_damaged,
	      "an env entry of STATE_VALUE_MAX bytes did not read back");
	state_free(&back);
	container_free(&c);
	state_free(&st);
	free(kv);
}

/* Non-consecutive exposed ports take one word each: past STATE_WORDS_MAX words
 * the record was saved and the reader refused the whole file. */
static void test_state_refuses_too_many_words(void)
{
	char path[512], err[512] = "";
	/* "container", "id=w" and the ports: exactly STATE_WORDS_MAX words. */
	size_t fits = STATE_WORDS_MAX - 2;
	struct container c = {};
	struct state st = {}, back;

	TMP(path, "words/state");
	save_baseline(path);
	snprintf(c.id, sizeof(c.id), "w");
	for (size_t i = 0; i < fits; i++)
		container_expose(&c, (__u16)(1 + 2 * i), 6);
	state_add_container(&st, &c);
	CHECK(!state_save(path, &st), "a record of exactly STATE_WORDS_MAX words was refused");
	CHECK(!state_load(path, &back) && back.n_containers == 1 &&
		      back.containers[0].n_exposed == fits && !back.n_damaged,
	      "a record of STATE_WORDS_MAX words did not read back");
	state_free(&back);
	/* One more non-consecutive port: 16,383 words plus the two. */
	container_expose(&st.containers[0], (__u16)(1 + 2 * fits), 6);
	CHECK(save_refused(path, &st), "a record over STATE_WORDS_MAX words was saved");
	CHECK(state_container_check(&st.containers[0], err, sizeof(err)) == -E2BIG &&
		      strstr(err, "16384") && strstr(err, "words"),
	      "state_container_check: \"%s\"", err);
	container_free(&c);
	state_free(&st);
}

/* Values are written percent-encoded: entries under STATE_VALUE_MAX can still
 * make a record longer than STATE_LINE_MAX. */
static void test_state_refuses_long_record(void)
{
	char path[512], err[512] = "";
	size_t n = 60000;
	struct container c = {};
	struct state st = {};
	char *kv = malloc(n + 1);

	TMP(path, "bytes/state");
	save_baseline(path);
	snprintf(c.id, sizeof(c.id), "spaces");
	memset(kv, ' ', n); /* each written as %20 */
	kv[n] = '\0';
	for (int i = 0; i < 8; i++) {
		kv[0] = (char)('A' + i);
		kv[1] = '=';
		container_set_env(&c, kv);
	}
	state_add_container(&st, &c);
	CHECK(save_refused(path, &st), "a record of about 1.4 MB was saved");
	CHECK(state_container_check(&c, err, sizeof(err)) == -E2BIG && strstr(err, "1048576"),
	      "state_container_check: \"%s\"", err);
	container_free(&c);
	state_free(&st);
	free(kv);
}

/*
 * A damaged line is skipped and kept with its number; the rest reads as
 * usual. A command that saves must not drop it silently: saving refuses, until
 * the lines are set aside (verbatim) in STATE.damaged.
 */
static void test_state_damaged_lines(void)
{
	char path[512], dir[512], aside[600], *text;
	struct state st;
	int n;

	TMP(dir, "damaged");
	TMP(path, "damaged/state");
	mkdir(dir, 0700);
	put_file(path, "bpfport-state 1\n"
		       "container id=web name=www ip=172.17.0.8 env=A=1\n"
		       "binding id=web proto=tcp host=0.0.0.0:81 container=172.17.0.8:80 slot=x\n"
		       "binding id=web proto=tcp host=0.0.0.0:80 container=172.17.0.8:80 slot=0\n"
		       "frobnicate all=yes\n"
		       "attach iface=eth0 mode=tc\n");
	CHECK(!state_load(path, &st), "a file with damaged lines was refused whole");
	CHECK(st.n_bindings == 1 && st.n_containers == 1 && st.n_attachments == 1 &&
		      !strcmp(st.containers[0].name, "www") && st.containers[0].n_env == 1,
	      "readable records lost: %zu bindings %zu containers %zu attachments", st.n_bindings,
	      st.n_containers, st.n_attachments);
	CHECK(st.n_damaged == 2 && st.damaged[0].lineno == 3 && st.damaged[1].lineno == 5 &&
		      !strcmp(st.damaged[1].text, "frobnicate all=yes") &&
		      strstr(st.damaged[0].why, "slot") && strstr(st.damaged[1].why, "frobnicate"),
	      "damaged lines not kept as read");
	CHECK(save_refused(path, &st), "saving dropped the damaged lines");
	state_free(&st);
	CHECK(state_load_for_update(path, &st) == -EUCLEAN, "load for update accepted it");

	CHECK(!state_load(path, &st), "reload failed");
	n = state_set_aside_damaged(path, &st);
	CHECK(n == 2 && st.n_damaged == 0, "set aside returned %d", n);
	CHECK(!state_save(path, &st), "save after setting aside failed");
	state_free(&st);
	snprintf(aside, sizeof(aside), "%s.damaged", path);
	text = slurp(aside);
	CHECK(text &&
		      strstr(text, "\nbinding id=web proto=tcp host=0.0.0.0:81 container="
				   "172.17.0.8:80 slot=x\n") &&
		      strstr(text, "\nfrobnicate all=yes\n") && strstr(text, "line 5"),
	      "STATE.damaged lacks the lines as read (%zu bytes)", text ? strlen(text) : 0);
	free(text);
	CHECK(mode_of(aside) == 0600, "STATE.damaged mode %o", mode_of(aside));
	CHECK(!state_load_for_update(path, &st) && st.n_bindings == 1 && st.n_attachments == 1,
	      "repaired state does not load for update");
	state_free(&st);
}

/* The file holds --env values: 0600 in a 0700 directory, created so and fixed
 * on the next write (older versions wrote 0644 in 0755). */
static void test_state_modes(void)
{
	char dir[512], path[512], shared[512], other[512], unrelated[512], lock[600];
	int fd;

	TMP(dir, "modes/bpfport");
	TMP(path, "modes/bpfport/state");
	TMP(shared, "shared");
	TMP(other, "shared/state");
	TMP(unrelated, "shared/unrelated");
	save_baseline(path);
	CHECK(mode_of(dir) == 0700 && mode_of(path) == 0600, "created as %o/%o", mode_of(dir),
	      mode_of(path));
	snprintf(lock, sizeof(lock), "%s.lock", path);
	state_unlock(state_lock(path));
	chmod(lock, 0644);
	fd = state_lock(path);
	CHECK(fd >= 0 && mode_of(lock) == 0600, "lock file mode %o", mode_of(lock));
	state_unlock(fd);
	chmod(dir, 0755);
	chmod(path, 0644);
	save_baseline(path);
	CHECK(mode_of(dir) == 0700 && mode_of(path) == 0600, "not fixed on write: %o/%o",
	      mode_of(dir), mode_of(path));
	/* A directory that holds other files is not ours to change; the file is. */
	mkdir(shared, 0755);
	chmod(shared, 0755);
	put_file(unrelated, "x\n");
	save_baseline(other);
	CHECK(mode_of(shared) == 0755 && mode_of(other) == 0600, "shared dir: %o/%o",
	      mode_of(shared), mode_of(other));
}

/* Symlinks are never followed: not as the state file, not as the lock. */
static void test_state_refuses_symlinks(void)
{
	char dir[512], real[512], path[512], victim[512], lock[600], *before, *after = NULL;
	struct state st;

	TMP(dir, "links");
	TMP(real, "links/real");
	TMP(path, "links/state");
	TMP(victim, "links/victim");
	mkdir(dir, 0700);
	save_baseline(real);
	symlink(real, path);
	CHECK(state_load(path, &st) == -ELOOP, "a symlinked state file was read");
	before = slurp(real);
	save_baseline(real); /* same content: only the link must stay */
	st = (struct state){};
	CHECK(state_save(path, &st) && (after = slurp(real)) && !strcmp(before, after),
	      "state_save wrote through a symlink");
	free(before);
	free(after);
	unlink(path);
	snprintf(lock, sizeof(lock), "%s.lock", path);
	symlink(victim, lock);
	CHECK(try_lock(path) < 0, "a symlinked lock file was taken");
	CHECK(access(victim, F_OK) && errno == ENOENT, "the lock's symlink target was created");
}

/*
 * The temporary file had a predictable name (STATE.tmp.PID) and was opened
 * with O_CREAT|O_TRUNC: a symlink planted there made the save truncate and
 * overwrite its target. The child saves once the parent has planted one
 * under the child's PID.
 */
static void test_state_tmp_unpredictable(void)
{
	char dir[512], path[512], victim[512];
	char planted[600], go;
	int pipefd[2], status = 0;
	struct stat sb;
	pid_t pid;
	char *text;

	TMP(dir, "tmp");
	TMP(path, "tmp/state");
	TMP(victim, "tmp/victim");
	mkdir(dir, 0700);
	put_file(victim, "precious\n");
	if (pipe(pipefd))
		abort();
	pid = fork();
	if (pid == 0) {
		close(pipefd[1]);
		if (read(pipefd[0], &go, 1) != 1)
			_exit(2);
		save_baseline(path);
		_exit(0);
	}
	close(pipefd[0]);
	snprintf(planted, sizeof(planted), "%s.tmp.%d", path, (int)pid);
	symlink(victim, planted);
	go = 1;
	if (write(pipefd[1], &go, 1) != 1)
		abort();
	close(pipefd[1]);
	waitpid(pid, &status, 0);
	text = slurp(victim);
	CHECK(text && !strcmp(text, "precious\n"),
	      "the planted symlink's target was overwritten (now %zu bytes)",
	      text ? strlen(text) : 0);
	CHECK(!lstat(path, &sb) && S_ISREG(sb.st_mode), "the state file is not a regular file");
	free(text);
	unlink(planted);
}

/* Root trusts only root's files: another user's state, lock or directory
 * could say anything. */
static void test_state_refuses_other_owner(void)
{
	char dir[512], path[512], unrelated[512], lock[600];
	struct state st;
	int fd;

	if (geteuid() != 0)
		return; /* chown needs root */
	TMP(dir, "owner");
	TMP(path, "owner/state");
	TMP(unrelated, "owner/unrelated");
	mkdir(dir, 0700);
	save_baseline(path);
	snprintf(lock, sizeof(lock), "%s.lock", path);
	put_file(lock, "");
	if (chown(path, 65534, 65534))
		abort();
	CHECK(state_load(path, &st) == -EPERM, "another user's state file was read");
	if (chown(path, 0, 0) || chown(lock, 65534, 65534))
		abort();
	CHECK(try_lock(path) == -EPERM, "another user's lock file was taken");
	if (chown(lock, 0, 0) || chown(dir, 65534, 65534))
		abort();
	CHECK(try_lock(path) == -EPERM, "a directory of another user was trusted");
	if (chown(dir, 0, 0))
		abort();
	/* Not only our files in it: its mode is not ours to fix, so it is refused. */
	put_file(unrelated, "");
	chmod(dir, 0777);
	CHECK(try_lock(path) == -EPERM, "a directory anyone may write to was trusted");
	chmod(dir, 01777);
	fd = state_lock(path);
	CHECK(fd >= 0, "a sticky directory (as /tmp) was refused");
	state_unlock(fd);
	chmod(dir, 0700);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_state_refuses_long_env),
	UNIT_TEST(test_state_refuses_too_many_words),
	UNIT_TEST(test_state_refuses_long_record),
	UNIT_TEST(test_state_damaged_lines),
	UNIT_TEST(test_state_modes),
	UNIT_TEST(test_state_refuses_symlinks),
	UNIT_TEST(test_state_tmp_unpredictable),
	UNIT_TEST(test_state_refuses_other_owner),
};

const struct unit_group state_tests = { tests, sizeof(tests) / sizeof(tests[0]) };
