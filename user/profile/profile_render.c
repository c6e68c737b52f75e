// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* taskscope profile's text and JSON, from one model (struct ts_profile). */
#include <stdio.h>
#include <string.h>

#include "duration.h"
#include "json_writer.h"
#include "profile.h"

static void cell(uint64_t ns, char *buf, size_t len)
{
	ts_fmt_duration_as(TS_DURATION_COMPACT, ns, buf, len);
}

static void write_sites(FILE *out, const struct ts_profile *prof, size_t max_rows)
{
	char total[16], mean[16], p50[16], p99[16], max[16], busy[16], queue[16], where[192];
	size_t i, shown = 0;

	fprintf(out, "%-8s %6s %7s %7s %7s %7s %7s %7s %6s  %-12s %s\n", "WAIT", "WAITS", "MEAN",
		"P50<=", "P99<=", "MAX", "QUEUED", "BUSY", "POLLS", "AWAITS", "AWAIT POINT");
	for (i = 0; i < prof->nsites && shown < max_rows; i++) {
		const struct ts_prof_site *s = &prof->sites[i];

		if (!s->waits && !s->polls)
			continue;
		cell(s->wait_ns, total, sizeof(total));
		cell(s->waits ? s->wait_ns / s->waits : 0, mean, sizeof(mean));
		cell(s->p50_ns, p50, sizeof(p50));
		cell(s->p99_ns, p99, sizeof(p99));
		cell(s->max_wait_ns, max, sizeof(max));
		cell(s->busy_ns, busy, sizeof(busy));
		cell(s->waits ? s->queued_ns / s->waits : 0, queue, sizeof(queue));
		if (s->await_id == TS_PROF_SITE_NO_AWAITS)
			snprintf(where, sizeof(where), "%s [no await points: not an async fn]",
				 s->func);
		else if (s->await_id < 0)
			snprintf(where, sizeof(where), "%s [first poll]", s->func);
		else
			snprintf(where, sizeof(where), "%s:%u %s%s", s->file, s->line, s->func,
				 s->external ? " [in a dependency]" : "");
		fprintf(out, "%-8s %6llu %7s %7s %7s %7s %7s %7s %6llu  %-12s %s\n", total,
			(unsigned long long)s->waits, mean, p50, p99, max, queue, busy,
			(unsigned long long)s->polls, s->await_id < 0 ? "-" : s->kind, where);
		shown++;
	}
	if (shown < prof->nsites)
		fprintf(out, "(%zu more await points; --json has them all)\n", prof->nsites - shown);
}

static void write_contention(FILE *out, const struct ts_profile *prof)
{
	char longest[16], avg[16];
	size_t i;

	if (!prof->chains) {
		fprintf(out, "\nContention: not read (the await chains it comes from need DWARF)\n");
		return;
	}
	fprintf(out, "\nContention (%u memory snapshot%s):\n", prof->snapshots,
		prof->snapshots == 1 ? "" : "s");
	if (!prof->ncont) {
		fprintf(out, "  no mutex or semaphore had a waiter in any snapshot\n");
		return;
	}
	fprintf(out, "%-10s %-24s %-19s %7s %8s  %-16s %-16s %s\n", "KIND", "RESOURCE", "ADDRESS",
		"WAITERS", "LONGEST", "HOLDERS", "WAITING", "WAITED AT");
	for (i = 0; i < prof->ncont; i++) {
		const struct ts_prof_contention *c = &prof->cont[i];

		cell(c->longest_wait_ns, longest, sizeof(longest));
		snprintf(avg, sizeof(avg), "%u/%.1f/%u", c->min_waiters,
			 prof->snapshots ? (double)c->sum_waiters / prof->snapshots : 0.0,
			 c->max_waiters);
		fprintf(out, "%-10s %-24s 0x%-17llx %7s %8s  %-16s %-16s %s\n", c->kind,
			c->type[0] ? c->type : "?", (unsigned long long)c->object, avg, longest,
			c->holders[0] ? c->holders : "-", c->waiters[0] ? c->waiters : "-",
			c->wait_lines[0] ? c->wait_lines : "-");
	}
	fprintf(out, "(WAITERS: min/avg/max per snapshot; LONGEST: the longest wait seen)\n");
}

static void write_types(FILE *out, const struct ts_profile *prof)
{
	char busy[16], idle[16], sched[16];
	size_t i;

	fprintf(out, "%6s %8s %8s %8s %8s  %s\n", "TASKS", "POLLS", "BUSY", "IDLE", "SCHED",
		"FUTURE TYPE");
	for (i = 0; i < prof->ntypes; i++) {
		const struct ts_prof_type_row *r = &prof->types[i];

		cell(r->busy_ns, busy, sizeof(busy));
		cell(r->idle_ns, idle, sizeof(idle));
		cell(r->scheduled_ns, sched, sizeof(sched));
		fprintf(out, "%6llu %8llu %8s %8s %8s  %s\n", (unsigned long long)r->tasks,
			(unsigned long long)r->polls, busy, idle, sched, r->name);
	}
}

