/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Sampled mode, bursts: the precise probes attached for a few milliseconds. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sampled_internal.h"
#include "taskscope.skel.h"

#define MAP_BATCH		1024	/* entries per BPF batch lookup */


/* Every entry of the precise tasks map that belongs to pid. */
static int read_task_entries(int fd, pid_t pid, struct ts_task_key **keys,
			     struct ts_task_stats **vals, size_t *n)
{
	struct ts_task_key *kb = NULL;
	struct ts_task_stats *vb = NULL;
	uint32_t in_batch = 0, out_batch = 0;
	size_t cap = 0;
	bool first = true;
	int err = 0;

	*keys = NULL;
	*vals = NULL;
	*n = 0;
	kb = calloc(MAP_BATCH, sizeof(*kb));
	vb = calloc(MAP_BATCH, sizeof(*vb));
	if (!kb || !vb) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		uint32_t count = MAP_BATCH, k;
		int rc = bpf_map_lookup_batch(fd, first ? NULL : &in_batch, &out_batch, kb, vb,
					      &count, NULL);

		if (rc && rc != -ENOENT) {
			err = rc;
			break;
		}
		for (k = 0; k < count; k++) {
			if (kb[k].tgid != (uint32_t)pid)
				continue;
			if (*n == cap) {
				void *nk, *nv;

				cap = cap ? 2 * cap : 256;
				nk = realloc(*keys, cap * sizeof(**keys));
				if (nk)
					*keys = nk;
				nv = realloc(*vals, cap * sizeof(**vals));
				if (nv)
					*vals = nv;
				if (!nk || !nv) {
					err = -ENOMEM;
					goto out;
				}
			}
			(*keys)[*n] = kb[k];
			(*vals)[(*n)++] = vb[k];
		}
		if (rc == -ENOENT)
			break;
		in_batch = out_batch;
		first = false;
	}
out:
	free(kb);
	free(vb);
	if (err) {
		free(*keys);
		free(*vals);
		*keys = NULL;
		*vals = NULL;
		*n = 0;
	}
	return err;
}

/*
 * Before a burst: forget what the last one left half-done. A task
 * SCHEDULED at the end of the previous burst would otherwise count the
 * whole gap as time waiting to be polled, an IDLE one the gap as idle.
 * Nothing of pid traps between bursts, so nothing races these updates.
 */
static void burst_reset(struct sampled_session *ss, uint64_t now)
{
	int tfd = ts_bpf__map_fd(ss->bpf, "tasks"), wfd = ts_bpf__map_fd(ss->bpf, "workers");
	struct ts_task_key *keys;
	struct ts_task_stats *vals;
	struct ts_worker_state w;
	uint32_t tid, next;
	void *prev = NULL;
	size_t n, i;

	if (!read_task_entries(tfd, ss->op->pid, &keys, &vals, &n)) {
		uint32_t count;

		for (i = 0; i < n; i++) {
			if (vals[i].state != TS_TASK_DONE)
				vals[i].state = TS_TASK_IDLE;
			vals[i].last_transition_ns = now;
			vals[i].wake_ns = 0;
			vals[i].woken_in_poll = 0;
		}
		count = (uint32_t)n;
		if (n && bpf_map_update_batch(tfd, keys, vals, &count, NULL))
			for (i = 0; i < n; i++)
				bpf_map_update_elem(tfd, &keys[i], &vals[i], BPF_EXIST);
		free(keys);
		free(vals);
	}
	/*
	 * A poll still open when the links went away would only end at the
	 * thread's next switch, its length growing meanwhile: drop it.
	 */
	while (bpf_map_get_next_key(wfd, prev, &next) == 0) {
		tid = next;
		prev = &tid;
		if (bpf_map_lookup_elem(wfd, &tid, &w) || w.tgid != (uint32_t)ss->op->pid ||
		    (!w.depth && !w.offcpu_start_ns))
			continue;
		w.depth = 0;
		w.header = 0;
		w.offcpu_start_ns = 0;
		w.offcpu_in_poll_ns = 0;
		bpf_map_update_elem(wfd, &tid, &w, BPF_EXIST);
	}
}

/* Tasks the burst saw polled are not idle: their hist records it. */
static void burst_activity(struct sampled_session *ss, uint64_t now)
{
	struct ts_task_key *keys;
	struct ts_task_stats *vals;
	size_t n, i;

	if (read_task_entries(ts_bpf__map_fd(ss->bpf, "tasks"), ss->op->pid, &keys, &vals, &n))
		return;
	for (i = 0; i < n; i++) {
		struct sampled_task_hist *h =
			(struct sampled_task_hist *)sampled_memory__find(ss, keys[i].header);

		if (!h)
			continue;
		if (vals[i].polls != h->burst_polls)
			h->active_ns = now;
		h->burst_polls = vals[i].polls;
	}
	free(keys);
	free(vals);
}

