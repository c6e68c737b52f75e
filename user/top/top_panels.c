/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stall_rules.h"
#include "top_log.h"
#include "top_panels.h"

#define METER_W		20	/* "[|||||     34.2%]" */
#define METER_LABEL_W	7	/* a tid */

static void now_hms(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, len, "%H:%M:%S", &tm);
}

/* "tokio 1.24.2": the runtime the process was attached as, and its version. */
static const char *proc_runtime(const struct top_proc *tp, char *buf, size_t len)
{
	snprintf(buf, len, "%s %s", tp->cur.runtime[0] ? tp->cur.runtime : tp->op.tb.runtime_name,
		 tp->cur.runtime_version[0] ? tp->cur.runtime_version : "?");
	return buf;
}

int top_panel_title(struct top_text *out, const struct top_session *s,
		    const struct top_panel_opts *o)
{
	char hms[16], up[16], what[384], rt[96], first[96] = "";
	size_t i;

	now_hms(hms, sizeof(hms));
	top_fmt_duration(top_session__now(s) - s->start_ns, false, up, sizeof(up));
	if (!s->system_wide && s->nprocs) {
		const struct top_proc *tp = s->procs[0];

		snprintf(what, sizeof(what), "PID %d %s - %s%s", tp->op.pid, tp->op.comm,
			 proc_runtime(tp, rt, sizeof(rt)),
			 tp->cur.layout_refuted ? " - LAYOUT NOT CONFIRMED: tasks from probes only "
						  "(taskscope probes PID says why)" : "");
	} else {
		size_t refuted = 0;
		bool same = true;

		for (i = 0; i < s->nprocs; i++) {
			proc_runtime(s->procs[i], rt, sizeof(rt));
			if (i && strcmp(first, rt))
				same = false;
			if (!i)
				snprintf(first, sizeof(first), "%s", rt);
			refuted += s->procs[i]->cur.layout_refuted;
		}
		snprintf(what, sizeof(what), "system-wide: %zu process%s%s%s", s->nprocs,
			 s->nprocs == 1 ? "" : "es", s->nprocs && same ? " - " : "",
			 s->nprocs && same ? first : "");
		if (refuted) {
			size_t used = strlen(what);

			snprintf(what + used, sizeof(what) - used, " - %zu with LAYOUT NOT CONFIRMED "
				 "(tasks from probes only)", refuted);
		}
		if (o->filter && o->filter->pid) {
			const struct top_proc *tp = top_session__proc(s, o->filter->pid);
			size_t used = strlen(what);

			snprintf(what + used, sizeof(what) - used, " - showing PID %d %s",
				 o->filter->pid, tp ? tp->op.comm : "(exited)");
		}
	}
	if (s->replay_title[0])
		return top_text__addf(out, TOP_A_TITLE, "taskscope top - %s - %s%s",
				      s->replay_title, what, o->paused ? " - PAUSED" : "") ?
			0 : -ENOMEM;
	return top_text__addf(out, TOP_A_TITLE, "taskscope top - %s - %s - up %s%s", hms, what, up,
			      o->paused ? " - PAUSED" : "") ? 0 : -ENOMEM;
}

size_t top_workers_list(const struct top_session *s, struct top_worker_ref *refs, size_t max)
{
	size_t i, k, n = 0;

	/* procs are by pid and each snapshot's workers by tid enough for a list */
	for (i = 0; i < s->nprocs; i++)
		for (k = 0; k < s->procs[i]->cur.nworkers && n < max; k++) {
			refs[n].proc = i;
			refs[n++].worker = k;
		}
	return n;
}

static size_t count_workers(const struct top_session *s)
{
	size_t i, n = 0;

	for (i = 0; i < s->nprocs; i++)
		n += s->procs[i]->cur.nworkers;
	return n;
}

static struct top_line *flush_meters(struct top_text *out, char *line, struct top_span *spans,
				     int *nspans)
{
	struct top_line *l = top_text__add(out, TOP_A_NORMAL, line);
	int k;

	for (k = 0; l && k < *nspans; k++)
		top_line__span(l, spans[k].col, spans[k].len, spans[k].attr);
	line[0] = '\0';
	*nspans = 0;
	return l;
}

