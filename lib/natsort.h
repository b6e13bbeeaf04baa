/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Natural order as docker/cli sorts `docker port` output (fvbommel/sortorder
 * NaturalLess): digit runs compare as numbers, so "80" < "443" < "8080",
 * with fewer leading zeros first on a tie; everything else bytewise.
 */
#ifndef BPFPORT_NATSORT_H
#define BPFPORT_NATSORT_H

#include <stdbool.h>

bool natural_less(const char *a, const char *b);
/* qsort comparator over an array of char *. */
int natural_cmp(const void *a, const void *b);

#endif /* BPFPORT_NATSORT_H */
