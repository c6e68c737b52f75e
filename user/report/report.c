/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "duration.h"
#include "json_writer.h"
#include "report.h"
#include "report_sampled.h"

#define SPACESHIP(a, b) (((a) > (b)) - ((a) < (b)))

static int cmp_task(const void *a, const void *b, void *ctx)
{
	const struct ts_process *p = ctx;
	const struct ts_task *x = &p->tasks[*(const size_t *)a];
	const struct ts_task *y = &p->tasks[*(const size_t *)b];
	bool xd = x->state == TS_TASK_DONE, yd = y->state == TS_TASK_DONE;

	if (xd != yd)
		return xd - yd;
	if (!x->task_id != !y->task_id)
		return !x->task_id - !y->task_id;
	if (x->task_id != y->task_id)
		return SPACESHIP(x->task_id, y->task_id);
	return SPACESHIP(x->header, y->header);
}

size_t *ts_report_task_order(const struct ts_process *p)
{
	size_t *order = calloc(p->ntasks ? p->ntasks : 1, sizeof(*order)), i;

	if (!order)
		return NULL;
	for (i = 0; i < p->ntasks; i++)
		order[i] = i;
	qsort_r(order, p->ntasks, sizeof(*order), cmp_task, (void *)p);
	return order;
}

static uint64_t task_idle_ns(const struct ts_task *t)
{
	return t->st.idle_ns + (t->state == TS_TASK_IDLE ? t->in_state_ns : 0);
}

static void count_states(const struct ts_process *p, size_t counts[4])
{
	size_t i;

	memset(counts, 0, 4 * sizeof(counts[0]));
	for (i = 0; i < p->ntasks; i++)
		if (p->tasks[i].state <= TS_TASK_DONE)
			counts[p->tasks[i].state]++;
}

static const char *res_kind_label(uint32_t kind)
{
	static const char *const names[] = { "other", "mutex", "rwlock", "semaphore",
					      "channel", "other" };

	return kind < ARRAY_SIZE(names) ? names[kind] : "other";
}

/* The chain's tree under the task's row, indented to the name column. */
static void write_chain_text(FILE *out, const struct ts_await_chain *c, bool detail)
{
	char buf[8192], *line, *save = NULL;

	if (detail)
		ts_await_chain__format_detail(c, buf, sizeof(buf));
	else
		ts_await_chain__format(c, buf, sizeof(buf));
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		fprintf(out, "%7s%s\n", "", line);
}

/*
 * Thousands of tasks of one type parked alike would bury the rest: past a
 * few, the findings of one kind and one task type are counted, not listed.
 * (JSON lists every one.)
 */
#define TS_FINDINGS_PER_TYPE	5

static int cmp_finding_group(const void *a, const void *b, void *ctx)
{
	const struct ts_finding *f = ctx;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c;

	if (f[x].kind != f[y].kind)
		return (f[x].kind > f[y].kind) - (f[x].kind < f[y].kind);
	c = strcmp(f[x].name, f[y].name);
	return c ? c : (x > y) - (x < y);
}

static const struct ts_task *task_with_id(const struct ts_process *p, uint64_t id)
{
	size_t i;

	for (i = 0; id && i < p->ntasks; i++)
		if (p->tasks[i].task_id == id && !p->tasks[i].root_tid)
			return &p->tasks[i];
	return NULL;
}

static const struct ts_task *root_on_thread(const struct ts_process *p, uint32_t tid)
{
	size_t i;

	for (i = 0; tid && i < p->ntasks; i++)
		if (p->tasks[i].root_tid == tid)
			return &p->tasks[i];
	return NULL;
}

/*
 * "spawned by task 3 app::server <- task 1 app::main <- block_on main
 * (thread 4711)": who spawned a stuck task, as far as taskscope saw.
 */
static void write_ancestry(FILE *out, const struct ts_process *p, const struct ts_task *t)
{
	const struct ts_task *cur = t, *up;
	int depth;

	if (!t || t->root_tid || !t->parent_known)
		return;
	fprintf(out, "%8sspawned by ", "");
	for (depth = 0; cur && cur->parent_known && depth < 8; depth++, cur = up) {
		up = cur->parent_id ? task_with_id(p, cur->parent_id) :
				      root_on_thread(p, cur->spawn_tid);
		if (depth)
			fprintf(out, " \u2190 ");
		if (cur->parent_id)
			fprintf(out, "task %llu %s", (unsigned long long)cur->parent_id,
				up ? up->name : "(ended)");
		else if (up)
			fprintf(out, "block_on %s (thread %u)", up->name, up->root_tid);
		else
			fprintf(out, "thread %u (outside any task)", cur->spawn_tid);
		if (!up || up->root_tid)
			break;
	}
	if (cur && !cur->root_tid && !cur->parent_known && depth)
		fprintf(out, " \u2190 (not seen being spawned)");
	fputc('\n', out);
}

static void write_finding_text(FILE *out, const struct ts_process *p, const struct ts_finding *f)
{
	fprintf(out, "  [%s] %s\n", ts_finding_kind_name(f->kind), f->message);
	if (f->remedy)
		fprintf(out, "%8sfix: %s\n", "", f->remedy);
	if (f->kind != TS_FIND_DEADLOCK && f->task < p->ntasks)
		write_ancestry(out, p, &p->tasks[f->task]);
}

