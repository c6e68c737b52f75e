/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the `taskscope top` user is looking at (view, sort, filter,
 * selection, pause) and what each key does: one key -> action table whose
 * actions return reaction flags, as htop does, and from which the help
 * screen is written. Composes the screen as lines of text; no terminal.
 */
#ifndef TS_TOP_UI_H
#define TS_TOP_UI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "top_graph.h"
#include "top_panels.h"
#include "top_session.h"
#include "top_view.h"

enum top_view_kind {
	TOP_VIEW_TASKS,
	TOP_VIEW_DETAIL,
	TOP_VIEW_WORKERS,
	TOP_VIEW_PROCS,
	TOP_VIEW_RESOURCES,	/* r: locks and channels of the wait-for graphs */
	TOP_VIEW_RESOURCE,	/* Enter there: one resource's tasks */
	TOP_VIEW_PROBLEMS,	/* P: each finding, its tasks, .await lines, what frees them */
};

/* Reactions to a key. */
#define TOP_R_HANDLED	1	/* the key meant something */
#define TOP_R_REDRAW	2
#define TOP_R_QUIT	4
#define TOP_R_REFRESH	8	/* take a snapshot now */

/* Done tasks stay listed this long after finishing, unless `d` shows them all. */
#define TOP_DONE_KEEP_NS	(5ULL * 1000 * 1000 * 1000)

struct top_ui {
	enum top_view_kind view, back;	/* back: where Esc leaves the detail for */
	bool help;
	int help_scroll;
	bool paused;
	bool ascii;
	bool system_wide;
	enum top_col sort;
	bool descending;
	struct top_filter filter;
	bool editing;			/* typing the filter */
	/* the task table: visible rows in order, the selection following its task */
	size_t *order;
	size_t norder, cap_order;
	size_t sel, first;
	struct top_ident sel_id;
	int page;			/* rows the last frame showed, for PgUp/PgDn */
	/* the detail view */
	struct top_ident detail;
	int detail_scroll;
	/* workers and processes views */
	size_t wsel, wfirst, psel, pfirst;
	/* the task tree (t) */
	bool tree;
	size_t tree_unknown;		/* visible tasks whose parent is not known */
	/* resources (r), one resource (Enter), problems (P) */
	struct top_res_list res;
	size_t rsel, rfirst;
	enum top_res_sort rsort;
	bool rdesc;
	pid_t res_pid;			/* the resource shown: its process and object */
	uint64_t res_object;
	size_t lsel;			/* its task selected */
	enum top_view_kind res_back;
	struct top_problems probs;
	size_t prsel;
	int pr_scroll;
	char status[256];		/* one line for the footer: "wrote taskscope-waits-..." */
};

void top_ui__init(struct top_ui *ui, bool system_wide, bool ascii);
void top_ui__free(struct top_ui *ui);
/* Sorts the session's rows, filters them, keeps the selection on its task. */
int top_ui__update(struct top_ui *ui, struct top_session *s);
/* Handles one key (ncurses key codes); returns TOP_R_* flags. */
int top_ui__key(struct top_ui *ui, struct top_session *s, int key);
/* The whole screen in width x height. */
int top_ui__compose(struct top_ui *ui, struct top_session *s, int width, int height,
		    struct top_text *out);
/* --batch: the header, every visible row, every finding. */
int top_ui__compose_batch(struct top_ui *ui, struct top_session *s, int width,
			  struct top_text *out);
/* The help screen: every key and every column, wrapped at width. */
int top_ui__help(struct top_text *out, bool system_wide, int width);

#endif
