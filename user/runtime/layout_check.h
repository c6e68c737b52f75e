/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Is the descriptor chosen from the binary (runtime_binary) the layout the
 * live process really has? Checked read-only against the process: its task
 * vtables as mapped, the tasks found in memory with their Ids read back,
 * and a walk of tokio's owned-task list from one of them.
 */
#ifndef TS_LAYOUT_CHECK_H
#define TS_LAYOUT_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime_binary.h"

struct layout_check {
	/* the header offsets each vtable stores, in the order the descriptor says */
	size_t offsets_ok;
	/* the vtables as mapped: poll and dealloc slots, header offsets as in the file */
	size_t vtables_checked, vtables_ok;
	/* tasks found in memory by their vtable pointer (task_memory.h) */
	size_t tasks;
	/* tokio task Ids: non-zero, distinct, below the Id counter when it is known */
	bool has_ids;
	size_t ids_ok;
	uint64_t next_id;	/* the counter's value, 0 when unknown */
	/* tokio owned lists (one per shard), from each owned task both ways to the ends */
	bool has_list;
	size_t lists;		/* lists walked */
	size_t list_tasks;	/* headers on them */
	size_t longest_list;	/* tasks on the longest list walked end to end */
	bool list_closed;	/* every list: both ends null, every back link consistent */
	size_t lists_broken;	/* walks that broke (a freed cell's stale links, or the layout) */
	bool list_budget_out;	/* stopped at the links budget, every link consistent */
	uint64_t list_break_id;	/* the Id of the task whose list broke */
	bool confirmed;
	bool refuted;		/* a check failed (not just nothing to check) */
	char verdict[256];	/* one line: how it was confirmed, or why not */
};

/*
 * The file alone: how many of tb's vtables store header offsets in the
 * order the descriptor's cell layout puts them (tokio: #[repr(C)] Cell {
 * header, Core { scheduler, task_id, stage }, trailer }). Pure.
 */
size_t layout_check__offsets(const struct runtime_binary *tb);

struct mem_task;

/*
 * The checks that need no task: the vtables' header offsets in the file
 * and the vtables as pid maps them. Fills lc (zeroed first); false with
 * lc->verdict set when the layout is refuted or there is nothing to check.
 */
bool layout_check__vtables(pid_t pid, const struct runtime_binary *tb, uint64_t bias,
			   struct layout_check *lc);
/*
 * The checks on the n tasks a memory scan found (after
 * layout_check__vtables): their Ids, and their owned lists walked both
 * ways, following at most max_links links (a list longer than that is
 * confirmed as far as it was followed). Sets lc->confirmed or
 * lc->refuted, and lc->verdict.
 */
void layout_check__tasks(pid_t pid, const struct runtime_binary *tb, uint64_t bias,
			 const struct mem_task *tasks, size_t n, size_t max_links,
			 struct layout_check *lc);
/*
 * Both, with a memory scan between, on process pid, whose binary tb is mapped with load bias
 * bias. Returns 0 with lc filled (lc->confirmed says the outcome), or
 * -errno when the process can't be read at all.
 */
int layout_check__run(pid_t pid, const struct runtime_binary *tb, uint64_t bias,
		      struct layout_check *lc);

#endif
