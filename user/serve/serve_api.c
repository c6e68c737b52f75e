// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json_writer.h"
#include "report.h"
#include "serve_api.h"
#include "stall_rules.h"

static void write_proc(struct json_writer *jw, const struct serve_proc *sp)
{
	const struct ts_process *p = sp->p;
	uint64_t count[TS_TASK_DONE + 1] = { 0 }, kinds[TS_FIND_IDLE + 1] = { 0 };
	double busy = serve_worker_busy_ratio(sp);
	size_t i;

	for (i = 0; i < p->ntasks; i++)
		if (p->tasks[i].state <= TS_TASK_DONE)
			count[p->tasks[i].state]++;
	for (i = 0; i < sp->nfindings; i++)
		if (sp->findings[i].kind <= TS_FIND_IDLE)
			kinds[sp->findings[i].kind]++;
	jw_object_begin(jw);
	jw_kv_i64(jw, "pid", p->pid);
	jw_kv_string(jw, "comm", p->comm);
	jw_kv_string(jw, "exe", p->exe);
	jw_key(jw, "runtime");
	jw_object_begin(jw);
	jw_kv_string(jw, "name", p->runtime);
	jw_kv_string(jw, "version", p->runtime_version);
	jw_object_end(jw);
	jw_kv_string(jw, "mode", p->probe_mode ? p->probe_mode : "");
	jw_kv_double(jw, "observed_s", (double)p->observed_ns / 1e9, 3);
	jw_kv_u64(jw, "worker_threads", p->nworker_threads);
	jw_key(jw, "worker_busy_ratio");
	if (busy >= 0)
		jw_double(jw, busy, 4);
	else
		jw_null(jw);
	jw_key(jw, "polls_per_s");
	if (sp->polls_per_s >= 0)
		jw_double(jw, sp->polls_per_s, 1);
	else
		jw_null(jw);
	jw_key(jw, "task_counts");
	jw_object_begin(jw);
	for (i = 0; i <= TS_TASK_DONE; i++)
		jw_kv_u64(jw, ts_task_state_name((enum ts_task_state)i), count[i]);
	jw_object_end(jw);
	jw_key(jw, "stall_counts");
	jw_object_begin(jw);
	for (i = 0; i <= TS_FIND_IDLE; i++)
		jw_kv_u64(jw, ts_finding_kind_name((enum ts_finding_kind)i), kinds[i]);
	jw_object_end(jw);
	jw_key(jw, "debuginfo");
	jw_object_begin(jw);
	jw_kv_bool(jw, "present", p->has_debuginfo);
	jw_kv_string(jw, "note", p->debuginfo_note);
	jw_object_end(jw);
	jw_object_end(jw);
}

void serve_api__processes(FILE *out, const struct serve_proc *procs, size_t n,
			  const struct serve_self *self, uint64_t stall_ns)
{
	struct json_writer jw;
	size_t i;

	jw_init(&jw, out);
	jw_object_begin(&jw);
	jw_kv_string(&jw, "version", self->version);
	jw_kv_string(&jw, "mode", self->mode);
	jw_kv_double(&jw, "stall_threshold_ms", (double)stall_ns / 1e6, 0);
	jw_key(&jw, "processes");
	jw_array_begin(&jw);
	for (i = 0; i < n; i++)
		write_proc(&jw, &procs[i]);
	jw_array_end(&jw);
	jw_key(&jw, "self");
	jw_object_begin(&jw);
	jw_kv_double(&jw, "cpu_s", self->cpu_s, 3);
	jw_kv_u64(&jw, "rss_bytes", self->rss_bytes);
	jw_kv_u64(&jw, "probe_hits", self->probe_hits);
	jw_key(&jw, "probe_cpu_ratio");
	if (self->probe_cpu_ratio >= 0)
		jw_double(&jw, self->probe_cpu_ratio, 6);
	else
		jw_null(&jw);
	jw_kv_double(&jw, "refresh_s", self->refresh_s, 6);
	jw_kv_u64(&jw, "attach_failures", self->attach_failures);
	jw_object_end(&jw);
	jw_object_end(&jw);
	jw_finish(&jw);
}

