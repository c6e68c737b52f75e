/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <curses.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "top_log.h"
#include "top_ui.h"

#define KEY_ESC		27
#define KEY_CTRL_L	12

#define V(view)		(1u << (view))
#define V_ALL		(V(TOP_VIEW_TASKS) | V(TOP_VIEW_DETAIL) | V(TOP_VIEW_WORKERS) | \
			 V(TOP_VIEW_PROCS) | V(TOP_VIEW_RESOURCES) | V(TOP_VIEW_RESOURCE) | \
			 V(TOP_VIEW_PROBLEMS))

struct top_key {
	int codes[4];			/* 0 ends the list */
	unsigned views;
	const char *keys;		/* as the help shows them */
	const char *what;
	int (*act)(struct top_ui *ui, struct top_session *s, int key);
};

void top_ui__init(struct top_ui *ui, bool system_wide, bool ascii)
{
	memset(ui, 0, sizeof(*ui));
	ui->system_wide = system_wide;
	ui->ascii = ascii;
	ui->sort = TOP_COL_ID;
	ui->descending = top_columns[TOP_COL_ID].default_desc;
	ui->filter.done_keep_ns = TOP_DONE_KEEP_NS;
	ui->page = 10;
	ui->rsort = TOP_RS_WAITERS;
	ui->rdesc = true;
}

void top_ui__free(struct top_ui *ui)
{
	top_res_list__free(&ui->res);
	top_problems__free(&ui->probs);
	free(ui->order);
	ui->order = NULL;
	ui->norder = ui->cap_order = 0;
}

static bool ident_is(const struct top_ident *id, const struct top_row *r)
{
	return id->set && id->pid == r->pid && id->header == r->header &&
	       (id->first_seen_ns == r->first_seen_ns || !id->first_seen_ns);
}

/*
 * Rebuilds the resources list from this snapshot with the selection on
 * the resource it was on: a new waiter re-sorts the list under the cursor.
 */
static int res_build(struct top_ui *ui, const struct top_session *s)
{
	bool had = ui->rsel < ui->res.n;
	pid_t pid = had ? ui->res.rows[ui->rsel].pid : 0;
	uint64_t object = had ? ui->res.rows[ui->rsel].object : 0;
	size_t i;
	int err;

	err = top_res_list__build(&ui->res, s, ui->rsort, ui->rdesc);
	for (i = 0; had && i < ui->res.n; i++) {
		if (ui->res.rows[i].pid == pid && ui->res.rows[i].object == object) {
			ui->rsel = i;
			break;
		}
	}
	return err;
}

