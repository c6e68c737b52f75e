/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "top_model.h"

#define SPACESHIP(a, b) (((a) > (b)) - ((a) < (b)))

static int cmp_u64(const void *a, const void *b)
{
	return SPACESHIP(*(const uint64_t *)a, *(const uint64_t *)b);
}

/* ---- confirming findings ------------------------------------------------ */

bool top_findings__need_scan(const struct ts_process *p, const struct ts_finding *f, size_t nf,
			     const struct mem_carry *last_scan)
{
	size_t i;

	for (i = 0; i < nf; i++) {
		/* a blocked worker is checked against the header at every snapshot */
		if (f[i].kind != TS_FIND_IDLE && f[i].kind != TS_FIND_STARVED)
			continue;
		if (f[i].task >= p->ntasks)
			continue;
		if (!mem_carry__confirms(last_scan, &p->tasks[f[i].task]))
			return true;
	}
	return false;
}

/* ---- rates -------------------------------------------------------------- */

uint64_t top_worker_busy_ns(const struct ts_worker *w)
{
	return w->st.busy_ns + (w->st.depth ? w->current_poll_ns : 0);
}

uint64_t top_task_busy_ns(const struct ts_process *p, const struct ts_task *t)
{
	const struct ts_worker *w;

	if (t->state != TS_TASK_RUNNING)
		return t->st.busy_ns;
	w = ts_process__worker_polling(p, t->header);
	return t->st.busy_ns + (w ? w->current_poll_ns : 0);
}

double top_rate(uint64_t now, uint64_t prev, uint64_t dt_ns)
{
	if (!dt_ns)
		return -1;
	if (now < prev)
		return 0;	/* an entry restarted (address reused, thread id reused) */
	return (double)(now - prev) * 1e9 / (double)dt_ns;
}

static int cmp_prev_task(const void *a, const void *b)
{
	const struct top_prev_task *x = a, *y = b;

	if (x->header != y->header)
		return SPACESHIP(x->header, y->header);
	return SPACESHIP(x->first_seen_ns, y->first_seen_ns);
}

static const struct top_prev_worker *find_prev_worker(const struct top_proc *tp, uint32_t tid)
{
	size_t i;

	for (i = 0; i < tp->nprev_workers; i++)
		if (tp->prev_workers[i].tid == tid)
			return &tp->prev_workers[i];
	return NULL;
}

static double clamp_pct(double v)
{
	if (v < 0)
		return v;
	return v > 100 ? 100 : v;
}

