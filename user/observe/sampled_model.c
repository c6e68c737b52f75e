/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Sampled mode, the model: bursts scaled, samples and memory merged into one snapshot. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procfs.h"
#include "sampled_internal.h"

/* What the samples say about one task id, summed over its threads. */
struct task_samples {
	uint64_t task;
	uint64_t samples, offcpu_ns, last_ns;
	uint64_t max_run_ns, max_run_offcpu_ns;
	uint32_t top_tid;		/* thread with most of its samples */
	uint64_t top_samples;
	bool matched;
};

static int cmp_task_samples(const void *a, const void *b)
{
	const struct task_samples *x = a, *y = b;

	return (x->task > y->task) - (x->task < y->task);
}

static struct task_samples *by_task(const struct ts_sample_read *r, size_t *n)
{
	struct task_samples *v = calloc(r->ncounts + 1, sizeof(*v));
	size_t i, m = 0;

	*n = 0;
	if (!v)
		return NULL;
	for (i = 0; i < r->ncounts; i++) {
		v[i].task = r->counts[i].key.task;
		v[i].samples = r->counts[i].c.samples;
		v[i].offcpu_ns = r->counts[i].c.offcpu_ns;
		v[i].last_ns = r->counts[i].c.last_ns;
		v[i].max_run_ns = r->counts[i].c.max_run_ns;
		v[i].max_run_offcpu_ns = r->counts[i].c.max_run_offcpu_ns;
		v[i].top_tid = r->counts[i].key.tid;
		v[i].top_samples = r->counts[i].c.samples;
	}
	qsort(v, r->ncounts, sizeof(*v), cmp_task_samples);
	for (i = 0; i < r->ncounts; i++) {
		struct task_samples *d = &v[m];

		if (m && v[m - 1].task == v[i].task) {
			d = &v[m - 1];
			d->samples += v[i].samples;
			d->offcpu_ns += v[i].offcpu_ns;
			if (v[i].last_ns > d->last_ns)
				d->last_ns = v[i].last_ns;
			if (v[i].max_run_ns > d->max_run_ns) {
				d->max_run_ns = v[i].max_run_ns;
				d->max_run_offcpu_ns = v[i].max_run_offcpu_ns;
			}
			if (v[i].top_samples > d->top_samples) {
				d->top_samples = v[i].top_samples;
				d->top_tid = v[i].top_tid;
			}
			continue;
		}
		v[m++] = v[i];
	}
	*n = m;
	return v;
}

static struct task_samples *find_samples(struct task_samples *v, size_t n, uint64_t task)
{
	struct task_samples key = { .task = task };

	/* no samples (no thread-local to read): v is NULL, which bsearch may not get */
	return task && n ? bsearch(&key, v, n, sizeof(*v), cmp_task_samples) : NULL;
}

static uint64_t header_of(const struct ts_process *p, uint64_t task_id)
{
	size_t i;

	for (i = 0; task_id && i < p->ntasks; i++)
		if (p->tasks[i].task_id == task_id && p->tasks[i].state != TS_TASK_DONE)
			return p->tasks[i].header;
	return 0;
}

static const struct ts_sample_thread_rec *run_of(const struct ts_sample_read *r, uint64_t task)
{
	size_t i;

	for (i = 0; task && i < r->nthreads; i++)
		if (r->threads[i].st.task == task)
			return &r->threads[i];
	return NULL;
}

static bool thread_alive(pid_t pid, uint32_t tid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task/%u", pid, tid);
	return access(path, F_OK) == 0;
}

static uint64_t scaled(uint64_t v, double k)
{
	return (uint64_t)((double)v * k + 0.5);
}

/*
 * Tasks: counts from the bursts scaled to the window, busy time from the
 * samples, state from memory, time in state from the snapshots.
 */