/* One meter per worker thread, as many per line as fit, htop's CPU bars. */
static int header_meters(struct top_text *out, const struct top_session *s,
			 const struct top_panel_opts *o)
{
	const int cell_w = METER_LABEL_W + 1 + METER_W + 2;
	int per_line = (o->width - 9) / cell_w, nspans = 0, col = 0;
	size_t total = count_workers(s), room, shown, j = 0, i, k;
	struct top_span spans[TOP_MAX_SPANS];
	size_t len = (size_t)o->width * 4 + 64;
	char *line;

	if (per_line < 1)
		per_line = 1;
	room = (size_t)per_line * (size_t)(o->max_meter_lines > 0 ? o->max_meter_lines : 0);
	if (!total || !room)
		return 0;
	shown = total > room ? room - 1 : total;	/* the last slot says how many more */
	line = malloc(len);
	if (!line)
		return -ENOMEM;
	line[0] = '\0';
	for (i = 0; i < s->nprocs && j < shown; i++) {
		const struct top_proc *tp = s->procs[i];

		for (k = 0; k < tp->cur.nworkers && j < shown; k++, j++) {
			const struct ts_worker *w = &tp->cur.workers[k];
			double busy = tp->worker_busy ? tp->worker_busy[k] : -1;
			char label[16], meter[64], pct[16];
			int fill;

			if (j % (size_t)per_line == 0) {
				if (j)
					flush_meters(out, line, spans, &nspans);
				top_cell(line, len, j ? "" : "Workers", 9, false, false, o->ascii);
				if (!j)
					spans[nspans++] = (struct top_span){ 0, 9, TOP_A_TITLE };
				col = 9;
			}
			snprintf(label, sizeof(label), "%u", w->tid);
			if (busy < 0)
				snprintf(pct, sizeof(pct), "-");
			else
				snprintf(pct, sizeof(pct), "%.1f%%", busy);
			top_meter(busy < 0 ? 0 : busy / 100.0, pct, METER_W, o->ascii, meter,
				  sizeof(meter));
			top_cell(line, len, label, METER_LABEL_W, true, false, o->ascii);
			top_cell(line, len, " ", 1, false, false, o->ascii);
			top_cell(line, len, meter, METER_W, false, false, o->ascii);
			top_cell(line, len, "", 2, false, false, o->ascii);
			fill = busy > 0 ? (int)(busy / 100.0 * (METER_W - 2) + 0.5) : 0;
			if (fill > METER_W - 2 - top_str_width(pct))
				fill = METER_W - 2 - top_str_width(pct);
			if (fill > 0 && nspans < TOP_MAX_SPANS)
				spans[nspans++] = (struct top_span){ col + METER_LABEL_W + 2, fill,
								     TOP_A_BAR };
			col += cell_w;
		}
	}
	if (total > shown) {
		char more[32];

		if (!j) {
			top_cell(line, len, "Workers", 9, false, false, o->ascii);
			spans[nspans++] = (struct top_span){ 0, 9, TOP_A_TITLE };
		} else if (j % (size_t)per_line == 0) {
			flush_meters(out, line, spans, &nspans);
			top_cell(line, len, "", 9, false, false, o->ascii);
		}
		snprintf(more, sizeof(more), "+%zu more (w)", total - shown);
		top_cell(line, len, more, cell_w, false, false, o->ascii);
	}
	flush_meters(out, line, spans, &nspans);
	free(line);
	return 0;
}

static void count_states(const struct top_session *s, size_t counts[4], size_t *total)
{
	size_t i, k;

	memset(counts, 0, 4 * sizeof(counts[0]));
	*total = 0;
	for (i = 0; i < s->nprocs; i++)
		for (k = 0; k < s->procs[i]->cur.ntasks; k++) {
			const struct ts_task *t = &s->procs[i]->cur.tasks[k];

			if (t->state <= TS_TASK_DONE)
				counts[t->state]++;
			(*total)++;
		}
}

static const char *kind_short(enum ts_finding_kind k)
{
	switch (k) {
	case TS_FIND_DEADLOCK:
		return "deadlock";
	case TS_FIND_BLOCKED_WORKER:
		return "long poll";
	case TS_FIND_STARVED:
		return "starved";
	case TS_FIND_SPINNING:
		return "spinning";
	case TS_FIND_LOST_WAKE:
		return "lost wake";
	case TS_FIND_IDLE:
		return "idle";
	}
	return "?";
}