static void write_findings_text(FILE *out, const struct ts_process *p, const struct ts_finding *f,
				size_t nf)
{
	size_t *idx = calloc(nf, sizeof(*idx)), *rank = calloc(nf, sizeof(*rank));
	size_t *group = calloc(nf, sizeof(*group)), i, start;

	if (!idx || !rank || !group) {
		for (i = 0; i < nf; i++)
			write_finding_text(out, p, &f[i]);
		goto out;
	}
	for (i = 0; i < nf; i++)
		idx[i] = i;
	qsort_r(idx, nf, sizeof(*idx), cmp_finding_group, (void *)f);
	for (start = 0; start < nf; start = i) {
		for (i = start; i < nf && f[idx[i]].kind == f[idx[start]].kind &&
		     !strcmp(f[idx[i]].name, f[idx[start]].name); i++)
			rank[idx[i]] = i - start;
		for (size_t k = start; k < i; k++)
			group[idx[k]] = i - start;
	}
	for (i = 0; i < nf; i++) {
		if (rank[i] < TS_FINDINGS_PER_TYPE)
			write_finding_text(out, p, &f[i]);
		else if (rank[i] == TS_FINDINGS_PER_TYPE)
			fprintf(out, "  [%s] ... and %zu more tasks of %s\n",
				ts_finding_kind_name(f[i].kind), group[i] - TS_FINDINGS_PER_TYPE,
				f[i].name[0] ? f[i].name : "(unnamed)");
	}
out:
	free(idx);
	free(rank);
	free(group);
}

#define MAX_RUNTIMES	16

struct runtime_sum {
	uint64_t owner_id;
	size_t tasks;
	uint32_t tids[8];	/* threads seen polling its tasks */
	size_t ntids;
};

static struct runtime_sum *runtime_of(struct runtime_sum *r, size_t n, uint64_t owner)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (r[i].owner_id == owner)
			return &r[i];
	return NULL;
}

static const struct ts_task *task_at(const struct ts_process *p, uint64_t header)
{
	size_t i;

	for (i = 0; header && i < p->ntasks; i++)
		if (p->tasks[i].header == header)
			return &p->tasks[i];
	return NULL;
}

/*
 * The tokio runtimes of the process, told apart by the id of the owned-task
 * list each task's header names (several runtimes, a LocalSet's current
 * thread runtime...), with the threads seen polling each one's tasks.
 * Returns how many, at most MAX_RUNTIMES.
 */
static size_t sum_runtimes(const struct ts_process *p, struct runtime_sum *r)
{
	size_t i, n = 0, k;

	for (i = 0; i < p->ntasks; i++) {
		const struct ts_task *t = &p->tasks[i];
		struct runtime_sum *rs;

		if (!t->owner_id || t->state == TS_TASK_DONE)
			continue;
		rs = runtime_of(r, n, t->owner_id);
		if (!rs && n < MAX_RUNTIMES) {
			rs = &r[n++];
			memset(rs, 0, sizeof(*rs));
			rs->owner_id = t->owner_id;
		}
		if (rs)
			rs->tasks++;
	}
	for (i = 0; i < p->nworkers; i++) {
		const struct ts_worker *w = &p->workers[i];
		const struct ts_task *t = task_at(p, w->st.header);
		struct runtime_sum *rs;

		if (!t)
			t = task_at(p, w->st.last_header);
		if (!t)
			t = task_at(p, w->st.max_poll_header);
		rs = t ? runtime_of(r, n, t->owner_id) : NULL;
		if (!rs || rs->ntids >= 8)
			continue;
		for (k = 0; k < rs->ntids && rs->tids[k] != w->tid; k++)
			;
		if (k == rs->ntids)
			rs->tids[rs->ntids++] = w->tid;
	}
	return n;
}

static const char *worker_comm(const struct ts_process *p, uint32_t tid)
{
	size_t i;

	for (i = 0; i < p->nworkers; i++)
		if (p->workers[i].tid == tid)
			return p->workers[i].comm;
	return "";
}

static void write_runtimes_text(FILE *out, const struct ts_process *p)
{
	struct runtime_sum r[MAX_RUNTIMES];
	size_t n = sum_runtimes(p, r), i, k;

	if (n < 2)
		return;
	fprintf(out, "runtimes: %zu in this process, told apart by their owned-task lists:\n", n);
	for (i = 0; i < n; i++) {
		fprintf(out, "  runtime %llu: %zu task%s", (unsigned long long)r[i].owner_id,
			r[i].tasks, r[i].tasks == 1 ? "" : "s");
		for (k = 0; k < r[i].ntids; k++)
			fprintf(out, "%s%u %s", k ? ", " : ", polled on threads ", r[i].tids[k],
				worker_comm(p, r[i].tids[k]));
		fputc('\n', out);
	}
}

/*
 * Alike tasks, one row for many: same future type, state and .await line
 * (as Go groups goroutines with one stack in a dump). A million parked
 * handlers are one line, not 119 MB; --all and --task list each one.
 */
#define TS_GROUP_MIN	10	/* fewer alike tasks are listed one by one */

struct task_group {
	size_t count;
	size_t shown;		/* the member whose row and chain stand for all */
	bool printed;
	uint64_t polls, wakes, self_wakes, busy_ns, sched_ns, max_poll_ns, longest_idle_ns;
	bool since_attach;
};

static uint32_t await_line(const struct ts_task *t)
{
	return t->chain && t->chain->nframes ? t->chain->frames[0].line : 0;
}