static void model_tasks(struct sampled_session *ss, struct ts_process *p,
			const struct ts_sample_read *r, struct task_samples *ts, size_t nts,
			double k)
{
	const struct task_layout *l = &ss->op->tb.layout;
	uint64_t now = p->snapshot_ns, period = ss->info.period_ns;
	size_t i;

	for (i = 0; i < p->ntasks; i++) {
		struct ts_task *t = &p->tasks[i];
		const struct sampled_task_hist *h = sampled_memory__find(ss, t->header);
		const struct ts_sample_thread_rec *run;
		struct task_samples *s = find_samples(ts, nts, t->task_id);
		uint64_t quiet;

		t->burst_max_poll_ns = t->st.max_poll_ns;
		t->st.polls = scaled(t->st.polls, k);
		t->st.wakes = scaled(t->st.wakes, k);
		t->st.self_wakes = scaled(t->st.self_wakes, k);
		t->st.scheduled_ns = scaled(t->st.scheduled_ns, k);
		t->st.idle_ns = scaled(t->st.idle_ns, k);
		if (ss->sampling) {
			t->st.busy_ns = 0;
			if (s) {
				s->matched = true;
				t->cpu_samples = s->samples;
				t->offcpu_in_polls_ns = s->offcpu_ns;
				t->st.busy_ns = s->samples * period + s->offcpu_ns;
				if (s->max_run_ns > t->st.max_poll_ns)
					t->st.max_poll_ns = s->max_run_ns;
				if (!t->st.last_worker_tid)
					t->st.last_worker_tid = s->top_tid;
			}
		} else {
			t->st.busy_ns = scaled(t->st.busy_ns, k);
		}
		if (!t->in_memory || !h)
			continue;
		t->state_from_memory = false;
		t->state = task_layout__state(l, t->state_word);
		run = ss->sampling ? run_of(r, t->task_id) : NULL;
		if (run && t->state != TS_TASK_DONE) {
			t->state = TS_TASK_RUNNING;
			t->since_attach = false;
			t->in_state_ns = now > run->st.run_start_ns ? now - run->st.run_start_ns : 0;
			continue;
		}
		if (t->state == TS_TASK_DONE || t->state == TS_TASK_RUNNING) {
			t->since_attach = false;
			t->in_state_ns = 0;
			continue;
		}
		/*
		 * Idle or woken: for as long as nothing says otherwise. Memory
		 * unchanged since some snapshot, no burst saw a poll, no sample
		 * found it polled since: a lower bound, labelled so.
		 */
		quiet = h->unchanged_since_ns;
		if (h->active_ns > quiet)
			quiet = h->active_ns;
		if (s && s->last_ns > quiet)
			quiet = s->last_ns;
		t->since_attach = quiet <= ss->start_ns;
		/* unchanged since before the window: as long as the window, at least */
		if (t->since_attach)
			quiet = ss->start_ns;
		t->in_state_ns = now > quiet ? now - quiet : 0;
	}
	for (i = 0; i < nts; i++)
		if (!ts[i].matched)
			ss->info.ended_task_busy_ns += ts[i].samples * period + ts[i].offcpu_ns;
}

static const struct ts_worker *burst_worker(const struct ts_worker *v, size_t n, uint32_t tid)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].tid == tid)
			return &v[i];
	return NULL;
}

/* Already counted as a worker by the precise snapshot (it polled in a burst)? */
static bool nonworker_counted(const struct ts_worker *old, size_t nold, uint32_t tid)
{
	const struct ts_worker *w = burst_worker(old, nold, tid);

	return w && w->st.polls;
}

/*
 * Workers from the samples: busy = samples inside polls + off-CPU inside
 * them; the current run (the task seen on every observation of the thread
 * since run_start) stands for the poll in progress, the longest closed run
 * for the longest poll. Polls per worker come from the bursts, scaled.
 */
static int model_workers(struct sampled_session *ss, struct ts_process *p,
			 const struct ts_sample_read *r, double k)
{
	struct ts_worker *old = p->workers;
	size_t nold = p->nworkers, i;
	uint64_t period = ss->info.period_ns;

	p->workers = NULL;
	p->nworkers = 0;
	p->workers_cap = 0;
	for (i = 0; i < r->nthreads; i++) {
		const struct ts_sample_thread *th = &r->threads[i].st;
		uint32_t tid = r->threads[i].tid;
		const struct ts_worker *bw = burst_worker(old, nold, tid);
		struct ts_worker *w;
		char comm[32] = "";

		if (!thread_alive(p->pid, tid))
			continue;
		proc_comm(p->pid, (pid_t)tid, comm, sizeof(comm));
		if (!th->poll_samples && !th->offcpu_in_poll_ns && !th->max_run_task && !th->task &&
		    !bw && !runtime_desc__is_worker_thread(ss->op->tb.desc, comm))
			continue;
		w = ts_process__add_worker(p);
		if (!w) {
			free(old);
			return -ENOMEM;
		}
		w->tid = tid;
		snprintf(w->comm, sizeof(w->comm), "%s", comm);
		w->seen_by_probe = true;
		w->st.tgid = (uint32_t)p->pid;
		w->st.first_seen_ns = ss->start_ns;
		w->st.polls = bw ? scaled(bw->st.polls, k) : 0;
		w->st.busy_ns = th->poll_samples * period + th->offcpu_in_poll_ns;
		w->st.offcpu_poll_total_ns = th->offcpu_in_poll_ns;
		if (th->task) {
			w->st.depth = 1;
			w->st.header = header_of(p, th->task);
			w->st.poll_start_ns = th->run_start_ns;
			w->st.offcpu_in_poll_ns = th->run_offcpu_ns;
			w->st.offcpu_start_ns = th->offcpu_start_ns;
			w->current_poll_ns = p->snapshot_ns > th->run_start_ns ?
					     p->snapshot_ns - th->run_start_ns : 0;
		}
		w->st.max_poll_ns = th->max_run_ns;
		w->st.max_poll_header = header_of(p, th->max_run_task);
		w->st.max_poll_offcpu_ns = th->max_run_offcpu_ns;
		if (bw && bw->st.max_poll_ns > w->st.max_poll_ns) {
			w->st.max_poll_ns = bw->st.max_poll_ns;
			w->st.max_poll_header = bw->st.max_poll_header;
			w->st.max_poll_offcpu_ns = bw->st.max_poll_offcpu_ns;
		}
		/* a current_thread runtime polls on whatever thread calls block_on */
		if (!runtime_desc__is_worker_thread(ss->op->tb.desc, comm) && !nonworker_counted(old, nold, tid) &&
		    (th->poll_samples || th->offcpu_in_poll_ns || th->task))
			p->nworker_threads++;
	}
	free(old);
	return 0;
}

