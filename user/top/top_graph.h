/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Who waits on whom, in top: the task tree (t), the resources view (r),
 * the problem view (P) and the DOT file (D), from each process's snapshot
 * and its wait-for graph (wait_graph.h). Pure but for reading source
 * lines and writing the DOT file.
 */
#ifndef TS_TOP_GRAPH_H
#define TS_TOP_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "top_session.h"
#include "top_view.h"
#include "wait_graph.h"

/*
 * Reorders the n visible rows of order[] depth first: each child after
 * its parent, siblings in their sorted order, tasks whose parent is not
 * visible or not known at the top. Fills rows' tree glyphs and subtree
 * counts. *unknown gets how many tasks have no known parent.
 */
int top_tree_order(const struct top_session *s, struct top_row *rows, size_t *order, size_t n,
		   bool ascii, size_t *unknown);
/* Clears the tree fields of every row (the flat list). */
void top_tree_clear(struct top_row *rows, size_t n);

/* A task linked to a resource, as the resource views list it. */
struct top_res_link {
	size_t proc, task;	/* into s->procs[proc]->cur.tasks */
	enum ts_res_role role;
	bool frees;		/* it can free what the resource's waiters wait for */
};

/* One row of the resources view: a resource of one process's wait-for graph. */
struct top_res_row {
	size_t proc;
	pid_t pid;
	uint64_t object;
	const char *kind;
	char what[112];		/* type, or a USDT resource's quoted name */
	bool usdt, has_len;
	uint64_t len, capacity;
	uint32_t nholders, nwaiters, nsenders, nreceivers;
	char holders[40], halves[64];	/* task Ids */
	struct top_res_link *links;	/* the tasks that can free it first, then by role */
	size_t nlinks, nfreers;
};

enum top_res_sort { TOP_RS_WAITERS, TOP_RS_KIND, TOP_RS_LEN, TOP_RS_PID, TOP_RS_MAX };

struct top_res_list {
	struct top_res_row *rows;
	size_t n, cap;
};

/* Every process's resources, sorted. */
int top_res_list__build(struct top_res_list *l, const struct top_session *s,
			enum top_res_sort sort, bool descending);
void top_res_list__free(struct top_res_list *l);
const char *top_res_sort_name(enum top_res_sort k);

int top_panel_resources(struct top_text *out, const struct top_res_list *l, int width,
			size_t selected, size_t first, int height, bool show_pid,
			enum top_res_sort sort);
/*
 * One resource and the tasks linked to it: who holds it, who waits, who
 * holds each half; those that can free it for its waiters first (the
 * guard's holder, the receiver of a full channel). selected: the link row.
 */
int top_panel_resource(struct top_text *out, const struct top_session *s,
		       const struct top_res_row *r, size_t selected);

/* An entry of the problem view: a finding's task and what it waits on. */
struct top_problem {
	size_t proc;
	size_t finding;		/* into procs[proc]->findings */
	size_t task;		/* SIZE_MAX: the finding names no task */
	uint64_t object;	/* the resource it waits on, 0 none */
	bool first;		/* the finding's first entry (its heading is drawn) */
};

struct top_problems {
	struct top_problem *v;
	size_t n, cap;
};

/* Deadlocks first, then starvation, blocked workers, spinning, lost wakes, idle. */
int top_problems__build(struct top_problems *pl, const struct top_session *s);
void top_problems__free(struct top_problems *pl);
/* True when a deadlock (or, for starved, a starvation) finding exists. */
bool top_problems__any(const struct top_session *s, int kind);
int top_panel_problems(struct top_text *out, const struct top_session *s,
		       const struct top_problems *pl, size_t selected, int width, bool ascii);

/*
 * Line `line` of the source file at path (as DWARF names it), trimmed of
 * its trailing newline; -ENOENT when the file is not on this machine.
 */
int top_source_line(const char *path, uint32_t line, char *buf, size_t len);

/*
 * Writes the wait-for graph of the process at procs[proc] as DOT to a new
 * file taskscope-waits-PID-HHMMSS.dot in the current directory (else
 * $TMPDIR or /tmp). path gets where; 0 or -errno.
 */
int top_write_dot(const struct top_session *s, size_t proc, char *path, size_t len);

#endif
