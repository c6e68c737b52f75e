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

/*
 * The await chain of a task as '\n'-separated lines into buf (top_await.c
 * over the DWARF await-chain code). Returns the length, 0 when there is
 * none, or -errno with the reason in buf (or strerror when buf is empty).
 */
typedef int (*top_await_fn)(void *ctx, const struct observed_proc *op, const struct ts_task *t,
			    char *buf, size_t len);

/* A task's identity across refreshes; first_seen_ns 0 for one only memory knows. */
struct top_ident {
	bool set;
	pid_t pid;
	uint64_t header, first_seen_ns;
};

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

/* Looks up a task by identity; returns false when it is gone. */
bool top_ident__find(const struct top_session *s, const struct top_ident *id,
		     const struct top_proc **tp, size_t *task);
void top_ident__from_row(struct top_ident *id, const struct top_row *r);

/* Everything about one task; the await chain from fn when given. */
int top_panel_detail(struct top_text *out, const struct top_session *s, const struct top_ident *id,
		     const struct top_panel_opts *o, top_await_fn fn, void *fn_ctx);

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
