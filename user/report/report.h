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
	uint64_t only_task;	/* --task ID: that task in full, 0: all */
};

/* Tasks in report order: live ones by tokio Id, finished ones last. */
size_t *ts_report_task_order(const struct ts_process *p);
void ts_report_write(FILE *out, const struct ts_process *p, const struct ts_finding *f,
		     size_t nf, const struct ts_report_opts *opts);
/* Compact duration for table cells: "1.50s", "350ms", "12us", "-". */
void ts_fmt_cell_duration(uint64_t ns, char *buf, size_t len);
/* Writes s as a JSON string literal, quotes included. */
void ts_json_str(FILE *out, const char *s);


#endif
