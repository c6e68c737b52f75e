/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * taskscope record: attaches to one process with its own BPF object (whose
 * probes stream that process's polls and wakes through a ring buffer),
 * writes them as a Chrome trace as they arrive (rec_trace.h), and takes a
 * snapshot of the task model every interval the way report takes its one
 * (observe.h), kept in the file for the replays (rec_snapshot.h).
 *
 * The file: {"traceEvents":[...], "taskscope":{"version":1, "pid", "comm",
 * "exe", "clock":"CLOCK_MONOTONIC", "start_ns", "end_ns", "interval_s",
 * "ring_bytes", "events", "slices", "flows", "stalls", "dropped",
 * "snapshots":[...]}}. Trace viewers ignore the "taskscope" key.
 */
#ifndef TS_RECORDER_H
#define TS_RECORDER_H

#include <stdbool.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "attach.h"
#include "stall_rules.h"

#define REC_FORMAT_VERSION	1

struct recorder_opts {
	double duration_s;
	double interval_s;		/* between snapshots */
	uint32_t ring_bytes;		/* a power of two, at least a page */
	enum ts_probe_mode mode;	/* default or full */
	struct ts_rules_config rules;
	const char *debuginfo;
	bool verbose;
};

struct recorder_result {
	uint64_t events, slices, flows, stalls, snapshots;
	uint64_t dropped;		/* events the ring buffer had no room for */
	uint64_t bytes;			/* of the file */
	double seconds;			/* recorded */
	bool target_gone;		/* it exited: the recording ends there */
};

/*
 * Records pid into out until duration_s has passed, ts_stop_requested is
 * set (stop points at it) or the process exits. 0 with *res filled, or
 * -errno with one line for the user in why.
 */
int recorder__run(pid_t pid, FILE *out, const struct recorder_opts *o,
		  volatile const sig_atomic_t *stop, struct recorder_result *res, char *why,
		  size_t whylen);

#endif
