/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Helpers shared by the libFuzzer targets (tests/fuzz/fuzz_*.c, `make fuzz`).
 *
 * The library reports errors on stderr (and in JSON mode on stdout), and
 * pr_err() has no level to turn it off with, so fuzz_quiet() points the C
 * library's stdout and stderr at /dev/null. libFuzzer took its own copy of
 * stderr before main() and the sanitizers write to descriptor 2 directly,
 * so their reports still show; fuzz_fail() writes to a copy of descriptor 2.
 */
#ifndef BPFPORT_FUZZ_H
#define BPFPORT_FUZZ_H

#include <dirent.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *fuzz_stderr;

static inline void fuzz_quiet(void)
{
	FILE *null = fopen("/dev/null", "w");
	int fd = dup(2);

	fuzz_stderr = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!null || !fuzz_stderr)
		abort();
	setvbuf(fuzz_stderr, NULL, _IONBF, 0);
	stdout = null;
	stderr = null;
}

/* A broken invariant: say which, and abort so libFuzzer keeps the input. */
__attribute__((noreturn, format(printf, 1, 2))) static inline void fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("fuzz invariant: ", fuzz_stderr);
	vfprintf(fuzz_stderr, fmt, ap);
	fputc('\n', fuzz_stderr);
	va_end(ap);
	abort();
}

/* The input up to its first NUL, as a C string in an allocation of exactly
 * that size (so ASan sees any read past its end). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	size_t n = strnlen((const char *)data, size);
	char *s = malloc(n + 1);

	if (!s)
		abort();
	memcpy(s, data, n);
	s[n] = '\0';
	return s;
}

/*
 * The input as command-line words separated by NUL bytes (as in
 * /proc/PID/cmdline): "a\0b" is two words, "" one empty word. Each word is
 * its own allocation; at most max words, the rest is dropped.
 */
static inline int fuzz_words(const uint8_t *data, size_t size, char **words, int max)
{
	size_t start = 0;
	int n = 0;

	for (size_t i = 0; i <= size && n < max; i++) {
		if (i < size && data[i])
			continue;
		words[n] = malloc(i - start + 1);
		if (!words[n])
			abort();
		memcpy(words[n], data + start, i - start);
		words[n][i - start] = '\0';
		n++;
		start = i + 1;
	}
	return n;
}

static inline void fuzz_words_free(char **words, int n)
{
	for (int i = 0; i < n; i++)
		free(words[i]);
}

/* The whole of a file, NUL-terminated (NULL if it cannot be read); caller frees. */
static inline char *fuzz_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t cap = 0, n;

	*len = 0;
	if (!f)
		return NULL;
	do {
		if (*len + 4096 + 1 > cap) {
			cap = 2 * cap + 4096 + 1;
			buf = realloc(buf, cap);
			if (!buf)
				abort();
		}
		n = fread(buf + *len, 1, 4096, f);
		*len += n;
	} while (n == 4096);
	fclose(f);
	buf[*len] = '\0';
	return buf;
}

/* A scratch directory: under $FUZZ_SCRATCH (tests/fuzz/run.sh sets it, and
 * removes it even after a crash), else in memory when /dev/shm is there
 * (state files are fsync'ed on every save), else under $TMPDIR or /tmp. */
static inline void fuzz_tmpdir(char *buf, size_t len)
{
	const char *base = getenv("FUZZ_SCRATCH");

	if (!base || !*base)
		base = access("/dev/shm", W_OK) ? getenv("TMPDIR") : "/dev/shm";

	snprintf(buf, len, "%s/bpfport-fuzz.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(buf)) {
		perror("mkdtemp");
		abort();
	}
}

/* Removes the scratch directory and the files in it (no subdirectories). */
static inline void fuzz_tmpdir_remove(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4096];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

#endif /* BPFPORT_FUZZ_H */
