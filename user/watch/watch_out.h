/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Where `taskscope watch` leaves its evidence: one report per stall as it
 * begins (text and JSON, named by time, PID, command and kind), and an
 * event log (events.jsonl: one line per stall begun or ended). Disk use is
 * bounded: past max_reports reports or max_bytes in all, the oldest
 * reports go first; the event log rolls over to events.jsonl.1.
 */
#ifndef TS_WATCH_OUT_H
#define TS_WATCH_OUT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "report.h"
#include "stall_tracker.h"

struct watch_out {
	char dir[4096];
	size_t max_reports;
	uint64_t max_bytes;
	uint64_t written;		/* reports written by this run */
	uint64_t removed;		/* reports removed to stay in bounds */
};

/* Creates dir when missing. -errno, with one line in why, on failure. */
int watch_out__open(struct watch_out *wo, const char *dir, size_t max_reports,
		    uint64_t max_bytes, char *why, size_t whylen);
/*
 * Writes the report of p (findings f) for the stall s that began at
 * wall-clock time when; the text report's path goes into path. Then
 * removes the oldest reports past the bounds.
 */
int watch_out__report(struct watch_out *wo, const struct ts_process *p,
		      const struct ts_finding *f, size_t nf, const struct ts_report_opts *ro,
		      const struct tracked_stall *s, const struct timespec *when, char *path,
		      size_t pathlen);
/* Appends one event line (began: with its report's path; ended: path NULL). */
int watch_out__event(struct watch_out *wo, const struct stall_event *e, const char *comm,
		     const struct timespec *when, const char *path);
/* Removes the oldest reports until at most max_reports and max_bytes remain. */
int watch_out__trim(struct watch_out *wo);

#endif