static int cmp_alike(const void *a, const void *b, void *ctx)
{
	const struct ts_process *p = ctx;
	const struct ts_task *x = &p->tasks[*(const size_t *)a];
	const struct ts_task *y = &p->tasks[*(const size_t *)b];
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	if (x->state != y->state)
		return SPACESHIP(x->state, y->state);
	return SPACESHIP(await_line(x), await_line(y));
}

static bool same_kind(const struct ts_task *x, const struct ts_task *y)
{
	return (x->name == y->name || !strcmp(x->name, y->name)) && x->state == y->state;
}

/*
 * group_of[task]: its group in *groups. Tasks whose chain was not read
 * (only the longest waits get one) join the one .await line their type
 * and state have, when there is exactly one. NULL on ENOMEM.
 */
static size_t *task_groups(const struct ts_process *p, struct task_group **groups)
{
	size_t *by = calloc(p->ntasks + 1, sizeof(*by)), *group_of = calloc(p->ntasks + 1,
									     sizeof(*group_of));
	struct task_group *g = calloc(p->ntasks + 1, sizeof(*g));
	size_t i, j, k, ng = 0;

	if (!by || !group_of || !g) {
		free(by);
		free(group_of);
		free(g);
		return NULL;
	}
	for (i = 0; i < p->ntasks; i++)
		by[i] = i;
	qsort_r(by, p->ntasks, sizeof(*by), cmp_alike, (void *)p);
	for (i = 0; i < p->ntasks; i = j) {
		size_t lines = 0;
		uint32_t last = 0;

		/* one type and state: [i, j) */
		for (j = i; j < p->ntasks && same_kind(&p->tasks[by[i]], &p->tasks[by[j]]); j++) {
			uint32_t l = await_line(&p->tasks[by[j]]);

			if (l && l != last)
				lines++;
			last = l ? l : last;
		}
		for (k = i; k < j; k++) {
			uint32_t l = await_line(&p->tasks[by[k]]);

			if (k == i || (lines > 1 && l != await_line(&p->tasks[by[k - 1]])))
				ng++;
			group_of[by[k]] = ng - 1;
		}
	}
	for (i = 0; i < p->ntasks; i++) {
		const struct ts_task *t = &p->tasks[i];
		struct task_group *x = &g[group_of[i]];
		uint64_t idle = task_idle_ns(t);
		const struct ts_task *cur = x->count ? &p->tasks[x->shown] : NULL;

		/* the row shown: one with a chain, the longest waiting */
		if (!cur || (!cur->chain && t->chain) ||
		    (!cur->chain == !t->chain && idle > task_idle_ns(cur)))
			x->shown = i;
		x->count++;
		x->polls += t->st.polls;
		x->wakes += t->st.wakes;
		x->self_wakes += t->st.self_wakes;
		x->busy_ns += t->st.busy_ns;
		x->sched_ns += t->st.scheduled_ns;
		if (t->st.max_poll_ns > x->max_poll_ns)
			x->max_poll_ns = t->st.max_poll_ns;
		if (idle > x->longest_idle_ns)
			x->longest_idle_ns = idle;
		x->since_attach |= t->since_attach;
	}
	free(by);
	*groups = g;
	return group_of;
}

static void write_group_row(FILE *out, const struct ts_process *p, const struct task_group *g,
			    const struct ts_report_opts *o)
{
	const struct ts_task *t = &p->tasks[g->shown];
	const char *est = ts_report_estimate_mark(p);
	char id[24], busy[16], sched[16], idle[20], maxp[16], name[40];
	char polls[24], wakes[24], selfw[24];

	snprintf(id, sizeof(id), "%zu×", g->count);
	ts_fmt_duration_as(TS_DURATION_CELL, g->busy_ns, busy, sizeof(busy));
	ts_fmt_duration_as(TS_DURATION_CELL, g->sched_ns, sched, sizeof(sched));
	ts_fmt_duration_as(TS_DURATION_CELL, g->longest_idle_ns, idle + 2, sizeof(idle) - 2);
	idle[0] = g->since_attach && t->state == TS_TASK_IDLE ? '>' : ' ';
	idle[1] = g->since_attach && t->state == TS_TASK_IDLE ? '=' : ' ';
	if (p->core_path && t->state == TS_TASK_IDLE)
		snprintf(idle, sizeof(idle), "?");
	ts_fmt_duration_as(TS_DURATION_CELL, g->max_poll_ns, maxp, sizeof(maxp));
	snprintf(name, sizeof(name), "%.31s%s", t->name[0] ? t->name : "(unnamed)",
		 t->name_ambiguous ? "?" : "");
	snprintf(polls, sizeof(polls), "%s%llu", est, (unsigned long long)g->polls);
	snprintf(wakes, sizeof(wakes), "%s%llu", est, (unsigned long long)g->wakes);
	snprintf(selfw, sizeof(selfw), "%s%llu", est, (unsigned long long)g->self_wakes);
	/* byte width: "×" is two bytes, one column */
	fprintf(out, "%7s %-32.32s %-9s %8s %8s %8s %9s %7s %6s %8s %7s\n", id, name,
		ts_task_state_name(t->state), polls, busy, sched, idle, wakes, selfw, maxp, "-");
	if (t->chain)
		write_chain_text(out, t->chain, false);
	fprintf(out, "%6s (%zu alike tasks: same future, state and .await; sums, the longest "
		"idle, the chain of one of them; --all lists each)\n", "", g->count);
	(void)o;
}