int serve_api__report(FILE *out, struct serve_source *src, pid_t pid)
{
	struct ts_report_opts opts = {};
	struct serve_proc sp;

	if (!serve_source__find(src, pid, &sp))
		return -ENOENT;
	/* the detail view shows any task's await chain, not only the stalled ones' */
	serve_source__read_chains(src, pid);
	opts.json = true;
	opts.stall_ns = src->s.rules.stall_ns;
	opts.long_poll_ns = src->s.rules.long_poll_ns;
	ts_report_write(out, sp.p, sp.findings, sp.nfindings, &opts);
	return 0;
}

/* ---- history ------------------------------------------------------------- */

static struct serve_hist_series *series_of(struct serve_history *h, pid_t pid)
{
	struct serve_hist_series *nv;
	size_t i;

	for (i = 0; i < h->n; i++)
		if (h->s[i].pid == pid)
			return &h->s[i];
	if (h->n > SERVE_MAX_PROCS)
		return NULL;
	nv = realloc(h->s, (h->n + 1) * sizeof(*nv));
	if (!nv)
		return NULL;
	h->s = nv;
	memset(&h->s[h->n], 0, sizeof(h->s[0]));
	h->s[h->n].pid = pid;
	return &h->s[h->n++];
}

static void push(struct serve_hist_series *s, uint64_t now_ms, const uint32_t c[3])
{
	s->t_ms[s->next] = now_ms;
	memcpy(s->counts[s->next], c, sizeof(s->counts[0]));
	s->next = (s->next + 1) % SERVE_HIST_SAMPLES;
	if (s->n < SERVE_HIST_SAMPLES)
		s->n++;
	s->seen = true;
}

int serve_history__add(struct serve_history *h, const struct serve_proc *procs, size_t n,
		       uint64_t now_ms)
{
	uint32_t host[3] = { 0 };
	struct serve_hist_series *s;
	size_t i, k, w = 0;

	for (i = 0; i < h->n; i++)
		h->s[i].seen = false;
	for (i = 0; i < n; i++) {
		const struct ts_process *p = procs[i].p;
		uint32_t c[3] = { 0 };

		for (k = 0; k < p->ntasks; k++) {
			switch (p->tasks[k].state) {
			case TS_TASK_RUNNING:
				c[0]++;
				break;
			case TS_TASK_SCHEDULED:
				c[1]++;
				break;
			case TS_TASK_IDLE:
				c[2]++;
				break;
			default:
				break;
			}
		}
		for (k = 0; k < 3; k++)
			host[k] += c[k];
		s = series_of(h, p->pid);
		if (s)
			push(s, now_ms, c);
	}
	s = series_of(h, 0);
	if (!s)
		return -ENOMEM;
	push(s, now_ms, host);
	/* a process gone takes its series with it */
	for (i = 0; i < h->n; i++)
		if (h->s[i].seen)
			h->s[w++] = h->s[i];
	h->n = w;
	return 0;
}

void serve_history__write(FILE *out, const struct serve_history *h, long pid)
{
	static const char *const names[3] = { "running", "scheduled", "idle" };
	struct json_writer jw;
	size_t i, j, k;

	jw_init(&jw, out);
	jw_object_begin(&jw);
	jw_key(&jw, "series");
	jw_array_begin(&jw);
	for (i = 0; i < h->n; i++) {
		const struct serve_hist_series *s = &h->s[i];
		size_t first = (s->next + SERVE_HIST_SAMPLES - s->n) % SERVE_HIST_SAMPLES;

		if (pid >= 0 && s->pid != pid)
			continue;
		jw_object_begin(&jw);
		jw_kv_i64(&jw, "pid", s->pid);
		jw_key(&jw, "t_ms");
		jw_array_begin(&jw);
		for (j = 0; j < s->n; j++)
			jw_u64(&jw, s->t_ms[(first + j) % SERVE_HIST_SAMPLES]);
		jw_array_end(&jw);
		for (k = 0; k < 3; k++) {
			jw_key(&jw, names[k]);
			jw_array_begin(&jw);
			for (j = 0; j < s->n; j++)
				jw_u64(&jw, s->counts[(first + j) % SERVE_HIST_SAMPLES][k]);
			jw_array_end(&jw);
		}
		jw_object_end(&jw);
	}
	jw_array_end(&jw);
	jw_object_end(&jw);
	jw_finish(&jw);
}

void serve_history__free(struct serve_history *h)
{
	free(h->s);
	h->s = NULL;
	h->n = 0;
}
