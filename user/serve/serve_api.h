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

void serve_api__processes(FILE *out, const struct serve_proc *procs, size_t n,
			  const struct serve_self *self, uint64_t stall_ns);
/* -ENOENT when pid is not observed. */
int serve_api__report(FILE *out, struct serve_source *src, pid_t pid);

#endif
