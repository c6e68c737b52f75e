/* top's keys and screens on a hand-built session: no BPF, no terminal. */
#include <curses.h>
#include <stdlib.h>
#include <string.h>

#include "top_session.h"
#include "top_ui.h"
#include "unit.h"

#define MS (1000ULL * 1000)
#define S (1000ULL * MS)

static struct ts_task *task(struct ts_process *p, uint64_t id, const char *name,
			    enum ts_task_state st, uint64_t busy)
{
	struct ts_task *t = ts_process__add_task(p);

	t->task_id = id;
	t->header = 0x1000 * id;
	t->name = ts_intern(name);
	t->state = st;
	t->seen_by_probe = true;
	t->st.state = st;
	t->st.first_seen_ns = p->attach_ns + id;
	t->st.busy_ns = busy;
	t->st.polls = busy / MS;
	t->st.hist[3] = (uint32_t)t->st.polls;
	return t;
}

/* The demo service as top would see it, with its two planted stalls. */
static void demo_session(struct top_session *s)
{
	struct top_proc *tp = calloc(1, sizeof(*tp));
	struct ts_process *p = &tp->cur;
	struct ts_finding *f = calloc(2, sizeof(*f));
	struct ts_worker *w;
	struct ts_task *t;
	int i;

	memset(s, 0, sizeof(*s));
	ts_rules_config__default(&s->rules);
	s->events_per_s = -1;
	s->start_ns = ts_now_ns();
	tp->op.pid = 4242;
	snprintf(tp->op.comm, sizeof(tp->op.comm), "demo");
	p->pid = 4242;
	snprintf(p->runtime, sizeof(p->runtime), "tokio");
	snprintf(p->runtime_version, sizeof(p->runtime_version), "1.24.2");
	p->attach_ns = 100 * S;
	p->snapshot_ns = 110 * S;
	task(p, 3, "demo::process_orders", TS_TASK_IDLE, 2 * MS);
	task(p, 4, "demo::accept_orders", TS_TASK_IDLE, 3 * MS);
	t = task(p, 5, "demo::reconcile_accounts", TS_TASK_IDLE, 0);
	t->seen_by_probe = false;
	t->since_attach = true;
	t->in_state_ns = 10 * S;
	t = task(p, 6, "demo::settle_payments", TS_TASK_IDLE, 0);
	t->seen_by_probe = false;
	t->since_attach = true;
	t->in_state_ns = 10 * S;
	task(p, 7, "demo::flush_metrics", TS_TASK_IDLE, 6000 * MS);
	for (i = 0; i < 40; i++)
		task(p, 100 + i, "demo::handle_order", TS_TASK_IDLE, 1 * MS);
	w = ts_process__add_worker(p);
	w->tid = 4244;
	snprintf(w->comm, sizeof(w->comm), "tokio-runtime-w");
	w->st.polls = 1000;
	f[0].kind = TS_FIND_IDLE;
	f[0].task = 2;
	f[0].duration_ns = 10 * S;
	f[0].message = "task 5 demo::reconcile_accounts: idle";
	f[1].kind = TS_FIND_IDLE;
	f[1].task = 3;
	f[1].duration_ns = 10 * S;
	f[1].message = "task 6 demo::settle_payments: idle";
	tp->findings = f;
	tp->nfindings = 2;
	top_rates__update(tp);
	s->procs = calloc(1, sizeof(*s->procs));
	s->procs[0] = tp;
	s->nprocs = 1;
	top_session__build_rows(s);
}

static int find_line(const struct top_text *t, const char *needle)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strstr(t->lines[i].text, needle))
			return (int)i;
	return -1;
}

static bool all_fit(const struct top_text *t, int width)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (top_str_width(t->lines[i].text) > width)
			return false;
	return true;
}

static const char *selected_name(const struct top_ui *ui, const struct top_session *s)
{
	return ui->norder ? s->rows[ui->order[ui->sel]].name : "";
}

