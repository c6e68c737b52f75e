// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Two threads share the output: the consumer drains the ring buffer into
 * the trace as it fills, while the main thread takes the snapshots (a
 * memory scan and the await chains can take a good part of a second, and
 * a ring left alone that long overflows on a busy service). A mutex keeps
 * their writes apart; the main thread holds it only to write.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "intern.h"
#include "json_writer.h"
#include "observe.h"
#include "rec_snapshot.h"
#include "rec_trace.h"
#include "recorder.h"
#include "taskscope.skel.h"

/* A finding already marked in the trace: marked again only once it has gone away. */
struct finding_key {
	int kind;
	uint64_t what;		/* the task's header, or its interned name for a type */
};

struct recorder {
	struct observed_proc op;
	bool op_open;
	struct ring_buffer *rb;
	pthread_t consumer;
	bool consumer_running;
	volatile bool consumer_stop;
	pthread_mutex_t lock;
	struct json_writer jw;		/* the file */
	struct rec_trace tr;
	FILE *snap_file;		/* the snapshots array, copied in at the end */
	struct json_writer snap_jw;
	int err;			/* the consumer's, -ENOMEM */
	uint64_t scan_cost_ns;		/* the last memory scan's */
	struct finding_key *marked;
	size_t nmarked;
};

static void thread_name(void *ctx, uint32_t tid, char *buf, size_t len)
{
	struct recorder *r = ctx;
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%u/comm", r->op.pid, tid);
	f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

static const char *poll_name(void *ctx, uint32_t poll_idx)
{
	struct recorder *r = ctx;

	/* tb.polls is built at open and named from DWARF at load: read-only since */
	if (poll_idx >= r->op.tb.npolls)
		return NULL;
	return ts_intern(r->op.tb.polls[poll_idx].name);
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct recorder *r = ctx;
	int err;

	if (size < sizeof(struct ts_rec_event))
		return 0;
	err = rec_trace__event(&r->tr, data);
	if (err)
		r->err = err;
	return 0;
}

static void *consume(void *arg)
{
	struct recorder *r = arg;
	struct pollfd pfd = { .fd = ring_buffer__epoll_fd(r->rb), .events = POLLIN };

	while (!r->consumer_stop) {
		/* waits outside the lock: a snapshot's writes go in meanwhile */
		if (poll(&pfd, 1, 50) < 0 && errno != EINTR)
			break;
		pthread_mutex_lock(&r->lock);
		ring_buffer__consume(r->rb);
		pthread_mutex_unlock(&r->lock);
	}
	return NULL;
}

/* "src/main.rs:42": the innermost frame of the program's own code with a line. */
static const char *await_point(const struct ts_await_chain *c)
{
	int i;

	if (!c || c->status != TS_CHAIN_SUSPENDED)
		return NULL;
	for (i = c->nframes - 1; i >= 0; i--)
		if (!c->frames[i].external && c->frames[i].line)
			return ts_internf("%s:%u", c->frames[i].file, c->frames[i].line);
	for (i = c->nframes - 1; i >= 0; i--)
		if (c->frames[i].line)
			return ts_internf("%s:%u", c->frames[i].file, c->frames[i].line);
	return NULL;
}

static bool was_marked(const struct recorder *r, const struct finding_key *k)
{
	size_t i;

	for (i = 0; i < r->nmarked; i++)
		if (r->marked[i].kind == k->kind && r->marked[i].what == k->what)
			return true;
	return false;
}

/* Under the lock: labels for the trace, new stalls as instants, the snapshot. */
static int write_snapshot(struct recorder *r, const struct ts_process *p,
			  const struct ts_finding *f, size_t nf)
{
	struct finding_key *now = calloc(nf ? nf : 1, sizeof(*now));
	size_t i;
	int err = 0;

	if (!now)
		return -ENOMEM;
	for (i = 0; i < p->ntasks && !err; i++) {
		const struct ts_task *t = &p->tasks[i];

		if (t->root_tid || t->state == TS_TASK_DONE)
			continue;	/* a root is never polled; a done one polls no more */
		err = rec_trace__label(&r->tr, t->header, t->task_id, t->name,
				       await_point(t->chain));
	}
	for (i = 0; i < nf; i++) {
		const struct ts_task *t = f[i].task < p->ntasks ? &p->tasks[f[i].task] : NULL;

		now[i].kind = (int)f[i].kind;
		now[i].what = t ? t->header : (uint64_t)(uintptr_t)f[i].name;
		if (was_marked(r, &now[i]))
			continue;
		rec_trace__stall(&r->tr, p->snapshot_ns, ts_finding_kind_name(f[i].kind), f[i].name,
				 t ? t->task_id : 0,
				 f[i].kind == TS_FIND_BLOCKED_WORKER ? f[i].tid : 0, f[i].message);
	}
	free(r->marked);
	r->marked = now;
	r->nmarked = nf;
	rec_snapshot__write(&r->snap_jw, p);
	return err;
}

/* A snapshot as report takes one: maps merged with a memory scan, then where tasks wait. */
static int take_snapshot(struct recorder *r, const struct recorder_opts *o, bool last)
{
	struct ts_process p = {};
	struct ts_finding *f = NULL;
	uint64_t t0 = ts_now_ns();
	bool scan;
	int err, nf;

	/*
	 * A memory scan at most a twentieth of the time, as top does (a
	 * million tasks take seconds to scan): in between, the last scan's
	 * word is carried. The last snapshot always scans, as report's one.
	 */
	scan = last || !r->scan_cost_ns || r->scan_cost_ns * 20 <= (uint64_t)(o->interval_s * 1e9);
	err = observed_proc__snapshot(&r->op, scan, &p);
	if (err)
		goto cleanup;
	if (scan)
		r->scan_cost_ns = ts_now_ns() - t0 + 1;	/* 0 means none yet */
	observed_proc__await_chains(&r->op, &p, 0, 0);
	nf = ts_rules__evaluate(&p, &o->rules, &f);
	if (nf < 0) {
		err = nf;
		goto cleanup;
	}
	pthread_mutex_lock(&r->lock);
	err = write_snapshot(r, &p, f, (size_t)nf);
	pthread_mutex_unlock(&r->lock);
cleanup:
	free(f);
	ts_process__free(&p);
	return err;
}

static uint64_t dropped_events(struct recorder *r)
{
	return ts_bpf__counter(&r->op.own_bpf, TS_CNT_REC_DROPPED);
}

static void sleep_until(uint64_t deadline, volatile const sig_atomic_t *stop)
{
	struct timespec tick = { .tv_nsec = 50 * 1000 * 1000 };
	uint64_t now;

	while (!*stop && (now = ts_now_ns()) < deadline) {
		if (deadline - now < (uint64_t)tick.tv_nsec)
			tick.tv_nsec = (long)(deadline - now);
		nanosleep(&tick, NULL);
	}
}

static void write_trailer(struct recorder *r, const struct recorder_opts *o,
			  const struct recorder_result *res, uint64_t base_ns, uint64_t end_ns)
{
	struct json_writer *jw = &r->jw;

	jw_kv_string(jw, "displayTimeUnit", "ms");
	jw_key(jw, "taskscope");
	jw_object_begin(jw);
	/* first: the replays find the section by it */
	jw_kv_u64(jw, "version", REC_FORMAT_VERSION);
	jw_kv_i64(jw, "pid", r->op.pid);
	jw_kv_string(jw, "comm", r->op.comm);
	jw_kv_string(jw, "exe", r->op.exe);
	jw_kv_string(jw, "clock", "CLOCK_MONOTONIC");
	jw_kv_u64(jw, "start_ns", base_ns);
	jw_kv_u64(jw, "end_ns", end_ns);
	jw_kv_double(jw, "interval_s", o->interval_s, 3);
	jw_kv_u64(jw, "ring_bytes", o->ring_bytes);
	jw_kv_u64(jw, "events", res->events);
	jw_kv_u64(jw, "slices", res->slices);
	jw_kv_u64(jw, "flows", res->flows);
	jw_kv_u64(jw, "stalls", res->stalls);
	jw_kv_u64(jw, "dropped", res->dropped);
	jw_key(jw, "snapshots");
	jw_value_copy(jw, r->snap_file);
	jw_object_end(jw);
	jw_object_end(jw);
}

int recorder__run(pid_t pid, FILE *out, const struct recorder_opts *o,
		  volatile const sig_atomic_t *stop, struct recorder_result *res,
		  char *why, size_t whylen)
{
	struct recorder r = { .lock = PTHREAD_MUTEX_INITIALIZER };
	uint64_t base_ns, end, next, end_ns;
	bool attached = false;
	int err;

	memset(res, 0, sizeof(*res));
	err = observed_proc__open(&r.op, pid, why, whylen);
	if (err)
		return err;
	r.op_open = true;
	observed_proc__load_dwarf(&r.op, o->debuginfo);
	r.op.find_roots = true;	/* each thread's block_on future, as report has them */
	r.op.carry_scans = true;	/* snapshots between scans (take_snapshot) */
	err = ts_bpf__open_load_record(&r.op.own_bpf, o->verbose, pid, o->ring_bytes);
	if (err) {
		snprintf(why, whylen, "loading BPF programs failed: %s (run with -v for libbpf's log)",
			 strerror(-err));
		goto cleanup;
	}
	r.op.owns_bpf = true;
	r.rb = ring_buffer__new(bpf_map__fd(r.op.own_bpf.skel->maps.rec_events), on_event, &r,
				NULL);
	if (!r.rb) {
		err = -errno;
		snprintf(why, whylen, "ring buffer: %s", strerror(-err));
		goto cleanup;
	}
	r.snap_file = tmpfile();
	if (!r.snap_file) {
		err = -errno;
		snprintf(why, whylen, "temporary file: %s", strerror(-err));
		goto cleanup;
	}
	jw_init(&r.snap_jw, r.snap_file);
	jw_array_begin(&r.snap_jw);
	jw_init(&r.jw, out);
	r.tr.thread_name = thread_name;
	r.tr.poll_name = poll_name;
	r.tr.ctx = &r;
	base_ns = ts_now_ns();
	rec_trace__begin(&r.tr, &r.jw, pid, r.op.comm, base_ns);

	err = observed_proc__attach(&r.op, NULL, o->mode, why, whylen);
	if (err)
		goto cleanup;
	attached = true;
	err = pthread_create(&r.consumer, NULL, consume, &r);
	if (err) {
		err = -err;
		snprintf(why, whylen, "thread: %s", strerror(-err));
		goto cleanup;
	}
	r.consumer_running = true;

	end = base_ns + (uint64_t)(o->duration_s * 1e9);
	next = base_ns + (uint64_t)(o->interval_s * 1e9);
	while (!*stop && next < end) {
		sleep_until(next, stop);
		if (*stop)
			break;
		if (!observed_proc__alive(&r.op)) {
			res->target_gone = true;
			break;
		}
		err = take_snapshot(&r, o, false);
		if (err && observed_proc__alive(&r.op))
			goto snapshot_failed;
		if (!err)
			res->snapshots++;	/* else it exited meanwhile: the next check ends it */
		next += (uint64_t)(o->interval_s * 1e9);
	}
	if (!*stop && !res->target_gone)
		sleep_until(end, stop);
	if (!res->target_gone && observed_proc__alive(&r.op)) {
		/* the last one at the end, as report's */
		err = take_snapshot(&r, o, true);
		if (err && observed_proc__alive(&r.op))
			goto snapshot_failed;
		if (!err)
			res->snapshots++;
	} else {
		res->target_gone = true;
	}
	err = 0;

	/* no more events: then drain what the ring still holds */
	r.consumer_stop = true;
	pthread_join(r.consumer, NULL);
	r.consumer_running = false;
	proc_links__detach(&r.op.links);
	attached = false;
	ring_buffer__consume(r.rb);
	if (r.err) {
		err = r.err;
		snprintf(why, whylen, "out of memory");
		goto cleanup;
	}
	res->dropped = dropped_events(&r);
	end_ns = ts_now_ns();
	res->seconds = (double)(end_ns - base_ns) / 1e9;
	res->events = r.tr.events;
	res->slices = r.tr.slices;
	res->flows = r.tr.flows;
	rec_trace__end(&r.tr, r.tr.last_ns > base_ns ? r.tr.last_ns : end_ns);
	res->slices = r.tr.slices;
	res->stalls = r.tr.stalls;
	jw_array_end(&r.snap_jw);
	if (jw_finish(&r.snap_jw)) {
		err = -EIO;
		snprintf(why, whylen, "writing the snapshots' temporary file failed");
		goto cleanup;
	}
	write_trailer(&r, o, res, base_ns, end_ns);
	if (jw_finish(&r.jw)) {
		err = -EIO;
		snprintf(why, whylen, "writing the recording failed: %s", strerror(errno));
		goto cleanup;
	}
	res->bytes = (uint64_t)ftell(out);
	goto cleanup;

snapshot_failed:
	snprintf(why, whylen, "reading PID %d's tasks failed: %s", pid, strerror(-err));
cleanup:
	if (r.consumer_running) {
		r.consumer_stop = true;
		pthread_join(r.consumer, NULL);
	}
	if (attached)
		proc_links__detach(&r.op.links);
	ring_buffer__free(r.rb);
	if (r.op_open) {
		observed_proc__detach(&r.op);
		observed_proc__close(&r.op);
	}
	if (r.snap_file)
		fclose(r.snap_file);
	rec_trace__free(&r.tr);
	free(r.marked);
	return err;
}
