/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <errno.h>
#include <stdlib.h>

#include "array.h"

#define TS_ARRAY_MIN_CAP	8

int ts_array__reserve(void *pp, size_t *cap, size_t need, size_t elem_size)
{
	size_t ncap = *cap;
	void *v, *nv;

	if (need <= *cap)
		return 0;
	if (ncap < TS_ARRAY_MIN_CAP)
		ncap = TS_ARRAY_MIN_CAP;
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	if (!elem_size || ncap > SIZE_MAX / elem_size)
		return -ENOMEM;
	/* pp is a T **: copied as bytes, the one way C lets void * stand for any T * */
	memcpy(&v, pp, sizeof(v));
	nv = realloc(v, ncap * elem_size);
	if (!nv)
		return -ENOMEM;
	memcpy(pp, &nv, sizeof(nv));
	*cap = ncap;
	return 0;
}

void *ts_array__add(void *pp, size_t *n, size_t *cap, size_t elem_size)
{
	char *v;

	if (*n == SIZE_MAX || ts_array__reserve(pp, cap, *n + 1, elem_size))
		return NULL;
	memcpy(&v, pp, sizeof(v));
	v += *n * elem_size;
	memset(v, 0, elem_size);
	(*n)++;
	return v;
}
