// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rec_snapshot.h"
#include "top_model.h"
#include "top_replay.h"

int top_replay__open(struct top_replay *r, struct top_session *s, const char *path,
		     char *why, size_t whylen)
{
	struct top_proc *tp;
	int err;

	memset(r, 0, sizeof(*r));
	r->path = path;
	err = recording__load(&r->rec, path, why, whylen);
	if (err)
		return err;
	memset(s, 0, sizeof(*s));
	ts_rules_config__default(&s->rules);
	s->events_per_s = -1;
	s->start_ns = r->rec.start_ns;
	s->procs = calloc(1, sizeof(*s->procs));
	tp = calloc(1, sizeof(*tp));
	if (!s->procs || !tp) {
		free(tp);
		free(s->procs);
		s->procs = NULL;
		recording__free(&r->rec);
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	/* never attached: top_proc__free frees its snapshot and rates, closes nothing */
	tp->op.pid = r->rec.pid;
	snprintf(tp->op.comm, sizeof(tp->op.comm), "%s", r->rec.comm);
	snprintf(tp->op.exe, sizeof(tp->op.exe), "%s", r->rec.exe);
	s->procs[0] = tp;
	s->nprocs = 1;
	return 0;
}

static void set_title(struct top_replay *r, struct top_session *s)
{
	const char *base = strrchr(r->path, '/');

	snprintf(s->replay_title, sizeof(s->replay_title), "replay %s  +%.1f s / %.1f s  (%zu/%zu)",
		 base ? base + 1 : r->path, recording__time_of(&r->rec, r->at),
		 recording__length(&r->rec), r->at + 1, r->rec.nsnaps);
}

int top_replay__show(struct top_replay *r, struct top_session *s, size_t index)
{
	struct top_proc *tp = s->procs[0];
	struct ts_finding *f = NULL;
	int nf, err;

	if (index >= r->rec.nsnaps)
		index = r->rec.nsnaps - 1;
	ts_process__free(&tp->cur);
	err = rec_snapshot__copy(&tp->cur, &r->rec.snaps[index]);
	if (err)
		return err;
	/* the probes' hits since the snapshot shown before, as top's header has them live */
	s->events_per_s = -1;
	if (r->shown && r->at < index &&
	    tp->cur.snapshot_ns > r->rec.snaps[r->at].snapshot_ns) {
		const uint64_t *a = r->rec.snaps[r->at].counters, *b = tp->cur.counters;

		s->events_per_s = top_rate(b[TS_CNT_POLLS] + b[TS_CNT_WAKES] + b[TS_CNT_DEALLOCS],
					   a[TS_CNT_POLLS] + a[TS_CNT_WAKES] + a[TS_CNT_DEALLOCS],
					   tp->cur.snapshot_ns - r->rec.snaps[r->at].snapshot_ns);
	}
	r->at = index;
	r->shown = true;
	/* the rules of a live top, on the snapshot as recorded */
	nf = ts_rules__evaluate(&tp->cur, &s->rules, &f);
	if (nf < 0)
		return nf;
	free(tp->findings);
	tp->findings = f;
	tp->nfindings = (size_t)nf;
	/* a snapshot older than the last shown gives no rates (top_rates__update: dt 0) */
	err = top_rates__update(tp);
	if (err)
		return err;
	s->replay_now_ns = tp->cur.snapshot_ns;
	tp->scan_ns = tp->cur.snapshot_ns;	/* the recorder scanned memory for each snapshot */
	s->refreshes++;
	set_title(r, s);
	/* the task shown in full keeps its recorded chain: nothing to read */
	return top_session__build_rows(s);
}

size_t top_replay__seek_index(const struct top_replay *r, double seconds)
{
	double target = recording__time_of(&r->rec, r->at) + seconds;
	size_t i;

	if (seconds < 0) {
		i = recording__index_at(&r->rec, target);
		return i < r->at ? i : (r->at ? r->at - 1 : 0);
	}
	/* forward: the first snapshot at or after the target */
	for (i = r->at + 1; i < r->rec.nsnaps; i++)
		if (recording__time_of(&r->rec, i) >= target - 1e-9)
			return i;
	return r->rec.nsnaps - 1;
}

bool top_replay__at_end(const struct top_replay *r)
{
	return r->at + 1 >= r->rec.nsnaps;
}

void top_replay__close(struct top_replay *r, struct top_session *s)
{
	top_session__close(s);
	recording__free(&r->rec);
}
