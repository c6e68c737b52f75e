/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Sampled mode, the session: where the thread-local is, the sampler, and
 * what runs when (sampled_memory.c, sampled_burst.c, sampled_model.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/libbpf.h>

#include "sampled_internal.h"

#define CALIB_STEP_NS		(50 * MS)
#define CALIB_START_STEPS	20	/* at most 1 s at the start */
#define CALIB_HZ		1000	/* while calibrating */

void sampled_opts__default(struct sampled_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->sample_hz = TS_SAMPLE_HZ_DEFAULT;
	o->burst_ns = TS_BURST_MS_DEFAULT * MS;
	o->burst_sized = true;
	o->burst_every_ns = TS_BURST_EVERY_MS_DEFAULT * MS;
	o->snapshot_every_ns = 1000 * MS;
	o->force_calibration = getenv("TASKSCOPE_SAMPLED_CALIBRATE") &&
			       !strcmp(getenv("TASKSCOPE_SAMPLED_CALIBRATE"), "1");
}

/* CPU time of this thread: what taskscope itself spends, per refresh. */
uint64_t sampled__thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void sampled__sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ULL),
			       .tv_nsec = (long)(ns % 1000000000ULL) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* ----------------------------------------------------------- thread-local */

static void describe_field(struct sampled_session *ss)
{
	const struct tls_context *tc = &ss->tc;

	ss->info.tls_source = tls_field_source_name(tc->source);
	snprintf(ss->info.tls_field, sizeof(ss->info.tls_field),
		 "+0x%x tag %u B (None %llu), id +0x%x", tc->opt_off + tc->tag_off, tc->tag_size,
		 (unsigned long long)tc->tag_none, tc->opt_off + tc->id_off);
}

/*
 * Without DWARF or a known layout: sample CONTEXT's first words and keep
 * the one whose values are ids of tasks found in memory (the field holds
 * the task being polled, or between polls a worker's launch task). A
 * comparison with the task the precise probes see polled was tried first:
 * under a uprobe the poll itself is a sliver of the time the probes call
 * "in a poll" (the trap, the scheduler until the next poll), and on the
 * spinner 1 sample in 371 matched.
 */
