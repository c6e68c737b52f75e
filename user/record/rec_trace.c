// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "json_writer.h"
#include "rec_trace.h"

/* ---- task slots: open addressing on the header ---------------------------- */

static size_t slot_hash(uint64_t header, size_t cap)
{
	/* headers are 8- or 64-byte aligned addresses: mix the high bits down */
	header ^= header >> 33;
	header *= 0xff51afd7ed558ccdULL;
	header ^= header >> 33;
	return (size_t)header & (cap - 1);
}

static struct rec_task_slot *slot_find(const struct rec_trace *tr, uint64_t header)
{
	size_t i;

	if (!tr->slots_cap || !header)
		return NULL;
	for (i = slot_hash(header, tr->slots_cap);; i = (i + 1) & (tr->slots_cap - 1)) {
		if (tr->slots[i].header == header)
			return &tr->slots[i];
		if (!tr->slots[i].header)
			return NULL;
	}
}

static int slots_grow(struct rec_trace *tr)
{
	size_t cap = tr->slots_cap ? tr->slots_cap * 2 : 1024, i, j;
	struct rec_task_slot *nv = calloc(cap, sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	for (i = 0; i < tr->slots_cap; i++) {
		if (!tr->slots[i].header)
			continue;
		for (j = slot_hash(tr->slots[i].header, cap); nv[j].header; j = (j + 1) & (cap - 1))
			;
		nv[j] = tr->slots[i];
	}
	free(tr->slots);
	tr->slots = nv;
	tr->slots_cap = cap;
	return 0;
}

/* The slot of header, added when new; NULL when out of memory (or header 0). */
static struct rec_task_slot *slot_get(struct rec_trace *tr, uint64_t header)
{
	struct rec_task_slot *s = slot_find(tr, header);
	size_t i;

	if (s || !header)
		return s;
	/* at most half full: probes stay short */
	if ((tr->nslots_used + 1) * 2 > tr->slots_cap && slots_grow(tr))
		return NULL;
	for (i = slot_hash(header, tr->slots_cap); tr->slots[i].header;
	     i = (i + 1) & (tr->slots_cap - 1))
		;
	tr->slots[i].header = header;
	tr->nslots_used++;
	return &tr->slots[i];
}

const struct rec_task_slot *rec_trace__slot(const struct rec_trace *tr, uint64_t header)
{
	return slot_find(tr, header);
}

/* ---- writing -------------------------------------------------------------- */

/* ns since the recording began, as microseconds with ns precision */
static void kv_us(struct rec_trace *tr, const char *key, uint64_t ns)
{
	jw_kv_double(tr->jw, key, (double)ns / 1000.0, 3);
}

static void kv_ts(struct rec_trace *tr, uint64_t ns)
{
	kv_us(tr, "ts", ns > tr->base_ns ? ns - tr->base_ns : 0);
}

static void event_head(struct rec_trace *tr, const char *ph, uint32_t tid)
{
	jw_object_begin(tr->jw);
	jw_kv_string(tr->jw, "ph", ph);
	jw_kv_i64(tr->jw, "pid", tr->pid);
	jw_kv_u64(tr->jw, "tid", tid);
}

static void metadata(struct rec_trace *tr, const char *what, uint32_t tid, const char *name)
{
	event_head(tr, "M", tid);
	jw_kv_string(tr->jw, "name", what);
	jw_key(tr->jw, "args");
	jw_object_begin(tr->jw);
	jw_kv_string(tr->jw, "name", name);
	jw_object_end(tr->jw);
	jw_object_end(tr->jw);
}

int rec_trace__begin(struct rec_trace *tr, struct json_writer *jw, pid_t pid, const char *comm,
		     uint64_t base_ns)
{
	char name[128];

	tr->jw = jw;
	tr->pid = pid;
	tr->base_ns = base_ns;
	tr->next_flow_id = 1;
	jw_object_begin(jw);
	jw_key(jw, "traceEvents");
	jw_array_begin(jw);
	snprintf(name, sizeof(name), "%s (PID %d)", comm && *comm ? comm : "?", (int)pid);
	metadata(tr, "process_name", (uint32_t)pid, name);
	return 0;
}

int rec_trace__label(struct rec_trace *tr, uint64_t header, uint64_t task_id, const char *name,
		     const char *await_at)
{
	struct rec_task_slot *s = slot_get(tr, header);

	if (!s)
		return header ? -ENOMEM : 0;
	s->task_id = task_id;
	s->name = name;
	s->await_at = await_at;
	s->poll_known = false;
	return 0;
}

static struct rec_thread *thread_get(struct rec_trace *tr, uint32_t tid)
{
	struct rec_thread *t;
	char name[64] = "";
	size_t i;

	for (i = 0; i < tr->nthreads; i++)
		if (tr->threads[i].tid == tid)
			return &tr->threads[i];
	t = ts_array_add(&tr->threads, &tr->nthreads, &tr->threads_cap);
	if (!t)
		return NULL;
	t->tid = tid;
	if (tr->thread_name)
		tr->thread_name(tr->ctx, tid, name, sizeof(name));
	if (!*name)
		snprintf(name, sizeof(name), "thread %u", tid);
	metadata(tr, "thread_name", tid, name);
	return t;
}

static const char *result_name(int result)
{
	return result == TS_REC_READY ? "ready" : result == TS_REC_PENDING ? "pending" : "unknown";
}

/* The poll open on th ends at end_ns: its complete event. result < 0: not seen. */
static void slice_close(struct rec_trace *tr, struct rec_thread *th, uint64_t end_ns, int result)
{
	const struct rec_task_slot *s = slot_find(tr, th->header);
	uint64_t task_id = th->task_id ? th->task_id : s ? s->task_id : 0;
	char header[24];

	if (end_ns < th->start_ns)
		end_ns = th->start_ns;
	event_head(tr, "X", th->tid);
	kv_ts(tr, th->start_ns);
	kv_us(tr, "dur", end_ns - th->start_ns);
	if (s && s->name && *s->name) {
		jw_kv_string(tr->jw, "name", s->name);
	} else {
		char fallback[48];

		if (task_id)
			snprintf(fallback, sizeof(fallback), "task %" PRIu64, task_id);
		else
			snprintf(fallback, sizeof(fallback), "task 0x%" PRIx64, th->header);
		jw_kv_string(tr->jw, "name", fallback);
	}
	jw_kv_string(tr->jw, "cat", "poll");
	jw_key(tr->jw, "args");
	jw_object_begin(tr->jw);
	jw_kv_u64(tr->jw, "task_id", task_id);
	snprintf(header, sizeof(header), "0x%" PRIx64, th->header);
	jw_kv_string(tr->jw, "header", header);
	if (s && s->await_at && *s->await_at)
		jw_kv_string(tr->jw, "await", s->await_at);
	jw_kv_string(tr->jw, "result", result_name(result));
	jw_object_end(tr->jw);
	jw_object_end(tr->jw);
	th->open = false;
	tr->slices++;
	if (result < 0)
		tr->unknown_ends++;
}

static void flow(struct rec_trace *tr, const char *ph, uint64_t id, uint32_t tid, uint64_t ns)
{
	event_head(tr, ph, tid);
	kv_ts(tr, ns);
	jw_kv_string(tr->jw, "name", "wake");
	jw_kv_string(tr->jw, "cat", "wake");
	jw_kv_u64(tr->jw, "id", id);
	/* both ends bind to the slice around them: the waker's poll, the wakee's */
	if (ph[0] == 'f')
		jw_kv_string(tr->jw, "bp", "e");
	jw_object_end(tr->jw);
}

static int poll_start(struct rec_trace *tr, const struct ts_rec_event *e)
{
	struct rec_thread *th = thread_get(tr, e->tid);
	struct rec_task_slot *s;

	if (!th)
		return -ENOMEM;
	/* its end was lost (a full ring): it ended by this start at the latest */
	if (th->open)
		slice_close(tr, th, e->ns, -1);
	th->open = true;
	th->start_ns = e->ns;
	th->header = e->header;
	th->task_id = e->task_id;
	s = slot_get(tr, e->header);
	if (!s)
		return -ENOMEM;
	/* another task in a freed cell: the await its predecessor was parked at is not its own */
	if (e->task_id && s->task_id && e->task_id != s->task_id)
		s->await_at = NULL;
	if (e->task_id)
		s->task_id = e->task_id;
	/* a freed header reused by another future type is another task */
	if (tr->poll_name && e->poll_idx != TS_POLL_UNKNOWN &&
	    (!s->name || (s->poll_known && s->poll_idx != e->poll_idx))) {
		s->name = tr->poll_name(tr->ctx, e->poll_idx);
		s->await_at = NULL;
	}
	s->poll_known = e->poll_idx != TS_POLL_UNKNOWN;
	s->poll_idx = e->poll_idx;
	/*
	 * The flow's two ends are written together, here: a wake whose
	 * wakee is never polled again leaves no dangling start.
	 */
	if (s->wake_pending) {
		uint64_t id = tr->next_flow_id++;

		flow(tr, "s", id, s->waker_tid, s->wake_ns);
		flow(tr, "f", id, e->tid, e->ns);
		s->wake_pending = false;
		tr->flows++;
	}
	return 0;
}

static void poll_end(struct rec_trace *tr, const struct ts_rec_event *e)
{
	struct rec_thread *th = thread_get(tr, e->tid);

	if (!th)
		return;
	if (!th->open || th->header != e->header) {
		tr->orphan_ends++;	/* its start was lost, or came before the recording */
		return;
	}
	slice_close(tr, th, e->ns, e->ready == TS_REC_READY ? TS_REC_READY : TS_REC_PENDING);
}

static int wake(struct rec_trace *tr, const struct ts_rec_event *e)
{
	struct rec_task_slot *s;
	struct rec_thread *waker = NULL;
	size_t i;

	if (!e->waker_header)
		return 0;	/* not from a poll (a driver, a timer, another thread) */
	for (i = 0; i < tr->nthreads; i++)
		if (tr->threads[i].tid == e->tid)
			waker = &tr->threads[i];
	/* the flow starts inside the waker's slice: one we are writing */
	if (!waker || !waker->open || waker->header != e->waker_header)
		return 0;
	s = slot_get(tr, e->header);
	if (!s)
		return -ENOMEM;
	/* a second wake before the poll changes nothing (tokio: already notified) */
	if (s->wake_pending)
		return 0;
	s->wake_pending = true;
	s->waker_tid = e->tid;
	s->wake_ns = e->ns;
	if (e->task_id && !s->task_id)
		s->task_id = e->task_id;
	return 0;
}

int rec_trace__event(struct rec_trace *tr, const struct ts_rec_event *e)
{
	tr->events++;
	if (e->ns > tr->last_ns)
		tr->last_ns = e->ns;
	switch (e->kind) {
	case TS_REC_POLL_START:
		return poll_start(tr, e);
	case TS_REC_POLL_END:
		poll_end(tr, e);
		return 0;
	case TS_REC_WAKE:
		return wake(tr, e);
	}
	return 0;
}

void rec_trace__stall(struct rec_trace *tr, uint64_t ns, const char *kind, const char *name,
		      uint64_t task_id, uint32_t tid, const char *message)
{
	char title[256];

	snprintf(title, sizeof(title), "%s: %s", kind, name && *name ? name : "?");
	event_head(tr, "i", tid ? tid : (uint32_t)tr->pid);
	kv_ts(tr, ns);
	jw_kv_string(tr->jw, "name", title);
	jw_kv_string(tr->jw, "cat", "stall");
	/* a thread's own stall on its track, the others across the process */
	jw_kv_string(tr->jw, "s", tid ? "t" : "p");
	jw_key(tr->jw, "args");
	jw_object_begin(tr->jw);
	jw_kv_string(tr->jw, "kind", kind);
	if (task_id)
		jw_kv_u64(tr->jw, "task_id", task_id);
	jw_kv_string(tr->jw, "message", message ? message : "");
	jw_object_end(tr->jw);
	jw_object_end(tr->jw);
	tr->stalls++;
}

void rec_trace__end(struct rec_trace *tr, uint64_t end_ns)
{
	size_t i;

	for (i = 0; i < tr->nthreads; i++)
		if (tr->threads[i].open)
			slice_close(tr, &tr->threads[i], end_ns, -1);
	jw_array_end(tr->jw);
}

void rec_trace__free(struct rec_trace *tr)
{
	free(tr->threads);
	free(tr->slots);
	tr->threads = NULL;
	tr->slots = NULL;
	tr->nthreads = tr->threads_cap = tr->nslots_used = tr->slots_cap = 0;
}