int top_panel_header(struct top_text *out, const struct top_session *s,
		     const struct top_panel_opts *o)
{
	size_t counts[4], total, i, nf = 0, by_kind[TS_FIND_IDLE + 1] = {}, probes = 0;
	double pps = 0, cpu = top_session__probe_cpu_pct(s);
	uint64_t scan_cost = 0, scan_age = UINT64_MAX, now = top_session__now(s);
	bool pps_known = false;
	char buf[512], a[64], b[64];
	struct top_line *l;
	int err;

	err = top_panel_title(out, s, o);
	if (!err)
		err = header_meters(out, s, o) < 0 ? -ENOMEM : 0;
	if (err)
		return err;

	count_states(s, counts, &total);
	for (i = 0; i < s->nprocs; i++) {
		const struct top_proc *tp = s->procs[i];
		size_t k;

		if (tp->polls_per_s >= 0) {
			pps += tp->polls_per_s;
			pps_known = true;
		}
		for (k = 0; k < tp->nfindings; k++) {
			nf++;
			if (tp->findings[k].kind <= TS_FIND_IDLE)
				by_kind[tp->findings[k].kind]++;
		}
		probes += tp->cur.nprobes;
		if (tp->scan_cost_ns > scan_cost)
			scan_cost = tp->scan_cost_ns;
		if (tp->scan_ns && now - tp->scan_ns < scan_age)
			scan_age = now - tp->scan_ns;
	}
	if (pps_known)
		snprintf(a, sizeof(a), "%.0f/s", pps);
	else
		snprintf(a, sizeof(a), "-");
	l = top_text__addf(out, TOP_A_NORMAL,
			   "Tasks    %zu: %zu running, %zu scheduled, %zu idle, %zu done   Polls %s",
			   total, counts[TS_TASK_RUNNING], counts[TS_TASK_SCHEDULED],
			   counts[TS_TASK_IDLE], counts[TS_TASK_DONE], a);
	top_line__span(l, 0, 9, TOP_A_TITLE);

	if (!nf) {
		snprintf(buf, sizeof(buf), "Stalls   none (threshold %.0f ms)",
			 (double)s->rules.stall_ns / 1e6);
	} else {
		size_t used;
		int k, first = 1;

		snprintf(buf, sizeof(buf), "Stalls   %zu flagged:", nf);
		for (k = 0; k <= TS_FIND_IDLE; k++) {
			if (!by_kind[k])
				continue;
			used = strlen(buf);
			snprintf(buf + used, sizeof(buf) - used, "%s %zu %s", first ? "" : ",",
				 by_kind[k], kind_short((enum ts_finding_kind)k));
			first = 0;
		}
	}
	l = top_text__add(out, TOP_A_NORMAL, buf);
	top_line__span(l, 0, 9, TOP_A_TITLE);
	if (nf)
		top_line__span(l, 9, top_str_width(buf) - 9, TOP_A_WARN);

	if (cpu >= 0)
		snprintf(a, sizeof(a), "%.0f hits/s, est. %.2f%% CPU", s->events_per_s, cpu);
	else
		snprintf(a, sizeof(a), "- hits/s");
	if (scan_age != UINT64_MAX) {
		char cost[16], age[16];

		top_fmt_duration(scan_cost, false, cost, sizeof(cost));
		top_fmt_age(scan_age, age, sizeof(age));
		snprintf(b, sizeof(b), "mem scan %s, %s ago", cost, age);
	} else {
		snprintf(b, sizeof(b), "no mem scan yet");
	}
	if (s->sampled) {
		/* the cost measured in bench/README.md section 5, for these settings */
		char probes_s[48];

		if (s->sampled_opts.burst_sized)
			snprintf(probes_s, sizeof(probes_s), "%llu-%u ms/s",
				 (unsigned long long)(s->sampled_opts.burst_ns / 1000000),
				 TS_BURST_MAX_MS);
		else
			snprintf(probes_s, sizeof(probes_s), "%llu ms/s",
				 (unsigned long long)(s->sampled_opts.burst_ns / 1000000));
		l = top_text__addf(out, TOP_A_NORMAL, "Mode     sampled: %u Hz CPU samples, probes "
				   "%s (measured ~0.4%% CPU at 199 Hz + <=0.8%% in bursts); "
				   "~ = estimate; %s", s->sampled_opts.sample_hz, probes_s, b);
	} else {
		l = top_text__addf(out, TOP_A_NORMAL, "Probes   %zu sites, %s (~5.8us/hit); %s",
				   probes, a, b);
	}
	top_line__span(l, 0, 9, TOP_A_TITLE);

	if (o->filter) {
		const char *arrow = o->ascii ? (o->descending ? "v" : "^") :
					       (o->descending ? "▼" : "▲");

		if (o->editing)
			snprintf(a, sizeof(a), "%s_", o->editing);
		else
			snprintf(a, sizeof(a), "%s", o->filter->name[0] ? o->filter->name : "-");
		l = top_text__addf(out, TOP_A_NORMAL, "View     sort %s%s  filter %s  done %s%s%s",
				   top_columns[o->sort].title, arrow, a,
				   o->filter->show_done ? "all" : "recent",
				   top_log__count() ? "  log: " : "", top_log__last());
		top_line__span(l, 0, 9, TOP_A_TITLE);
	}
	return 0;
}

