/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include "report_sampled.h"
#include "report.h"
#include "stall_rules.h"

const char *ts_report_estimate_mark(const struct ts_process *p)
{
	return p->sampled && !p->sampled->probes_attached ? "~" : "";
}

void ts_report_sampled_text(FILE *out, const struct ts_process *p)
{
	const struct ts_sampled_info *s = p->sampled;
	char burst[32], total[32];

	if (!s)
		return;
	if (s->tls_source[0])
		fprintf(out, "sampled: %u Hz per CPU, %llu samples in the process (%llu inside "
			"polls); running task read from its thread-local (layout: %s)\n",
			s->sample_hz, (unsigned long long)s->samples,
			(unsigned long long)s->poll_samples, s->tls_source);
	if (s->note[0])
		fprintf(out, "note: %s\n", s->note);
	if (s->probes_attached)
		return;	/* the precise probes all along: nothing is estimated */
	ts_fmt_duration(s->burst_ns, burst, sizeof(burst));
	ts_fmt_duration(s->burst_total_ns, total, sizeof(total));
	if (s->bursts)
		fprintf(out, "bursts: %u of %s%s (probes attached %s in all): polls, wakes, "
			"scheduled and idle times are estimates (~, x%.0f)\n", s->bursts, burst,
			s->burst_sized ? " on average, each sized to <= 0.3% of a CPU in traps" : "",
			total, s->scale);
	else
		fprintf(out, "bursts: none: no poll or wake counts\n");
	fprintf(out, "idle times: memory unchanged between snapshots and no poll seen, a lower "
		"bound%s\n", s->tls_source[0] ? "; busy = samples + off-CPU inside polls" : "");
}

void ts_report_sampled_json(struct json_writer *jw, const struct ts_process *p)
{
	const struct ts_sampled_info *s = p->sampled;

	if (!s)
		return;
	jw_key(jw, "sampled");
	jw_object_begin(jw);
	jw_kv_u64(jw, "sample_hz", s->sample_hz);
	jw_kv_u64(jw, "period_ns", s->period_ns);
	jw_kv_u64(jw, "samples", s->samples);
	jw_kv_u64(jw, "poll_samples", s->poll_samples);
	jw_kv_u64(jw, "tls_fail", s->tls_fail);
	jw_kv_string(jw, "tls_layout", s->tls_source);
	jw_kv_string(jw, "tls_field", s->tls_field);
	jw_kv_string(jw, "note", s->note);
	jw_kv_bool(jw, "probes_attached", s->probes_attached);
	jw_kv_u64(jw, "bursts", s->bursts);
	jw_kv_double(jw, "burst_s", (double)s->burst_ns / 1e9, 6);
	jw_kv_bool(jw, "burst_sized", s->burst_sized);
	jw_kv_double(jw, "burst_total_s", (double)s->burst_total_ns / 1e9, 6);
	jw_kv_double(jw, "scale", s->scale, 3);
	jw_kv_u64(jw, "snapshots", s->snapshots);
	jw_kv_double(jw, "snapshot_cpu_s", (double)s->snapshot_cpu_ns / 1e9, 6);
	jw_kv_double(jw, "burst_cpu_s", (double)s->burst_cpu_ns / 1e9, 6);
	jw_kv_double(jw, "ended_task_busy_s", (double)s->ended_task_busy_ns / 1e9, 6);
	jw_object_end(jw);
}

void ts_report_sampled_task_json(struct json_writer *jw, const struct ts_process *p,
				 const struct ts_task *t)
{
	if (!p->sampled)
		return;
	jw_kv_u64(jw, "cpu_samples", t->cpu_samples);
	jw_kv_double(jw, "offcpu_in_polls_s", (double)t->offcpu_in_polls_ns / 1e9, 6);
}