int top_ui__update(struct top_ui *ui, struct top_session *s)
{
	size_t i;

	if (s->nrows > ui->cap_order) {
		size_t *nv = realloc(ui->order, s->nrows * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		ui->order = nv;
		ui->cap_order = s->nrows;
	}
	top_rows_sort(s->rows, s->nrows, ui->sort, ui->descending);
	ui->norder = top_rows_filter(s->rows, s->nrows, &ui->filter, ui->order);
	top_tree_clear(s->rows, s->nrows);
	if (ui->tree && top_tree_order(s, s->rows, ui->order, ui->norder, ui->ascii,
				       &ui->tree_unknown))
		return -ENOMEM;
	/* indexes into this snapshot: rebuilt with it */
	if ((ui->view == TOP_VIEW_RESOURCES || ui->view == TOP_VIEW_RESOURCE) &&
	    res_build(ui, s))
		return -ENOMEM;
	if (ui->view == TOP_VIEW_PROBLEMS && top_problems__build(&ui->probs, s))
		return -ENOMEM;
	if (ui->sel_id.set) {
		for (i = 0; i < ui->norder; i++) {
			if (ident_is(&ui->sel_id, &s->rows[ui->order[i]])) {
				ui->sel = i;
				break;
			}
		}
	}
	/* the selected task is gone: stay at the same place, as htop does */
	if (ui->sel >= ui->norder)
		ui->sel = ui->norder ? ui->norder - 1 : 0;
	if (ui->norder)
		top_ident__from_row(&ui->sel_id, &s->rows[ui->order[ui->sel]]);
	else
		ui->sel_id.set = false;
	top_scroll_clamp(ui->norder, ui->sel, ui->page, &ui->first);
	return 0;
}

/* ---- actions -------------------------------------------------------------- */

static size_t count_workers(const struct top_session *s)
{
	size_t i, n = 0;

	for (i = 0; i < s->nprocs; i++)
		n += s->procs[i]->cur.nworkers;
	return n;
}

static void move_in(size_t *sel, size_t n, int key, int page)
{
	size_t p = page > 1 ? (size_t)page : 1;

	if (!n) {
		*sel = 0;
		return;
	}
	switch (key) {
	case KEY_UP:
	case 'k':
		if (*sel)
			(*sel)--;
		break;
	case KEY_DOWN:
	case 'j':
		(*sel)++;
		break;
	case KEY_PPAGE:
		*sel = *sel > p ? *sel - p : 0;
		break;
	case KEY_NPAGE:
		*sel += p;
		break;
	case KEY_HOME:
	case 'g':
		*sel = 0;
		break;
	case KEY_END:
	case 'G':
		*sel = n - 1;
		break;
	}
	if (*sel >= n)
		*sel = n - 1;
}

/* The resource the one-resource view shows, in the current list. */
static const struct top_res_row *shown_resource(const struct top_ui *ui)
{
	size_t i;

	for (i = 0; i < ui->res.n; i++)
		if (ui->res.rows[i].pid == ui->res_pid && ui->res.rows[i].object == ui->res_object)
			return &ui->res.rows[i];
	return NULL;
}

static int act_move(struct top_ui *ui, struct top_session *s, int key)
{
	size_t scroll;

	if (ui->help) {
		scroll = (size_t)ui->help_scroll;
		move_in(&scroll, 1000, key, ui->page);
		ui->help_scroll = (int)scroll;
		return TOP_R_REDRAW;
	}
	switch (ui->view) {
	case TOP_VIEW_TASKS:
		move_in(&ui->sel, ui->norder, key, ui->page);
		if (ui->norder)
			top_ident__from_row(&ui->sel_id, &s->rows[ui->order[ui->sel]]);
		top_scroll_clamp(ui->norder, ui->sel, ui->page, &ui->first);
		break;
	case TOP_VIEW_DETAIL:
		/* clamped to the text when composing */
		scroll = (size_t)ui->detail_scroll;
		move_in(&scroll, 1000, key, ui->page);
		ui->detail_scroll = (int)scroll;
		break;
	case TOP_VIEW_WORKERS:
		move_in(&ui->wsel, count_workers(s), key, ui->page);
		top_scroll_clamp(count_workers(s), ui->wsel, ui->page, &ui->wfirst);
		break;
	case TOP_VIEW_PROCS:
		move_in(&ui->psel, s->nprocs, key, ui->page);
		top_scroll_clamp(s->nprocs, ui->psel, ui->page, &ui->pfirst);
		break;
	case TOP_VIEW_RESOURCES:
		move_in(&ui->rsel, ui->res.n, key, ui->page);
		top_scroll_clamp(ui->res.n, ui->rsel, ui->page, &ui->rfirst);
		break;
	case TOP_VIEW_RESOURCE: {
		const struct top_res_row *r = shown_resource(ui);

		move_in(&ui->lsel, r ? r->nlinks : 0, key, ui->page);
		break;
	}
	case TOP_VIEW_PROBLEMS:
		move_in(&ui->prsel, ui->probs.n, key, ui->page);
		break;
	}
	return TOP_R_REDRAW;
}

static int act_sort(struct top_ui *ui, struct top_session *s, int key)
{
	int step = key == KEY_LEFT || key == '<' || key == ',' ? -1 : 1;
	int c = (int)ui->sort;

	do {
		c = (c + step + TOP_COL_MAX) % TOP_COL_MAX;
	} while (c == TOP_COL_PID && !ui->system_wide);
	ui->sort = (enum top_col)c;
	ui->descending = top_columns[c].default_desc;
	ui->first = 0;
	top_ui__update(ui, s);
	return TOP_R_REDRAW;
}

static int act_invert(struct top_ui *ui, struct top_session *s, int key)
{
	ui->descending = !ui->descending;
	top_ui__update(ui, s);
	return TOP_R_REDRAW;
}

static int act_filter(struct top_ui *ui, struct top_session *s, int key)
{
	ui->editing = true;
	return TOP_R_REDRAW;
}

static int act_done(struct top_ui *ui, struct top_session *s, int key)
{
	ui->filter.show_done = !ui->filter.show_done;
	top_ui__update(ui, s);
	return TOP_R_REDRAW;
}

static int act_pause(struct top_ui *ui, struct top_session *s, int key)
{
	ui->paused = !ui->paused;
	return TOP_R_REDRAW | (ui->paused ? 0 : TOP_R_REFRESH);
}

static void open_detail(struct top_ui *ui, const struct top_ident *id)
{
	ui->detail = *id;
	ui->detail_scroll = 0;
	ui->back = ui->view;
	ui->view = TOP_VIEW_DETAIL;
}

static void open_task(struct top_ui *ui, const struct top_proc *tp, size_t task)
{
	struct top_ident id = { .set = true };

	if (task >= tp->cur.ntasks)
		return;
	id.pid = tp->cur.pid;
	id.header = tp->cur.tasks[task].header;
	id.first_seen_ns = tp->cur.tasks[task].st.first_seen_ns;
	open_detail(ui, &id);
}

static void open_resource(struct top_ui *ui, pid_t pid, uint64_t object)
{
	ui->res_pid = pid;
	ui->res_object = object;
	ui->lsel = 0;
	ui->res_back = ui->view;
	ui->view = TOP_VIEW_RESOURCE;
}

static int act_enter(struct top_ui *ui, struct top_session *s, int key)
{
	switch (ui->view) {
	case TOP_VIEW_TASKS:
		if (ui->norder)
			open_detail(ui, &ui->sel_id);
		break;
	case TOP_VIEW_WORKERS: {
		size_t n = count_workers(s);
		struct top_worker_ref *refs = calloc(n + 1, sizeof(*refs));
		const struct ts_worker *w;
		const struct top_proc *tp;
		struct top_ident id = {};
		size_t k;

		if (!refs)
			break;
		n = top_workers_list(s, refs, n);
		if (ui->wsel < n) {
			tp = s->procs[refs[ui->wsel].proc];
			w = &tp->cur.workers[refs[ui->wsel].worker];
			for (k = 0; w->st.depth && k < tp->cur.ntasks; k++) {
				if (tp->cur.tasks[k].header != w->st.header)
					continue;
				id.set = true;
				id.pid = tp->op.pid;
				id.header = w->st.header;
				id.first_seen_ns = tp->cur.tasks[k].st.first_seen_ns;
			}
		}
		free(refs);
		if (id.set)
			open_detail(ui, &id);
		break;
	}
	case TOP_VIEW_PROCS:
		if (ui->psel < s->nprocs) {
			ui->filter.pid = s->procs[ui->psel]->op.pid;
			ui->view = TOP_VIEW_TASKS;
			ui->sel = ui->first = 0;
			ui->sel_id.set = false;
			top_ui__update(ui, s);
		}
		break;
	case TOP_VIEW_RESOURCES:
		if (ui->rsel < ui->res.n)
			open_resource(ui, ui->res.rows[ui->rsel].pid, ui->res.rows[ui->rsel].object);
		break;
	case TOP_VIEW_PROBLEMS:
		if (ui->prsel < ui->probs.n) {
			const struct top_problem *e = &ui->probs.v[ui->prsel];
			const struct top_proc *tp = s->procs[e->proc];

			if (e->object) {
				open_resource(ui, tp->cur.pid, e->object);
				res_build(ui, s);
			} else if (e->task != SIZE_MAX) {
				open_task(ui, tp, e->task);
			}
		}
		break;
	case TOP_VIEW_RESOURCE: {
		const struct top_res_row *r = shown_resource(ui);

		if (r && ui->lsel < r->nlinks && r->links[ui->lsel].proc < s->nprocs)
			open_task(ui, s->procs[r->links[ui->lsel].proc], r->links[ui->lsel].task);
		break;
	}
	case TOP_VIEW_DETAIL:
		break;
	}
	return TOP_R_REDRAW;
}

static int act_view(struct top_ui *ui, enum top_view_kind v)
{
	ui->view = ui->view == v ? TOP_VIEW_TASKS : v;
	return TOP_R_REDRAW;
}

static int act_workers(struct top_ui *ui, struct top_session *s, int key)
{
	return act_view(ui, TOP_VIEW_WORKERS);
}

static int act_procs(struct top_ui *ui, struct top_session *s, int key)
{
	if (!ui->system_wide)
		return TOP_R_HANDLED;	/* one process: nothing to pick from */
	return act_view(ui, TOP_VIEW_PROCS);
}

static int act_tasks(struct top_ui *ui, struct top_session *s, int key)
{
	if (ui->view == TOP_VIEW_TASKS) {
		/* t in the task list: the tree, as htop's F5 */
		ui->tree = !ui->tree;
		ui->first = 0;
		top_ui__update(ui, s);
		return TOP_R_REDRAW;
	}
	ui->view = TOP_VIEW_TASKS;
	return TOP_R_REDRAW;
}

static int act_resources(struct top_ui *ui, struct top_session *s, int key)
{
	if (ui->view == TOP_VIEW_RESOURCES) {
		ui->view = TOP_VIEW_TASKS;
		return TOP_R_REDRAW;
	}
	ui->view = TOP_VIEW_RESOURCES;
	res_build(ui, s);
	return TOP_R_REDRAW;
}

static int act_res_sort(struct top_ui *ui, struct top_session *s, int key)
{
	if (key == 'i' || key == KEY_F(8)) {
		ui->rdesc = !ui->rdesc;
	} else {
		int step = key == KEY_LEFT || key == '<' || key == ',' ? -1 : 1;

		ui->rsort = (enum top_res_sort)(((int)ui->rsort + step + TOP_RS_MAX) % TOP_RS_MAX);
		ui->rdesc = ui->rsort == TOP_RS_WAITERS || ui->rsort == TOP_RS_LEN;
	}
	res_build(ui, s);
	return TOP_R_REDRAW;
}

static int act_problems(struct top_ui *ui, struct top_session *s, int key)
{
	if (ui->view == TOP_VIEW_PROBLEMS) {
		ui->view = TOP_VIEW_TASKS;
		return TOP_R_REDRAW;
	}
	ui->view = TOP_VIEW_PROBLEMS;
	ui->pr_scroll = 0;
	top_problems__build(&ui->probs, s);
	if (ui->prsel >= ui->probs.n)
		ui->prsel = 0;
	return TOP_R_REDRAW;
}

/*
 * D: the wait-for graph as DOT, of the process the view is about (the
 * resource's, the problem's, the selected task's), else the first one
 * with a deadlock, else the first.
 */
static int act_dot(struct top_ui *ui, struct top_session *s, int key)
{
	char path[300];
	size_t i, proc = 0;
	pid_t pid = 0;
	int err;

	if (ui->view == TOP_VIEW_RESOURCE)
		pid = ui->res_pid;
	else if (ui->view == TOP_VIEW_RESOURCES && ui->rsel < ui->res.n)
		pid = ui->res.rows[ui->rsel].pid;
	else if (ui->view == TOP_VIEW_DETAIL && ui->detail.set)
		pid = ui->detail.pid;
	else if (ui->view == TOP_VIEW_PROBLEMS && ui->prsel < ui->probs.n)
		pid = s->procs[ui->probs.v[ui->prsel].proc]->cur.pid;
	else if (ui->view == TOP_VIEW_TASKS && ui->norder)
		pid = s->rows[ui->order[ui->sel]].pid;
	for (i = 0; i < s->nprocs; i++) {
		if (pid ? s->procs[i]->cur.pid == pid : false) {
			proc = i;
			break;
		}
		if (!pid) {
			size_t k;

			for (k = 0; k < s->procs[i]->nfindings; k++)
				if (s->procs[i]->findings[k].kind == TS_FIND_DEADLOCK)
					break;
			if (k < s->procs[i]->nfindings) {
				proc = i;
				break;
			}
		}
	}
	if (!s->nprocs) {
		snprintf(ui->status, sizeof(ui->status), "no process to draw");
		return TOP_R_REDRAW;
	}
	err = top_write_dot(s, proc, path, sizeof(path));
	if (err)
		snprintf(ui->status, sizeof(ui->status), "could not write %s: %s", path,
			 strerror(-err));
	else
		snprintf(ui->status, sizeof(ui->status), "wrote %s (dot -Tsvg -O %s)", path, path);
	return TOP_R_REDRAW;
}

static int act_help(struct top_ui *ui, struct top_session *s, int key)
{
	ui->help = !ui->help;
	ui->help_scroll = 0;
	return TOP_R_REDRAW;
}

static int act_redraw(struct top_ui *ui, struct top_session *s, int key)
{
	return TOP_R_REDRAW;
}

static int act_back(struct top_ui *ui, struct top_session *s, int key)
{
	if (key == KEY_F(10))
		return TOP_R_QUIT;
	switch (ui->view) {
	case TOP_VIEW_DETAIL:
		ui->view = ui->back;
		return TOP_R_REDRAW;
	case TOP_VIEW_RESOURCE:
		ui->view = ui->res_back;
		return TOP_R_REDRAW;
	case TOP_VIEW_WORKERS:
	case TOP_VIEW_PROCS:
	case TOP_VIEW_RESOURCES:
	case TOP_VIEW_PROBLEMS:
		ui->view = TOP_VIEW_TASKS;
		return TOP_R_REDRAW;
	case TOP_VIEW_TASKS:
		break;
	}
	if (key == KEY_ESC && ui->filter.name[0]) {
		ui->filter.name[0] = '\0';
	} else if (key == KEY_ESC && ui->filter.pid) {
		ui->filter.pid = 0;
		ui->view = TOP_VIEW_PROCS;
	} else {
		return TOP_R_QUIT;
	}
	top_ui__update(ui, s);
	return TOP_R_REDRAW;
}

static const struct top_key keymap[] = {
	{ { KEY_UP, 'k' }, V_ALL, "Up k", "move up (scroll the detail and help)", act_move },
	{ { KEY_DOWN, 'j' }, V_ALL, "Down j", "move down", act_move },
	{ { KEY_PPAGE }, V_ALL, "PgUp", "a page up", act_move },
	{ { KEY_NPAGE }, V_ALL, "PgDn", "a page down", act_move },
	{ { KEY_HOME, 'g' }, V_ALL, "Home g", "first row", act_move },
	{ { KEY_END, 'G' }, V_ALL, "End G", "last row", act_move },
	{ { KEY_RIGHT, '>', '.', KEY_F(6) }, V(TOP_VIEW_TASKS), "Right > F6",
	  "sort by the next column", act_sort },
	{ { KEY_LEFT, '<', ',' }, V(TOP_VIEW_TASKS), "Left <", "sort by the previous column",
	  act_sort },
	{ { 'i', KEY_F(8) }, V(TOP_VIEW_TASKS), "i F8", "invert the sort order", act_invert },
	{ { '/', KEY_F(3), KEY_F(4) }, V(TOP_VIEW_TASKS), "/ F3 F4",
	  "filter by name, a substring (Enter keeps it, Esc clears it)", act_filter },
	{ { 'd' }, V(TOP_VIEW_TASKS), "d",
	  "done tasks: all of them / only those done in the last 5 s", act_done },
	{ { ' ' }, V_ALL, "Space", "pause / resume updates", act_pause },
	{ { '\n', '\r', KEY_ENTER }, V(TOP_VIEW_TASKS) | V(TOP_VIEW_WORKERS) | V(TOP_VIEW_PROCS) |
	  V(TOP_VIEW_RESOURCES) | V(TOP_VIEW_RESOURCE) | V(TOP_VIEW_PROBLEMS),
	  "Enter", "task detail (workers: its task; processes: its tasks; r, P: a resource's tasks)",
	  act_enter },
	{ { KEY_RIGHT, '>', '.', KEY_F(6) }, V(TOP_VIEW_RESOURCES), "> <",
	  "resources: sort by waiters, kind, length, PID", act_res_sort },
	{ { KEY_LEFT, '<', ',' }, V(TOP_VIEW_RESOURCES), "", "", act_res_sort },
	{ { 'i', KEY_F(8) }, V(TOP_VIEW_RESOURCES), "", "", act_res_sort },
	{ { 'r' }, V_ALL, "r", "resources: locks and channels stuck tasks wait on or hold",
	  act_resources },
	{ { 'P' }, V_ALL, "P", "problems: each finding's tasks, .await lines, who can free them",
	  act_problems },
	{ { 'D' }, V_ALL, "D", "write the wait-for graph as a DOT file (the footer says where)",
	  act_dot },
	{ { 'w', KEY_F(5) }, V_ALL, "w F5",
	  "workers: busy%, polls, the task each thread polls now and for how long", act_workers },
	{ { 'p', KEY_F(7) }, V_ALL, "p F7", "processes (system-wide); Enter shows one's tasks",
	  act_procs },
	{ { 't' }, V_ALL, "t", "tree of who spawned whom (toggle); elsewhere: back to the tasks",
	  act_tasks },
	{ { '?', 'h', KEY_F(1) }, V_ALL, "? h F1", "this help", act_help },
	{ { KEY_CTRL_L, KEY_RESIZE }, V_ALL, "Ctrl-L", "redraw the screen", act_redraw },
	{ { 'q', KEY_ESC, KEY_F(10) }, V_ALL, "q Esc F10",
	  "back from a view or a filter; quit from the task list (F10 always quits)", act_back },
};

static int edit_filter(struct top_ui *ui, struct top_session *s, int key)
{
	size_t len = strlen(ui->filter.name);

	if (key == KEY_ESC) {
		ui->filter.name[0] = '\0';
		ui->editing = false;
	} else if (key == '\n' || key == '\r' || key == KEY_ENTER) {
		ui->editing = false;
	} else if (key == KEY_BACKSPACE || key == 127 || key == 8) {
		/* a whole UTF-8 glyph */
		while (len && ((unsigned char)ui->filter.name[len - 1] & 0xC0) == 0x80)
			len--;
		if (len)
			len--;
		ui->filter.name[len] = '\0';
	} else if (key == KEY_RESIZE) {
		return TOP_R_HANDLED | TOP_R_REDRAW;
	} else if (key >= 0x20 && key < 0x100 && key != 0x7f && len + 1 < sizeof(ui->filter.name)) {
		ui->filter.name[len] = (char)key;
		ui->filter.name[len + 1] = '\0';
	} else {
		return TOP_R_HANDLED;
	}
	/* incremental, as htop's filter */
	ui->sel = ui->first = 0;
	ui->sel_id.set = false;
	top_ui__update(ui, s);
	return TOP_R_HANDLED | TOP_R_REDRAW;
}

int top_ui__key(struct top_ui *ui, struct top_session *s, int key)
{
	size_t i;
	int c, r;

	if (ui->editing)
		return edit_filter(ui, s, key);
	if (key != KEY_RESIZE)
		ui->status[0] = '\0';	/* a message lasts until the next key */
	if (ui->help) {
		/* scroll it; anything else closes it */
		if (key == KEY_UP || key == KEY_DOWN || key == 'j' || key == 'k' ||
		    key == KEY_PPAGE || key == KEY_NPAGE || key == KEY_HOME || key == KEY_END)
			return TOP_R_HANDLED | act_move(ui, s, key);
		if (key == KEY_RESIZE)
			return TOP_R_HANDLED | TOP_R_REDRAW;
		if (key == KEY_F(10))
			return TOP_R_HANDLED | TOP_R_QUIT;
		ui->help = false;
		return TOP_R_HANDLED | TOP_R_REDRAW;
	}
	for (i = 0; i < ARRAY_SIZE(keymap); i++) {
		if (!(keymap[i].views & V(ui->view)))
			continue;
		for (c = 0; c < 4 && keymap[i].codes[c]; c++) {
			if (keymap[i].codes[c] != key)
				continue;
			r = keymap[i].act(ui, s, key);
			/* the model reads the chain of the task shown in full, and only that */
			top_session__show(s, ui->view == TOP_VIEW_DETAIL ? &ui->detail : NULL);
			return TOP_R_HANDLED | r;
		}
	}
	return 0;
}

/* ---- composing the screen ------------------------------------------------ */

/* "  key          text", the text wrapped under itself at width. */
static void help_item(struct top_text *out, const char *key, const char *text, int width)
{
	int avail = width - 15 > 20 ? width - 15 : 20;
	bool first = true;

	/* a long key ("blocked_worker") on a line of its own, the text under it */
	if (strlen(key) > 12) {
		top_text__addf(out, TOP_A_NORMAL, "  %s", key);
		key = "";
	}

	while (*text) {
		int n = (int)strlen(text), cut = n;

		if (n > avail) {
			for (cut = avail; cut > 0 && text[cut] != ' '; cut--)
				;
			if (!cut)
				cut = avail;
		}
		top_text__addf(out, TOP_A_NORMAL, "  %-12s %.*s", first ? key : "", cut, text);
		first = false;
		text += cut;
		while (*text == ' ')
			text++;
	}
}

int top_ui__help(struct top_text *out, bool system_wide, int width)
{
	size_t i;
	int c;

	top_text__add(out, TOP_A_TITLE, "Keys");
	for (i = 0; i < ARRAY_SIZE(keymap); i++)
		if (keymap[i].keys[0])
			help_item(out, keymap[i].keys, keymap[i].what, width);
	top_text__add(out, TOP_A_TITLE, "Task columns (rows with a stall are highlighted)");
	for (c = 0; c < TOP_COL_MAX; c++) {
		if (c == TOP_COL_PID && !system_wide)
			continue;
		help_item(out, top_columns[c].title, top_columns[c].description, width);
	}
	top_text__add(out, TOP_A_TITLE, "Header");
	help_item(out, "Workers", "each worker thread's time inside polls over the last refresh",
		  width);
	help_item(out, "Tasks", "tasks by state; Polls: polls per second over the last refresh",
		  width);
	help_item(out, "Stalls", "what the stall rules flag (--stall-ms for waits, --long-poll-ms "
		  "for polls), as taskscope report does", width);
	help_item(out, "Probes", "uprobe hits per second; est. CPU = hits x ~5.8 us each (a 5.3 us "
		  "trap + 0.5 us of BPF, measured on the test VM: README, probe cost)", width);
	help_item(out, "mem scan", "tasks idle since before attach are found in memory, every 5 s "
		  "and to confirm a stall", width);
	top_text__add(out, TOP_A_TITLE, "Who waits on whom (r, P, D)");
	help_item(out, "", "task -> resource -> holder: a stuck task waits at an .await on a "
		  "resource, and whoever holds it can free it. A mutex or rwlock: the task "
		  "holding its guard. A semaphore: its permit holders. A full bounded channel: its "
		  "receiver. An empty channel: its senders. A JoinHandle: the task it joins. When "
		  "the holder waits, down the line, on the first task, nobody can: a deadlock "
		  "cycle (the banner).", width);
	help_item(out, "", "Known from the await chains of the tasks waiting longer than "
		  "--stall-ms (DWARF needed), and from USDT runtimes' probes.", width);
	top_text__add(out, TOP_A_TITLE, "Findings and their usual remedies");
	help_item(out, "deadlock", "acquire locks in one consistent order; lock with a timeout "
		  "(tokio::time::timeout, try_lock); shrink each guard's scope; don't await a "
		  "JoinHandle or a send while holding what the other task needs", width);
	help_item(out, "full channel", "a sender idle on a full bounded channel: slow the sender, "
		  "speed up the receiver, or raise the capacity (or try_send and shed load)", width);
	help_item(out, "blocked_worker", "a poll that blocks its worker: move the blocking call "
		  "to spawn_blocking or block_in_place, or make it async", width);
	help_item(out, "starved", "woken but not polled: other polls hold every worker; find the "
		  "long polls (MAXPOLL), add workers, or yield in long loops", width);
	help_item(out, "lost_wake", "woken, then dropped without a poll: the waker went to a "
		  "runtime that shut down, or the task was aborted mid-wake", width);
	help_item(out, "spinning", "a task waking itself again and again: wait on the real event "
		  "(a Notify, a channel) instead of yield_now in a loop", width);
	help_item(out, "idle", "waiting longer than --stall-ms: see what it waits on (P, Enter) "
		  "and whether whoever can free it is alive and making progress", width);
	top_text__add(out, TOP_A_TITLE, "Leaving");
	help_item(out, "", "q, Ctrl-C and SIGTERM detach every probe. With -p PID, the target "
		  "exiting ends top too (exit status 0, \"PID N exited\").", width);
	return 0;
}

static void opts_for(const struct top_ui *ui, int width, int meters, struct top_panel_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->width = width;
	o->ascii = ui->ascii;
	o->paused = ui->paused;
	o->max_meter_lines = meters;
	o->filter = &ui->filter;
	o->sort = ui->sort;
	o->descending = ui->descending;
	o->editing = ui->editing ? ui->filter.name : NULL;
}

static int footer(struct top_ui *ui, int width, struct top_text *out)
{
	static const struct top_fkey tasks[] = {
		{ "F1", "Help" }, { "F3", "Filter" }, { "F5", "Workers" }, { "F6", "Sort" },
		{ "F7", "Procs" }, { "F8", "Invert" }, { "Spc", "Pause" }, { "Ent", "Detail" },
		{ "F10", "Quit" },
	};
	static const struct top_fkey tasks_one[] = {
		{ "F1", "Help" }, { "F3", "Filter" }, { "F5", "Workers" }, { "F6", "Sort" },
		{ "F8", "Invert" }, { "Spc", "Pause" }, { "Ent", "Detail" }, { "F10", "Quit" },
	};
	static const struct top_fkey sub[] = {
		{ "Esc", "Back" }, { "F1", "Help" }, { "Spc", "Pause" }, { "Ent", "Task" },
		{ "F10", "Quit" },
	};
	static const struct top_fkey help[] = { { "Esc", "Close" }, { "Up/Dn", "Scroll" } };
	static const struct top_fkey edit[] = { { "Enter", "Keep" }, { "Esc", "Clear" } };
	char right[64] = "";

	if (ui->paused)
		snprintf(right, sizeof(right), "PAUSED ");
	if (ui->status[0] && !ui->editing && !ui->help) {
		/* a message (D's file) on its own line above the keys */
		top_text__add(out, TOP_A_WARN, ui->status);
	}
	if (ui->editing) {
		char prompt[160];

		snprintf(prompt, sizeof(prompt), "Filter: %s_ ", ui->filter.name);
		return top_panel_footer(out, edit, 2, width, prompt);
	}
	if (ui->help)
		return top_panel_footer(out, help, 2, width, right);
	if (ui->view == TOP_VIEW_TASKS && ui->system_wide)
		return top_panel_footer(out, tasks, ARRAY_SIZE(tasks), width, right);
	if (ui->view == TOP_VIEW_TASKS)
		return top_panel_footer(out, tasks_one, ARRAY_SIZE(tasks_one),
					width, right);
	return top_panel_footer(out, sub, ui->view == TOP_VIEW_DETAIL ? 3 : 5, width, right);
}

/* Lines [from, from + n) of src appended to out. */
static void append_slice(struct top_text *out, const struct top_text *src, size_t from, size_t n)
{
	size_t i;

	for (i = from; i < src->n && i < from + n; i++) {
		struct top_line *l = top_text__add(out, src->lines[i].attr, src->lines[i].text);
		int k;

		for (k = 0; l && k < src->lines[i].nspans; k++)
			top_line__span(l, src->lines[i].spans[k].col, src->lines[i].spans[k].len,
				       src->lines[i].spans[k].attr);
	}
}

static void scrolled(struct top_text *out, const struct top_text *body, int *scroll, int height)
{
	int max = (int)body->n - height;

	if (*scroll > max)
		*scroll = max > 0 ? max : 0;
	append_slice(out, body, (size_t)*scroll, height > 0 ? (size_t)height : 0);
}

/*
 * The path a person follows: a deadlock or starvation found anywhere is
 * one highlighted line under the header, naming the key that explains it.
 */
static void banner(const struct top_ui *ui, const struct top_session *s, struct top_text *out)
{
	const char *warn = ui->ascii ? "!!" : "\u26a0";

	if (top_problems__any(s, TS_FIND_DEADLOCK))
		top_text__addf(out, TOP_A_WARN, " %s deadlock cycle detected %s press P to see it, "
			       "r for the resources, D for the graph", warn, ui->ascii ? "-" : "\u2014");
	else if (top_problems__any(s, TS_FIND_STARVED))
		top_text__addf(out, TOP_A_WARN, " %s starvation detected %s press P to see it", warn,
			       ui->ascii ? "-" : "\u2014");
	/*
	 * Parents come from the spawn probe: a task spawned before the attach
	 * has none, and sampled mode probes only in bursts.
	 */
	if (ui->tree && ui->tree_unknown)
		top_text__addf(out, TOP_A_DIM, " tree: parent unknown for %zu task%s (spawned %s)",
			       ui->tree_unknown, ui->tree_unknown == 1 ? "" : "s",
			       s->sampled ? "outside probe bursts, or before attach" :
			       "before attach");
	else if (ui->tree)
		top_text__add(out, TOP_A_DIM, " tree: every task's parent is known");
}

/* Scrolls so that the selected line (TOP_A_SELECTED) is on screen. */
static void follow_selected(const struct top_text *body, int *scroll, int height)
{
	size_t i;

	for (i = 0; i < body->n; i++) {
		if (body->lines[i].attr != TOP_A_SELECTED)
			continue;
		if ((int)i < *scroll + 1)
			*scroll = (int)i > 1 ? (int)i - 1 : 0;
		else if ((int)i + 4 >= *scroll + height)
			*scroll = (int)i + 4 - height + 1;
		return;
	}
}

int top_ui__compose(struct top_ui *ui, struct top_session *s, int width, int height,
		    struct top_text *out)
{
	struct top_panel_opts o;
	struct top_text body = {};
	struct top_table_opts to;
	int body_h, err = 0, reserve;

	if (width < 40 || height < 8) {
		top_text__addf(out, TOP_A_NORMAL, "terminal too small (%dx%d): taskscope top needs "
			       "40x8", width, height);
		return 0;
	}
	/* htop's header grows with the terminal; 80x24 keeps 15 rows of tasks */
	opts_for(ui, width, height >= 40 ? 4 : height >= 30 ? 2 : 1, &o);
	if (ui->help) {
		top_panel_title(out, s, &o);
		top_ui__help(&body, ui->system_wide, width);
		ui->page = height - 2;
		scrolled(out, &body, &ui->help_scroll, height - 2);
	} else if (ui->view == TOP_VIEW_TASKS) {
		err = top_panel_header(out, s, &o);
		if (!err)
			banner(ui, s, out);
		body_h = height - (int)out->n - 2;
		ui->page = body_h > 1 ? body_h : 1;
		top_scroll_clamp(ui->norder, ui->sel, ui->page, &ui->first);
		memset(&to, 0, sizeof(to));
		to.width = width;
		to.height = ui->page;
		to.ascii = ui->ascii;
		to.show_pid = ui->system_wide && !ui->filter.pid;
		to.sort = ui->sort;
		to.descending = ui->descending;
		to.cursor = true;
		to.selected = ui->sel;
		to.first = ui->first;
		if (!err)
			err = top_table_render(out, s->rows, ui->order, ui->norder, &to);
		if (!err && !ui->norder)
			top_text__add(out, TOP_A_DIM, s->nrows ? "  (no task matches the filter)" :
				      "  (no task seen yet)");
	} else {
		top_panel_title(out, s, &o);
		body_h = height - 2;
		ui->page = body_h - 1 > 1 ? body_h - 1 : 1;
		if (ui->view == TOP_VIEW_DETAIL) {
			err = top_panel_detail(&body, s, &ui->detail, &o);
			scrolled(out, &body, &ui->detail_scroll, body_h);
		} else if (ui->view == TOP_VIEW_RESOURCES) {
			if (ui->rsel >= ui->res.n)
				ui->rsel = ui->res.n ? ui->res.n - 1 : 0;
			ui->page = body_h - 2 > 1 ? body_h - 2 : 1;
			top_scroll_clamp(ui->res.n, ui->rsel, ui->page, &ui->rfirst);
			err = top_panel_resources(out, &ui->res, width, ui->rsel, ui->rfirst, ui->page,
						  ui->system_wide, ui->rsort);
		} else if (ui->view == TOP_VIEW_RESOURCE) {
			const struct top_res_row *r = shown_resource(ui);

			if (r) {
				if (ui->lsel >= r->nlinks)
					ui->lsel = r->nlinks ? r->nlinks - 1 : 0;
				err = top_panel_resource(out, s, r, ui->lsel);
			} else {
				top_text__add(out, TOP_A_DIM, "  (that resource is gone: no task waits "
					      "on or holds it any more; Esc: back)");
			}
		} else if (ui->view == TOP_VIEW_PROBLEMS) {
			if (ui->prsel >= ui->probs.n)
				ui->prsel = ui->probs.n ? ui->probs.n - 1 : 0;
			err = top_panel_problems(&body, s, &ui->probs, ui->prsel, width, ui->ascii);
			/* keep the selected entry on screen */
			if (!err)
				follow_selected(&body, &ui->pr_scroll, body_h);
			scrolled(out, &body, &ui->pr_scroll, body_h);
		} else if (ui->view == TOP_VIEW_WORKERS) {
			size_t n = count_workers(s);

			if (ui->wsel >= n)
				ui->wsel = n ? n - 1 : 0;
			top_scroll_clamp(n, ui->wsel, ui->page, &ui->wfirst);
			err = top_panel_workers(out, s, &o, ui->wsel, ui->wfirst, ui->page, true);
		} else {
			if (ui->psel >= s->nprocs)
				ui->psel = s->nprocs ? s->nprocs - 1 : 0;
			top_scroll_clamp(s->nprocs, ui->psel, ui->page, &ui->pfirst);
			err = top_panel_procs(out, s, &o, ui->psel, ui->pfirst, ui->page, true);
		}
	}
	top_text__free(&body);
	/* the footer's lines: the keys, and a message when there is one */
	reserve = ui->status[0] && !ui->editing && !ui->help ? 2 : 1;
	while (!err && out->n < (size_t)(height - reserve))
		top_text__add(out, TOP_A_NORMAL, "");
	while (out->n > (size_t)(height - reserve)) {
		free(out->lines[out->n - 1].text);
		out->n--;
	}
	if (!err)
		err = footer(ui, width, out);
	return err;
}

/*
 * Batch output folds alike rows (same process, future type and state)
 * past the first TOP_BATCH_ALIKE: a million parked handlers would be a
 * million lines per refresh. The interactive view shows every row.
 */
#define TOP_BATCH_ALIKE	10
#define TOP_FOLD_KEYS	4096

struct fold_key {
	pid_t pid;
	const char *name;
	enum ts_task_state state;
	size_t count;
};

static struct fold_key *fold_slot(struct fold_key *keys, const struct top_row *r)
{
	uintptr_t h = ((uintptr_t)r->name >> 4) * 31 + (uintptr_t)r->pid * 7 + r->state;
	size_t k;

	for (k = 0; k < TOP_FOLD_KEYS; k++) {
		struct fold_key *f = &keys[(h + k) % TOP_FOLD_KEYS];

		if (!f->count || (f->pid == r->pid && f->name == r->name && f->state == r->state))
			return f;
	}
	return NULL;	/* too many kinds: this one is not folded */
}

/* ui->order without the rows past TOP_BATCH_ALIKE of each kind; NULL on ENOMEM. */
static size_t *fold_alike(const struct top_ui *ui, const struct top_session *s,
			  struct fold_key **keys_out, size_t *n)
{
	struct fold_key *keys = calloc(TOP_FOLD_KEYS, sizeof(*keys));
	size_t *order = calloc(ui->norder + 1, sizeof(*order)), i;

	*n = 0;
	if (!keys || !order) {
		free(keys);
		free(order);
		return NULL;
	}
	for (i = 0; i < ui->norder; i++) {
		const struct top_row *r = &s->rows[ui->order[i]];
		struct fold_key *f = fold_slot(keys, r);

		if (f) {
			f->pid = r->pid;
			f->name = r->name;
			f->state = r->state;
			if (++f->count > TOP_BATCH_ALIKE)
				continue;
		}
		order[(*n)++] = ui->order[i];
	}
	*keys_out = keys;
	return order;
}

int top_ui__compose_batch(struct top_ui *ui, struct top_session *s, int width,
			  struct top_text *out)
{
	struct top_panel_opts o;
	struct top_table_opts to;
	struct fold_key *keys = NULL;
	size_t *folded, nfolded, k;
	int err;

	opts_for(ui, width, 4, &o);
	o.filter = NULL;	/* no sort/filter line: nothing to change them with */
	err = top_panel_header(out, s, &o);
	if (err)
		return err;
	top_text__add(out, TOP_A_NORMAL, "");
	memset(&to, 0, sizeof(to));
	to.width = width;
	to.ascii = ui->ascii;
	to.show_pid = ui->system_wide;
	to.sort = ui->sort;
	to.descending = ui->descending;
	folded = fold_alike(ui, s, &keys, &nfolded);
	if (!folded)
		return -ENOMEM;
	err = top_table_render(out, s->rows, folded, nfolded, &to);
	for (k = 0; !err && k < TOP_FOLD_KEYS; k++) {
		const struct fold_key *f = &keys[k];

		if (f->count > TOP_BATCH_ALIKE &&
		    !top_text__addf(out, TOP_A_NORMAL,
				    "  ... and %zu more %s tasks of %s%s%.0d (alike rows folded in "
				    "batch mode)", f->count - TOP_BATCH_ALIKE,
				    ts_task_state_name(f->state), f->name[0] ? f->name : "(unnamed)",
				    ui->system_wide ? ", PID " : "", ui->system_wide ? f->pid : 0))
			err = -ENOMEM;
	}
	free(folded);
	free(keys);
	if (err)
		return err;
	top_text__add(out, TOP_A_NORMAL, "");
	return top_panel_findings(out, s, &o);
}
