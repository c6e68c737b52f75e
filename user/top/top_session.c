/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procfs.h"
#include "top_log.h"
#include "top_session.h"

int top_session__open(struct top_session *s, bool system_wide, bool verbose)
{
	int err;

	memset(s, 0, sizeof(*s));
	s->system_wide = system_wide;
	s->scan_every_ns = TOP_SCAN_EVERY_NS;
	s->events_per_s = -1;
	ts_rules_config__default(&s->rules);
	err = ts_bpf__open_load(&s->bpf, verbose);
	if (err)
		return err;
	s->loaded = true;
	s->start_ns = ts_now_ns();
	return 0;
}

struct top_proc *top_session__proc(const struct top_session *s, pid_t pid)
{
	size_t i;

	for (i = 0; i < s->nprocs; i++)
		if (s->procs[i]->op.pid == pid)
			return s->procs[i];
	return NULL;
}

int top_session__add(struct top_session *s, pid_t pid, char *why, size_t whylen)
{
	struct top_proc *tp, **nv;
	size_t i;
	int err;

	err = top_proc__open(&tp, &s->bpf, pid, s->debuginfo, s->sampled ? &s->sampled_opts : NULL,
			     why, whylen);
	if (err)
		return err;
	nv = realloc(s->procs, (s->nprocs + 1) * sizeof(*nv));
	if (!nv) {
		top_proc__free(tp);
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	s->procs = nv;
	for (i = s->nprocs; i > 0 && s->procs[i - 1]->op.pid > pid; i--)
		s->procs[i] = s->procs[i - 1];
	s->procs[i] = tp;
	s->nprocs++;
	return 0;
}

static void drop_proc(struct top_session *s, size_t i)
{
	top_proc__free(s->procs[i]);
	memmove(&s->procs[i], &s->procs[i + 1], (s->nprocs - i - 1) * sizeof(s->procs[0]));
	s->nprocs--;
}

static bool skipped(struct top_session *s, pid_t pid)
{
	uint64_t ticks;
	size_t i;

	for (i = 0; i < s->nskipped; i++)
		if (s->skipped[i].pid == pid)
			return proc_start_ticks(pid, &ticks) == 0 && ticks == s->skipped[i].start_ticks;
	return false;
}

static void skip(struct top_session *s, pid_t pid)
{
	struct top_skipped *nv;
	uint64_t ticks = 0;
	size_t i;

	proc_start_ticks(pid, &ticks);
	for (i = 0; i < s->nskipped; i++) {
		if (s->skipped[i].pid == pid) {
			s->skipped[i].start_ticks = ticks;
			return;
		}
	}
	nv = realloc(s->skipped, (s->nskipped + 1) * sizeof(*nv));
	if (!nv)
		return;
	s->skipped = nv;
	s->skipped[s->nskipped].pid = pid;
	s->skipped[s->nskipped++].start_ticks = ticks;
}

/* Forgets skipped processes no longer among pids: exited, or no longer tokio. */
static void prune_skipped(struct top_session *s, const pid_t *pids, size_t n)
{
	size_t i, j, k = 0;

	for (i = 0; i < s->nskipped; i++) {
		for (j = 0; j < n; j++) {
			if (pids[j] == s->skipped[i].pid) {
				s->skipped[k++] = s->skipped[i];
				break;
			}
		}
	}
	s->nskipped = k;
}

int top_session__rescan(struct top_session *s)
{
	pid_t *pids = calloc(TS_MAX_PROCS, sizeof(*pids));
	char why[512];
	int n, i, added = 0;
	size_t k;

	if (!pids)
		return -ENOMEM;
	s->rescan_ns = ts_now_ns();
	n = proc_scan__tokio_pids(&s->scan, pids, TS_MAX_PROCS);
	if (n < 0) {
		free(pids);
		return n;
	}
	/* exited: their rows disappear */
	for (k = 0; k < s->nprocs;) {
		if (!observed_proc__alive(&s->procs[k]->op)) {
			drop_proc(s, k);
			continue;
		}
		k++;
	}
	for (i = 0; i < n; i++) {
		if (top_session__proc(s, pids[i]) || skipped(s, pids[i]))
			continue;
		if (top_session__add(s, pids[i], why, sizeof(why))) {
			top_log("%s", why);
			skip(s, pids[i]);
			continue;
		}
		added++;
	}
	prune_skipped(s, pids, (size_t)n);
	free(pids);
	return added;
}

static void update_counters(struct top_session *s)
{
	uint64_t now = 0, hits = 0, prev_hits = 0, latest[TS_CNT_MAX];
	size_t i;

	/* every snapshot read the same global counters: take the newest */
	for (i = 0; i < s->nprocs; i++) {
		const struct ts_process *p = &s->procs[i]->cur;

		if (p->snapshot_ns > now) {
			now = p->snapshot_ns;
			memcpy(latest, p->counters, sizeof(latest));
		}
	}
	if (!now || now == s->counters_ns)
		return;
	memcpy(s->prev_counters, s->counters, sizeof(s->prev_counters));
	s->prev_counters_ns = s->counters_ns;
	memcpy(s->counters, latest, sizeof(s->counters));
	s->counters_ns = now;
	if (!s->prev_counters_ns)
		return;
	/* the traps: the other counters count events inside these */
	hits = s->counters[TS_CNT_POLLS] + s->counters[TS_CNT_WAKES] + s->counters[TS_CNT_DEALLOCS];
	prev_hits = s->prev_counters[TS_CNT_POLLS] + s->prev_counters[TS_CNT_WAKES] +
		    s->prev_counters[TS_CNT_DEALLOCS];
	s->events_per_s = top_rate(hits, prev_hits, now - s->prev_counters_ns);
}

uint64_t top_session__now(const struct top_session *s)
{
	return s->replay_title[0] ? s->replay_now_ns : ts_now_ns();
}

double top_session__probe_cpu_pct(const struct top_session *s)
{
	if (s->events_per_s < 0)
		return -1;
	return s->events_per_s * TOP_NS_PER_PROBE_HIT / 1e9 * 100.0;
}

/* ---- the task shown in full -------------------------------------------- */

void top_ident__from_row(struct top_ident *id, const struct top_row *r)
{
	id->set = true;
	id->pid = r->pid;
	id->header = r->header;
	id->first_seen_ns = r->first_seen_ns;
}

/* The process and index of task id, or NULL when it is gone. */
static struct top_proc *ident_task(const struct top_session *s, const struct top_ident *id,
				   size_t *task)
{
	struct top_proc *tp = id->set ? top_session__proc(s, id->pid) : NULL;
	long k;
	size_t i;

	if (!tp)
		return NULL;
	k = top_proc__find_task(tp, id->header, id->first_seen_ns);
	if (k < 0 && !id->first_seen_ns) {
		/* only memory knew it; a probe has seen it since */
		for (i = 0; i < tp->cur.ntasks && k < 0; i++)
			if (tp->cur.tasks[i].header == id->header)
				k = (long)i;
	}
	if (k < 0)
		return NULL;
	*task = (size_t)k;
	return tp;
}

bool top_ident__find(const struct top_session *s, const struct top_ident *id,
		     const struct top_proc **tpp, size_t *task)
{
	size_t k;
	struct top_proc *tp = ident_task(s, id, &k);

	if (!tp)
		return false;
	*tpp = tp;
	*task = k;
	return true;
}

/* A new snapshot holds no chain of its own for the shown task: read it. */
static void read_shown(struct top_session *s)
{
	size_t ti;
	struct top_proc *tp = ident_task(s, &s->shown, &ti);

	if (tp)
		observed_proc__task_chain(&tp->op, &tp->cur.tasks[ti]);
}

void top_session__show(struct top_session *s, const struct top_ident *id)
{
	memset(&s->shown, 0, sizeof(s->shown));
	if (id && id->set)
		s->shown = *id;
	read_shown(s);
}

int top_session__refresh(struct top_session *s, bool force_scan, pid_t *gone_pid)
{
	size_t i;
	int err;

	if (s->system_wide && ts_now_ns() - s->rescan_ns >= TOP_RESCAN_EVERY_NS)
		top_session__rescan(s);
	for (i = 0; i < s->nprocs;) {
		struct top_proc *tp = s->procs[i];

		err = top_proc__refresh(tp, &s->rules, s->scan_every_ns, force_scan);
		if (err == -ESRCH) {
			if (!s->system_wide) {
				if (gone_pid)
					*gone_pid = tp->op.pid;
				return -ESRCH;
			}
			drop_proc(s, i);
			continue;
		}
		if (err) {
			/* shown as far as it was read; the log says why */
			top_log("PID %d: refresh failed: %s", tp->op.pid, strerror(-err));
		}
		i++;
	}
	update_counters(s);
	s->refreshes++;
	read_shown(s);
	return top_session__build_rows(s);
}

int top_session__build_rows(struct top_session *s)
{
	size_t i;
	int err;

	s->nrows = 0;
	for (i = 0; i < s->nprocs; i++) {
		err = top_rows__append(s->procs[i], i, &s->rows, &s->nrows, &s->cap_rows);
		if (err)
			return err;
	}
	return 0;
}

void top_session__close(struct top_session *s)
{
	size_t i;

	/* links first: nothing stays attached whatever happens next */
	for (i = 0; i < s->nprocs; i++)
		top_proc__free(s->procs[i]);
	free(s->procs);
	s->procs = NULL;
	s->nprocs = 0;
	if (s->loaded)
		ts_bpf__destroy(&s->bpf);
	s->loaded = false;
	proc_scan__free(&s->scan);
	free(s->skipped);
	free(s->rows);
	s->skipped = NULL;
	s->rows = NULL;
	s->nskipped = s->nrows = s->cap_rows = 0;
}