/*
 * At most TOP_FINDINGS_PER_TYPE lines per kind and task type, then one
 * "... and N more": a million idle tasks of one type are six lines, as in
 * report's STALLS. Findings come worst first, so the shown are the worst.
 */
#define TOP_FINDINGS_PER_TYPE	5
#define TOP_FINDING_KEYS	1024

struct finding_key {
	int kind;
	const char *name;	/* interned: compared by address */
	size_t count;
};

static int findings_per_type(struct top_text *out, const char *who, const struct ts_finding *f,
			     size_t nf)
{
	struct finding_key *keys = calloc(TOP_FINDING_KEYS, sizeof(*keys));
	size_t i, k;
	int err = 0;

	for (i = 0; i < nf && !err; i++) {
		struct finding_key *key = NULL;

		for (k = 0; keys && k < TOP_FINDING_KEYS; k++) {
			uintptr_t h = ((uintptr_t)f[i].name >> 4) * 31 + (uintptr_t)f[i].kind;
			struct finding_key *c = &keys[(h + k) % TOP_FINDING_KEYS];

			if (!c->count || (c->kind == (int)f[i].kind && c->name == f[i].name)) {
				key = c;
				break;
			}
		}
		if (key) {
			key->kind = (int)f[i].kind;
			key->name = f[i].name;
			if (++key->count > TOP_FINDINGS_PER_TYPE)
				continue;
		}
		if (!top_text__addf(out, TOP_A_WARN, "  %s[%s] %s", who,
				    ts_finding_kind_name(f[i].kind), f[i].message))
			err = -ENOMEM;
	}
	for (k = 0; keys && !err && k < TOP_FINDING_KEYS; k++)
		if (keys[k].count > TOP_FINDINGS_PER_TYPE &&
		    !top_text__addf(out, TOP_A_WARN, "  %s[%s] ... and %zu more tasks of %s", who,
				    ts_finding_kind_name(keys[k].kind),
				    keys[k].count - TOP_FINDINGS_PER_TYPE,
				    keys[k].name[0] ? keys[k].name : "(unnamed)"))
			err = -ENOMEM;
	free(keys);
	return err;
}

int top_panel_findings(struct top_text *out, const struct top_session *s,
		       const struct top_panel_opts *o)
{
	size_t i, nf = 0;

	for (i = 0; i < s->nprocs; i++)
		nf += s->procs[i]->nfindings;
	if (!nf)
		return top_text__addf(out, TOP_A_NORMAL, "STALLS: none (threshold %.0f ms)",
				      (double)s->rules.stall_ns / 1e6) ? 0 : -ENOMEM;
	if (!top_text__addf(out, TOP_A_NORMAL, "STALLS (%zu, threshold %.0f ms)", nf,
			    (double)s->rules.stall_ns / 1e6))
		return -ENOMEM;
	for (i = 0; i < s->nprocs; i++) {
		const struct top_proc *tp = s->procs[i];

		char who[32] = "";

		if (s->system_wide)
			snprintf(who, sizeof(who), "PID %d: ", tp->op.pid);
		if (findings_per_type(out, who, tp->findings, tp->nfindings))
			return -ENOMEM;
	}
	return 0;
}

