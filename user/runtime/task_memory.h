/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Finding tasks (tokio, async-task) in a live process's memory, read-only: a hung
 * process fires no probe, so its tasks are found by their vtable pointer.
 * Where a header keeps its fields comes from the runtime's descriptor
 * (runtime.h), through runtime_binary.
 */
#ifndef TS_TASK_MEMORY_H
#define TS_TASK_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime_binary.h"

struct mem_task {
	uint64_t header;	/* runtime address */
	uint64_t state_word;
	uint64_t task_id;	/* 0 for runtimes without task Ids */
	bool unowned;		/* tokio blocking pool: worker launch, spawn_blocking */
	uint64_t owner_id;	/* tokio: the id of the runtime's OwnedTasks, 0 unowned/unknown */
	int vtable_idx;		/* index into runtime_binary.vtables */
};

struct mem_scan_stats {
	uint64_t bytes_scanned;
	uint64_t regions;
	uint64_t candidates;	/* words equal to a vtable address */
	uint64_t from_owned_list;	/* found by walking trailer.owned */
	bool truncated;		/* hit the scan budget */
};

/*
 * Finds every live task of process pid: scans its writable anonymous
 * memory for headers whose vtable field holds one of tb's vtables
 * (relocated by bias), validates each header, then walks the runtime's
 * owned-task list from those found. Result sorted by header address.
 */
int task_memory__discover(pid_t pid, const struct runtime_binary *tb, uint64_t bias,
			  struct mem_task **out, size_t *n, struct mem_scan_stats *st);
/* Re-reads one header; -EFAULT when it is gone or no longer a task. */
int task_memory__read(pid_t pid, const struct runtime_binary *tb, uint64_t bias,
		      uint64_t header, struct mem_task *t);
/* True when a state word looks like a live task's. Pure. */
bool task_state_plausible(const struct task_layout *l, uint64_t state_word);

#endif