int top_rates__update(struct top_proc *tp)
{
	const struct ts_process *p = &tp->cur;
	uint64_t dt = tp->prev_ns && p->snapshot_ns > tp->prev_ns ? p->snapshot_ns - tp->prev_ns : 0;
	size_t nt = p->ntasks ? p->ntasks : 1, nw = p->nworkers ? p->nworkers : 1, i;
	struct top_prev_task *pt;
	struct top_prev_worker *pw;
	uint64_t dpolls = 0;
	double *v;

	v = realloc(tp->task_pps, nt * sizeof(*v));
	if (!v)
		return -ENOMEM;
	tp->task_pps = v;
	v = realloc(tp->task_busy, nt * sizeof(*v));
	if (!v)
		return -ENOMEM;
	tp->task_busy = v;
	v = realloc(tp->worker_pps, nw * sizeof(*v));
	if (!v)
		return -ENOMEM;
	tp->worker_pps = v;
	v = realloc(tp->worker_busy, nw * sizeof(*v));
	if (!v)
		return -ENOMEM;
	tp->worker_busy = v;

	for (i = 0; i < p->ntasks; i++) {
		const struct ts_task *t = &p->tasks[i];
		struct top_prev_task key = { t->header, t->st.first_seen_ns, 0, 0 }, base = key;
		const struct top_prev_task *pv = tp->nprev_tasks ?
			bsearch(&key, tp->prev_tasks, tp->nprev_tasks, sizeof(key), cmp_prev_task) :
			NULL;

		tp->task_pps[i] = tp->task_busy[i] = -1;
		if (!dt)
			continue;
		if (!pv) {
			/* older than the last refresh yet not in it: unknown */
			if (t->seen_by_probe && t->st.first_seen_ns < tp->prev_ns)
				continue;
			pv = &base;	/* new since then: it started from nothing */
		}
		tp->task_pps[i] = top_rate(t->st.polls, pv->polls, dt);
		tp->task_busy[i] = clamp_pct(top_rate(top_task_busy_ns(p, t), pv->busy_ns, dt) / 1e7);
	}
	for (i = 0; i < p->nworkers; i++) {
		const struct ts_worker *w = &p->workers[i];
		const struct top_prev_worker *pv = find_prev_worker(tp, w->tid);
		struct top_prev_worker zero = { w->tid, 0, 0 };

		tp->worker_pps[i] = tp->worker_busy[i] = -1;
		if (!dt)
			continue;
		if (!pv)
			pv = &zero;
		tp->worker_pps[i] = top_rate(w->st.polls, pv->polls, dt);
		tp->worker_busy[i] = clamp_pct(top_rate(top_worker_busy_ns(w), pv->busy_ns, dt) / 1e7);
		if (w->st.polls > pv->polls)
			dpolls += w->st.polls - pv->polls;
	}
	tp->polls_per_s = dt ? (double)dpolls * 1e9 / (double)dt : -1;

	/* remember this refresh */
	pt = realloc(tp->prev_tasks, nt * sizeof(*pt));
	if (!pt)
		return -ENOMEM;
	tp->prev_tasks = pt;
	for (i = 0; i < p->ntasks; i++) {
		pt[i].header = p->tasks[i].header;
		pt[i].first_seen_ns = p->tasks[i].st.first_seen_ns;
		pt[i].polls = p->tasks[i].st.polls;
		pt[i].busy_ns = top_task_busy_ns(p, &p->tasks[i]);
	}
	tp->nprev_tasks = p->ntasks;
	qsort(pt, tp->nprev_tasks, sizeof(*pt), cmp_prev_task);
	pw = realloc(tp->prev_workers, nw * sizeof(*pw));
	if (!pw)
		return -ENOMEM;
	tp->prev_workers = pw;
	for (i = 0; i < p->nworkers; i++) {
		pw[i].tid = p->workers[i].tid;
		pw[i].polls = p->workers[i].st.polls;
		pw[i].busy_ns = top_worker_busy_ns(&p->workers[i]);
	}
	tp->nprev_workers = p->nworkers;
	tp->prev_ns = p->snapshot_ns;
	return 0;
}

/* ---- rows --------------------------------------------------------------- */

static bool live_at_attach(const struct top_proc *tp, const struct ts_task *t)
{
	if (!t->seen_by_probe)
		return t->since_attach;
	/* a task at that address then, and not one that reused it since */
	return t->st.generation == 0 && tp->nat_attach &&
	       bsearch(&t->header, tp->at_attach, tp->nat_attach, sizeof(uint64_t), cmp_u64);
}

void top_row__fill(const struct top_proc *tp, size_t ti, struct top_row *r)
{
	const struct ts_process *p = &tp->cur;
	const struct ts_task *t = &p->tasks[ti];
	const struct ts_worker *w = t->state == TS_TASK_RUNNING ?
		ts_process__worker_polling(p, t->header) : NULL;
	uint64_t now = p->snapshot_ns, born;

	memset(r, 0, sizeof(*r));
	r->pid = p->pid;
	r->header = t->header;
	r->task_id = t->task_id;
	r->root_tid = t->root_tid;
	r->first_seen_ns = t->st.first_seen_ns;
	r->name = t->name;
	r->state = t->state;
	r->age_at_least = live_at_attach(tp, t);
	born = r->age_at_least || !t->seen_by_probe ? p->attach_ns : t->st.first_seen_ns;
	if (t->state == TS_TASK_DONE && t->seen_by_probe && t->st.last_transition_ns > born)
		r->age_ns = t->st.last_transition_ns - born;
	else
		r->age_ns = now > born ? now - born : 0;
	r->busy_ns = top_task_busy_ns(p, t);
	r->sched_ns = t->st.scheduled_ns + (t->state == TS_TASK_SCHEDULED ? t->in_state_ns : 0);
	r->idle_ns = t->st.idle_ns + (t->state == TS_TASK_IDLE ? t->in_state_ns : 0);
	r->idle_at_least = t->since_attach && t->state == TS_TASK_IDLE;
	r->polls = t->st.polls;
	r->wakes = t->st.wakes;
	r->self_wakes = t->st.self_wakes;
	r->max_poll_ns = t->st.max_poll_ns;
	if (w && w->current_poll_ns > r->max_poll_ns)
		r->max_poll_ns = w->current_poll_ns;
	if (t->state == TS_TASK_DONE)
		r->done_ns = t->in_state_ns ? t->in_state_ns :
			     (t->seen_by_probe && now > t->st.last_transition_ns ?
			      now - t->st.last_transition_ns : 0);
	r->polls_per_s = tp->task_pps ? tp->task_pps[ti] : -1;
	r->busy_pct = tp->task_busy ? tp->task_busy[ti] : -1;
	r->warn_kind = TOP_WARN_NONE;
	r->proc = 0;
	r->task = ti;
}

