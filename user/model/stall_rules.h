/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Stall rules: what in a task model deserves a person's attention. Pure. */
#ifndef TS_STALL_RULES_H
#define TS_STALL_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "duration.h"	/* ts_fmt_duration: the findings' messages */
#include "task_model.h"
#include "wait_graph.h"

enum ts_finding_kind {
	TS_FIND_DEADLOCK,	/* tasks waiting on each other's locks */
	TS_FIND_BLOCKED_WORKER,	/* a poll that ran past the long-poll threshold */
	TS_FIND_STARVED,	/* woken but not polled for too long */
	TS_FIND_SPINNING,	/* polled again and again, never idle */
	TS_FIND_LOST_WAKE,	/* woken, then dropped without a poll */
	TS_FIND_IDLE,		/* waiting for a wake longer than the threshold */
};

struct ts_rules_config {
	uint64_t stall_ns;		/* --stall-ms: waits (idle, starved) */
	uint64_t long_poll_ns;		/* --long-poll-ms: one poll holding a worker */
	uint64_t spin_min_polls_per_s;
	uint64_t spin_max_idle_per_poll_ns;
	/*
	 * A thread's block_on future (main, a test) idle past stall_ns is a
	 * finding whatever it awaits (taskscope run: a test that hangs); by
	 * default only when it waits on a lock someone holds, since a
	 * service's main parked on its server's JoinHandle, a signal or
	 * pending() is its normal state.
	 */
	bool idle_roots;
};

struct ts_finding {
	enum ts_finding_kind kind;
	size_t task;			/* index into ts_process.tasks, SIZE_MAX for a type */
	const char *name;		/* the task's or the type's readable name (interned) */
	uint64_t duration_ns;		/* how long (lower bound if at_least) */
	bool at_least;			/* began before taskscope attached */
	uint64_t offcpu_ns;		/* blocked worker: off-CPU inside the poll */
	uint32_t tid;			/* blocked worker: the thread */
	uint32_t ns_tid;		/* ... as its container sees it, 0 same */
	bool in_progress;		/* blocked worker: the poll is still running */
	uint64_t count;			/* lost wakes / spinning polls / tasks in a deadlock */
	size_t members[16];		/* deadlock: every task of the cycle, in its order */
	const char *remedy;		/* deadlock: what usually fixes it (static), else NULL */
	/*
	 * In the block ts_rules__evaluate returns, after the findings: one
	 * free() releases both. A million idle tasks make a million
	 * findings; each carries its own length, not 1 KiB.
	 */
	const char *message;
};

void ts_rules_config__default(struct ts_rules_config *cfg);
/*
 * Evaluates every rule; findings are ordered by kind, then longest first.
 * Returns the number of findings (>= 0) or -ENOMEM; *out is one malloc'd
 * block holding the findings and their messages (free(*out)).
 */
int ts_rules__evaluate(const struct ts_process *p, const struct ts_rules_config *cfg,
		       struct ts_finding **out);
const char *ts_finding_kind_name(enum ts_finding_kind k);

#endif