/*
 * Every lock and channel an await chain or a probe names: what it is, who
 * holds it, who waits, the other half's holders. USDT runtimes' resources
 * come from their probes, with or without a link to a task.
 */
static void write_resources_text(FILE *out, const struct ts_process *p,
				 const struct ts_wait_graph *g)
{
	size_t i;
	bool header = false;

	for (i = 0; i < g->nres + p->nresources; i++) {
		const struct ts_wres *r = i < g->nres ? &g->res[i] : NULL;
		struct ts_wres usdt_only = {};
		char what[112], lencap[32], holders[64], waiters[64], senders[64], receivers[64];

		if (!r) {	/* a USDT resource no task is linked to */
			const struct ts_res_info *u = &p->resources[i - g->nres];

			if (ts_wait_graph__find(g, u->id))
				continue;
			usdt_only.usdt = true;
			usdt_only.object = u->id;
			usdt_only.kind = u->r.kind == 4 ? "channel" : u->r.kind == 1 ? "mutex" :
					 u->r.kind == 2 ? "rwlock" : u->r.kind == 3 ? "semaphore" :
					 "resource";
			snprintf(usdt_only.name, sizeof(usdt_only.name), "%s", u->r.name);
			usdt_only.has_len = u->r.kind == 4;
			usdt_only.capacity = u->r.capacity;
			usdt_only.len = u->r.len;
			r = &usdt_only;
		}
		if (!header)
			fprintf(out, "\nRESOURCES\n%-14s %-34s %-16s %9s %-10s %-10s %s\n", "KIND",
				"TYPE / NAME", "ADDRESS / ID", "LEN/CAP", "HOLDERS", "WAITERS",
				"OTHER HALF");
		header = true;
		if (r->usdt)
			snprintf(what, sizeof(what), "\"%s\"", r->name);
		else
			snprintf(what, sizeof(what), "%s", r->type[0] ? r->type : "?");
		if (r->has_len && r->capacity)
			snprintf(lencap, sizeof(lencap), "%llu/%llu", (unsigned long long)r->len,
				 (unsigned long long)r->capacity);
		else if (r->has_len)
			snprintf(lencap, sizeof(lencap), "%llu/-", (unsigned long long)r->len);
		else
			snprintf(lencap, sizeof(lencap), "-");
		ts_wres__task_ids(g, r, TS_ROLE_HOLDS, 4, ", ", holders, sizeof(holders));
		ts_wres__task_ids(g, r, TS_ROLE_WAITS, 4, ", ", waiters, sizeof(waiters));
		ts_wres__task_ids(g, r, TS_ROLE_SENDER, 4, ", ", senders, sizeof(senders));
		ts_wres__task_ids(g, r, TS_ROLE_RECEIVER, 4, ", ", receivers, sizeof(receivers));
		if (r->usdt && !r->first && !r->nlinks) {
			const struct ts_res_info *u = ts_process__find_resource(p, r->object);

			if (u && u->r.holder)
				snprintf(holders, sizeof(holders), "%llu",
					 (unsigned long long)u->r.holder);
		}
		fprintf(out, "%-14s %-34.34s %s%-16llx %9s %-10s %-10s", r->kind, what,
			r->usdt ? "#" : "0x", (unsigned long long)r->object, lencap, holders, waiters);
		if (senders[0] != '-' || receivers[0] != '-')
			fprintf(out, " senders %s, receiver %s", senders, receivers);
		fputc('\n', out);
	}
}

