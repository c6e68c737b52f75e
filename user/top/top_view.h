/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The view model of `taskscope top`, pure: the column table, sorting and
 * filtering the model's task rows (top_model.h), cell formatting,
 * histogram glyphs, and rendering a table into lines of text of a given
 * width and height. The ncurses screen and the --batch output both draw
 * what these functions produce, so they are tested without a terminal.
 */
#ifndef TS_TOP_VIEW_H
#define TS_TOP_VIEW_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "task_model.h"
#include "top_model.h"	/* the rows it draws */

/* ---- lines of text with attributes ------------------------------------ */

enum top_attr {
	TOP_A_NORMAL,
	TOP_A_TITLE,		/* header labels */
	TOP_A_COLHEAD,		/* the table's column titles */
	TOP_A_COLHEAD_SORT,	/* the sorted column's title */
	TOP_A_SELECTED,		/* the cursor row */
	TOP_A_STALL,		/* a row with a finding */
	TOP_A_STALL_SELECTED,
	TOP_A_DIM,		/* done tasks, notes */
	TOP_A_BAR,		/* meter bars */
	TOP_A_WARN,		/* the WARN cell, warnings in text */
	TOP_A_KEY,		/* footer key names */
	TOP_A_FOOTER,		/* footer labels */
	TOP_A_MAX,
};

#define TOP_MAX_SPANS	24

/* Part of a line drawn with another attribute; col/len in screen columns. */
struct top_span {
	int col, len;
	enum top_attr attr;
};

struct top_line {
	char *text;		/* UTF-8, no newline */
	enum top_attr attr;
	int nspans;
	struct top_span spans[TOP_MAX_SPANS];
};

struct top_text {
	struct top_line *lines;
	size_t n, cap;
};