/* What the observer would have read for a task shown in full. */
static void fake_chain(struct top_session *s, const char *name)
{
	struct ts_process *p = &s->procs[0]->cur;
	struct ts_await_chain *c = calloc(1, sizeof(*c));
	size_t i;

	c->status = TS_CHAIN_SUSPENDED;
	c->nframes = 1;
	snprintf(c->frames[0].func, sizeof(c->frames[0].func), "%s", name);
	snprintf(c->frames[0].file, sizeof(c->frames[0].file), "src/main.rs");
	c->frames[0].line = 38;
	c->leaf.kind = TS_LEAF_MUTEX;
	snprintf(c->leaf.type_name, sizeof(c->leaf.type_name), "Acquire");
	snprintf(c->leaf.detail, sizeof(c->leaf.detail), "waiting on mutex");
	p->has_debuginfo = true;
	for (i = 0; i < p->ntasks; i++) {
		if (strcmp(p->tasks[i].name, name))
			continue;
		p->tasks[i].poll_fn_vaddr = 0x1234;
		p->tasks[i].chain = c;
		return;
	}
	free(c);
}

static void test_keys(void)
{
	struct top_session s;
	struct top_ui ui;
	int r;

	demo_session(&s);
	top_ui__init(&ui, false, false);
	top_ui__update(&ui, &s);
	CHECK("start: by id, first task selected", ui.sort == TOP_COL_ID &&
	      !strcmp(selected_name(&ui, &s), "demo::process_orders"));
	CHECK("start: every task visible", ui.norder == 45);

	r = top_ui__key(&ui, &s, KEY_DOWN);
	CHECK("down: handled and redraws", (r & TOP_R_HANDLED) && (r & TOP_R_REDRAW));
	CHECK("down: moves", !strcmp(selected_name(&ui, &s), "demo::accept_orders"));
	top_ui__key(&ui, &s, 'k');
	CHECK("k: up", !strcmp(selected_name(&ui, &s), "demo::process_orders"));
	top_ui__key(&ui, &s, KEY_END);
	CHECK("end: last", ui.sel == 44);
	top_ui__key(&ui, &s, KEY_HOME);
	CHECK("home: first", ui.sel == 0);
	ui.page = 10;
	top_ui__key(&ui, &s, KEY_NPAGE);
	CHECK("pgdn: a page", ui.sel == 10);
	top_ui__key(&ui, &s, KEY_PPAGE);
	top_ui__key(&ui, &s, KEY_UP);
	CHECK("pgup and up stop at the top", ui.sel == 0);

	/* > walks the columns; BUSY sorts busiest first */
	top_ui__key(&ui, &s, '>');
	CHECK("sort: > goes to STATE (no PID column for one process)", ui.sort == TOP_COL_STATE);
	top_ui__key(&ui, &s, '>');
	top_ui__key(&ui, &s, KEY_RIGHT);
	CHECK("sort: BUSY, descending by default", ui.sort == TOP_COL_BUSY && ui.descending);
	top_ui__key(&ui, &s, KEY_HOME);
	CHECK("sort: the busiest first", !strcmp(selected_name(&ui, &s), "demo::flush_metrics"));
	top_ui__key(&ui, &s, 'i');
	CHECK("i: inverts", !ui.descending && s.rows[ui.order[0]].busy_ns == 0);
	top_ui__key(&ui, &s, '<');
	CHECK("sort: < goes back", ui.sort == TOP_COL_TOTAL);
	ui.sort = TOP_COL_ID;
	top_ui__key(&ui, &s, KEY_LEFT);
	CHECK("sort: wraps around to NAME", ui.sort == TOP_COL_NAME);

	/* the selection follows its task across sorts */
	ui.sort = TOP_COL_ID;
	ui.descending = false;
	top_ui__update(&ui, &s);
	top_ui__key(&ui, &s, KEY_HOME);
	top_ui__key(&ui, &s, KEY_DOWN);
	top_ui__key(&ui, &s, KEY_DOWN);	/* reconcile_accounts */
	top_ui__key(&ui, &s, 'i');
	CHECK("selection follows its task", !strcmp(selected_name(&ui, &s),
						    "demo::reconcile_accounts"));

	/* / filters as you type, Enter keeps, Esc clears */
	top_ui__key(&ui, &s, '/');
	CHECK("filter: editing", ui.editing);
	top_ui__key(&ui, &s, 'S');
	top_ui__key(&ui, &s, 'e');
	top_ui__key(&ui, &s, 't');
	CHECK("filter: incremental", ui.norder == 1 &&
	      !strcmp(selected_name(&ui, &s), "demo::settle_payments"));
	r = top_ui__key(&ui, &s, 'q');
	CHECK("filter: q is a letter while typing", !(r & TOP_R_QUIT) && ui.norder == 0);
	top_ui__key(&ui, &s, KEY_BACKSPACE);
	CHECK("filter: backspace", ui.norder == 1);
	top_ui__key(&ui, &s, '\n');
	CHECK("filter: Enter keeps it", !ui.editing && ui.norder == 1);
	r = top_ui__key(&ui, &s, 27);
	CHECK("filter: Esc clears it before quitting", !(r & TOP_R_QUIT) && ui.norder == 45);

	/* Enter: detail; Esc: back; w/p views; q quits from the list */
	top_ui__key(&ui, &s, KEY_HOME);
	top_ui__key(&ui, &s, '\r');
	CHECK("enter: detail of the selected task", ui.view == TOP_VIEW_DETAIL &&
	      ui.detail.header == s.rows[ui.order[0]].header);
	r = top_ui__key(&ui, &s, 'q');
	CHECK("q in the detail: back, not quit", !(r & TOP_R_QUIT) && ui.view == TOP_VIEW_TASKS);
	top_ui__key(&ui, &s, 'w');
	CHECK("w: workers", ui.view == TOP_VIEW_WORKERS);
	top_ui__key(&ui, &s, 'w');
	CHECK("w again: back to tasks", ui.view == TOP_VIEW_TASKS);
	top_ui__key(&ui, &s, 'p');
	CHECK("p: nothing to pick with one process", ui.view == TOP_VIEW_TASKS);
	r = top_ui__key(&ui, &s, ' ');
	CHECK("space: pauses", ui.paused && !(r & TOP_R_REFRESH));
	r = top_ui__key(&ui, &s, ' ');
	CHECK("space: resumes with a refresh now", !ui.paused && (r & TOP_R_REFRESH));
	top_ui__key(&ui, &s, '?');
	CHECK("?: help", ui.help);
	r = top_ui__key(&ui, &s, 'x');
	CHECK("help: any key closes it", !ui.help && (r & TOP_R_HANDLED));
	CHECK("unknown key: not handled", top_ui__key(&ui, &s, 'Z') == 0);
	r = top_ui__key(&ui, &s, 'q');
	CHECK("q in the list: quit", r & TOP_R_QUIT);
	CHECK("F10: quit from anywhere", (ui.view = TOP_VIEW_WORKERS,
					  top_ui__key(&ui, &s, KEY_F(10)) & TOP_R_QUIT));
	top_ui__free(&ui);
	top_session__close(&s);
}