static void write_text(FILE *out, const struct ts_process *p, const struct ts_finding *f,
		       size_t nf, const struct ts_report_opts *o, const struct ts_wait_graph *g)
{
	struct task_group *groups = NULL;
	size_t *group_of = NULL;
	size_t counts[4], i, *order = ts_report_task_order(p);
	char obs[32];

	count_states(p, counts);
	if (p->core_path)
		snprintf(obs, sizeof(obs), "at the dump");
	else
		ts_fmt_duration(p->observed_ns, obs, sizeof(obs));
	if (p->ns_pid)
		fprintf(out, "PID %d (%s; PID %d in its own PID namespace) %s\n", p->pid, p->comm,
			p->ns_pid, p->exe);
	else
		fprintf(out, "PID %d (%s) %s\n", p->pid, p->comm, p->exe);
	fprintf(out, "runtime: %s %s, %s%zu worker thread%s, %zu probe sites (mode %s)\n",
		p->runtime, p->runtime_version, p->nhandoffs ? "<= " : "", p->nworker_threads,
		p->nworker_threads == 1 ? "" : "s", p->nprobes,
		p->probe_mode ? p->probe_mode : "default");
	write_runtimes_text(out, p);
	if (p->nhandoffs)
		fprintf(out, "block_in_place: %zu hand-off%s running (a worker moved to a new thread "
			"while its old one blocks in a task's poll: that poll holds no worker and is "
			"not flagged; the worker count is an upper bound meanwhile)\n", p->nhandoffs,
			p->nhandoffs == 1 ? "" : "s");
	if (p->nblocking_threads)
		fprintf(out, "blocking pool: %zu thread%s (spawn_blocking, not async workers), %zu "
			"job%s running\n", p->nblocking_threads, p->nblocking_threads == 1 ? "" : "s",
			p->nblocking_busy, p->nblocking_busy == 1 ? "" : "s");
	if (p->probe_mode && !strcmp(p->probe_mode, "light"))
		fprintf(out, "note: mode light: wakes not traced (no wake counts, no scheduled "
			"time, no starvation)\n");
	if (p->core_path)
		fprintf(out, "post-mortem: core file %s: tasks, states, await chains and holds "
			"from memory; no counts, no times (IDLE ?)\n", p->core_path);
	fprintf(out, "observed %s: %zu tasks (%zu running, %zu scheduled, %zu idle, %zu done), "
		"%.0f polls/s, %llu tasks dropped from full maps\n", obs, p->ntasks,
		counts[TS_TASK_RUNNING], counts[TS_TASK_SCHEDULED], counts[TS_TASK_IDLE],
		counts[TS_TASK_DONE], ts_process__poll_rate(p),
		(unsigned long long)p->tasks_evicted);
	ts_report_sampled_text(out, p);
	if (p->debuginfo_note[0])
		fprintf(out, "note: %s\n", p->debuginfo_note);
	if (p->layout_refuted)
		fprintf(out, "layout: %s descriptor %s; memory discovery off: only tasks the probes "
			"saw are listed, none idle since before attach\n", p->layout_descriptor,
			p->layout_verdict);
	if (p->chains_skipped)
		fprintf(out, "note: await chains read for the longest-waiting tasks only; %zu more "
			"suspended tasks without one\n", p->chains_skipped);
	if (p->mem_scan_truncated)
		fprintf(out, "note: memory scan stopped at %llu MiB; tasks beyond it come only "
			"from probes\n", (unsigned long long)(p->mem_bytes_scanned >> 20));

	fprintf(out, "\n%6s %-32s %-9s %8s %8s %8s %9s %7s %6s %8s %7s\n", "ID", "TASK", "STATE",
		"POLLS", "BUSY", "SCHED", "IDLE", "WAKES", "SELF", "MAXPOLL", "WORKER");
	if (!o->all_tasks && !o->only_task && p->ntasks >= TS_GROUP_MIN)
		group_of = task_groups(p, &groups);
	for (i = 0; order && i < p->ntasks; i++) {
		const struct ts_task *t = &p->tasks[order[i]];
		char id[24], busy[16], sched[16], idle[20], maxp[16], worker[16], name[40];
		char polls[24], wakes[24], selfw[24];
		const char *est = ts_report_estimate_mark(p);

		if (o->only_task && t->task_id != o->only_task)
			continue;
		if (t->state == TS_TASK_DONE && !o->all_tasks && !o->only_task)
			continue;
		if (group_of && groups[group_of[order[i]]].count >= TS_GROUP_MIN) {
			struct task_group *g = &groups[group_of[order[i]]];

			if (!g->printed)
				write_group_row(out, p, g, o);
			g->printed = true;
			continue;
		}
		if (t->task_id)
			snprintf(id, sizeof(id), "%llu", (unsigned long long)t->task_id);
		else if (t->root_tid)	/* block_on on that thread */
			snprintf(id, sizeof(id), "T%u", t->root_tid);
		else
			snprintf(id, sizeof(id), "-");
		ts_fmt_duration_as(TS_DURATION_CELL, t->st.busy_ns, busy, sizeof(busy));
		ts_fmt_duration_as(TS_DURATION_CELL, t->st.scheduled_ns, sched, sizeof(sched));
		ts_fmt_duration_as(TS_DURATION_CELL, task_idle_ns(t), idle + 2, sizeof(idle) - 2);
		idle[0] = t->since_attach && t->state == TS_TASK_IDLE ? '>' : ' ';
		idle[1] = t->since_attach && t->state == TS_TASK_IDLE ? '=' : ' ';
		if (p->core_path && t->state == TS_TASK_IDLE)
			snprintf(idle, sizeof(idle), "?");
		ts_fmt_duration_as(TS_DURATION_CELL, t->st.max_poll_ns, maxp, sizeof(maxp));
		if (t->st.last_worker_tid)
			snprintf(worker, sizeof(worker), "%u", t->st.last_worker_tid);
		else
			snprintf(worker, sizeof(worker), "-");
		snprintf(name, sizeof(name), "%.31s%s", t->name[0] ? t->name : "(unnamed)",
			 t->name_ambiguous ? "?" : "");
		snprintf(polls, sizeof(polls), "%s%llu", est, (unsigned long long)t->st.polls);
		snprintf(wakes, sizeof(wakes), "%s%llu", est, (unsigned long long)t->st.wakes);
		snprintf(selfw, sizeof(selfw), "%s%llu", est, (unsigned long long)t->st.self_wakes);
		fprintf(out, "%6s %-32.32s %-9s %8s %8s %8s %9s %7s %6s %8s %7s\n", id,
			name, ts_task_state_name(t->state), polls, busy, sched, idle, wakes, selfw,
			maxp, worker);
		if (t->chain)
			write_chain_text(out, t->chain, o->only_task != 0);
	}

	write_resources_text(out, p, g);
	if (counts[TS_TASK_DONE] && !o->all_tasks)
		fprintf(out, "%6s (%zu finished tasks not shown; --all lists them)\n", "",
			counts[TS_TASK_DONE]);
	fprintf(out, "\n");
	if (!nf) {
		fprintf(out, "STALLS: none (waits >= %.0f ms, polls >= %.0f ms)\n",
			(double)o->stall_ns / 1e6, (double)o->long_poll_ns / 1e6);
	} else {
		fprintf(out, "STALLS (%zu, waits >= %.0f ms, polls >= %.0f ms)\n", nf,
			(double)o->stall_ns / 1e6, (double)o->long_poll_ns / 1e6);
		write_findings_text(out, p, f, nf);
	}
	free(order);
	free(group_of);
	free(groups);
}

