/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The dashboard's JSON endpoints:
 * - /api/processes: one object per process (pid, comm, runtime, tasks by
 *   state, stalls by kind, workers' busy share) and taskscope's own cost;
 * - /api/report?pid=N: the process as `report --json` writes it (the same
 *   writer, user/report), every suspended task's await chain included.
 */
#ifndef TS_SERVE_API_H
#define TS_SERVE_API_H

#include <stdio.h>

#include "serve_metrics.h"
#include "serve_source.h"

/*
 * Tasks by state over the last minutes, per process and for the host (pid
 * 0), one sample per refresh: the dashboard's charts start full instead
 * of empty. Bounded: SERVE_HIST_SAMPLES per series, SERVE_MAX_PROCS + 1
 * series (the processes past the cap are in the host's only).
 */
#define SERVE_HIST_SAMPLES	300

struct serve_hist_series {
	pid_t pid;			/* 0: the host */
	bool seen;
	size_t next, n;			/* ring: next slot, samples held */
	uint64_t t_ms[SERVE_HIST_SAMPLES];	/* wall clock */
	uint32_t counts[SERVE_HIST_SAMPLES][3];	/* running, scheduled, idle */
};

struct serve_history {
	struct serve_hist_series *s;
	size_t n;
};

int serve_history__add(struct serve_history *h, const struct serve_proc *procs, size_t n,
		       uint64_t now_ms);
/* {"interval_s":..,"series":[{"pid":N,"t_ms":[..],"running":[..],...}]}; pid < 0: all. */
void serve_history__write(FILE *out, const struct serve_history *h, long pid);
void serve_history__free(struct serve_history *h);

void serve_api__processes(FILE *out, const struct serve_proc *procs, size_t n,
			  const struct serve_self *self, uint64_t stall_ns);
/* -ENOENT when pid is not observed. */
int serve_api__report(FILE *out, struct serve_source *src, pid_t pid);

#endif
