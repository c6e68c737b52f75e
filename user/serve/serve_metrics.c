// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "serve_metrics.h"
#include "stall_rules.h"
#include "top_model.h"

#define SPACESHIP(a, b) (((a) > (b)) - ((a) < (b)))

/* ---- the ledger --------------------------------------------------------- */

static int cmp_mark(const void *a, const void *b)
{
	const struct serve_mark *x = a, *y = b;

	if (x->key != y->key)
		return SPACESHIP(x->key, y->key);
	return SPACESHIP(x->key2, y->key2);
}

/*
 * What a counter gained since prev. A smaller value gains nothing: the
 * sampled mode's counts are estimates scaled from bursts and may read
 * lower than last time; the mark keeps the higher one (a task whose
 * address was reused has a new first-seen time, so it is a new key).
 */
static uint64_t gained(uint64_t now, const uint64_t *prev)
{
	if (!prev)
		return now;
	return now > *prev ? now - *prev : 0;
}

static uint64_t marked(uint64_t now, const uint64_t *prev)
{
	return prev && *prev > now ? *prev : now;
}

static const struct serve_mark *find_mark(const struct serve_mark *v, size_t n,
					  uint64_t key, uint64_t key2)
{
	struct serve_mark k = { key, key2, 0, 0 };

	return n ? bsearch(&k, v, n, sizeof(k), cmp_mark) : NULL;
}

static int update_one(struct serve_ledger *l, struct serve_totals *t, const struct ts_process *p)
{
	uint64_t hits = p->counters[TS_CNT_POLLS] + p->counters[TS_CNT_WAKES] +
			p->counters[TS_CNT_DEALLOCS];
	struct serve_mark *tasks = calloc(p->ntasks + 1, sizeof(*tasks));
	struct serve_mark *workers = calloc(p->nworkers + 1, sizeof(*workers));
	size_t i;

	if (!tasks || !workers) {
		free(tasks);
		free(workers);
		return -ENOMEM;
	}
	for (i = 0; i < p->ntasks; i++) {
		const struct ts_task *k = &p->tasks[i];
		const struct serve_mark *m = find_mark(t->tasks, t->ntasks, k->header,
						       k->st.first_seen_ns);

		t->wakes += gained(k->st.wakes, m ? &m->a : NULL);
		tasks[i] = (struct serve_mark){ k->header, k->st.first_seen_ns,
						marked(k->st.wakes, m ? &m->a : NULL), 0 };
	}
	for (i = 0; i < p->nworkers; i++) {
		const struct ts_worker *w = &p->workers[i];
		const struct serve_mark *m = find_mark(t->workers, t->nworkers, w->tid, 0);
		uint64_t busy = top_worker_busy_ns(w);

		/* a thread new since the last refresh counts from 0 (a reused tid: from its mark) */
		t->polls += gained(w->st.polls, m ? &m->a : NULL);
		/* an inferred poll end may read shorter than the running poll did */
		t->busy_ns += gained(busy, m ? &m->b : NULL);
		workers[i] = (struct serve_mark){ w->tid, 0, marked(w->st.polls, m ? &m->a : NULL),
						  marked(busy, m ? &m->b : NULL) };
	}
	l->own_hits += gained(hits, t->seen_before ? &t->hits : NULL);
	t->hits = marked(hits, t->seen_before ? &t->hits : NULL);
	t->seen_before = true;
	qsort(tasks, p->ntasks, sizeof(*tasks), cmp_mark);
	qsort(workers, p->nworkers, sizeof(*workers), cmp_mark);
	free(t->tasks);
	free(t->workers);
	t->tasks = tasks;
	t->ntasks = p->ntasks;
	t->workers = workers;
	t->nworkers = p->nworkers;
	return 0;
}

static struct serve_totals *find_totals(const struct serve_ledger *l, pid_t pid)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->t[i].pid == pid)
			return &l->t[i];
	return NULL;
}

int serve_ledger__update(struct serve_ledger *l, const struct serve_proc *procs, size_t n)
{
	size_t i, k = 0;
	int err;

	for (i = 0; i < l->n; i++)
		l->t[i].seen = false;
	for (i = 0; i < n; i++) {
		struct serve_totals *t = find_totals(l, procs[i].p->pid);

		if (!t) {
			struct serve_totals *nv = realloc(l->t, (l->n + 1) * sizeof(*nv));

			if (!nv)
				return -ENOMEM;
			l->t = nv;
			t = &l->t[l->n++];
			memset(t, 0, sizeof(*t));
			t->pid = procs[i].p->pid;
		}
		t->seen = true;
		err = update_one(l, t, procs[i].p);
		if (err)
			return err;
	}
	/* gone: a PID seen again later is another process, counting from 0 */
	for (i = 0; i < l->n; i++) {
		if (l->t[i].seen) {
			l->t[k++] = l->t[i];
			continue;
		}
		free(l->t[i].tasks);
		free(l->t[i].workers);
	}
	l->n = k;
	return 0;
}

