/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What a memory scan settles, and how it carries into the snapshots taken
 * between scans.
 *
 * The maps know only the tasks a probe saw. A scan of the target's memory
 * adds the tasks no probe has seen (idle since before the attach) and
 * settles the ones that are gone (freed inside their last poll, which
 * fires no dealloc probe). Scanning costs far more than reading the maps,
 * so an observer that snapshots often (top) scans now and then and carries
 * the last scan's word into the snapshots in between: memory-only tasks
 * come back with their time in state grown, and a task the scan found gone
 * stays done while its BPF entry has not changed since. report takes one
 * snapshot, always with a scan, through the same code.
 */
#ifndef TS_OBSERVE_MEMORY_H
#define TS_OBSERVE_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "task_model.h"

/* What a scan said of one task the probes saw. */
struct mem_verdict {
	uint64_t header;
	/* the BPF entry as the scan saw it: a later change means news */
	uint64_t last_transition_ns, polls, wakes;
	uint32_t bpf_state;
	enum ts_task_state state;	/* after the scan */
	bool in_memory;
	uint64_t task_id;
	uint64_t owner_id;
};

/* The last scan's word, kept by the observer between snapshots. */
struct mem_carry {
	struct mem_verdict *verdicts;	/* sorted by header */
	size_t nverdicts;
	struct ts_task *mem_only;	/* tasks no probe had seen, whole (chain NULL) */
	size_t nmem_only;
};

/* ---- pure parts, tested without a process ------------------------------ */

/* Remembers what scan (a snapshot with a memory scan) settled; replaces c's word. */
int mem_carry__take(struct mem_carry *c, const struct ts_process *scan);
/*
 * Applies c to p, a snapshot from the maps alone: tasks the scan settled
 * as done stay done while their BPF entry is unchanged, tasks only memory
 * knew of are added back (their time in state growing).
 */
int mem_carry__apply(const struct mem_carry *c, struct ts_process *p);
/* True when the last scan saw task t as it is now (or t comes from memory). */
bool mem_carry__confirms(const struct mem_carry *c, const struct ts_task *t);
void mem_carry__free(struct mem_carry *c);

#endif