int top_rows__append(const struct top_proc *tp, size_t proc, struct top_row **rows, size_t *n,
		     size_t *cap)
{
	const struct ts_process *p = &tp->cur;
	size_t i, base = *n;

	if (*n + p->ntasks > *cap) {
		size_t c = *cap ? *cap : 64;
		struct top_row *nv;

		while (c < *n + p->ntasks)
			c *= 2;
		nv = realloc(*rows, c * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		*rows = nv;
		*cap = c;
	}
	for (i = 0; i < p->ntasks; i++) {
		top_row__fill(tp, i, &(*rows)[base + i]);
		(*rows)[base + i].proc = proc;
	}
	*n += p->ntasks;

	/* findings are ordered most severe kind first: the first one per task shows */
	for (i = 0; i < tp->nfindings; i++) {
		const struct ts_finding *f = &tp->findings[i];
		size_t k;

		/* a deadlock flags every task of its cycle */
		for (k = 0; f->kind == TS_FIND_DEADLOCK && k < f->count && k < 16; k++) {
			struct top_row *r;

			if (f->members[k] >= p->ntasks || f->members[k] == f->task)
				continue;
			r = &(*rows)[base + f->members[k]];
			if (r->warn_kind == TOP_WARN_NONE) {
				r->warn_kind = (int)f->kind;
				r->warn_ns = f->duration_ns;
			}
			r->nwarn++;
		}
		if (f->task < p->ntasks) {
			struct top_row *r = &(*rows)[base + f->task];

			if (r->warn_kind == TOP_WARN_NONE) {
				r->warn_kind = (int)f->kind;
				r->warn_ns = f->duration_ns;
			}
			r->nwarn++;
			continue;
		}
		/* lost wakes are per future type: mark the tasks that lost one */
		for (k = 0; k < p->ntasks; k++) {
			struct top_row *r = &(*rows)[base + k];

			if (p->tasks[k].st.lost_wakes && !strcmp(p->tasks[k].name, f->name)) {
				if (r->warn_kind == TOP_WARN_NONE) {
					r->warn_kind = (int)f->kind;
					r->warn_ns = 0;
				}
				r->nwarn++;
			}
		}
	}
	return 0;
}

long top_proc__find_task(const struct top_proc *tp, uint64_t header, uint64_t first_seen_ns)
{
	size_t i;

	for (i = 0; i < tp->cur.ntasks; i++)
		if (tp->cur.tasks[i].header == header &&
		    tp->cur.tasks[i].st.first_seen_ns == first_seen_ns)
			return (long)i;
	return -1;
}

/* ---- with a process ----------------------------------------------------- */

int top_proc__open(struct top_proc **out, struct ts_bpf *bpf, pid_t pid, const char *debuginfo,
		   const struct sampled_opts *sampled, char *why, size_t whylen)
{
	struct top_proc *tp = calloc(1, sizeof(*tp));
	int err;

	*out = NULL;
	if (!tp) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	err = observed_proc__open(&tp->op, pid, why, whylen);
	if (err) {
		free(tp);
		return err;
	}
	/* most refreshes read the maps alone and carry the last scan */
	tp->op.carry_scans = true;
	/* exact future names, and await chains for the detail view */
	observed_proc__load_dwarf(&tp->op, debuginfo);
	/* main's and each thread's block_on future, read again every 5 s */
	tp->op.find_roots = true;
	tp->op.roots_every_ns = TOP_SCAN_EVERY_NS;
	if (sampled) {
		/*
		 * Its own object for the bursts, as report's: the session's
		 * shared one keeps its probes attached all along.
		 */
		err = observed_proc__load_bpf(&tp->op, false);
		if (err)
			snprintf(why, whylen, "PID %d: loading BPF programs failed: %s", pid,
				 strerror(-err));
		else
			err = sampled_session__start(&tp->ss, &tp->op, &tp->op.own_bpf, sampled,
						     why, whylen);
		tp->sampled = !err;
	} else {
		/* top never adds uretprobes: one trap per poll */
		err = observed_proc__attach(&tp->op, bpf, TS_MODE_DEFAULT, why, whylen);
	}
	if (err) {
		observed_proc__close(&tp->op);
		free(tp);
		return err;
	}
	tp->attached = true;
	tp->polls_per_s = -1;
	*out = tp;
	return 0;
}

static int take_first_scan(struct top_proc *tp)
{
	size_t i, n = 0;

	tp->at_attach = calloc(tp->cur.ntasks + 1, sizeof(uint64_t));
	if (!tp->at_attach)
		return -ENOMEM;
	for (i = 0; i < tp->cur.ntasks; i++)
		if (tp->cur.tasks[i].in_memory && tp->cur.tasks[i].state != TS_TASK_DONE)
			tp->at_attach[n++] = tp->cur.tasks[i].header;
	qsort(tp->at_attach, n, sizeof(uint64_t), cmp_u64);
	tp->nat_attach = n;
	return 0;
}

/* Without a scan the observer carries the last one's word into the snapshot. */
static int snapshot(struct top_proc *tp, bool scan)
{
	uint64_t t0 = ts_now_ns();
	int err;

	if (tp->sampled) {
		/* what is due (a burst, a memory snapshot), then the model: always from memory */
		sampled_session__tick(&tp->ss, t0);
		err = sampled_session__snapshot(&tp->ss, &tp->cur);
		scan = true;
	} else {
		err = observed_proc__snapshot(&tp->op, scan, &tp->cur);
	}
	if (err)
		return observed_proc__alive(&tp->op) ? err : -ESRCH;
	if (!scan)
		return 0;
	tp->scan_cost_ns = ts_now_ns() - t0;
	tp->scan_ns = tp->cur.snapshot_ns;
	if (!tp->nscans++)
		return take_first_scan(tp);
	return 0;
}

static int evaluate(struct top_proc *tp, const struct ts_rules_config *cfg)
{
	struct ts_finding *f = NULL;
	int nf;

	/*
	 * Where stall candidates wait, so the rules can say who holds what
	 * they wait on (and find deadlocks); short waits are not worth a walk.
	 */
	observed_proc__await_chains(&tp->op, &tp->cur, 0, cfg->stall_ns);
	nf = ts_rules__evaluate(&tp->cur, cfg, &f);

	if (nf < 0)
		return nf;
	free(tp->findings);
	tp->findings = f;
	tp->nfindings = (size_t)nf;
	return 0;
}

int top_proc__refresh(struct top_proc *tp, const struct ts_rules_config *cfg,
		      uint64_t scan_every_ns, bool force_scan)
{
	uint64_t now = ts_now_ns(), confirm_gap = TOP_CONFIRM_GAP_NS;
	bool scan;
	int err;

	/*
	 * Scans at most a twentieth of the time: a million tasks take
	 * seconds to scan, and scanning at every refresh would make every
	 * refresh that long.
	 */
	if (tp->scan_cost_ns * 20 > scan_every_ns)
		scan_every_ns = tp->scan_cost_ns * 20;
	if (tp->scan_cost_ns * 20 > confirm_gap)
		confirm_gap = tp->scan_cost_ns * 20;
	scan = force_scan || !tp->scan_ns || now - tp->scan_ns >= scan_every_ns;
	if (!observed_proc__alive(&tp->op))
		return -ESRCH;
	err = snapshot(tp, scan);
	if (!err)
		err = evaluate(tp, cfg);
	if (!err && !tp->sampled && !scan && now - tp->scan_ns >= confirm_gap &&
	    top_findings__need_scan(&tp->cur, tp->findings, tp->nfindings, &tp->op.carry)) {
		err = snapshot(tp, true);
		if (!err)
			err = evaluate(tp, cfg);
	}
	if (!err)
		err = top_rates__update(tp);
	return err;
}

void top_proc__free(struct top_proc *tp)
{
	if (!tp)
		return;
	if (tp->sampled)
		sampled_session__stop(&tp->ss);
	if (tp->attached)
		observed_proc__close(&tp->op);
	ts_process__free(&tp->cur);
	free(tp->findings);
	free(tp->task_pps);
	free(tp->task_busy);
	free(tp->worker_pps);
	free(tp->worker_busy);
	free(tp->prev_tasks);
	free(tp->prev_workers);
	free(tp->at_attach);
	free(tp);
}
