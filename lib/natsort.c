// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <string.h>

#include "natsort.h"

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

bool natural_less(const char *a, const char *b)
{
	size_t i = 0, j = 0, la = strlen(a), lb = strlen(b);

	while (i < la && j < lb) {
		bool da = is_digit(a[i]), db = is_digit(b[j]);
		size_t nz_a, nz_b, len_a, len_b;
		int c;

		if (da != db)
			return da; /* the non-digit run that ended first sorts first */
		if (!da) {
			if (a[i] != b[j])
				return (unsigned char)a[i] < (unsigned char)b[j];
			i++;
			j++;
			continue;
		}
		while (i < la && a[i] == '0')
			i++;
		while (j < lb && b[j] == '0')
			j++;
		nz_a = i;
		nz_b = j;
		while (i < la && is_digit(a[i]))
			i++;
		while (j < lb && is_digit(b[j]))
			j++;
		len_a = i - nz_a;
		len_b = j - nz_b;
		if (len_a != len_b)
			return len_a < len_b;
		c = memcmp(a + nz_a, b + nz_b, len_a);
		if (c)
			return c < 0;
		if (nz_a != nz_b)
			return nz_a < nz_b;
	}
	return la < lb;
}

int natural_cmp(const void *pa, const void *pb)
{
	const char *a = *(const char *const *)pa, *b = *(const char *const *)pb;

	if (natural_less(a, b))
		return -1;
	return natural_less(b, a) ? 1 : 0;
}
