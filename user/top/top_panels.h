/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The parts of the `taskscope top` screen as lines of text: the header
 * (processes, workers' meters, task counts, stalls, probe cost), the task
 * detail, the workers and processes views and the footer. Pure functions
 * of the session and the view state, shared by the TUI and --batch.
 */
#ifndef TS_TOP_PANELS_H
#define TS_TOP_PANELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "top_session.h"
#include "top_view.h"

struct top_panel_opts {
	int width;
	bool ascii;
	bool paused;
	int max_meter_lines;		/* worker meters in the header, 0 none */
	const struct top_filter *filter;
	enum top_col sort;
	bool descending;
	const char *editing;		/* the filter being typed, NULL when not */
	uint64_t interval_ns;
};

/* The first line: time, processes, runtime. */
int top_panel_title(struct top_text *out, const struct top_session *s,
		    const struct top_panel_opts *o);
/* Title, worker meters, tasks, stalls, probes and the sort/filter line. */
int top_panel_header(struct top_text *out, const struct top_session *s,
		     const struct top_panel_opts *o);
/* Every finding's message, one per line ("Stalls" in batch mode). */
int top_panel_findings(struct top_text *out, const struct top_session *s,
		       const struct top_panel_opts *o);

/*
 * Everything about one task, with the await chain its snapshot holds
 * (top_session__show has it read).
 */
int top_panel_detail(struct top_text *out, const struct top_session *s, const struct top_ident *id,
		     const struct top_panel_opts *o);

/* A worker thread of some process, for the workers view. */
struct top_worker_ref {
	size_t proc, worker;
};
/* Every worker of every process, by (pid, tid); returns how many (<= max). */
size_t top_workers_list(const struct top_session *s, struct top_worker_ref *refs, size_t max);
int top_panel_workers(struct top_text *out, const struct top_session *s,
		      const struct top_panel_opts *o, size_t selected, size_t first, int height,
		      bool cursor);
int top_panel_procs(struct top_text *out, const struct top_session *s,
		    const struct top_panel_opts *o, size_t selected, size_t first, int height,
		    bool cursor);

/* An htop-style function-key bar: pairs of key and label. */
struct top_fkey {
	const char *key, *label;
};
int top_panel_footer(struct top_text *out, const struct top_fkey *keys, size_t n, int width,
		     const char *right);

#endif
