/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * /metrics: the Prometheus text exposition format (version 0.0.4), names
 * prefixed taskscope_. Series per process carry pid, comm and runtime
 * labels only: no task ids, no future types, so the series count is
 * bounded by processes x states/kinds, and processes by SERVE_MAX_PROCS.
 *
 * Counters must not go down between scrapes while a process lives, but
 * the model's figures are per task and per worker thread, which come and
 * go: the ledger adds up what each one gained since the previous refresh.
 */
#ifndef TS_SERVE_METRICS_H
#define TS_SERVE_METRICS_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "serve_source.h"

/* Processes exported; the rest are counted in taskscope_processes_omitted. */
#define SERVE_MAX_PROCS	64

struct serve_mark {
	uint64_t key, key2;		/* task: header, first seen; worker: tid, 0 */
	uint64_t a, b;			/* task: wakes; worker: polls, busy ns */
};

struct serve_totals {
	pid_t pid;
	uint64_t polls, wakes, busy_ns;	/* since taskscope attached, monotonic */
	uint64_t hits;			/* its probe object's hits at the last refresh */
	struct serve_mark *tasks, *workers;	/* the previous refresh, sorted */
	size_t ntasks, nworkers;
	bool seen;			/* in the latest update */
	bool seen_before;		/* updated at least once */
};

struct serve_ledger {
	struct serve_totals *t;
	size_t n;
	/*
	 * Probe hits gained in every process's own BPF object (sampled mode:
	 * one object per process), those gone included.
	 */
	uint64_t own_hits;
};

/* Folds the latest snapshots in; processes no longer there are forgotten. */
int serve_ledger__update(struct serve_ledger *l, const struct serve_proc *procs, size_t n);
const struct serve_totals *serve_ledger__find(const struct serve_ledger *l, pid_t pid);
void serve_ledger__free(struct serve_ledger *l);

/* taskscope's own figures, and the observation as a whole. */
struct serve_self {
	const char *version;
	const char *mode;
	uint64_t probe_hits;
	double probe_cpu_ratio;		/* estimated, in the targets; < 0 unknown or not made */
	double cpu_s;			/* taskscope's own user + system time */
	uint64_t rss_bytes;
	double refresh_s;
	uint64_t attach_failures;
	uint64_t requests;
	uint64_t rejected;		/* requests answered 4xx, connections cut */
};

/* Mean busy share of the async workers, 0..1; < 0 unknown. */
double serve_worker_busy_ratio(const struct serve_proc *sp);
/* Label value as the format wants it: \\, \" and \n escaped. */
void serve_metrics__label(FILE *out, const char *value);
void serve_metrics__write(FILE *out, const struct serve_proc *procs, size_t n,
			  const struct serve_ledger *l, const struct serve_self *self);

#endif