const struct serve_totals *serve_ledger__find(const struct serve_ledger *l, pid_t pid)
{
	return find_totals(l, pid);
}

void serve_ledger__free(struct serve_ledger *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->t[i].tasks);
		free(l->t[i].workers);
	}
	free(l->t);
	l->t = NULL;
	l->n = 0;
}

/* ---- the exposition ----------------------------------------------------- */

double serve_worker_busy_ratio(const struct serve_proc *sp)
{
	double sum = 0;
	size_t i, n = 0;

	for (i = 0; sp->worker_busy && i < sp->p->nworkers; i++) {
		if (sp->worker_busy[i] < 0)
			continue;
		sum += sp->worker_busy[i];
		n++;
	}
	return n ? sum / (double)n / 100.0 : -1;
}

void serve_metrics__label(FILE *out, const char *value)
{
	const char *c;

	for (c = value; *c; c++) {
		if (*c == '\\')
			fputs("\\\\", out);
		else if (*c == '"')
			fputs("\\\"", out);
		else if (*c == '\n')
			fputs("\\n", out);
		else
			fputc(*c, out);
	}
}

static void family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{pid="..",comm="..",runtime=".." without the closing brace */
static void proc_labels(FILE *out, const char *name, const struct ts_process *p)
{
	fprintf(out, "%s{pid=\"%d\",comm=\"", name, (int)p->pid);
	serve_metrics__label(out, p->comm);
	fputs("\",runtime=\"", out);
	serve_metrics__label(out, p->runtime);
	fputc('"', out);
}

static void proc_u64(FILE *out, const char *name, const struct ts_process *p, uint64_t v)
{
	proc_labels(out, name, p);
	fprintf(out, "} %llu\n", (unsigned long long)v);
}

static void proc_double(FILE *out, const char *name, const struct ts_process *p, double v)
{
	proc_labels(out, name, p);
	fprintf(out, "} %.9g\n", v);
}

void serve_metrics__write(FILE *out, const struct serve_proc *procs, size_t n,
			  const struct serve_ledger *l, const struct serve_self *self)
{
	size_t shown = n > SERVE_MAX_PROCS ? SERVE_MAX_PROCS : n, i, k, s;
	bool any_wakes = false;

	family(out, "taskscope_info", "gauge", "taskscope's version and probe mode.");
	fprintf(out, "taskscope_info{version=\"%s\",mode=\"%s\"} 1\n", self->version, self->mode);
	family(out, "taskscope_processes", "gauge", "Processes observed.");
	fprintf(out, "taskscope_processes %zu\n", n);
	family(out, "taskscope_processes_omitted", "gauge",
	       "Processes observed but not exported (past the cap of 64, highest PIDs).");
	fprintf(out, "taskscope_processes_omitted %zu\n", n - shown);

	family(out, "taskscope_process_info", "gauge",
	       "One per process: runtime version and probe mode.");
	for (i = 0; i < shown; i++) {
		const struct ts_process *p = procs[i].p;

		proc_labels(out, "taskscope_process_info", p);
		fputs(",version=\"", out);
		serve_metrics__label(out, p->runtime_version);
		fputs("\",mode=\"", out);
		serve_metrics__label(out, p->probe_mode ? p->probe_mode : "");
		fputs("\"} 1\n", out);
	}

	family(out, "taskscope_tasks", "gauge", "Tasks by state (running, scheduled, idle, done).");
	for (i = 0; i < shown; i++) {
		const struct ts_process *p = procs[i].p;
		uint64_t count[TS_TASK_DONE + 1] = { 0 };

		for (k = 0; k < p->ntasks; k++)
			if (p->tasks[k].state <= TS_TASK_DONE)
				count[p->tasks[k].state]++;
		for (s = 0; s <= TS_TASK_DONE; s++) {
			proc_labels(out, "taskscope_tasks", p);
			fprintf(out, ",state=\"%s\"} %llu\n", ts_task_state_name((enum ts_task_state)s),
				(unsigned long long)count[s]);
		}
	}

	family(out, "taskscope_stalls", "gauge",
	       "Stalls found at the last refresh, by kind (a deadlock counts once per cycle).");
	for (i = 0; i < shown; i++) {
		const struct ts_process *p = procs[i].p;

		for (s = TS_FIND_DEADLOCK; s <= TS_FIND_IDLE; s++) {
			uint64_t c = 0;

			for (k = 0; k < procs[i].nfindings; k++)
				c += procs[i].findings[k].kind == (enum ts_finding_kind)s;
			proc_labels(out, "taskscope_stalls", p);
			fprintf(out, ",kind=\"%s\"} %llu\n",
				ts_finding_kind_name((enum ts_finding_kind)s), (unsigned long long)c);
		}
	}

	family(out, "taskscope_workers", "gauge", "Async worker threads of the runtime.");
	for (i = 0; i < shown; i++)
		proc_u64(out, "taskscope_workers", procs[i].p, procs[i].p->nworker_threads);
	family(out, "taskscope_worker_busy_ratio", "gauge",
	       "Mean share of time the workers spent in polls since the previous refresh (0-1).");
	for (i = 0; i < shown; i++) {
		double r = serve_worker_busy_ratio(&procs[i]);

		if (r >= 0)
			proc_double(out, "taskscope_worker_busy_ratio", procs[i].p, r);
	}
	family(out, "taskscope_blocking_threads", "gauge", "Blocking-pool threads (spawn_blocking).");
	for (i = 0; i < shown; i++)
		proc_u64(out, "taskscope_blocking_threads", procs[i].p, procs[i].p->nblocking_threads);

	family(out, "taskscope_polls_total", "counter", "Polls since taskscope attached.");
	for (i = 0; i < shown; i++) {
		const struct serve_totals *t = serve_ledger__find(l, procs[i].p->pid);

		proc_u64(out, "taskscope_polls_total", procs[i].p, t ? t->polls : 0);
	}
	family(out, "taskscope_busy_seconds_total", "counter",
	       "Time the workers spent in polls since taskscope attached.");
	for (i = 0; i < shown; i++) {
		const struct serve_totals *t = serve_ledger__find(l, procs[i].p->pid);

		proc_double(out, "taskscope_busy_seconds_total", procs[i].p,
			    t ? (double)t->busy_ns / 1e9 : 0);
	}
	/* light mode has no wake probe: no series rather than a false 0 */
	for (i = 0; i < shown; i++)
		any_wakes |= procs[i].p->probe_mode && strcmp(procs[i].p->probe_mode, "light");
	if (any_wakes)
		family(out, "taskscope_wakes_total", "counter",
		       "Wakes since taskscope attached (not in light mode).");
	for (i = 0; i < shown; i++) {
		const struct serve_totals *t = serve_ledger__find(l, procs[i].p->pid);

		if (procs[i].p->probe_mode && strcmp(procs[i].p->probe_mode, "light"))
			proc_u64(out, "taskscope_wakes_total", procs[i].p, t ? t->wakes : 0);
	}

	family(out, "taskscope_probe_hits_total", "counter",
	       "uprobe hits in the observed processes, all together (taskscope's cost to them).");
	fprintf(out, "taskscope_probe_hits_total %llu\n", (unsigned long long)self->probe_hits);
	if (self->probe_cpu_ratio >= 0) {
		family(out, "taskscope_probe_cpu_ratio", "gauge",
		       "Estimated CPU the probes cost the targets, in CPUs (5.8 us per hit).");
		fprintf(out, "taskscope_probe_cpu_ratio %.9g\n", self->probe_cpu_ratio);
	}
	family(out, "taskscope_cpu_seconds_total", "counter", "taskscope's own CPU time.");
	fprintf(out, "taskscope_cpu_seconds_total %.6f\n", self->cpu_s);
	family(out, "taskscope_resident_bytes", "gauge", "taskscope's own resident memory.");
	fprintf(out, "taskscope_resident_bytes %llu\n", (unsigned long long)self->rss_bytes);
	family(out, "taskscope_refresh_seconds", "gauge", "How long the last refresh took.");
	fprintf(out, "taskscope_refresh_seconds %.6f\n", self->refresh_s);
	family(out, "taskscope_attach_failures", "gauge",
	       "Processes found but not observed (see taskscope's log).");
	fprintf(out, "taskscope_attach_failures %llu\n", (unsigned long long)self->attach_failures);
	family(out, "taskscope_http_requests_total", "counter", "HTTP requests answered.");
	fprintf(out, "taskscope_http_requests_total %llu\n", (unsigned long long)self->requests);
	family(out, "taskscope_http_rejected_total", "counter",
	       "HTTP requests refused (4xx) and connections cut (too slow).");
	fprintf(out, "taskscope_http_rejected_total %llu\n", (unsigned long long)self->rejected);
}
