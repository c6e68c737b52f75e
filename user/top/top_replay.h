/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * taskscope top --replay FILE: the views of top fed by a recording's
 * snapshots (taskscope record) instead of live ones, with a time cursor.
 * The seam is the one top_session__refresh fills live: one top_proc whose
 * snapshot (cur), findings and rates the views render.
 */
#ifndef TS_TOP_REPLAY_H
#define TS_TOP_REPLAY_H

#include <stdbool.h>
#include <stddef.h>

#include "recording.h"
#include "top_session.h"

struct top_replay {
	struct recording rec;
	const char *path;
	size_t at;			/* the snapshot shown */
	bool shown;			/* one has been shown */
};

/* Loads path into r and sets s up (no BPF) with one process, no snapshot shown yet. */
int top_replay__open(struct top_replay *r, struct top_session *s, const char *path,
		     char *why, size_t whylen);
/* Shows snapshot index (clamped): findings, rates against the one shown before, rows. */
int top_replay__show(struct top_replay *r, struct top_session *s, size_t index);
/* The snapshot nearest `seconds` after the one shown (negative: before). */
size_t top_replay__seek_index(const struct top_replay *r, double seconds);
bool top_replay__at_end(const struct top_replay *r);
void top_replay__close(struct top_replay *r, struct top_session *s);

#endif
