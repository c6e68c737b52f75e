/*
 * What top carries between refreshes, on hand-built snapshots: the last
 * memory scan's word (observe_memory.c), rates, rows.
 */
#include <stdlib.h>
#include <string.h>

#include "top_model.h"
#include "unit.h"

#define MS (1000ULL * 1000)
#define S (1000ULL * MS)

static struct ts_task *task(struct ts_process *p, uint64_t id, const char *name,
			    enum ts_task_state st, bool probed)
{
	struct ts_task *t = ts_process__add_task(p);

	t->task_id = id;
	t->header = 0x1000 * id;
	t->name = ts_intern(name);
	t->state = st;
	t->seen_by_probe = probed;
	if (probed) {
		t->st.state = st;
		t->st.first_seen_ns = p->attach_ns + 10 * MS;
		t->st.last_transition_ns = p->attach_ns + 20 * MS;
	}
	return t;
}

static struct ts_process snap(uint64_t at)
{
	struct ts_process p;

	memset(&p, 0, sizeof(p));
	p.pid = 42;
	p.attach_ns = 100 * S;
	p.snapshot_ns = at;
	p.observed_ns = at - p.attach_ns;
	return p;
}

static struct ts_task *find(struct ts_process *p, uint64_t id)
{
	size_t i;

	for (i = 0; i < p->ntasks; i++)
		if (p->tasks[i].task_id == id)
			return &p->tasks[i];
	return NULL;
}

static void test_carry(void)
{
	struct ts_process scan = snap(101 * S), later = snap(103 * S);
	struct mem_carry c = {};
	struct ts_task *t;

	/* the scan: one memory-only parked task, one task freed in its last poll, one live */
	t = task(&scan, 1, "app::parked", TS_TASK_IDLE, false);
	t->in_memory = t->since_attach = t->state_from_memory = true;
	t->in_state_ns = 1 * S;
	t = task(&scan, 2, "app::short", TS_TASK_DONE, true);
	t->st.state = TS_TASK_IDLE;	/* the maps still say idle: the scan settled it */
	t->st.polls = 2;
	t = task(&scan, 3, "app::ticker", TS_TASK_IDLE, true);
	t->in_memory = true;
	t->st.polls = 10;
	CHECK("verdicts: taken", mem_carry__take(&c, &scan) == 0);
	CHECK("verdicts: probed tasks judged, memory-only kept whole", c.nverdicts == 2 &&
	      c.nmem_only == 1 && c.mem_only[0].task_id == 1);

	/* a later snapshot from the maps alone */
	t = task(&later, 2, "app::short", TS_TASK_IDLE, true);
	t->st.polls = 2;
	t->in_state_ns = 3 * S;
	t = task(&later, 3, "app::ticker", TS_TASK_IDLE, true);
	t->st.polls = 12;	/* polled since the scan */
	t->st.last_transition_ns = 102 * S;
	CHECK("carry: applied", mem_carry__apply(&c, &later) == 0);
	t = find(&later, 1);
	CHECK("carry: memory-only task back", t && !t->seen_by_probe && t->since_attach);
	CHECK("carry: its time in state grows with the snapshot",
	      t && t->in_state_ns == later.snapshot_ns - later.attach_ns);
	t = find(&later, 2);
	CHECK("carry: a task the scan found gone stays done", t && t->state == TS_TASK_DONE);
	t = find(&later, 3);
	CHECK("carry: news since the scan: the maps win", t && t->state == TS_TASK_IDLE &&
	      !t->in_memory);
	CHECK("confirms: unchanged task", mem_carry__confirms(&c, find(&later, 2)));
	CHECK("confirms: changed task not", !mem_carry__confirms(&c, find(&later, 3)));
	CHECK("confirms: memory-only task", mem_carry__confirms(&c, find(&later, 1)));

	/* a probe fires for the parked task: the maps have it, no duplicate */
	ts_process__free(&later);
	later = snap(104 * S);
	task(&later, 1, "app::parked", TS_TASK_SCHEDULED, true);
	mem_carry__apply(&c, &later);
	CHECK("carry: a task probed since is not added twice", later.ntasks == 1 &&
	      later.tasks[0].state == TS_TASK_SCHEDULED);

	/* settled while scheduled: a lost wake, as a scan counts it */
	ts_process__free(&scan);
	ts_process__free(&later);
	scan = snap(101 * S);
	t = task(&scan, 4, "app::aborted", TS_TASK_DONE, true);
	t->st.state = TS_TASK_SCHEDULED;
	mem_carry__take(&c, &scan);
	later = snap(102 * S);
	task(&later, 4, "app::aborted", TS_TASK_SCHEDULED, true);
	mem_carry__apply(&c, &later);
	CHECK("carry: settled scheduled task lost a wake", later.tasks[0].state == TS_TASK_DONE &&
	      later.tasks[0].st.lost_wakes == 1 && later.nlost == 1 &&
	      later.lost[0].wakes == 1);

	ts_process__free(&scan);
	ts_process__free(&later);
	mem_carry__free(&c);
}