static void test_screens(void)
{
	struct top_session s;
	struct top_text t = {};
	struct top_ui ui;
	int k, i, bad;

	demo_session(&s);
	top_ui__init(&ui, false, false);
	top_ui__update(&ui, &s);

	CHECK("80x24: composed", top_ui__compose(&ui, &s, 80, 24, &t) == 0);
	CHECK("80x24: exactly 24 lines", t.n == 24);
	CHECK("80x24: nothing wider than 80", all_fit(&t, 80));
	CHECK("80x24: footer last", t.lines[23].attr == TOP_A_FOOTER &&
	      strstr(t.lines[23].text, "F10") && strstr(t.lines[23].text, "Quit"));
	CHECK("80x24: header counts", find_line(&t, "Tasks    45: 0 running, 0 scheduled, 45 "
					   "idle, 0 done") >= 0);
	CHECK("80x24: stalls in the header", find_line(&t, "Stalls   2 flagged: 2 idle") >= 0);
	CHECK("80x24: worker meter", find_line(&t, "Workers") >= 0 && find_line(&t, "4244 [") >= 0);
	k = find_line(&t, "demo::reconcile_accounts");
	CHECK("80x24: stuck task visible, flagged, highlighted",
	      k >= 0 && strstr(t.lines[k].text, "⚠ idle 10s") &&
	      (t.lines[k].attr == TOP_A_STALL || t.lines[k].attr == TOP_A_STALL_SELECTED));
	CHECK("80x24: table cut at the screen", find_line(&t, "demo::handle_order") >= 0 &&
	      ui.page < 45);
	top_text__free(&t);

	top_ui__compose(&ui, &s, 200, 60, &t);
	CHECK("200x60: fits", t.n == 60 && all_fit(&t, 200));
	CHECK("200x60: every column", find_line(&t, "SELF") >= 0 && find_line(&t, "WAKES") >= 0);
	top_text__free(&t);

	top_ui__compose(&ui, &s, 30, 6, &t);
	CHECK("too small: says so", t.n == 1 && strstr(t.lines[0].text, "too small"));
	top_text__free(&t);

	ui.ascii = true;
	top_ui__compose(&ui, &s, 80, 24, &t);
	for (i = 0, bad = 0; (size_t)i < t.n; i++) {
		const unsigned char *c;

		for (c = (const unsigned char *)t.lines[i].text; *c; c++)
			bad |= *c >= 0x80;
	}
	CHECK("ascii: no byte above 0x7f", !bad);
	CHECK("ascii: warning sign", find_line(&t, "! idle 10s") >= 0);
	top_text__free(&t);
	ui.ascii = false;

	ui.help = true;
	top_ui__compose(&ui, &s, 80, 60, &t);
	CHECK("help: lists keys", find_line(&t, "Enter") >= 0 && find_line(&t, "Space") >= 0 &&
	      find_line(&t, "/ F3") >= 0);
	for (i = 0, bad = 0; i < TOP_COL_MAX; i++)
		if (i != TOP_COL_PID && find_line(&t, top_columns[i].description) < 0 &&
		    find_line(&t, top_columns[i].title) < 0)
			bad++;
	CHECK("help: every column explained", !bad && find_line(&t, "MAXPOLL") >= 0);
	CHECK("help: fits the width", all_fit(&t, 80));
	top_text__free(&t);
	ui.help = false;

	/* the detail: stats, stalls, histogram and the await chain the snapshot holds */
	top_ui__key(&ui, &s, KEY_HOME);
	top_ui__key(&ui, &s, KEY_DOWN);
	top_ui__key(&ui, &s, KEY_DOWN);
	top_ui__key(&ui, &s, '\n');
	top_ui__compose(&ui, &s, 80, 40, &t);
	CHECK("detail: the task", find_line(&t, "Task 5 demo::reconcile_accounts") >= 0);
	CHECK("detail: its stall", find_line(&t, "[idle] task 5") >= 0);
	CHECK("detail: without a chain, says so", find_line(&t, "not available") >= 0);
	CHECK("detail: the model knows the task shown in full",
	      s.shown.set && s.shown.header == s.procs[0]->cur.tasks[2].header);
	top_text__free(&t);
	top_ui__key(&ui, &s, 27);
	CHECK("detail: Esc, no task shown in full", !s.shown.set);
	top_ui__key(&ui, &s, KEY_DOWN);
	top_ui__key(&ui, &s, KEY_DOWN);
	top_ui__key(&ui, &s, '\n');	/* flush_metrics: polls to draw */
	fake_chain(&s, "demo::flush_metrics");
	top_ui__compose(&ui, &s, 80, 40, &t);
	CHECK("detail: histogram drawn", find_line(&t, "Poll durations") >= 0 &&
	      find_line(&t, "8us │█") >= 0);
	CHECK("detail: await chain from the snapshot", find_line(&t, "Await chain") >= 0 &&
	      find_line(&t, "src/main.rs:38") >= 0);
	CHECK("detail: fits", all_fit(&t, 80) && t.n == 40);
	top_text__free(&t);
	ui.ascii = true;
	top_ui__compose(&ui, &s, 80, 40, &t);
	CHECK("detail: ascii await tree", find_line(&t, "`- demo::flush_metrics") >= 0 &&
	      find_line(&t, "└─") < 0);
	top_text__free(&t);
	ui.ascii = false;
	top_ui__compose(&ui, &s, 80, 24, &t);
	CHECK("title: process and runtime", find_line(&t, "PID 4242 demo - tokio 1.24.2") == 0);
	top_text__free(&t);
	top_ui__key(&ui, &s, 27);

	top_ui__key(&ui, &s, 'w');
	top_ui__compose(&ui, &s, 80, 24, &t);
	CHECK("workers: a row per thread", find_line(&t, "4244 tokio-runtime-w") >= 0 &&
	      find_line(&t, "CURRENT TASK") >= 0);
	top_text__free(&t);
	top_ui__key(&ui, &s, 27);

	top_ui__compose_batch(&ui, &s, 120, &t);
	CHECK("batch: every kind of row, no footer", find_line(&t, "F10") < 0 &&
	      find_line(&t, "demo::settle_payments") >= 0);
	/* 40 alike handle_order rows: 10 shown, the other 30 folded into one line */
	CHECK("batch: alike rows folded past 10",
	      find_line(&t, "... and 30 more idle tasks of demo::handle_order") >= 0 &&
	      t.n > 15 && t.n < 45);
	CHECK("batch: findings listed", find_line(&t, "STALLS (2") >= 0 &&
	      find_line(&t, "[idle] task 6 demo::settle_payments") >= 0);
	top_text__free(&t);

	top_ui__free(&ui);
	top_session__close(&s);
}