/* No thread-local: the bursts' workers, scaled. */
static void scale_burst_workers(struct ts_process *p, double k)
{
	size_t i;

	for (i = 0; i < p->nworkers; i++) {
		struct ts_worker *w = &p->workers[i];

		w->st.polls = scaled(w->st.polls, k);
		w->st.busy_ns = scaled(w->st.busy_ns, k);
		w->st.offcpu_poll_total_ns = scaled(w->st.offcpu_poll_total_ns, k);
		w->st.depth = 0;
		w->current_poll_ns = 0;
	}
}

int sampled_session__snapshot(struct sampled_session *ss, struct ts_process *p)
{
	struct ts_sample_read r = {};
	struct task_samples *ts = NULL;
	struct mem_task *given = NULL;
	size_t nts = 0, i;
	double k = 0;
	int err;

	err = sampled_memory__snapshot(ss, ts_now_ns());
	if (err)
		return err;
	if (ss->sampling) {
		err = ts_sampler__read(&ss->sampler, ss->op->pid, &r);
		if (err)
			return err;
		ts = by_task(&r, &nts);
		if (!ts) {
			err = -ENOMEM;
			goto cleanup;
		}
	}
	/* the cells sampled_memory just read: no second whole-memory scan */
	if (ss->op->tb.nvtables && !ss->opts.full_scan_each_snapshot) {
		const struct task_layout *l = &ss->op->tb.layout;

		given = calloc(ss->nhist + 1, sizeof(*given));
		if (!given) {
			err = -ENOMEM;
			goto cleanup;
		}
		for (i = 0; i < ss->nhist; i++) {
			const struct sampled_task_hist *h = &ss->hist[i];

			given[i] = (struct mem_task){ .header = h->header,
						      .state_word = h->state_word,
						      .task_id = h->task_id, .owner_id = h->owner_id,
						      .unowned = l->hdr_owner_off && !h->owner_id,
						      .vtable_idx = h->vtable_idx };
		}
		ss->op->mem_given = given;
		ss->op->nmem_given = ss->nhist;
		ss->op->use_mem_given = true;
	}
	err = observed_proc__snapshot_tasks(ss->op, true, p);
	ss->op->use_mem_given = false;
	ss->op->mem_given = NULL;
	if (err)
		goto cleanup;
	p->probe_mode = "sampled";
	p->sampled = &ss->info;
	if (ss->continuous)
		k = 1;	/* probes attached all along: counts, not estimates */
	else if (ss->info.burst_total_ns)
		k = (double)p->observed_ns / (double)ss->info.burst_total_ns;
	ss->info.scale = k;
	ss->info.ended_task_busy_ns = 0;
	ss->info.tls_fail = r.counters[TS_SCNT_TLS_FAIL];
	ss->info.samples = 0;
	ss->info.poll_samples = 0;
	for (i = 0; i < r.nthreads; i++) {
		ss->info.samples += r.threads[i].st.samples;
		ss->info.poll_samples += r.threads[i].st.poll_samples;
	}
	model_tasks(ss, p, &r, ts, nts, k);
	if (ss->sampling)
		err = model_workers(ss, p, &r, k);
	else if (!ss->continuous)
		scale_burst_workers(p, k);
	observed_proc__snapshot_workers(ss->op, p);
cleanup:
	free(given);
	free(ts);
	ts_sample_read__free(&r);
	return err;
}
