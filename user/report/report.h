/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The one-shot report, as text and as JSON, from one model. */
#ifndef TS_REPORT_H
#define TS_REPORT_H

#include <stdio.h>

#include "stall_rules.h"
#include "task_model.h"

struct ts_report_opts {
	bool json;
	bool all_tasks;		/* text: list finished tasks too */
	uint64_t stall_ns;
	uint64_t long_poll_ns;
	uint64_t only_task;	/* --task ID: that task in full, 0: all */
};

/* Tasks in report order: live ones by task Id, finished ones last. */
size_t *ts_report_task_order(const struct ts_process *p);
void ts_report_write(FILE *out, const struct ts_process *p, const struct ts_finding *f,
		     size_t nf, const struct ts_report_opts *opts);


#endif
