/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "report_sampled.h"

#define SPACESHIP(a, b) (((a) > (b)) - ((a) < (b)))

void ts_fmt_cell_duration(uint64_t ns, char *buf, size_t len)
{
	if (!ns)
		snprintf(buf, len, "-");
	else if (ns >= 100ULL * 1000 * 1000 * 1000)
		snprintf(buf, len, "%.0fs", (double)ns / 1e9);
	else if (ns >= 1000ULL * 1000 * 1000)
		snprintf(buf, len, "%.2fs", (double)ns / 1e9);
	else if (ns >= 1000ULL * 1000)
		snprintf(buf, len, "%.0fms", (double)ns / 1e6);
	else
		snprintf(buf, len, "%.0fus", (double)ns / 1e3);
}

void ts_json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", out);
		else if (c == '\t')
			fputs("\\t", out);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

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

	return kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "other";
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

static void write_findings_text(FILE *out, const struct ts_finding *f, size_t nf)
{
	size_t *idx = calloc(nf, sizeof(*idx)), *rank = calloc(nf, sizeof(*rank));
	size_t *group = calloc(nf, sizeof(*group)), i, start;

	if (!idx || !rank || !group) {
		for (i = 0; i < nf; i++)
			fprintf(out, "  [%s] %s\n", ts_finding_kind_name(f[i].kind), f[i].message);
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
			fprintf(out, "  [%s] %s\n", ts_finding_kind_name(f[i].kind), f[i].message);
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

static void write_text(FILE *out, const struct ts_process *p, const struct ts_finding *f,
		       size_t nf, const struct ts_report_opts *o)
{
	size_t counts[4], i, *order = ts_report_task_order(p);
	char obs[32];

	count_states(p, counts);
	ts_fmt_duration(p->observed_ns, obs, sizeof(obs));
	fprintf(out, "PID %d (%s) %s\n", p->pid, p->comm, p->exe);
	fprintf(out, "runtime: %s %s, %zu worker thread%s, %zu probe sites (mode %s)\n",
		p->runtime, p->runtime_version, p->nworker_threads,
		p->nworker_threads == 1 ? "" : "s", p->nprobes,
		p->probe_mode ? p->probe_mode : "default");
	if (p->probe_mode && !strcmp(p->probe_mode, "light"))
		fprintf(out, "note: mode light: wakes not traced (no wake counts, no scheduled "
			"time, no starvation)\n");
	fprintf(out, "observed %s: %zu tasks (%zu running, %zu scheduled, %zu idle, %zu done), "
		"%.0f polls/s, %llu tasks dropped from full maps\n", obs, p->ntasks,
		counts[TS_TASK_RUNNING], counts[TS_TASK_SCHEDULED], counts[TS_TASK_IDLE],
		counts[TS_TASK_DONE], ts_process__poll_rate(p),
		(unsigned long long)p->tasks_evicted);
	ts_report_sampled_text(out, p);
	if (p->debuginfo_note[0])
		fprintf(out, "note: %s\n", p->debuginfo_note);
	if (p->chains_skipped)
		fprintf(out, "note: await chains read for the longest-waiting tasks only; %zu more "
			"suspended tasks without one\n", p->chains_skipped);
	if (p->mem_scan_truncated)
		fprintf(out, "note: memory scan stopped at %llu MiB; tasks beyond it come only "
			"from probes\n", (unsigned long long)(p->mem_bytes_scanned >> 20));

	fprintf(out, "\n%6s %-32s %-9s %8s %8s %8s %9s %7s %6s %8s %7s\n", "ID", "TASK", "STATE",
		"POLLS", "BUSY", "SCHED", "IDLE", "WAKES", "SELF", "MAXPOLL", "WORKER");
	for (i = 0; order && i < p->ntasks; i++) {
		const struct ts_task *t = &p->tasks[order[i]];
		char id[24], busy[16], sched[16], idle[20], maxp[16], worker[16], name[40];
		char polls[24], wakes[24], selfw[24];
		const char *est = ts_report_estimate_mark(p);

		if (o->only_task && t->task_id != o->only_task)
			continue;
		if (t->state == TS_TASK_DONE && !o->all_tasks && !o->only_task)
			continue;
		if (t->task_id)
			snprintf(id, sizeof(id), "%llu", (unsigned long long)t->task_id);
		else
			snprintf(id, sizeof(id), "-");
		ts_fmt_cell_duration(t->st.busy_ns, busy, sizeof(busy));
		ts_fmt_cell_duration(t->st.scheduled_ns, sched, sizeof(sched));
		ts_fmt_cell_duration(task_idle_ns(t), idle + 2, sizeof(idle) - 2);
		idle[0] = t->since_attach && t->state == TS_TASK_IDLE ? '>' : ' ';
		idle[1] = t->since_attach && t->state == TS_TASK_IDLE ? '=' : ' ';
		ts_fmt_cell_duration(t->st.max_poll_ns, maxp, sizeof(maxp));
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

	if (p->nresources) {
		fprintf(out, "\n%-20s %-9s %8s %8s %8s %8s\n", "RESOURCE", "KIND", "CAPACITY", "LEN",
			"HOLDER", "WAITERS");
		for (i = 0; i < p->nresources; i++) {
			const struct ts_resource *r = &p->resources[i].r;
			char holder[24] = "-";

			if (r->holder)
				snprintf(holder, sizeof(holder), "%llu", (unsigned long long)r->holder);
			fprintf(out, "%-20.20s %-9s %8llu %8llu %8s %8u\n",
				r->name[0] ? r->name : "(unnamed)", res_kind_label(r->kind),
				(unsigned long long)r->capacity, (unsigned long long)r->len, holder,
				r->waiters);
		}
	}
	if (counts[TS_TASK_DONE] && !o->all_tasks)
		fprintf(out, "%6s (%zu finished tasks not shown; --all lists them)\n", "",
			counts[TS_TASK_DONE]);
	fprintf(out, "\n");
	if (!nf) {
		fprintf(out, "STALLS: none (threshold %.0f ms)\n", (double)o->stall_ns / 1e6);
	} else {
		fprintf(out, "STALLS (%zu, threshold %.0f ms)\n", nf, (double)o->stall_ns / 1e6);
		write_findings_text(out, f, nf);
	}
	free(order);
}

static void json_task(FILE *out, const struct ts_process *p, size_t idx,
		      const struct ts_report_opts *o)
{
	const struct ts_task *t = &p->tasks[idx];
	int k;

	fprintf(out, "{\"id\":%llu,\"header\":\"0x%llx\",\"name\":",
		(unsigned long long)t->task_id, (unsigned long long)t->header);
	ts_json_str(out, t->name);
	fprintf(out, ",\"name_ambiguous\":%s,\"future_type\":", t->name_ambiguous ? "true" : "false");
	ts_json_str(out, t->future_type);
	fprintf(out, ",\"poll_fn\":\"0x%llx\",\"state\":\"%s\",\"in_state_s\":%.6f,"
		"\"since_attach\":%s,\"seen_by_probe\":%s,\"in_memory\":%s,"
		"\"polls\":%llu,\"busy_s\":%.6f,\"scheduled_s\":%.6f,\"idle_s\":%.6f,"
		"\"wakes\":%llu,\"self_wakes\":%llu,\"lost_wakes\":%u,\"max_poll_s\":%.6f,"
		"\"max_scheduled_s\":%.6f,\"last_worker\":%u,\"poll_hist_log2_us\":[",
		(unsigned long long)t->poll_fn_vaddr, ts_task_state_name(t->state),
		(double)t->in_state_ns / 1e9, t->since_attach ? "true" : "false",
		t->seen_by_probe ? "true" : "false", t->in_memory ? "true" : "false",
		(unsigned long long)t->st.polls, (double)t->st.busy_ns / 1e9,
		(double)t->st.scheduled_ns / 1e9, (double)task_idle_ns(t) / 1e9,
		(unsigned long long)t->st.wakes, (unsigned long long)t->st.self_wakes,
		t->st.lost_wakes, (double)t->st.max_poll_ns / 1e9,
		(double)t->st.max_scheduled_ns / 1e9, t->st.last_worker_tid);
	for (k = 0; k < TS_HIST_SLOTS; k++)
		fprintf(out, "%s%u", k ? "," : "", t->st.hist[k]);
	fprintf(out, "]");
	ts_report_sampled_task_json(out, p, t);
	if (t->chain) {
		/* a chain is at most 16 frames of 16 variables: well under 64 KiB */
		size_t len = 64 * 1024;
		char *json = malloc(len);

		if (json) {
			ts_await_chain__json(t->chain, json, len);
			fprintf(out, ",\"await_chain\":%s", json);
			free(json);
		}
	}
	if (t->location[0]) {
		fprintf(out, ",\"location\":");
		ts_json_str(out, t->location);
	}
	if (t->st.waiting_res)
		fprintf(out, ",\"waiting_on\":%llu", (unsigned long long)t->st.waiting_res);
	fprintf(out, "}");
}

static void write_json(FILE *out, const struct ts_process *p, const struct ts_finding *f,
		       size_t nf, const struct ts_report_opts *o)
{
	size_t counts[4], i, n, *order = ts_report_task_order(p);

	count_states(p, counts);
	fprintf(out, "{\"pid\":%d,\"comm\":", p->pid);
	ts_json_str(out, p->comm);
	fprintf(out, ",\"exe\":");
	ts_json_str(out, p->exe);
	fprintf(out, ",\"runtime\":{\"name\":");
	ts_json_str(out, p->runtime);
	fprintf(out, ",\"version\":");
	ts_json_str(out, p->runtime_version);
	fprintf(out, "},\"mode\":\"%s\"", p->probe_mode ? p->probe_mode : "default");
	ts_report_sampled_json(out, p);
	fprintf(out, ",\"observed_s\":%.3f,\"worker_threads\":%zu,\"probe_sites\":%zu,"
		"\"polls_per_s\":%.1f,\"tasks_dropped\":%llu,\"task_counts\":{\"running\":%zu,"
		"\"scheduled\":%zu,\"idle\":%zu,\"done\":%zu},\"debuginfo\":{\"present\":%s,"
		"\"note\":", (double)p->observed_ns / 1e9, p->nworker_threads, p->nprobes,
		ts_process__poll_rate(p), (unsigned long long)p->tasks_evicted,
		counts[TS_TASK_RUNNING], counts[TS_TASK_SCHEDULED], counts[TS_TASK_IDLE],
		counts[TS_TASK_DONE], p->has_debuginfo ? "true" : "false");
	ts_json_str(out, p->debuginfo_note);
	fprintf(out, "},\"stall_threshold_ms\":%.0f,\"tasks\":[", (double)o->stall_ns / 1e6);
	for (i = 0, n = 0; order && i < p->ntasks; i++) {
		if (o->only_task && p->tasks[order[i]].task_id != o->only_task)
			continue;
		if (n++)
			fputc(',', out);
		json_task(out, p, order[i], o);
	}
	fprintf(out, "],\"workers\":[");
	for (i = 0; i < p->nworkers; i++) {
		const struct ts_worker *w = &p->workers[i];

		fprintf(out, "%s{\"tid\":%u,\"comm\":", i ? "," : "", w->tid);
		ts_json_str(out, w->comm);
		fprintf(out, ",\"polls\":%llu,\"busy_s\":%.6f,\"offcpu_in_polls_s\":%.6f,"
			"\"current_task\":\"0x%llx\",\"current_poll_s\":%.6f,\"max_poll_s\":%.6f}",
			(unsigned long long)w->st.polls, (double)w->st.busy_ns / 1e9,
			(double)w->st.offcpu_poll_total_ns / 1e9,
			(unsigned long long)(w->st.depth ? w->st.header : 0),
			(double)w->current_poll_ns / 1e9, (double)w->st.max_poll_ns / 1e9);
	}
	fprintf(out, "],\"resources\":[");
	for (i = 0; i < p->nresources; i++) {
		const struct ts_resource *r = &p->resources[i].r;

		fprintf(out, "%s{\"id\":%llu,\"kind\":\"%s\",\"name\":", i ? "," : "",
			(unsigned long long)p->resources[i].id, res_kind_label(r->kind));
		ts_json_str(out, r->name);
		fprintf(out, ",\"capacity\":%llu,\"len\":%llu,\"holder\":%llu,\"waiters\":%u}",
			(unsigned long long)r->capacity, (unsigned long long)r->len,
			(unsigned long long)r->holder, r->waiters);
	}
	fprintf(out, "],\"stalls\":[");
	for (i = 0; i < nf; i++) {
		const struct ts_task *t = f[i].task < p->ntasks ? &p->tasks[f[i].task] : NULL;

		fprintf(out, "%s{\"kind\":\"%s\",\"task_id\":%llu,\"header\":\"0x%llx\",\"name\":",
			i ? "," : "", ts_finding_kind_name(f[i].kind),
			(unsigned long long)(t ? t->task_id : 0),
			(unsigned long long)(t ? t->header : 0));
		ts_json_str(out, f[i].name);
		fprintf(out, ",\"duration_s\":%.6f,\"at_least\":%s,\"in_progress\":%s,"
			"\"offcpu_s\":%.6f,\"tid\":%u,\"count\":%llu,\"message\":",
			(double)f[i].duration_ns / 1e9, f[i].at_least ? "true" : "false",
			f[i].in_progress ? "true" : "false", (double)f[i].offcpu_ns / 1e9, f[i].tid,
			(unsigned long long)f[i].count);
		ts_json_str(out, f[i].message);
		fputc('}', out);
	}
	fprintf(out, "]}\n");
	free(order);
}

void ts_report_write(FILE *out, const struct ts_process *p, const struct ts_finding *f,
		     size_t nf, const struct ts_report_opts *opts)
{
	if (opts->json)
		write_json(out, p, f, nf, opts);
	else
		write_text(out, p, f, nf, opts);
}
