/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A minimal unit-test harness printing the lines tests/run.sh counts:
 * "PASS name" or "FAIL name: why". A test is a function; CHECK records the
 * first failed condition and the test goes on, so one line per test.
 */
#ifndef BPFPORT_UNIT_H
#define BPFPORT_UNIT_H

#include <stddef.h>
#include <stdio.h>

extern const char *unit_failure;
extern char unit_failure_buf[512];

#define CHECK(cond, ...)                                                                   \
	do {                                                                               \
		if (!(cond) && !unit_failure) {                                            \
			snprintf(unit_failure_buf, sizeof(unit_failure_buf), __VA_ARGS__); \
			unit_failure = unit_failure_buf;                                   \
		}                                                                          \
	} while (0)

struct unit_test {
	const char *name;
	void (*fn)(void);
};

#define UNIT_TEST(fn)   \
	{               \
#fn, fn \
	}

/* Each test file exports its table; test_unit.c runs them all. */
struct unit_group {
	const struct unit_test *tests;
	size_t n;
};

extern const struct unit_group core_tests; /* test_unit.c */
extern const struct unit_group docker_tests; /* test_docker.c */
extern const struct unit_group state_tests; /* test_state.c */

/* A fresh directory for the run, removed at exit. */
const char *unit_tmpdir(void);

#endif /* BPFPORT_UNIT_H */
