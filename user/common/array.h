/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Arrays: their size, their growth, and a search in a sorted one. */
#ifndef TS_ARRAY_H
#define TS_ARRAY_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

/*
 * Growable arrays: *pp points to *cap elements, of which the caller uses
 * some count. Growth is geometric (doubling, from 8), so filling n
 * elements copies O(n) bytes in all: growing by one element copied the
 * whole array on each realloc that moved it, quadratic at a million
 * tasks. The pointer and capacity change only on success.
 */
int ts_array__reserve(void *pp, size_t *cap, size_t need, size_t elem_size);
void *ts_array__add(void *pp, size_t *n, size_t *cap, size_t elem_size);

/* Room for `need` elements of *pp: 0 or -ENOMEM. pp: the array pointer's address. */
#define ts_array_reserve(pp, capp, need) ts_array__reserve((pp), (capp), (need), sizeof(**(pp)))
/*
 * One more zeroed element at (*pp)[*np], *np incremented: the element, or
 * NULL when out of memory.
 */
#define ts_array_add(pp, np, capp) \
	((__typeof__(*(pp)))ts_array__add((pp), (np), (capp), sizeof(**(pp))))

/*
 * Lower bound in an array sorted by a u64 field: the index of the first
 * element whose key is >= key (n when none). One search for the symbol,
 * relocation, vtable, task and DWARF tables, all sorted by an address.
 */
static inline size_t ts_lower_bound_u64(const void *base, size_t n, size_t stride,
					size_t key_off, uint64_t key)
{
	const char *b = base;
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t k;

		memcpy(&k, b + mid * stride + key_off, sizeof(k));
		if (k < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* ts_lower_bound_u64 on arr[0..n) by arr[i].field, a 64-bit member (nested allowed). */
#define TS_LOWER_BOUND(arr, n, field, key)						\
	((void)sizeof(char[sizeof((arr)[0].field) == sizeof(uint64_t) ? 1 : -1]),	\
	 ts_lower_bound_u64((arr), (n), sizeof((arr)[0]),				\
			    offsetof(__typeof__((arr)[0]), field), (key)))

#endif
