/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A command's process tree, and whether a process in it still makes
 * progress: what `taskscope run` follows. Read from /proc only: the tree
 * from each process's parent, progress from how often its threads were
 * switched in (schedstat), so a parked process that nothing wakes is told
 * from one that works, without attaching anything to it.
 */
#ifndef TS_PROC_TREE_H
#define TS_PROC_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct pid_parent {
	pid_t pid, ppid;
};

/*
 * The processes of root's tree (root included when present) among all,
 * into out (at most max). Pure. Returns the count.
 */
size_t proc_tree__descendants(const struct pid_parent *all, size_t n, pid_t root, pid_t *out,
			      size_t max);
/* Every process on the host and its parent. Returns the count or -errno; *out malloc'd. */
int proc_tree__read(struct pid_parent **out);
/*
 * How many times pid's threads have been switched in so far, summed
 * (schedstat's third field): unchanged between two reads, no thread of
 * it ran in between. -errno when it is gone.
 */
int proc_tree__runs(pid_t pid, uint64_t *runs);

/* Whether one process still makes progress: its runs, as read over time. Pure. */
struct progress {
	uint64_t runs;
	uint64_t last_change_ns;	/* when runs last moved (or first read) */
	bool known;
};
/* Records a read of runs at now; returns how long nothing has run (ns). */
uint64_t progress__update(struct progress *pr, uint64_t runs, uint64_t now_ns);

#endif