static void json_task(struct json_writer *jw, const struct ts_process *p, size_t idx)
{
	const struct ts_task *t = &p->tasks[idx];
	int k;

	jw_object_begin(jw);
	jw_kv_u64(jw, "id", t->task_id);
	if (t->owner_id)
		jw_kv_u64(jw, "runtime_id", t->owner_id);
	jw_kv_hex(jw, "header", t->header);
	jw_kv_string(jw, "name", t->name);
	if (t->root_tid) {	/* a thread's block_on future, not a spawned task */
		jw_kv_u64(jw, "root_thread", t->root_tid);
		jw_kv_string(jw, "executor", t->location);
	}
	/* who spawned it: null when not seen being spawned, 0 outside any task */
	jw_key(jw, "parent_id");
	if (t->parent_known)
		jw_u64(jw, t->parent_id);
	else
		jw_null(jw);
	if (t->parent_known && t->spawn_tid)
		jw_kv_u64(jw, "spawned_on_thread", t->spawn_tid);
	jw_kv_bool(jw, "name_ambiguous", t->name_ambiguous);
	jw_kv_string(jw, "future_type", t->future_type);
	jw_kv_hex(jw, "poll_fn", t->poll_fn_vaddr);
	jw_kv_string(jw, "state", ts_task_state_name(t->state));
	jw_kv_double(jw, "in_state_s", (double)t->in_state_ns / 1e9, 6);
	jw_kv_bool(jw, "since_attach", t->since_attach);
	jw_kv_bool(jw, "spawned_in_window", t->spawned_in_window);
	jw_kv_bool(jw, "seen_by_probe", t->seen_by_probe);
	jw_kv_bool(jw, "in_memory", t->in_memory);
	jw_kv_u64(jw, "polls", t->st.polls);
	jw_kv_double(jw, "busy_s", (double)t->st.busy_ns / 1e9, 6);
	jw_kv_double(jw, "scheduled_s", (double)t->st.scheduled_ns / 1e9, 6);
	jw_kv_double(jw, "idle_s", (double)task_idle_ns(t) / 1e9, 6);
	jw_kv_u64(jw, "wakes", t->st.wakes);
	jw_kv_u64(jw, "self_wakes", t->st.self_wakes);
	jw_kv_u64(jw, "lost_wakes", t->st.lost_wakes);
	jw_kv_double(jw, "max_poll_s", (double)t->st.max_poll_ns / 1e9, 6);
	jw_kv_double(jw, "max_scheduled_s", (double)t->st.max_scheduled_ns / 1e9, 6);
	jw_kv_u64(jw, "last_worker", t->st.last_worker_tid);
	/* its poll runs inside block_in_place: how it was told (name or stack) */
	if (ts_task__uses_block_in_place(p, t))
		jw_kv_string(jw, "block_in_place", t->in_block_in_place ? "stack" : "closure type");
	jw_key(jw, "poll_hist_log2_us");
	jw_array_begin(jw);
	for (k = 0; k < TS_HIST_SLOTS; k++)
		jw_u64(jw, t->st.hist[k]);
	jw_array_end(jw);
	ts_report_sampled_task_json(jw, p, t);
	if (t->chain) {
		jw_key(jw, "await_chain");
		ts_await_chain__json(t->chain, jw);
	}
	if (t->location[0])
		jw_kv_string(jw, "location", t->location);
	if (t->st.waiting_res)
		jw_kv_u64(jw, "waiting_on", t->st.waiting_res);
	jw_object_end(jw);
}

static void json_links(struct json_writer *jw, const struct ts_process *p,
		       const struct ts_wait_graph *g, const struct ts_wres *r, enum ts_res_role role,
		       const char *key)
{
	size_t k;

	jw_key(jw, key);
	jw_array_begin(jw);
	for (k = r ? r->first : 0; r && k < (size_t)r->first + r->nlinks; k++) {
		if (g->links[k].role != role)
			continue;
		jw_u64(jw, p->tasks[g->links[k].task].task_id);
	}
	jw_array_end(jw);
}

/*
 * resources[]: one schema for USDT runtimes (from their probes) and stock
 * tokio (from await chains): id, kind, name, type, address, capacity and
 * len (channels), holder (first holder's task Id, 0 none) and the count of
 * waiters, then the task Ids: holders, waiting, senders, receivers.
 */
