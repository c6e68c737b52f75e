/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The Chrome trace-event JSON of taskscope record, written as the events
 * arrive (json_writer): one track per worker thread with a complete ("X")
 * event per poll, named by task; a flow ("s" on the waker's poll, "f" on
 * the wakee's next poll) per wake that came from inside a poll; instant
 * ("i") events for the stalls found; process and thread names ("M").
 * Perfetto (ui.perfetto.dev) and chrome://tracing open it.
 *
 * ts and dur are microseconds since the recording began, with three
 * decimals: the probes' nanoseconds (CLOCK_MONOTONIC), exactly.
 *
 * Pure: events in, JSON out; names come from the caller (a callback), so
 * the unit tests drive it without BPF.
 */
#ifndef TS_REC_TRACE_H
#define TS_REC_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "taskscope.h"

struct json_writer;

/* What a slice is called: the task's name and the await it resumed from ("" unknown). */
struct rec_task_label {
	const char *name;		/* never NULL in a label given back */
	const char *await_at;		/* "src/main.rs:42", "" */
};

/* Per task header: its label, and the wake it was last scheduled by. */
struct rec_task_slot {
	uint64_t header;		/* 0: free slot */
	uint64_t task_id;
	const char *name;		/* interned, NULL unknown */
	const char *await_at;		/* interned, NULL unknown */
	bool poll_known;		/* poll_idx: the instance its last poll ran */
	uint32_t poll_idx;
	bool wake_pending;		/* woken from inside a poll, not polled since */
	uint32_t waker_tid;
	uint64_t wake_ns;
};

struct rec_thread {
	uint32_t tid;
	bool open;			/* a poll started and has not ended */
	uint64_t start_ns, header, task_id;
};

struct rec_trace {
	struct json_writer *jw;
	pid_t pid;
	uint64_t base_ns;		/* CLOCK_MONOTONIC ns at ts 0 */
	/* names a thread the first time it polls ("" when unknown) */
	void (*thread_name)(void *ctx, uint32_t tid, char *buf, size_t len);
	/*
	 * Names a task no snapshot has labelled yet (spawned since the last
	 * one) by its poll function instance; NULL or "" unknown.
	 */
	const char *(*poll_name)(void *ctx, uint32_t poll_idx);
	void *ctx;
	struct rec_thread *threads;
	size_t nthreads, threads_cap;
	struct rec_task_slot *slots;	/* open addressing on header, power-of-two size */
	size_t nslots_used, slots_cap;
	uint64_t next_flow_id;
	uint64_t last_ns;		/* newest event time */
	/* counts, for the summary and the bench */
	uint64_t events, slices, flows, stalls, unknown_ends, orphan_ends;
};

/* Starts the document: {"traceEvents":[ and the process's name. */
int rec_trace__begin(struct rec_trace *tr, struct json_writer *jw, pid_t pid, const char *comm,
		     uint64_t base_ns);
/* Sets (or replaces) the label of task header, from a snapshot. */
int rec_trace__label(struct rec_trace *tr, uint64_t header, uint64_t task_id, const char *name,
		     const char *await_at);
/* One event from the ring buffer. 0 or -ENOMEM. */
int rec_trace__event(struct rec_trace *tr, const struct ts_rec_event *e);
/*
 * A stall finding at ns, as an instant event: on thread tid's track when
 * it names one (a blocked worker), else process-wide.
 */
void rec_trace__stall(struct rec_trace *tr, uint64_t ns, const char *kind, const char *name,
		      uint64_t task_id, uint32_t tid, const char *message);
/*
 * Ends the slices still open at end_ns (their polls were running when the
 * recording stopped) and the traceEvents array. The caller writes the
 * rest of the top-level object and jw_finish()es.
 */
void rec_trace__end(struct rec_trace *tr, uint64_t end_ns);
void rec_trace__free(struct rec_trace *tr);

/* The slot of header, or NULL (exposed for tests). */
const struct rec_task_slot *rec_trace__slot(const struct rec_trace *tr, uint64_t header);

#endif
