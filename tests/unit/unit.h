/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A minimal unit-test harness printing the lines tests/run.sh counts:
 * "PASS name" or "FAIL name: why". A test is a function; CHECK records the
 * first failed condition and the test goes on, so one line per test.
 */
#ifndef BPFPORT_UNIT_H
#define BPFPORT_UNIT_H

#include <stdio.h>

extern const char *unit_failure;
extern char unit_failure_buf[512];

#define CHECK(cond, ...)                                                                   \
	do {                                                                               \
		if (!(cond) && !unit_failure) {                                            \
			snprintf(unit_failure_buf, sizeof(unit_failure_buf), __VA_ARGS__);  \
			unit_failure = unit_failure_buf;                                   \
		}                                                                          \
	} while (0)

struct unit_test {
	const char *name;
	void (*fn)(void);
};

#define UNIT_TEST(fn) { #fn, fn }


#endif /* BPFPORT_UNIT_H */
