/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A recording read back (report --from, top --replay): its "taskscope"
 * section, whose snapshots are the task models a live run would have
 * rendered. The trace events themselves are for the trace viewers and are
 * not read: a long recording of a busy service holds millions of them,
 * and json-c would build a tree of every one. The section is found by its
 * opening, which the recorder writes last and which can't occur inside a
 * JSON string (its quotes would be escaped there), and parsed with json-c
 * from there to the file's closing brace.
 */
#ifndef TS_RECORDING_H
#define TS_RECORDING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "task_model.h"

/* Bigger files are refused rather than read whole into memory. */
#define REC_MAX_FILE_BYTES	(4ULL << 30)
#define REC_MAX_SNAPSHOTS	100000

struct recording {
	pid_t pid;
	char comm[64];
	char exe[4096];
	uint64_t start_ns, end_ns;	/* CLOCK_MONOTONIC of the recording machine */
	double interval_s;
	uint64_t events, slices, flows, dropped;
	struct ts_process *snaps;	/* in the order recorded */
	struct ts_sampled_info *sampled;	/* per snapshot: what its sampled points at */
	size_t nsnaps;
};

/*
 * Reads path. 0, or -errno with one line for the user in why: missing or
 * unreadable file, not JSON, not a taskscope recording, another version,
 * a damaged section, no snapshot.
 */
int recording__load(struct recording *rec, const char *path, char *why, size_t whylen);
void recording__free(struct recording *rec);
/* Seconds from the recording's start to snapshot i. */
double recording__time_of(const struct recording *rec, size_t i);
/* The last snapshot taken at or before `seconds` after the start (the first when none). */
size_t recording__index_at(const struct recording *rec, double seconds);
/* Seconds the recording lasted. */
double recording__length(const struct recording *rec);

#endif
