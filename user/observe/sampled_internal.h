/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Sampled mode's parts, for each other (the interface is sampled.h). */
#ifndef TS_SAMPLED_INTERNAL_H
#define TS_SAMPLED_INTERNAL_H

#include "sampled.h"

#define MS			(1000ULL * 1000)
#define HASH_MAX_BYTES		1024	/* of a task's cell, for "did it change" */

/* sampled_memory.c: every task in memory, its state word and a hash of its cell. */
int sampled_memory__snapshot(struct sampled_session *ss, uint64_t now);
const struct sampled_task_hist *sampled_memory__find(const struct sampled_session *ss,
						     uint64_t header);

/* sampled_burst.c: the precise probes attached for len_ns (blocks that long). */
int sampled_burst__run(struct sampled_session *ss, uint64_t len_ns);

/* sampled.c */
uint64_t sampled__thread_cpu_ns(void);
void sampled__sleep_ns(uint64_t ns);

#endif