static void write_resources_json(struct json_writer *jw, const struct ts_process *p,
				 const struct ts_wait_graph *g)
{
	size_t i;

	jw_key(jw, "resources");
	jw_array_begin(jw);
	for (i = 0; i < p->nresources; i++) {
		const struct ts_resource *u = &p->resources[i].r;
		const struct ts_wres *r = ts_wait_graph__find(g, p->resources[i].id);

		jw_object_begin(jw);
		jw_kv_u64(jw, "id", p->resources[i].id);
		jw_kv_string(jw, "kind", res_kind_label(u->kind));
		jw_kv_string(jw, "name", u->name);
		jw_kv_string(jw, "type", "");
		jw_kv_hex(jw, "address", 0);
		jw_kv_u64(jw, "capacity", u->capacity);
		jw_kv_u64(jw, "len", u->len);
		jw_kv_u64(jw, "holder", u->holder);
		jw_kv_u64(jw, "waiters", u->waiters);
		json_links(jw, p, g, r, TS_ROLE_HOLDS, "holders");
		json_links(jw, p, g, r, TS_ROLE_WAITS, "waiting");
		json_links(jw, p, g, r, TS_ROLE_SENDER, "senders");
		json_links(jw, p, g, r, TS_ROLE_RECEIVER, "receivers");
		jw_object_end(jw);
	}
	for (i = 0; i < g->nres; i++) {
		const struct ts_wres *r = &g->res[i];
		size_t k;
		uint64_t holder = 0;

		if (r->usdt || ts_process__find_resource(p, r->object))
			continue;
		for (k = r->first; k < (size_t)r->first + r->nlinks && !holder; k++)
			if (g->links[k].role == TS_ROLE_HOLDS)
				holder = p->tasks[g->links[k].task].task_id;
		jw_object_begin(jw);
		jw_kv_u64(jw, "id", r->object);
		jw_kv_string(jw, "kind", r->kind);
		jw_kv_string(jw, "name", "");
		jw_kv_string(jw, "type", r->type);
		jw_kv_hex(jw, "address", r->object);
		jw_kv_u64(jw, "capacity", r->capacity);
		if (r->has_len) {
			jw_kv_u64(jw, "len", r->len);
		} else {
			jw_key(jw, "len");
			jw_null(jw);
		}
		if (r->has_senders)
			jw_kv_u64(jw, "live_senders", r->senders);
		jw_kv_u64(jw, "holder", holder);
		jw_kv_u64(jw, "waiters", r->nwaiters);
		json_links(jw, p, g, r, TS_ROLE_HOLDS, "holders");
		json_links(jw, p, g, r, TS_ROLE_WAITS, "waiting");
		json_links(jw, p, g, r, TS_ROLE_SENDER, "senders");
		json_links(jw, p, g, r, TS_ROLE_RECEIVER, "receivers");
		jw_object_end(jw);
	}
	jw_array_end(jw);
}

