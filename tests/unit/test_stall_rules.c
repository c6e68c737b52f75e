/* Stall rules on hand-built task models: each rule fires on its case only. */
#include <stdlib.h>

#include "stall_rules.h"
#include "unit.h"

#define MS (1000ULL * 1000)
#define S (1000ULL * MS)

static struct ts_process proc(void)
{
	struct ts_process p = {};

	p.attach_ns = 100 * S;
	p.snapshot_ns = 102 * S;
	p.observed_ns = 2 * S;
	return p;
}

static struct ts_task *task(struct ts_process *p, uint64_t id, const char *name,
			    enum ts_task_state st)
{
	struct ts_task *t = ts_process__add_task(p);

	t->task_id = id;
	t->header = 0x1000 * id;
	t->name = ts_intern(name);
	t->state = st;
	t->seen_by_probe = true;
	t->st.first_seen_ns = p->attach_ns;
	return t;
}

static int count_kind(const struct ts_finding *f, int n, enum ts_finding_kind k)
{
	int i, c = 0;

	for (i = 0; i < n; i++)
		c += f[i].kind == k;
	return c;
}

int main(void)
{
	struct ts_rules_config cfg;
	struct ts_finding *f;
	struct ts_process p;
	struct ts_task *t;
	struct ts_worker *w;
	int n;

	ts_rules_config__default(&cfg);

	/* healthy: busy, short polls, idle most of the time */
	p = proc();
	t = task(&p, 1, "app::ticker", TS_TASK_IDLE);
	t->st.polls = 400;
	t->st.wakes = 400;
	t->st.idle_ns = 1900 * MS;
	t->st.max_poll_ns = 80 * 1000;
	t->in_state_ns = 3 * MS;
	n = ts_rules__evaluate(&p, &cfg, &f);
	CHECK("healthy: no finding", n == 0);
	free(f);
	ts_process__free(&p);

	/* a poll in progress for 1.5 s on a worker, 1.4 s off-CPU */
	p = proc();
	t = task(&p, 2, "app::handler", TS_TASK_RUNNING);
	w = ts_process__add_worker(&p);
	w->tid = 77;
	w->st.depth = 1;
	w->st.header = t->header;
	w->st.offcpu_in_poll_ns = 1400 * MS;
	w->current_poll_ns = 1500 * MS;
	n = ts_rules__evaluate(&p, &cfg, &f);
	CHECK("blocked in progress: one finding", n == 1 && f[0].kind == TS_FIND_BLOCKED_WORKER);
	CHECK("blocked in progress: evidence", n == 1 && f[0].in_progress && f[0].tid == 77 &&
	      f[0].duration_ns == 1500 * MS && f[0].offcpu_ns == 1400 * MS);
	CHECK("blocked: message names task and thread", n == 1 &&
	      strstr(f[0].message, "task 2 app::handler") && strstr(f[0].message, "thread 77"));
	free(f);
	/* the same poll below the long-poll threshold is not a stall */
	cfg.long_poll_ns = 2 * S;
	n = ts_rules__evaluate(&p, &cfg, &f);
	CHECK("blocked: threshold respected", n == 0);
	free(f);
	ts_rules_config__default(&cfg);
	ts_process__free(&p);

	/* a finished long poll, recorded as the task's max */
	p = proc();
	t = task(&p, 3, "app::slow", TS_TASK_IDLE);
	t->st.polls = 2;
	t->st.max_poll_ns = 1200 * MS;
	t->in_state_ns = 100 * MS;
	n = ts_rules__evaluate(&p, &cfg, &f);
	CHECK("blocked: completed long poll", n == 1 && f[0].kind == TS_FIND_BLOCKED_WORKER &&
	      !f[0].in_progress && f[0].duration_ns == 1200 * MS);
	free(f);
	ts_process__free(&p);

	/*
	 * every poll blocks its worker for 300 ms (std::thread::sleep, then
	 * yield_now): far below the 1 s wait threshold, far above the 100 ms
	 * long-poll one; the ticker it holds up is named
	 */
	p = proc();
	t = task(&p, 5, "app::sleeper", TS_TASK_IDLE);
	t->st.polls = 6;
	t->st.max_poll_ns = 300 * MS;
	t = task(&p, 6, "app::ticker", TS_TASK_IDLE);
	t->st.polls = 6;
	t->st.max_scheduled_ns = 290 * MS;
	t->st.max_poll_ns = 20 * 1000;
	n = ts_rules__evaluate(&p, &cfg, &f);
	CHECK("long poll: 300 ms flagged at the default threshold",
	      n == 1 && f[0].kind == TS_FIND_BLOCKED_WORKER && f[0].duration_ns == 300 * MS);
	CHECK("long poll: names the task that waited meanwhile", n == 1 &&
	      strstr(f[0].message, "meanwhile 1 other task waited up to 290.0 ms") &&
	      strstr(f[0].message, "task 6 app::ticker"));
	free(f);
	p.tasks[0].st.max_poll_ns = 50 * MS;
	n = ts_rules__evaluate(&p, &cfg, &f);
	CHECK("long poll: 50 ms is not flagged", n == 0);
	free(f);
	ts_process__free(&p);

	/* starved: scheduled, not polled, for 1.3 s */
	p = proc();
	t = task(&p, 4, "app::ticker", TS_TASK_SCHEDULED);
	t->st.polls = 10;
	t->in_state_ns = 1300 * MS;
	n = ts_rules__evaluate(&p, &cfg, &f);
	CHECK("starved: now", n == 1 && f[0].kind == TS_FIND_STARVED && f[0].in_progress);
	free(f);
	t->state = TS_TASK_IDLE;
	t->in_state_ns = 1 * MS;
	t->st.idle_ns = 10 * MS;
	t->st.max_scheduled_ns = 1100 * MS;
	n = ts_rules__evaluate(&p, &cfg, &f);
	CHECK("starved: in the past", n == 1 && f[0].kind == TS_FIND_STARVED && !f[0].in_progress);
	free(f);
	ts_process__free(&p);

	/*
	 * spinning: 50k polls in 2 s, woken by itself, 8 us idle per poll. A
	 * consumer as busy but woken by others is not; nor a fast timer that
	 * its own worker wakes but that idles 5 ms per poll.
	 */
	p = proc();
	t = task(&p, 5, "app::spin", TS_TASK_SCHEDULED);
	t->st.polls = 50000;
	t->st.wakes = 50000;
	t->st.self_wakes = 49000;
	t->st.idle_ns = 400 * MS;
	t->in_state_ns = 2000;
	t = task(&p, 6, "app::busy_consumer", TS_TASK_IDLE);
	t->st.polls = 50000;
	t->st.wakes = 50000;
	t->st.idle_ns = 400 * MS;
	t->in_state_ns = 1000;
	t = task(&p, 16, "app::fast_timer", TS_TASK_IDLE);
	t->st.polls = 400;
	t->st.wakes = 400;
	t->st.self_wakes = 400;
	t->st.idle_ns = 1990 * MS;
	t->in_state_ns = 1000;
	n = ts_rules__evaluate(&p, &cfg, &f);
	CHECK("spinning: only the spinner", n == 1 && f[0].kind == TS_FIND_SPINNING &&
	      p.tasks[f[0].task].task_id == 5);
	free(f);
	ts_process__free(&p);

	/* lost wakes: one finding per future type, from the per-type tally */
	p = proc();
	ts_process__add_lost_wakes(&p, "app::doomed", 1);
	ts_process__add_lost_wakes(&p, "app::doomed", 2);
	ts_process__add_lost_wakes(&p, "app::other", 0);
	t = task(&p, 9, "app::other", TS_TASK_DONE);
	n = ts_rules__evaluate(&p, &cfg, &f);
	CHECK("lost wakes: one finding per type", n == 1 && f[0].kind == TS_FIND_LOST_WAKE &&
	      f[0].count == 3 && !strcmp(f[0].name, "app::doomed"));
	CHECK("lost wakes: message", n == 1 && strstr(f[0].message, "3 wakes lost to tasks of app::doomed"));
	free(f);
	ts_process__free(&p);

	/* idle: exact, and since before attach (a lower bound), longest first */
	p = proc();
	t = task(&p, 10, "app::waiter", TS_TASK_IDLE);
	t->st.polls = 1;
	t->in_state_ns = 1500 * MS;
	t = task(&p, 11, "app::parked", TS_TASK_IDLE);
	t->seen_by_probe = false;
	t->state_from_memory = true;
	t->since_attach = true;
	t->in_state_ns = 2 * S;
	t = task(&p, 12, "app::fresh", TS_TASK_IDLE);
	t->in_state_ns = 10 * MS;
	n = ts_rules__evaluate(&p, &cfg, &f);
	CHECK("idle: two findings", n == 2 && count_kind(f, n, TS_FIND_IDLE) == 2);
	CHECK("idle: longest first", n == 2 && f[0].duration_ns == 2 * S && f[0].at_least &&
	      f[1].duration_ns == 1500 * MS && !f[1].at_least);
	CHECK("idle: message says since before attach", n == 2 &&
	      strstr(f[0].message, ">= 2.00 s (since before attach)"));
	free(f);
	ts_process__free(&p);

	/* a poll running since before attach (found RUNNING in memory) */
	p = proc();
	t = task(&p, 13, "app::stuck", TS_TASK_RUNNING);
	t->seen_by_probe = false;
	t->state_from_memory = true;
	t->since_attach = true;
	t->in_state_ns = 2 * S;
	n = ts_rules__evaluate(&p, &cfg, &f);
	CHECK("blocked: running since before attach", n == 1 &&
	      f[0].kind == TS_FIND_BLOCKED_WORKER && f[0].at_least);
	free(f);
	ts_process__free(&p);

	/* ordering across kinds */
	p = proc();
	t = task(&p, 14, "a", TS_TASK_IDLE);
	t->in_state_ns = 5 * S;
	t = task(&p, 15, "b", TS_TASK_SCHEDULED);
	t->in_state_ns = 3 * S;
	n = ts_rules__evaluate(&p, &cfg, &f);
	CHECK("order: starved before idle", n == 2 && f[0].kind == TS_FIND_STARVED &&
	      f[1].kind == TS_FIND_IDLE);
	free(f);
	ts_process__free(&p);

	{
		char b[32];

		ts_fmt_duration(1500 * MS, b, sizeof(b));
		CHECK_STR("fmt 1.5 s", b, "1.50 s");
		ts_fmt_duration(350 * MS, b, sizeof(b));
		CHECK_STR("fmt 350 ms", b, "350.0 ms");
		ts_fmt_duration(12345, b, sizeof(b));
		CHECK_STR("fmt 12 us", b, "12.3 us");
		ts_fmt_duration(200 * S, b, sizeof(b));
		CHECK_STR("fmt 200 s", b, "200 s");
	}
	UNIT_EXIT();
}