/* Polls and wakes the precise probes have trapped so far, every process. */
static uint64_t trapped_events(struct ts_bpf *bpf)
{
	return ts_bpf__counter(bpf, TS_CNT_POLLS) + ts_bpf__counter(bpf, TS_CNT_WAKES);
}

uint64_t sampled_burst__sized(uint64_t min_ns, uint64_t max_ns, uint64_t every_ns,
			      double events_per_s)
{
	/* share of a CPU the traps take while attached, and what that allows */
	double busy = events_per_s * TS_TRAP_NS / 1e9;
	double len;

	if (max_ns < min_ns)
		max_ns = min_ns;
	if (!(busy > 0))
		return max_ns;
	len = (double)TS_BURST_BUDGET_PPM / 1e6 * (double)every_ns / busy;
	if (len <= (double)min_ns)
		return min_ns;
	if (len >= (double)max_ns)
		return max_ns;
	return (uint64_t)len;
}

static void *close_fd(void *arg)
{
	close((int)(intptr_t)arg);
	return NULL;
}

/*
 * Closing a uprobe_multi link removes its breakpoints at once, then waits
 * for a grace period (12-28 ms each here). Closed one after the other, the
 * wake link would keep counting for a grace period after the poll link
 * stopped: closed together, every probe stops at the same moment.
 */
static void detach_together(struct proc_links *links)
{
	pthread_t th[8];
	bool started[8] = {};
	int i;

	for (i = 0; i < links->nfds && i < 8; i++)
		started[i] = !pthread_create(&th[i], NULL, close_fd,
					     (void *)(intptr_t)links->fds[i]);
	for (i = 0; i < links->nfds && i < 8; i++) {
		if (started[i])
			pthread_join(th[i], NULL);
		else
			close(links->fds[i]);
	}
	links->nfds = 0;
	links->nprobes = 0;
}

int sampled_burst__run(struct sampled_session *ss, uint64_t len_ns)
{
	struct observed_proc *op = ss->op;
	uint64_t t0, t1, span, ev0, ev1, in0, in1;
	int err;

	burst_reset(ss, ts_now_ns());
	ev0 = trapped_events(ss->bpf);
	/*
	 * The precise sched_switch program runs on every context switch of
	 * the host (~190 ns each): between bursts it has nothing to do.
	 */
	if (!ss->bpf->sched_link) {
		ss->bpf->sched_link = bpf_program__attach(ss->bpf->skel->progs.sched_switch);
		if (!ss->bpf->sched_link)
			return -errno;
	}
	err = ts_bpf__attach_tokio(ss->bpf, op->pid, &op->tb, TS_MODE_DEFAULT, &op->links);
	if (err)
		goto out;
	t0 = ts_now_ns();
	in0 = trapped_events(ss->bpf);
	sampled__sleep_ns(len_ns);
	in1 = trapped_events(ss->bpf);
	t1 = ts_now_ns();
	detach_together(&op->links);
	ev1 = trapped_events(ss->bpf);
	/*
	 * The first link counts while the others attach, the last ones until
	 * their breakpoints are gone: a few ms on each side of [t0, t1], +15 %
	 * polls on 80 ms bursts (bench part estimates). The burst is taken to
	 * have lasted as long as all it counted takes at its rate inside [t0,
	 * t1], so the scale that turns its counts into the window's is right.
	 */
	span = t1 - t0;
	if (in1 > in0 && ev1 - ev0 > in1 - in0)
		span = (uint64_t)((double)span * (double)(ev1 - ev0) / (double)(in1 - in0));
	ss->info.bursts++;
	ss->info.burst_total_ns += span;
	ss->info.burst_ns = ss->info.burst_total_ns / ss->info.bursts;
	if (ss->opts.burst_sized)
		ss->burst_len_ns = sampled_burst__sized(ss->opts.burst_ns, TS_BURST_MAX_MS * MS,
							ss->opts.burst_every_ns,
							(double)(in1 - in0) * 1e9 / (double)(t1 - t0));
out:
	ts_bpf__detach_sched(ss->bpf);
	if (!err) {
		burst_reset(ss, ts_now_ns());
		burst_activity(ss, t1);
	}
	return err;
}
