/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What a sampled-mode report adds: how its figures were estimated. */
#ifndef TS_REPORT_SAMPLED_H
#define TS_REPORT_SAMPLED_H

#include <stdio.h>

#include "json_writer.h"
#include "task_model.h"

/* "~" before a figure scaled from bursts, "" in the precise modes. */
const char *ts_report_estimate_mark(const struct ts_process *p);
/* Header lines of the text report (nothing outside sampled mode). */
void ts_report_sampled_text(FILE *out, const struct ts_process *p);
/* "sampled":{...} after "mode" (nothing outside sampled mode). */
void ts_report_sampled_json(struct json_writer *jw, const struct ts_process *p);
/* "cpu_samples":N,"offcpu_in_polls_s":S for one task (sampled mode only). */
void ts_report_sampled_task_json(struct json_writer *jw, const struct ts_process *p,
				 const struct ts_task *t);

#endif