static int calibration_begin(struct sampled_session *ss)
{
	struct ts_tls_layout l;
	size_t n;
	int err;

	tls_context__layout(&ss->tc, &l);
	l.tag_size = 8;
	l.calibrate = 1;
	err = ts_sampler__watch(&ss->sampler, ss->op->pid, &l);
	if (err)
		return err;
	/* room for one read on top of what is kept (< TS_CALIB_SLOTS) */
	ss->calib = calloc(2 * TS_CALIB_SLOTS, sizeof(*ss->calib));
	if (!ss->calib)
		return -ENOMEM;
	ts_sampler__calibration_read(&ss->sampler, ss->calib, &n);	/* from empty */
	ts_sampler__set_hz(&ss->sampler, CALIB_HZ);
	ss->calibrating = true;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static void calibration_end(struct sampled_session *ss)
{
	ss->calibrating = false;
	ts_sampler__unwatch(&ss->sampler, ss->op->pid);
	ts_sampler__set_hz(&ss->sampler, ss->opts.sample_hz);
	free(ss->calib);
	ss->calib = NULL;
	ss->ncalib = 0;
}

/* Enough samples to tell the word? Then sample with it. */
static void calibration_step(struct sampled_session *ss)
{
	struct ts_tls_layout l;
	uint64_t *ids;
	size_t i, n = 0, nids = 0;
	int err;

	/* the samples since the last step, kept up to TS_CALIB_SLOTS in all */
	ts_sampler__calibration_read(&ss->sampler, ss->calib + ss->ncalib, &n);
	ss->ncalib += n;
	ids = calloc(ss->nhist + 1, sizeof(*ids));
	if (!ids)
		return;
	for (i = 0; i < ss->nhist; i++)
		if (ss->hist[i].task_id)
			ids[nids++] = ss->hist[i].task_id;
	qsort(ids, nids, sizeof(*ids), cmp_u64);
	err = tls_context__from_words(&ss->tc, ss->calib, ss->ncalib, ids, nids);
	free(ids);
	if (err == -EAGAIN) {
		if (ss->ncalib >= TS_CALIB_SLOTS)
			ss->ncalib = 0;	/* no verdict in that many: start a fresh set */
		return;
	}
	i = ss->ncalib;
	calibration_end(ss);
	if (err) {
		snprintf(ss->info.note, sizeof(ss->info.note),
			 "no DWARF for CONTEXT.current_task_id and calibration failed (%zu "
			 "samples, no word of CONTEXT held task ids): memory and bursts only", i);
		return;
	}
	tls_context__layout(&ss->tc, &l);
	if (ts_sampler__watch(&ss->sampler, ss->op->pid, &l))
		return;
	for (i = 0; i < ss->nhist; i++)
		if (ss->hist[i].blocking && ss->hist[i].task_id)
			ts_sampler__ignore_task(&ss->sampler, ss->op->pid, ss->hist[i].task_id);
	ss->sampling = true;
	ss->info.note[0] = '\0';
	describe_field(ss);
}

static void find_thread_local(struct sampled_session *ss)
{
	struct observed_proc *op = ss->op;
	char path[64];
	int err, i;

	snprintf(path, sizeof(path), "/proc/%d/exe", op->pid);
	if (op->tb.runtime != TS_RT_TOKIO ||
	    tls_context__find(&ss->tc, path)) {
		snprintf(ss->info.note, sizeof(ss->info.note),
			 "no running-task thread-local to sample (%s): memory and bursts only",
			 op->tb.runtime == TS_RT_TOKIO ? "tokio's CONTEXT not found" :
			 op->tb.runtime_name);
		return;
	}
	err = ss->opts.force_calibration ? -ENOENT : tls_context__from_dwarf(&ss->tc, op->dw);
	if (err && !ss->opts.force_calibration)
		err = tls_context__known_layout(&ss->tc, op->tb.version);
	if (err) {
		snprintf(ss->info.note, sizeof(ss->info.note), "no DWARF for "
			 "CONTEXT.current_task_id: calibrating, no samples of its threads yet");
		if (calibration_begin(ss))
			return;
		/* a first go at once; an idle process goes on being calibrated later */
		for (i = 0; i < CALIB_START_STEPS && ss->calibrating; i++) {
			sampled__sleep_ns(CALIB_STEP_NS);
			calibration_step(ss);
		}
		return;
	}
	ss->sampling = true;
	describe_field(ss);
}

/*
 * A USDT runtime tells its existing tasks, resources, holders and waiters
 * again only once its semaphores have been still for a while after an
 * attach (20 ms for tests/targets/cruntime): a burst ends before that, and
 * a deadlocked runtime fires nothing else. Its probes stay attached, as in
 * the default mode; with semaphores, a probe costs its runtime nothing
 * once taskscope detaches.
 */
static int start_usdt(struct sampled_session *ss, char *why, size_t whylen)
{
	struct observed_proc *op = ss->op;
	int err;

	ss->continuous = true;
	ss->info.probes_attached = true;
	snprintf(ss->info.note, sizeof(ss->info.note),
		 "USDT runtime: its probes stay attached (it replays its state only to a "
		 "tracer that stays), as in --mode default");
	err = ts_bpf__attach_tokio(ss->bpf, op->pid, &op->tb, TS_MODE_DEFAULT, &op->links);
	if (err) {
		snprintf(why, whylen, "PID %d: attaching USDT probes failed: %s", op->pid,
			 strerror(-err));
		sampled_session__stop(ss);
		return err;
	}
	ss->start_ns = ts_now_ns();
	op->attach_ns = ss->start_ns;
	op->mode = TS_MODE_SAMPLED;
	observed_proc__mark_roots(op);
	ss->next_burst_ns = UINT64_MAX;
	ss->next_snapshot_ns = UINT64_MAX;
	return 0;
}

int sampled_session__start(struct sampled_session *ss, struct observed_proc *op,
			   struct ts_bpf *bpf, const struct sampled_opts *opts, char *why,
			   size_t whylen)
{
	struct ts_tls_layout l;
	int err;

	memset(ss, 0, sizeof(*ss));
	ss->op = op;
	ss->bpf = bpf;
	op->bpf = bpf;	/* the observer's snapshots read the burst maps */
	ss->opts = *opts;
	ss->info.sample_hz = opts->sample_hz;
	ss->info.burst_ns = opts->burst_ns;
	ss->info.burst_sized = opts->burst_sized;
	ss->info.burst_every_ns = opts->burst_every_ns;
	ss->info.snapshot_every_ns = opts->snapshot_every_ns;
	ss->info.tls_source = "";
	err = ts_sampler__open(&ss->sampler, opts->sample_hz, opts->verbose);
	if (err) {
		snprintf(why, whylen, "opening the cpu-clock sampler failed: %s", strerror(-err));
		return err;
	}
	ss->sampler_open = true;
	ss->info.period_ns = ss->sampler.period_ns;
	if (op->tb.runtime == TS_RT_USDT)
		return start_usdt(ss, why, whylen);
	ts_bpf__detach_sched(bpf);	/* attached per burst from now on */
	/* worker launch tasks must be known as "no task" before sampling starts */
	err = sampled_memory__snapshot(ss, ts_now_ns());
	if (!err)
		find_thread_local(ss);
	ss->start_ns = ts_now_ns();
	if (!err && ss->sampling && ss->tc.source != TLS_FIELD_CALIBRATED) {
		tls_context__layout(&ss->tc, &l);
		err = ts_sampler__watch(&ss->sampler, op->pid, &l);
	}
	if (err) {
		snprintf(why, whylen, "PID %d: starting sampled observation failed: %s", op->pid,
			 strerror(-err));
		sampled_session__stop(ss);
		return err;
	}
	op->attach_ns = ss->start_ns;
	op->mode = TS_MODE_SAMPLED;
	observed_proc__mark_roots(op);
	ss->next_burst_ns = ss->start_ns;
	ss->burst_len_ns = opts->burst_ns;
	ss->next_snapshot_ns = ss->start_ns + opts->snapshot_every_ns;
	return 0;
}

uint64_t sampled_session__tick(struct sampled_session *ss, uint64_t now)
{
	uint64_t c0 = sampled__thread_cpu_ns();

	if (ss->calibrating && now >= ss->next_calib_ns) {
		calibration_step(ss);
		ss->next_calib_ns = now + 4 * CALIB_STEP_NS;
	}
	if (ss->opts.burst_ns && !ss->continuous && now >= ss->next_burst_ns) {
		sampled_burst__run(ss, ss->burst_len_ns ? ss->burst_len_ns : ss->opts.burst_ns);
		ss->info.burst_cpu_ns += sampled__thread_cpu_ns() - c0;
		c0 = sampled__thread_cpu_ns();
		ss->next_burst_ns += ss->opts.burst_every_ns;
		now = ts_now_ns();
		if (ss->next_burst_ns < now)
			ss->next_burst_ns = now + ss->opts.burst_every_ns;
	}
	if (now >= ss->next_snapshot_ns) {
		sampled_memory__snapshot(ss, now);
		ss->info.snapshot_cpu_ns += sampled__thread_cpu_ns() - c0;
		ss->next_snapshot_ns += ss->opts.snapshot_every_ns;
		if (ss->next_snapshot_ns < now)
			ss->next_snapshot_ns = now + ss->opts.snapshot_every_ns;
	}
	if (!ss->opts.burst_ns || ss->next_snapshot_ns < ss->next_burst_ns)
		return ss->next_snapshot_ns;
	return ss->next_burst_ns;
}

void sampled_session__stop(struct sampled_session *ss)
{
	if (!ss->op)
		return;
	proc_links__detach(&ss->op->links);
	if (ss->sampler_open)
		ts_sampler__destroy(&ss->sampler);
	ss->sampler_open = false;
	free(ss->calib);
	ss->calib = NULL;
	free(ss->hist);
	ss->hist = NULL;
	ss->nhist = 0;
	free(ss->rbuf);
	ss->rbuf = NULL;
	ss->rbuf_cap = 0;
	free(ss->regions);
	ss->regions = NULL;
	ss->regions_cap = 0;
}
