/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A struct ts_process snapshot as JSON and back, for taskscope record and
 * its replays (report --from, top --replay): everything the stall rules
 * and the views read (tasks with state, stats and await chains, workers,
 * resources, lost wakes, sampled-mode info, process info), so that a
 * replay finds what a live run found.
 *
 * Both directions walk one table of fields per struct (rec_snapshot.c):
 * a member added to a struct is recorded once it is added to its table.
 * The parser treats the file as untrusted: strings are cut to their
 * arrays, counts bounded, enums checked against their ranges; a missing
 * or mistyped member reads as zero.
 */
#ifndef TS_REC_SNAPSHOT_H
#define TS_REC_SNAPSHOT_H

#include <stddef.h>

#include "task_model.h"

struct json_writer;
struct json_object;

/* Bounds on what a recording may hold, per snapshot. */
#define REC_MAX_TASKS		(2u << 20)
#define REC_MAX_WORKERS		TS_MAX_WORKERS
#define REC_MAX_RESOURCES	(64u << 10)
#define REC_MAX_LOST		(64u << 10)

/* p as one JSON object value. */
void rec_snapshot__write(struct json_writer *jw, const struct ts_process *p);
/*
 * Fills p (zeroed first; free it with ts_process__free) from o. A sampled
 * section lands in *sampled, which p->sampled then points at. 0, -EINVAL
 * when o is not a snapshot object (why says so), or -ENOMEM.
 */
int rec_snapshot__parse(const struct json_object *o, struct ts_process *p,
			struct ts_sampled_info *sampled, char *why, size_t whylen);

/* A deep copy of src (tasks, chains, workers, lost wakes, resources) into dst. 0 or -ENOMEM. */
int rec_snapshot__copy(struct ts_process *dst, const struct ts_process *src);

#endif