/* Two processes, system-wide: the PID column, the processes view, drilling into one. */
static void test_system_wide(void)
{
	struct top_session s, other;
	struct top_text t = {};
	struct top_ui ui;
	size_t i;
	int r;

	demo_session(&s);
	demo_session(&other);
	s.system_wide = true;
	s.procs = realloc(s.procs, 2 * sizeof(*s.procs));
	s.procs[1] = other.procs[0];
	s.procs[1]->op.pid = 5151;
	s.procs[1]->cur.pid = 5151;
	snprintf(s.procs[1]->op.comm, sizeof(s.procs[1]->op.comm), "other");
	s.nprocs = 2;
	free(other.procs);
	free(other.rows);
	top_session__build_rows(&s);
	for (i = 0; i < s.nrows; i++)
		if (s.rows[i].proc == 1)
			s.rows[i].pid = 5151;
	top_ui__init(&ui, true, false);
	top_ui__update(&ui, &s);
	CHECK("system-wide: rows of both", ui.norder == 90);

	top_ui__compose(&ui, &s, 120, 40, &t);
	CHECK("system-wide: title counts processes",
	      find_line(&t, "system-wide: 2 processes - tokio 1.24.2") == 0);
	CHECK("system-wide: PID column", find_line(&t, "   PID ") >= 0 &&
	      find_line(&t, " 5151 ") >= 0);
	CHECK("system-wide: footer has Procs", find_line(&t, "F7Procs") >= 0);
	top_text__free(&t);

	ui.sort = TOP_COL_STATE;
	top_ui__key(&ui, &s, '<');
	top_ui__key(&ui, &s, '<');
	CHECK("system-wide: sort reaches the PID column", ui.sort == TOP_COL_PID);

	r = top_ui__key(&ui, &s, 'p');
	CHECK("p: processes view", ui.view == TOP_VIEW_PROCS && (r & TOP_R_REDRAW));
	top_ui__compose(&ui, &s, 120, 40, &t);
	CHECK("procs: a row each", find_line(&t, "4242 demo") >= 0 &&
	      find_line(&t, "5151 other") >= 0 && find_line(&t, "RUNTIME") >= 0);
	CHECK("procs: stalls column flagged", t.lines[find_line(&t, "5151 other")].attr ==
	      TOP_A_STALL || t.lines[find_line(&t, "5151 other")].attr == TOP_A_STALL_SELECTED);
	top_text__free(&t);
	top_ui__key(&ui, &s, KEY_DOWN);
	top_ui__key(&ui, &s, '\n');
	CHECK("procs: Enter drills into one", ui.view == TOP_VIEW_TASKS && ui.filter.pid == 5151 &&
	      ui.norder == 45);
	top_ui__compose(&ui, &s, 120, 40, &t);
	CHECK("drilled: the title says which", find_line(&t, "showing PID 5151 other") == 0);
	CHECK("drilled: no PID column", find_line(&t, "   PID ") < 0);
	top_text__free(&t);
	r = top_ui__key(&ui, &s, 27);
	CHECK("drilled: Esc goes back to the processes", !(r & TOP_R_QUIT) &&
	      ui.view == TOP_VIEW_PROCS && !ui.filter.pid && ui.norder == 90);
	top_ui__key(&ui, &s, 27);
	CHECK("procs: Esc back to the tasks", ui.view == TOP_VIEW_TASKS);
	top_ui__free(&ui);
	top_session__close(&s);
}

int main(void)
{
	test_keys();
	test_screens();
	test_system_wide();
	UNIT_EXIT();
}
