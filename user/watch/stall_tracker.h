/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Which stalls are new, which go on, which ended: what `taskscope watch`
 * needs to report each stall once when it begins and once when it ends,
 * however many snapshots show it. A stall is keyed by what it is about
 * (kind and the task headers involved, or the future type), not by its
 * message, whose durations grow from snapshot to snapshot. Pure: tested
 * without a process (tests/unit/test_stall_tracker.c).
 */
#ifndef TS_STALL_TRACKER_H
#define TS_STALL_TRACKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "stall_rules.h"
#include "task_model.h"

#define TS_STALL_KEY_LEN	160

struct tracked_stall {
	pid_t pid;
	char key[TS_STALL_KEY_LEN];	/* "deadlock 0x..,0x..", "idle 0x...", "lost_wake T" */
	enum ts_finding_kind kind;
	char name[256];
	uint64_t first_ns, last_ns;	/* first and last snapshot showing it */
	bool reported;			/* its start was written out */
};

enum stall_event_kind { STALL_BEGAN, STALL_ENDED };

struct stall_event {
	enum stall_event_kind what;
	struct tracked_stall stall;	/* a copy: an ended stall is gone from the tracker */
	size_t finding;			/* STALL_BEGAN: index into the snapshot's findings */
};

struct stall_tracker {
	struct tracked_stall *v;
	size_t n, cap;
	/*
	 * A stall ends when no snapshot showed it for this long: a long poll
	 * flagged at one snapshot and not the next is one stall, not many.
	 */
	uint64_t end_after_ns;
};

/* The key of finding f of snapshot p into key (TS_STALL_KEY_LEN). */
void stall_key(const struct ts_process *p, const struct ts_finding *f, char *key, size_t len);
/*
 * Folds process pid's findings at now into the tracker; appends to *ev
 * (malloc'd, *nev entries) one STALL_BEGAN per stall not tracked before.
 * Returns 0 or -ENOMEM.
 */
int stall_tracker__update(struct stall_tracker *tr, pid_t pid, const struct ts_process *p,
			  const struct ts_finding *f, size_t nf, uint64_t now,
			  struct stall_event **ev, size_t *nev);
/*
 * Ends pid's stalls not seen for end_after_ns by now (every stall of pid
 * when gone, the process having exited); appends STALL_ENDED events.
 */
int stall_tracker__expire(struct stall_tracker *tr, pid_t pid, uint64_t now, bool gone,
			  struct stall_event **ev, size_t *nev);
void stall_tracker__free(struct stall_tracker *tr);

#endif