static void test_need_scan(void)
{
	struct ts_process p = snap(105 * S);
	struct ts_finding f[2];
	struct mem_verdict vd;
	struct mem_carry none = {}, seen = { .verdicts = &vd, .nverdicts = 1 };
	struct ts_task *t;

	t = task(&p, 1, "app::quiet", TS_TASK_IDLE, true);
	memset(f, 0, sizeof(f));
	f[0].kind = TS_FIND_IDLE;
	f[0].task = 0;
	f[1].kind = TS_FIND_LOST_WAKE;
	f[1].task = SIZE_MAX;
	CHECK("need scan: idle finding on an unconfirmed task",
	      top_findings__need_scan(&p, f, 2, &none));
	memset(&vd, 0, sizeof(vd));
	vd.header = t->header;
	vd.last_transition_ns = t->st.last_transition_ns;
	vd.bpf_state = t->st.state;
	vd.state = TS_TASK_IDLE;
	CHECK("need scan: not once a scan saw it so", !top_findings__need_scan(&p, f, 2, &seen));
	f[0].kind = TS_FIND_BLOCKED_WORKER;
	CHECK("need scan: a blocked worker is checked at every snapshot",
	      !top_findings__need_scan(&p, f, 2, &none));
	ts_process__free(&p);
}

static void test_rates_and_rows(void)
{
	struct top_proc tp;
	struct top_row *rows = NULL;
	struct ts_finding f[2];
	struct ts_worker *w;
	struct ts_task *t;
	size_t n = 0, cap = 0;

	memset(&tp, 0, sizeof(tp));
	tp.op.pid = 42;
	tp.cur = snap(101 * S);
	t = task(&tp.cur, 1, "app::ticker", TS_TASK_IDLE, true);
	t->st.polls = 100;
	t->st.busy_ns = 10 * MS;
	t = task(&tp.cur, 2, "app::blocker", TS_TASK_RUNNING, true);
	t->st.polls = 1;
	t->st.busy_ns = 0;
	w = ts_process__add_worker(&tp.cur);
	w->tid = 7;
	w->st.polls = 101;
	w->st.busy_ns = 10 * MS;
	w->st.depth = 1;
	w->st.header = t->header;
	w->current_poll_ns = 200 * MS;
	CHECK("rates: first refresh", top_rates__update(&tp) == 0);
	CHECK("rates: unknown at first", tp.task_pps[0] < 0 && tp.worker_busy[0] < 0 &&
	      tp.polls_per_s < 0);

	/* one second later */
	tp.cur.snapshot_ns = 102 * S;
	tp.cur.tasks[0].st.polls = 300;
	tp.cur.tasks[0].st.busy_ns = 30 * MS;
	tp.cur.workers[0].st.polls = 301;
	tp.cur.workers[0].st.busy_ns = 30 * MS;
	tp.cur.workers[0].current_poll_ns = 1200 * MS;
	t = task(&tp.cur, 3, "app::new", TS_TASK_IDLE, true);
	t->st.first_seen_ns = 101 * S + 500 * MS;
	t->st.polls = 5;
	CHECK("rates: second refresh", top_rates__update(&tp) == 0);
	CHECK("rates: polls per second", tp.task_pps[0] > 199.9 && tp.task_pps[0] < 200.1);
	CHECK("rates: task busy share", tp.task_busy[0] > 1.99 && tp.task_busy[0] < 2.01);
	CHECK("rates: a running poll counts as busy",
	      tp.task_busy[1] > 99.9 && tp.task_busy[1] <= 100.0);
	CHECK("rates: worker busy includes its open poll, clamped to 100%",
	      tp.worker_busy[0] == 100.0);
	CHECK("rates: process polls/s from the workers",
	      tp.polls_per_s > 199.9 && tp.polls_per_s < 200.1);
	CHECK("rates: a task new since the last refresh counts from zero",
	      tp.task_pps[2] > 4.9 && tp.task_pps[2] < 5.1);

	memset(f, 0, sizeof(f));
	f[0].kind = TS_FIND_BLOCKED_WORKER;
	f[0].task = 1;
	f[0].duration_ns = 1200 * MS;
	f[1].kind = TS_FIND_LOST_WAKE;
	f[1].task = SIZE_MAX;
	f[1].name = "app::ticker";
	tp.cur.tasks[0].st.lost_wakes = 1;
	tp.findings = f;
	tp.nfindings = 2;
	CHECK("rows: built", top_rows__append(&tp, 3, &rows, &n, &cap) == 0 && n == 3);
	CHECK("rows: proc index", rows[0].proc == 3 && rows[2].task == 2);
	CHECK("rows: long poll flagged", rows[1].warn_kind == TS_FIND_BLOCKED_WORKER &&
	      rows[1].nwarn == 1);
	CHECK("rows: running task's busy and max poll include the open poll",
	      rows[1].busy_ns == 1200 * MS && rows[1].max_poll_ns == 1200 * MS);
	CHECK("rows: lost wakes of its type mark the task", rows[0].warn_kind == TS_FIND_LOST_WAKE);
	CHECK("rows: others clean", rows[2].warn_kind == TOP_WARN_NONE);
	CHECK("rows: age from first seen", rows[2].age_ns == 500 * MS && !rows[2].age_at_least);
	CHECK("find task by identity", top_proc__find_task(&tp, rows[2].header,
							   rows[2].first_seen_ns) == 2 &&
	      top_proc__find_task(&tp, rows[2].header, 1) < 0);
	tp.findings = NULL;
	tp.nfindings = 0;
	free(rows);
	ts_process__free(&tp.cur);
	free(tp.task_pps);
	free(tp.task_busy);
	free(tp.worker_pps);
	free(tp.worker_busy);
	free(tp.prev_tasks);
	free(tp.prev_workers);
}

int main(void)
{
	CHECK("rate: per second", top_rate(300, 100, 2 * S) == 100.0);
	CHECK("rate: unknown without an interval", top_rate(1, 0, 0) < 0);
	CHECK("rate: a counter that restarted is 0, not huge", top_rate(5, 100, S) == 0);
	test_carry();
	test_need_scan();
	test_rates_and_rows();
	UNIT_EXIT();
}
