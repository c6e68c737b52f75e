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
		fprintf(out, "bursts: %u of %s (probes attached %s in all): polls, wakes, "
			"scheduled and idle times are estimates (~, x%.0f)\n", s->bursts, burst,
			total, s->scale);
	else
		fprintf(out, "bursts: none: no poll or wake counts\n");
	fprintf(out, "idle times: memory unchanged between snapshots and no poll seen, a lower "
		"bound%s\n", s->tls_source[0] ? "; busy = samples + off-CPU inside polls" : "");
}

void ts_report_sampled_json(FILE *out, const struct ts_process *p)
{
	const struct ts_sampled_info *s = p->sampled;

	if (!s)
		return;
	fprintf(out, ",\"sampled\":{\"sample_hz\":%u,\"period_ns\":%llu,\"samples\":%llu,"
		"\"poll_samples\":%llu,\"tls_fail\":%llu,\"tls_layout\":",
		s->sample_hz, (unsigned long long)s->period_ns, (unsigned long long)s->samples,
		(unsigned long long)s->poll_samples, (unsigned long long)s->tls_fail);
	ts_json_str(out, s->tls_source);
	fprintf(out, ",\"tls_field\":");
	ts_json_str(out, s->tls_field);
	fprintf(out, ",\"note\":");
	ts_json_str(out, s->note);
	fprintf(out, ",\"probes_attached\":%s,\"bursts\":%u,\"burst_s\":%.6f,\"burst_total_s\":%.6f,\"scale\":%.3f,"
		"\"snapshots\":%u,\"snapshot_cpu_s\":%.6f,\"burst_cpu_s\":%.6f,"
		"\"ended_task_busy_s\":%.6f}", s->probes_attached ? "true" : "false", s->bursts,
		(double)s->burst_ns / 1e9, (double)s->burst_total_ns / 1e9, s->scale,
		s->snapshots, (double)s->snapshot_cpu_ns / 1e9, (double)s->burst_cpu_ns / 1e9,
		(double)s->ended_task_busy_ns / 1e9);
}

void ts_report_sampled_task_json(FILE *out, const struct ts_process *p, const struct ts_task *t)
{
	if (!p->sampled)
		return;
	fprintf(out, ",\"cpu_samples\":%llu,\"offcpu_in_polls_s\":%.6f",
		(unsigned long long)t->cpu_samples, (double)t->offcpu_in_polls_ns / 1e9);
}