struct top_line *top_text__add(struct top_text *t, enum top_attr attr, const char *s);
struct top_line *top_text__addf(struct top_text *t, enum top_attr attr, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Splits s at '\n' into lines of attribute attr. */
int top_text__add_lines(struct top_text *t, enum top_attr attr, const char *s);
void top_line__span(struct top_line *l, int col, int len, enum top_attr attr);
void top_text__free(struct top_text *t);
/* Plain text, one line each (batch mode). */
void top_text__write(const struct top_text *t, FILE *out);

/* ---- UTF-8 cells ------------------------------------------------------- */

/* Screen columns of a UTF-8 string; every glyph taskscope prints is one column wide. */
int top_str_width(const char *s);
/*
 * Appends s to buf (size len, NUL kept) in exactly width columns: padded
 * with spaces, left or right aligned; cut when longer, keeping the tail
 * (the function name of a Rust path) behind "…" (or "~" when ascii).
 */
void top_cell(char *buf, size_t len, const char *s, int width, bool right, bool keep_tail,
	      bool ascii);

/* ---- formatting -------------------------------------------------------- */

/*
 * Duration in at most 6 columns (plus ">" when at_least): "-", "850us",
 * "3.5ms", "350ms", "1.20s", "12.3s", "102s", "16m40s", "12h05m", "3d04h".
 */
void top_fmt_duration(uint64_t ns, bool at_least, char *buf, size_t len);
/* Count in at most 6 columns: "12345", "123k", "12.3M", "1.2G". */
void top_fmt_count(uint64_t n, char *buf, size_t len);
/* Coarse age for the WARN cell: "850ms", "12s", "5m", "3h". */
void top_fmt_age(uint64_t ns, char *buf, size_t len);
/* Lower bound of log2 histogram slot k in microseconds as a label: "<2us", "4us", "1ms". */
void top_fmt_hist_slot(int k, char *buf, size_t len);

/* ---- histogram --------------------------------------------------------- */

/*
 * One glyph per slot (▁▂▃▄▅▆▇█, or " .:-=+*#" when ascii), height by count
 * relative to the largest slot; an empty slot is a space, a non-empty one
 * at least the lowest glyph. Writes n glyphs.
 */
void top_hist_sparkline(const uint32_t *hist, int n, bool ascii, char *buf, size_t len);
/*
 * A horizontal bar per slot from the first to the last non-empty one:
 * "  64us │██████▍          │   412  38%". Bars are width columns long
 * with eighth-block precision (or '#' when ascii). Returns lines added.
 */
int top_hist_bars(struct top_text *out, const uint32_t *hist, int n, int width, bool ascii);
/* A meter bar "[|||||   42.0%]" in width columns; ratio clamped to [0, 1]. */
void top_meter(double ratio, const char *label, int width, bool ascii, char *buf, size_t len);

/* ---- rows and columns -------------------------------------------------- */

enum top_col {
	TOP_COL_PID,
	TOP_COL_ID,
	TOP_COL_STATE,
	TOP_COL_TOTAL,
	TOP_COL_BUSY,
	TOP_COL_SCHED,
	TOP_COL_IDLE,
	TOP_COL_POLLS,
	TOP_COL_WAKES,
	TOP_COL_SELF,
	TOP_COL_MAXPOLL,
	TOP_COL_WARN,
	TOP_COL_NAME,
	TOP_COL_MAX,
};

struct top_column {
	const char *title;
	const char *description;	/* for the help screen */
	bool default_desc;		/* sort direction when the column is picked */
	int width;			/* columns; NAME takes what is left */
	int keep;			/* when too narrow, the lowest keep is dropped first */
	bool right;			/* right-aligned */
};

extern const struct top_column top_columns[TOP_COL_MAX];

/* Sorts rows by column col, ties broken by (pid, tokio id, header) ascending. */
void top_rows_sort(struct top_row *rows, size_t n, enum top_col col, bool descending);
int top_row_cmp(const struct top_row *a, const struct top_row *b, enum top_col col,
		bool descending);

struct top_filter {
	char name[128];			/* substring, case-insensitive; "" all */
	pid_t pid;			/* 0: every process */
	bool show_done;			/* every done task, not only recent ones */
	uint64_t done_keep_ns;		/* done tasks shown this long after finishing */
};

bool top_row_visible(const struct top_row *r, const struct top_filter *f);
/* Indexes of the visible rows into order (n entries); returns how many. */
size_t top_rows_filter(const struct top_row *rows, size_t n, const struct top_filter *f,
		       size_t *order);

/* The WARN cell: "⚠ long poll", "⚠ idle 12s" ("!" when ascii), "" none. */
void top_fmt_warn(const struct top_row *r, bool ascii, char *buf, size_t len);
/* The text of one cell of row r. */
void top_fmt_cell(const struct top_row *r, enum top_col col, bool ascii, char *buf, size_t len);

/*
 * Which columns fit in width: widths[c] is a column's width, 0 when hidden.
 * Columns are dropped lowest keep first until NAME has min_name columns;
 * NAME gets the rest. Returns the number of visible columns.
 */
int top_table_layout(int width, bool show_pid, int min_name, int widths[TOP_COL_MAX]);

/* Rust paths need about this much to stay readable: "demo::reconcile_accounts" */
#define TOP_MIN_NAME	24

struct top_table_opts {
	int width;			/* screen columns */
	int height;			/* rows of tasks, header excluded; <= 0 all */
	bool ascii;
	bool show_pid;
	enum top_col sort;
	bool descending;
	bool cursor;			/* highlight the selected row */
	size_t selected;		/* index into order */
	size_t first;			/* first row shown, index into order */
};

/* The column title line and the rows order[first .. first + height). */
int top_table_render(struct top_text *out, const struct top_row *rows, const size_t *order,
		     size_t n, const struct top_table_opts *o);
/* Keeps the selection on screen: adjusts *first for a window of height rows. */
void top_scroll_clamp(size_t n, size_t selected, int height, size_t *first);

#endif