/* Streams: a task at a time, nothing of the document held in memory. */
static void write_json(FILE *out, const struct ts_process *p, const struct ts_finding *f,
		       size_t nf, const struct ts_report_opts *o, const struct ts_wait_graph *g)
{
	size_t counts[4], i, *order = ts_report_task_order(p);
	struct json_writer jw;

	count_states(p, counts);
	jw_init(&jw, out);
	jw_object_begin(&jw);
	jw_kv_i64(&jw, "pid", p->pid);
	if (p->ns_pid)
		jw_kv_i64(&jw, "ns_pid", p->ns_pid);
	jw_kv_string(&jw, "comm", p->comm);
	jw_kv_string(&jw, "exe", p->exe);
	jw_key(&jw, "runtime");
	jw_object_begin(&jw);
	jw_kv_string(&jw, "name", p->runtime);
	jw_kv_string(&jw, "version", p->runtime_version);
	jw_object_end(&jw);
	jw_kv_string(&jw, "mode", p->probe_mode ? p->probe_mode : "default");
	if (p->core_path)
		jw_kv_string(&jw, "core_file", p->core_path);
	ts_report_sampled_json(&jw, p);
	jw_kv_double(&jw, "observed_s", (double)p->observed_ns / 1e9, 3);
	jw_kv_u64(&jw, "worker_threads", p->nworker_threads);
	/* block_in_place hand-offs running: worker_threads is an upper bound */
	jw_kv_u64(&jw, "block_in_place_handoffs", p->nhandoffs);
	jw_kv_u64(&jw, "blocking_threads", p->nblocking_threads);
	jw_kv_u64(&jw, "blocking_jobs_running", p->nblocking_busy);
	{
		struct runtime_sum r[MAX_RUNTIMES];
		size_t n = sum_runtimes(p, r), i, k;

		jw_key(&jw, "runtimes");
		jw_array_begin(&jw);
		for (i = 0; i < n; i++) {
			jw_object_begin(&jw);
			jw_kv_u64(&jw, "id", r[i].owner_id);
			jw_kv_u64(&jw, "tasks", r[i].tasks);
			jw_key(&jw, "polled_on_threads");
			jw_array_begin(&jw);
			for (k = 0; k < r[i].ntids; k++)
				jw_u64(&jw, r[i].tids[k]);
			jw_array_end(&jw);
			jw_object_end(&jw);
		}
		jw_array_end(&jw);
	}
	jw_kv_u64(&jw, "probe_sites", p->nprobes);
	jw_kv_double(&jw, "polls_per_s", ts_process__poll_rate(p), 1);
	jw_kv_u64(&jw, "tasks_dropped", p->tasks_evicted);
	jw_key(&jw, "task_counts");
	jw_object_begin(&jw);
	jw_kv_u64(&jw, "running", counts[TS_TASK_RUNNING]);
	jw_kv_u64(&jw, "scheduled", counts[TS_TASK_SCHEDULED]);
	jw_kv_u64(&jw, "idle", counts[TS_TASK_IDLE]);
	jw_kv_u64(&jw, "done", counts[TS_TASK_DONE]);
	jw_object_end(&jw);
	jw_key(&jw, "debuginfo");
	jw_object_begin(&jw);
	jw_kv_bool(&jw, "present", p->has_debuginfo);
	jw_kv_string(&jw, "note", p->debuginfo_note);
	jw_object_end(&jw);
	if (p->layout_descriptor) {
		/* as taskscope probes says it, plus what the report did about it */
		jw_key(&jw, "layout");
		jw_object_begin(&jw);
		jw_kv_string(&jw, "descriptor", p->layout_descriptor);
		jw_kv_bool(&jw, "checked", p->layout_checked);
		jw_kv_bool(&jw, "confirmed", p->layout_confirmed);
		jw_kv_string(&jw, "verdict", p->layout_verdict);
		jw_kv_bool(&jw, "memory_discovery", !p->layout_refuted);
		jw_object_end(&jw);
	}
	jw_kv_double(&jw, "stall_threshold_ms", (double)o->stall_ns / 1e6, 0);
	jw_kv_double(&jw, "long_poll_threshold_ms", (double)o->long_poll_ns / 1e6, 0);
	jw_key(&jw, "tasks");
	jw_array_begin(&jw);
	for (i = 0; order && i < p->ntasks; i++) {
		if (o->only_task && p->tasks[order[i]].task_id != o->only_task)
			continue;
		json_task(&jw, p, order[i]);
	}
	jw_array_end(&jw);
	jw_key(&jw, "workers");
	jw_array_begin(&jw);
	for (i = 0; i < p->nworkers; i++) {
		const struct ts_worker *w = &p->workers[i];

		jw_object_begin(&jw);
		jw_kv_u64(&jw, "tid", w->tid);
		if (w->ns_tid)
			jw_kv_u64(&jw, "ns_tid", w->ns_tid);
		jw_kv_string(&jw, "comm", w->comm);
		jw_kv_u64(&jw, "polls", w->st.polls);
		jw_kv_double(&jw, "busy_s", (double)w->st.busy_ns / 1e9, 6);
		jw_kv_double(&jw, "offcpu_in_polls_s", (double)w->st.offcpu_poll_total_ns / 1e9, 6);
		jw_kv_hex(&jw, "current_task", w->st.depth ? w->st.header : 0);
		jw_kv_double(&jw, "current_poll_s", (double)w->current_poll_ns / 1e9, 6);
		jw_kv_double(&jw, "max_poll_s", (double)w->st.max_poll_ns / 1e9, 6);
		jw_object_end(&jw);
	}
	jw_array_end(&jw);
	write_resources_json(&jw, p, g);
	jw_key(&jw, "stalls");
	jw_array_begin(&jw);
	for (i = 0; i < nf; i++) {
		const struct ts_task *t = f[i].task < p->ntasks ? &p->tasks[f[i].task] : NULL;

		jw_object_begin(&jw);
		jw_kv_string(&jw, "kind", ts_finding_kind_name(f[i].kind));
		jw_kv_u64(&jw, "task_id", t ? t->task_id : 0);
		jw_kv_hex(&jw, "header", t ? t->header : 0);
		jw_kv_string(&jw, "name", f[i].name);
		jw_kv_double(&jw, "duration_s", (double)f[i].duration_ns / 1e9, 6);
		jw_kv_bool(&jw, "at_least", f[i].at_least);
		jw_kv_bool(&jw, "in_progress", f[i].in_progress);
		jw_kv_double(&jw, "offcpu_s", (double)f[i].offcpu_ns / 1e9, 6);
		jw_kv_u64(&jw, "tid", f[i].tid);
		if (f[i].ns_tid)
			jw_kv_u64(&jw, "ns_tid", f[i].ns_tid);
		jw_kv_u64(&jw, "count", f[i].count);
		jw_kv_string(&jw, "message", f[i].message);
		if (f[i].kind == TS_FIND_DEADLOCK) {
			char edge[256];
			size_t k;

			/* the cycle, in order: each task waits on what the next frees */
			jw_key(&jw, "cycle");
			jw_array_begin(&jw);
			for (k = 0; k < f[i].count && k < ARRAY_SIZE(f[i].members); k++) {
				const struct ts_task *m = &p->tasks[f[i].members[k]];
				const struct ts_wres *r = ts_wait_graph__waits_on(g, f[i].members[k]);

				ts_wait_graph__edge_label(g, f[i].members[k], edge, sizeof(edge));
				jw_object_begin(&jw);
				jw_kv_u64(&jw, "task_id", m->task_id);
				jw_kv_string(&jw, "name", m->name);
				jw_kv_string(&jw, "waits", ts_wait_kind_name(g->waits[f[i].members[k]].kind));
				jw_kv_string(&jw, "on", edge);
				jw_kv_hex(&jw, "object", r ? r->object : 0);
				jw_object_end(&jw);
			}
			jw_array_end(&jw);
		}
		if (f[i].remedy)
			jw_kv_string(&jw, "remedy", f[i].remedy);
		jw_object_end(&jw);
	}
	jw_array_end(&jw);
	jw_object_end(&jw);
	jw_finish(&jw);
	free(order);
}

void ts_report_write(FILE *out, const struct ts_process *p, const struct ts_finding *f,
		     size_t nf, const struct ts_report_opts *opts)
{
	struct ts_wait_graph g;

	if (ts_wait_graph__build(&g, p)) {
		fprintf(stderr, "taskscope: out of memory\n");
		return;
	}
	if (opts->json)
		write_json(out, p, f, nf, opts, &g);
	else
		write_text(out, p, f, nf, opts, &g);
	ts_wait_graph__free(&g);
}