/* ---- the task detail ---------------------------------------------------- */

static void kv(struct top_text *out, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void kv(struct top_text *out, const char *key, const char *fmt, ...)
{
	struct top_line *l;
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	l = top_text__addf(out, TOP_A_NORMAL, "  %-14s %s", key, s ? s : "");
	top_line__span(l, 2, 14, TOP_A_TITLE);
	free(s);
}

static void fmt_rate(double v, const char *unit, char *buf, size_t len)
{
	if (v < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.1f%s", v, unit);
}

/* The tree glyphs of an await chain, for --ascii: "└─" becomes "`-". */
static char *to_ascii(char *s)
{
	char *r = s, *w = s;

	while (*r) {
		if (!strncmp(r, "└─", strlen("└─"))) {
			*w++ = '`';
			*w++ = '-';
			r += strlen("└─");
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return s;
}

/*
 * The chain the snapshot holds; when there is none, why, from the same
 * snapshot. The formatter (dwarf_text.c) is pure text over the chain.
 */
static void detail_await(struct top_text *out, const struct ts_process *p, const struct ts_task *t,
			 bool ascii)
{
	size_t len = 16384;
	char *buf;
	int n;

	top_text__add(out, TOP_A_TITLE, "Await chain");
	if (!p->has_debuginfo) {
		top_text__addf(out, TOP_A_DIM, "  (not available: %s)",
			       p->debuginfo_note[0] ? p->debuginfo_note : "no DWARF");
		return;
	}
	if (t->state != TS_TASK_IDLE && t->state != TS_TASK_SCHEDULED) {
		top_text__add(out, TOP_A_DIM, "  (none: the task is not suspended at an await)");
		return;
	}
	if (!t->poll_fn_vaddr || !t->chain) {
		top_text__addf(out, TOP_A_DIM, "  (not available: %s)", !t->poll_fn_vaddr ?
			       "its future type is not known" :
			       "no await chain for this future in the DWARF");
		return;
	}
	buf = calloc(1, len);
	if (!buf)
		return;
	n = ts_await_chain__format_detail(t->chain, buf, len);
	if (n < 0)
		top_text__addf(out, TOP_A_DIM, "  (not available: %s)", strerror(-n));
	else if (!n)
		top_text__add(out, TOP_A_DIM, "  (none: the task is not suspended at an await)");
	else if (ascii)
		top_text__add_lines(out, TOP_A_NORMAL, to_ascii(buf));
	else
		top_text__add_lines(out, TOP_A_NORMAL, buf);
	free(buf);
}

int top_panel_detail(struct top_text *out, const struct top_session *s, const struct top_ident *id,
		     const struct top_panel_opts *o)
{
	const struct top_proc *tp;
	const struct ts_task *t;
	const struct ts_worker *w;
	struct top_row row;
	size_t ti, k;
	char a[32], b[32], c[32], spark[128];
	int nf = 0;

	if (!top_ident__find(s, id, &tp, &ti)) {
		top_text__addf(out, TOP_A_DIM, "The task at 0x%llx in PID %d is gone (finished and "
			       "dropped, or its process exited). Esc: back",
			       (unsigned long long)id->header, id->pid);
		return 0;
	}
	t = &tp->cur.tasks[ti];
	top_row__fill(tp, ti, &row);
	top_fmt_cell(&row, TOP_COL_ID, o->ascii, a, sizeof(a));
	top_text__addf(out, TOP_A_TITLE, "Task %s %s", a, t->name[0] ? t->name : "(unnamed)");
	kv(out, "process", "PID %d %s", tp->op.pid, tp->op.comm);
	if (t->future_type[0])
		kv(out, "future type", "%s", t->future_type);
	kv(out, "header", "0x%llx%s", (unsigned long long)t->header,
	   t->seen_by_probe ? "" : " (found in memory; no probe has fired for it)");
	top_fmt_duration(t->in_state_ns, t->since_attach, a, sizeof(a));
	kv(out, "state", "%s for %s", ts_task_state_name(t->state), a);
	top_fmt_duration(row.age_ns, row.age_at_least, a, sizeof(a));
	kv(out, "age", "%s%s", a, row.age_at_least ? " (it existed before attach)" : "");
	fmt_rate(row.polls_per_s, "/s", a, sizeof(a));
	kv(out, "polls", "%llu (%s now)", (unsigned long long)t->st.polls, a);
	top_fmt_duration(row.busy_ns, false, a, sizeof(a));
	fmt_rate(row.busy_pct, "%", b, sizeof(b));
	kv(out, "busy", "%s (%s of the last refresh)", a, b);
	top_fmt_duration(row.sched_ns, false, a, sizeof(a));
	top_fmt_duration(t->st.max_scheduled_ns, false, b, sizeof(b));
	kv(out, "scheduled", "%s (longest wait for a worker %s)", a, b);
	top_fmt_duration(row.idle_ns, row.idle_at_least, a, sizeof(a));
	kv(out, "idle", "%s", a);
	kv(out, "wakes", "%llu, %llu by its own worker, %u lost", (unsigned long long)t->st.wakes,
	   (unsigned long long)t->st.self_wakes, t->st.lost_wakes);
	top_fmt_duration(row.max_poll_ns, false, a, sizeof(a));
	kv(out, "longest poll", "%s", a);
	w = t->state == TS_TASK_RUNNING ? ts_process__worker_polling(&tp->cur, t->header) : NULL;
	if (w) {
		top_fmt_duration(w->current_poll_ns, false, b, sizeof(b));
		top_fmt_duration(w->st.offcpu_in_poll_ns, false, c, sizeof(c));
		kv(out, "polled now", "by thread %u %s for %s (%s off-CPU)", w->tid, w->comm, b, c);
	}
	if (t->st.last_worker_tid) {
		const struct ts_worker *lw = NULL;

		for (k = 0; k < tp->cur.nworkers; k++)
			if (tp->cur.workers[k].tid == t->st.last_worker_tid)
				lw = &tp->cur.workers[k];
		kv(out, "last worker", "thread %u %s", t->st.last_worker_tid, lw ? lw->comm : "");
	} else {
		kv(out, "last worker", "-");
	}

	for (k = 0; k < tp->nfindings; k++) {
		const struct ts_finding *f = &tp->findings[k];

		if (f->task != ti && !(f->task == SIZE_MAX && t->st.lost_wakes &&
				       !strcmp(f->name, t->name)))
			continue;
		if (!nf++)
			top_text__add(out, TOP_A_TITLE, "Stalls");
		top_text__addf(out, TOP_A_WARN, "  [%s] %s", ts_finding_kind_name(f->kind),
			       f->message);
	}

	top_hist_sparkline(t->st.hist, TS_HIST_SLOTS, o->ascii, spark, sizeof(spark));
	top_text__addf(out, TOP_A_TITLE, "Poll durations (%llu polls, log2 us buckets) %s%s%s",
		       (unsigned long long)t->st.polls, o->ascii ? "|" : "▕", spark,
		       o->ascii ? "|" : "▏");
	top_hist_bars(out, t->st.hist, TS_HIST_SLOTS, o->width, o->ascii);
	detail_await(out, &tp->cur, t, o->ascii);
	return 0;
}

/* ---- workers and processes ---------------------------------------------- */

static const char *task_name_at(const struct ts_process *p, uint64_t header, uint64_t *id)
{
	size_t i;

	for (i = 0; i < p->ntasks; i++) {
		if (p->tasks[i].header == header) {
			*id = p->tasks[i].task_id;
			return p->tasks[i].name[0] ? p->tasks[i].name : "(unnamed)";
		}
	}
	*id = 0;
	return "(unknown task)";
}

/* Columns as a format row: cells padded to widths, the last one takes the rest. */
static struct top_line *table_line(struct top_text *out, enum top_attr attr, int width,
				   bool ascii, const char *const *cells, const int *widths,
				   const bool *right, int n)
{
	size_t len = (size_t)width * 4 + 64;
	char *line = malloc(len);
	struct top_line *l;
	int i, used = 0;

	if (!line)
		return NULL;
	line[0] = '\0';
	for (i = 0; i < n; i++) {
		int w = widths[i];

		if (i == n - 1 || used + w + 1 > width)
			w = width - used - (i ? 1 : 0);
		if (w <= 0)
			break;
		if (i)
			top_cell(line, len, " ", 1, false, false, ascii);
		top_cell(line, len, cells[i], w, right[i], i == n - 1, ascii);
		used += w + (i ? 1 : 0);
	}
	l = top_text__add(out, attr, line);
	free(line);
	return l;
}

int top_panel_workers(struct top_text *out, const struct top_session *s,
		      const struct top_panel_opts *o, size_t selected, size_t first, int height,
		      bool cursor)
{
	static const char *const all_titles[] = { "PID", "TID", "COMM", "BUSY%", "POLLS/S",
						  "POLLS", "OFFCPU", "NOW-FOR", "CURRENT TASK" };
	static const int all_widths[] = { 7, 7, 15, 6, 7, 6, 7, 7, 0 };
	static const bool all_right[] = { true, true, false, true, true, true, true, true,
					  false };
	size_t total = count_workers(s), n, i;
	struct top_worker_ref *refs = calloc(total + 1, sizeof(*refs));
	const char *titles[9];
	int widths[9], pick[9], ncols = 0, c;
	bool right[9];

	if (!refs)
		return -ENOMEM;
	/* one PID: no PID column; narrow: no total polls, the current task needs the room */
	for (c = 0; c < 9; c++) {
		if ((c == 0 && !s->system_wide) || (c == 5 && o->width < 100))
			continue;
		pick[ncols] = c;
		titles[ncols] = all_titles[c];
		widths[ncols] = all_widths[c];
		right[ncols++] = all_right[c];
	}
	n = top_workers_list(s, refs, total);
	table_line(out, TOP_A_COLHEAD, o->width, o->ascii, titles, widths, right, ncols);
	if (!n)
		top_text__add(out, TOP_A_DIM, "  (no worker thread has polled a task yet)");
	for (i = first; i < n && (height <= 0 || i < first + (size_t)height); i++) {
		const struct top_proc *tp = s->procs[refs[i].proc];
		const struct ts_worker *w = &tp->cur.workers[refs[i].worker];
		char pid[16], tid[16], busy[16], pps[16], polls[16], off[16], now[16], task[320];
		const char *all[9] = { pid, tid, w->comm, busy, pps, polls, off, now, task };
		const char *cells[9];
		uint64_t offcpu = w->st.offcpu_poll_total_ns, id;
		double b = tp->worker_busy ? tp->worker_busy[refs[i].worker] : -1;
		double r = tp->worker_pps ? tp->worker_pps[refs[i].worker] : -1;
		bool blocked = false;

		snprintf(pid, sizeof(pid), "%d", tp->op.pid);
		snprintf(tid, sizeof(tid), "%u", w->tid);
		fmt_rate(b, "", busy, sizeof(busy));
		if (r < 0)
			snprintf(pps, sizeof(pps), "-");
		else
			snprintf(pps, sizeof(pps), "%.0f", r);
		top_fmt_count(w->st.polls, polls, sizeof(polls));
		if (w->st.depth) {
			const char *name = task_name_at(&tp->cur, w->st.header, &id);

			offcpu += w->st.offcpu_in_poll_ns;
			if (w->st.offcpu_start_ns && tp->cur.snapshot_ns > w->st.offcpu_start_ns)
				offcpu += tp->cur.snapshot_ns - w->st.offcpu_start_ns;
			top_fmt_duration(w->current_poll_ns, false, now, sizeof(now));
			if (id)
				snprintf(task, sizeof(task), "%llu %s", (unsigned long long)id, name);
			else
				snprintf(task, sizeof(task), "%s", name);
			blocked = w->current_poll_ns >= s->rules.long_poll_ns;
		} else {
			snprintf(now, sizeof(now), "-");
			snprintf(task, sizeof(task), "-");
		}
		top_fmt_duration(offcpu, false, off, sizeof(off));
		for (c = 0; c < ncols; c++)
			cells[c] = all[pick[c]];
		table_line(out, cursor && i == selected ? (blocked ? TOP_A_STALL_SELECTED :
							    TOP_A_SELECTED) :
			   (blocked ? TOP_A_STALL : TOP_A_NORMAL), o->width, o->ascii,
			   cells, widths, right, ncols);
	}
	free(refs);
	return 0;
}

int top_panel_procs(struct top_text *out, const struct top_session *s,
		    const struct top_panel_opts *o, size_t selected, size_t first, int height,
		    bool cursor)
{
	static const char *const titles[] = { "PID", "COMM", "RUNTIME", "WORKERS", "TASKS",
					      "POLLS/S", "STALLS", "SCAN", "EXE" };
	static const int widths[] = { 7, 15, 14, 7, 6, 7, 6, 6, 0 };
	static const bool right[] = { true, false, false, true, true, true, true, true, false };
	size_t i;

	table_line(out, TOP_A_COLHEAD, o->width, o->ascii, titles, widths, right, 9);
	if (!s->nprocs)
		top_text__add(out, TOP_A_DIM, "  (no tokio process found yet; rescanning /proc every "
			      "3 s)");
	for (i = first; i < s->nprocs && (height <= 0 || i < first + (size_t)height); i++) {
		const struct top_proc *tp = s->procs[i];
		char pid[16], workers[16], tasks[16], pps[16], stalls[16], scan[16], rt[96];
		const char *cells[9] = { pid, tp->op.comm, proc_runtime(tp, rt, sizeof(rt)),
					 workers, tasks, pps, stalls, scan, tp->op.exe };
		bool flagged = tp->nfindings > 0;

		snprintf(pid, sizeof(pid), "%d", tp->op.pid);
		snprintf(workers, sizeof(workers), "%zu", tp->cur.nworker_threads);
		snprintf(tasks, sizeof(tasks), "%zu", tp->cur.ntasks);
		if (tp->polls_per_s < 0)
			snprintf(pps, sizeof(pps), "-");
		else
			snprintf(pps, sizeof(pps), "%.0f", tp->polls_per_s);
		snprintf(stalls, sizeof(stalls), "%zu", tp->nfindings);
		top_fmt_duration(tp->scan_cost_ns, false, scan, sizeof(scan));
		table_line(out, cursor && i == selected ? (flagged ? TOP_A_STALL_SELECTED :
							    TOP_A_SELECTED) :
			   (flagged ? TOP_A_STALL : TOP_A_NORMAL), o->width, o->ascii, cells,
			   widths, right, 9);
	}
	return 0;
}

int top_panel_footer(struct top_text *out, const struct top_fkey *keys, size_t n, int width,
		     const char *right)
{
	size_t len = (size_t)width * 4 + 64, i;
	char *line = malloc(len);
	struct top_span spans[TOP_MAX_SPANS];
	struct top_line *l;
	int col = 0, ns = 0, k;

	if (!line)
		return -ENOMEM;
	line[0] = '\0';
	for (i = 0; i < n && ns + 2 <= TOP_MAX_SPANS; i++) {
		int kw = top_str_width(keys[i].key), lw = top_str_width(keys[i].label);

		/* htop pads every label to 6 columns */
		if (lw < 6)
			lw = 6;
		if (col + kw + lw > width)
			break;
		strncat(line, keys[i].key, len - strlen(line) - 1);
		spans[ns++] = (struct top_span){ col, kw, TOP_A_KEY };
		col += kw;
		top_cell(line, len, keys[i].label, lw, false, false, true);
		spans[ns++] = (struct top_span){ col, lw, TOP_A_FOOTER };
		col += lw;
	}
	if (right && col + top_str_width(right) + 1 <= width) {
		top_cell(line, len, "", width - col - top_str_width(right), false, false, true);
		strncat(line, right, len - strlen(line) - 1);
		col = width;
	}
	if (col < width)
		top_cell(line, len, "", width - col, false, false, true);
	l = top_text__add(out, TOP_A_FOOTER, line);
	free(line);
	if (!l)
		return -ENOMEM;
	for (k = 0; k < ns; k++)
		top_line__span(l, spans[k].col, spans[k].len, spans[k].attr);
	return 0;
}