void ts_profile__write_text(FILE *out, const struct ts_profile *prof, size_t max_rows)
{
	fprintf(out, "PID %d (%s): %.1f s profiled, %llu polls\n", prof->pid, prof->comm,
		prof->duration_s, (unsigned long long)prof->polls);
	if (!prof->dwarf) {
		fprintf(out, "no await points: %s; per future type instead\n\n", prof->note);
		write_types(out, prof);
	} else {
		fprintf(out, "Await points, by total wait (suspended -> polled again; P50/P99 are "
			"log2 bucket bounds;\nQUEUED: mean part of a wait from the wake to the "
			"poll, in the run queue):\n\n");
		write_sites(out, prof, max_rows);
		/* a wait is counted when it ends: tasks stuck all along never show here */
		if (!prof->polls)
			fprintf(out, "(no task was polled in the window, so no wait ended: tasks "
				"waiting all along are in taskscope report)\n");
	}
	write_contention(out, prof);
}

void ts_profile__write_json(FILE *out, const struct ts_profile *prof)
{
	struct json_writer jw;
	size_t i;

	jw_init(&jw, out);
	jw_object_begin(&jw);
	jw_kv_u64(&jw, "pid", (uint64_t)prof->pid);
	jw_kv_string(&jw, "comm", prof->comm);
	jw_kv_double(&jw, "duration_s", prof->duration_s, 3);
	jw_kv_bool(&jw, "dwarf", prof->dwarf);
	jw_kv_string(&jw, "note", prof->note);
	jw_kv_u64(&jw, "polls", prof->polls);
	jw_key(&jw, "await_points");
	jw_array_begin(&jw);
	for (i = 0; i < prof->nsites; i++) {
		const struct ts_prof_site *s = &prof->sites[i];

		jw_object_begin(&jw);
		jw_kv_string(&jw, "function", s->func);
		jw_kv_string(&jw, "file", s->file);
		jw_kv_u64(&jw, "line", s->line);
		jw_kv_bool(&jw, "first_poll", s->await_id == TS_PROF_SITE_FIRST_POLL);
		jw_kv_bool(&jw, "no_await_points", s->await_id == TS_PROF_SITE_NO_AWAITS);
		jw_kv_bool(&jw, "external", s->external);
		jw_kv_string(&jw, "awaits", s->await_id < 0 ? "" : s->kind);
		jw_kv_string(&jw, "future", s->future ? s->future : "");
		jw_kv_u64(&jw, "waits", s->waits);
		jw_kv_u64(&jw, "wait_total_us", s->wait_ns / 1000);
		jw_kv_u64(&jw, "wait_mean_us", s->waits ? s->wait_ns / s->waits / 1000 : 0);
		jw_kv_u64(&jw, "wait_p50_us", s->p50_ns / 1000);
		jw_kv_u64(&jw, "wait_p99_us", s->p99_ns / 1000);
		jw_kv_u64(&jw, "wait_max_us", s->max_wait_ns / 1000);
		jw_kv_u64(&jw, "queued_total_us", s->queued_ns / 1000);
		jw_kv_u64(&jw, "queued_mean_us", s->waits ? s->queued_ns / s->waits / 1000 : 0);
		jw_kv_u64(&jw, "polls", s->polls);
		jw_kv_u64(&jw, "busy_us", s->busy_ns / 1000);
		jw_kv_u64(&jw, "busy_max_us", s->max_busy_ns / 1000);
		jw_object_end(&jw);
	}
	jw_array_end(&jw);
	jw_key(&jw, "future_types");
	jw_array_begin(&jw);
	for (i = 0; i < prof->ntypes; i++) {
		const struct ts_prof_type_row *r = &prof->types[i];

		jw_object_begin(&jw);
		jw_kv_string(&jw, "future", r->name);
		jw_kv_u64(&jw, "tasks", r->tasks);
		jw_kv_u64(&jw, "polls", r->polls);
		jw_kv_u64(&jw, "busy_us", r->busy_ns / 1000);
		jw_kv_u64(&jw, "idle_us", r->idle_ns / 1000);
		jw_kv_u64(&jw, "scheduled_us", r->scheduled_ns / 1000);
		jw_object_end(&jw);
	}
	jw_array_end(&jw);
	jw_kv_bool(&jw, "contention_read", prof->chains);
	jw_kv_u64(&jw, "snapshots", prof->snapshots);
	jw_key(&jw, "contention");
	jw_array_begin(&jw);
	for (i = 0; i < prof->ncont; i++) {
		const struct ts_prof_contention *c = &prof->cont[i];

		jw_object_begin(&jw);
		jw_kv_string(&jw, "kind", c->kind);
		jw_kv_string(&jw, "type", c->type);
		jw_kv_hex(&jw, "object", c->object);
		jw_kv_u64(&jw, "seen_in", c->snapshots);
		jw_kv_u64(&jw, "waiters_min", c->min_waiters);
		jw_kv_double(&jw, "waiters_avg",
			     prof->snapshots ? (double)c->sum_waiters / prof->snapshots : 0, 2);
		jw_kv_u64(&jw, "waiters_max", c->max_waiters);
		jw_kv_u64(&jw, "longest_wait_us", c->longest_wait_ns / 1000);
		jw_kv_string(&jw, "holders", c->holders);
		jw_kv_string(&jw, "waiting", c->waiters);
		jw_kv_string(&jw, "waited_at", c->wait_lines);
		jw_object_end(&jw);
	}
	jw_array_end(&jw);
	jw_object_end(&jw);
	jw_finish(&jw);
	fputc('\n', out);
}
