/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Map helpers shared by the BPF programs. */
#ifndef TS_MAPS_BPF_H
#define TS_MAPS_BPF_H

#include <bpf/bpf_helpers.h>

#ifndef EEXIST
#define EEXIST	17
#endif

/*
 * The value of key in map, inserting init first when there is none. Two
 * CPUs may miss at once: BPF_NOEXIST lets one insert win and both then use
 * that entry. NULL when the insert failed otherwise (a full hash map; an
 * LRU map evicts instead).
 */
static __always_inline void *
bpf_map_lookup_or_try_init(void *map, const void *key, const void *init)
{
	void *val;
	long err;

	val = bpf_map_lookup_elem(map, key);
	if (val)
		return val;
	err = bpf_map_update_elem(map, key, init, BPF_NOEXIST);
	if (err && err != -EEXIST)
		return NULL;
	return bpf_map_lookup_elem(map, key);
}

#endif /* TS_MAPS_BPF_H */
