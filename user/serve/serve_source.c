// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve_source.h"
#include "top_log.h"

int serve_source__open(struct serve_source *src, const pid_t *pids, size_t npids,
		       const struct sampled_opts *sampled, bool verbose, char *why, size_t whylen)
{
	size_t i;
	int err;

	memset(src, 0, sizeof(*src));
	err = top_session__open(&src->s, npids == 0, verbose);
	if (err) {
		snprintf(why, whylen, "loading BPF programs failed: %s (run with -v for libbpf's log)",
			 strerror(-err));
		return err;
	}
	src->open = true;
	if (sampled) {
		src->s.sampled = true;
		src->s.sampled_opts = *sampled;
	}
	for (i = 0; i < npids; i++) {
		if (top_session__proc(&src->s, pids[i]))
			continue;	/* -p given twice */
		err = top_session__add(&src->s, pids[i], why, whylen);
		if (err) {
			serve_source__close(src);
			return err;
		}
	}
	if (!npids) {
		err = top_session__rescan(&src->s);
		if (err < 0) {
			snprintf(why, whylen, "scanning /proc failed: %s", strerror(-err));
			serve_source__close(src);
			return err;
		}
	}
	return 0;
}

/* A -p process that exited: its series end, the others go on. */
static void drop(struct serve_source *src, pid_t pid)
{
	struct top_session *s = &src->s;
	size_t i;

	for (i = 0; i < s->nprocs; i++) {
		if (s->procs[i]->op.pid != pid)
			continue;
		top_log("PID %d exited: no longer observed", pid);
		top_proc__free(s->procs[i]);
		memmove(&s->procs[i], &s->procs[i + 1], (s->nprocs - i - 1) * sizeof(s->procs[0]));
		s->nprocs--;
		return;
	}
}

int serve_source__refresh(struct serve_source *src)
{
	uint64_t t0 = ts_now_ns();
	size_t before = src->s.nprocs, tries;
	pid_t gone = 0;
	int err = 0;

	/* at most one exit per try: bounded by the processes there are */
	for (tries = 0; tries <= before; tries++) {
		err = top_session__refresh(&src->s, false, &gone);
		if (err != -ESRCH)
			break;
		drop(src, gone);
	}
	src->refresh_ns = ts_now_ns() - t0;
	src->refreshes++;
	src->attach_failures = src->s.nskipped;
	src->chains_pid = 0;
	return err == -ESRCH ? 0 : err;
}

size_t serve_source__count(const struct serve_source *src)
{
	return src->s.nprocs;
}

static void fill(const struct top_proc *tp, struct serve_proc *out)
{
	out->p = (struct ts_process *)&tp->cur;
	out->findings = tp->findings;
	out->nfindings = tp->nfindings;
	out->worker_busy = tp->worker_busy;
	out->polls_per_s = tp->polls_per_s;
	out->op = (struct observed_proc *)&tp->op;
}

void serve_source__get(const struct serve_source *src, size_t i, struct serve_proc *out)
{
	fill(src->s.procs[i], out);
}

bool serve_source__find(const struct serve_source *src, pid_t pid, struct serve_proc *out)
{
	const struct top_proc *tp = top_session__proc(&src->s, pid);

	if (!tp)
		return false;
	fill(tp, out);
	return true;
}

void serve_source__read_chains(struct serve_source *src, pid_t pid)
{
	struct top_proc *tp = top_session__proc(&src->s, pid);

	if (!tp || (src->chains_pid == pid && src->chains_snapshot_ns == tp->cur.snapshot_ns))
		return;
	observed_proc__await_chains(&tp->op, &tp->cur, 0, 0);
	src->chains_pid = pid;
	src->chains_snapshot_ns = tp->cur.snapshot_ns;
}

uint64_t serve_source__probe_hits(const struct serve_source *src)
{
	const uint64_t *c = src->s.counters;

	return c[TS_CNT_POLLS] + c[TS_CNT_WAKES] + c[TS_CNT_DEALLOCS];
}

double serve_source__probe_cpu_pct(const struct serve_source *src)
{
	return top_session__probe_cpu_pct(&src->s);
}

const char *serve_source__mode_name(const struct serve_source *src)
{
	size_t i;

	if (src->s.sampled)
		return "sampled";
	/* what top's session attached with; every process alike */
	for (i = 0; i < src->s.nprocs; i++)
		if (src->s.procs[i]->cur.probe_mode)
			return src->s.procs[i]->cur.probe_mode;
	return "default";
}

void serve_source__close(struct serve_source *src)
{
	if (src->open)
		top_session__close(&src->s);
	src->open = false;
}
