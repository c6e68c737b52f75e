/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <stdlib.h>
#include <string.h>

#include "demangle.h"
#include "runtime.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

/*
 * tokio's task functions are reached through the task vtable and the
 * waker vtable, so they exist in release builds as out-of-line instances:
 * one raw::poll / raw::dealloc per future type, the waker functions once.
 * The non-generic RawTask::poll is inlined into its callers: a probe on it
 * never fires.
 */
static const struct runtime_entry_points tokio_entry_points = {
	.mangled_hint = "tokio",
	.poll = { "tokio::runtime::task::raw::poll" },
	.dealloc = { "tokio::runtime::task::raw::dealloc" },
	.wake = { "tokio::runtime::task::waker::wake_by_val",
		  "tokio::runtime::task::waker::wake_by_ref" },
	.task_id_counter = "tokio::runtime::task::id::Id::next::NEXT_ID",
};

/* async-task 4.x, under async-std and smol: RawTask<F, T, S> methods. */
static const struct runtime_entry_points async_task_entry_points = {
	.mangled_hint = "async_task",
	.method_of = "async_task::raw::RawTask",
	.poll = { "run" },
	.dealloc = { "destroy" },
	.wake = { "wake", "wake_by_ref" },
};

/*
 * The table, at most TS_MAX_RUNTIME_DESCS entries; an entry's index is
 * what probe cookies and the BPF side's runtime_layouts[] know it by.
 *
 * To add a tokio release whose internals changed: copy the latest tokio
 * entry, set `since` to the first release with the change, and change what
 * changed. From tokio's history: the header, the vtable and the state bits
 * stayed as below from 1.24 to 1.53 (the Cell's alignment, 128 bytes from
 * 1.29, moves the scheduler and Id, whose offsets the vtable holds); 1.35
 * shards the owned list; 1.53 names the worker threads "tokio-rt-worker".
 */
/* The tokio task internals, the same from 1.24 to 1.53 but for the thread name. */
#define TOKIO_DESC(since_, thread_name_) {	\
		.name = "tokio " since_,	\
		.kind = TS_RT_TOKIO,	\
		.crate = "tokio",	\
		.since = since_,	\
		/*	\
		 * #[repr(C)] Header { state, queue_next, vtable, owner_id }	\
		 * (runtime/task/core.rs); state bits RUNNING, COMPLETE,	\
		 * NOTIFIED, then JOIN_INTEREST, JOIN_WAKER, CANCELLED, the	\
		 * reference count from bit 6 (runtime/task/state.rs).	\
		 */	\
		.layout = { .hdr_state_off = 0, .hdr_vtable_off = 16, .hdr_size = 32,	\
			    .ref_shift = 6, .hdr_owner_off = 24,	\
			    .running = 1, .complete = 2, .notified = 4 },	\
		/*	\
		 * raw::Vtable is not #[repr(C)], but its ten fields are all	\
		 * pointer-sized and rustc keeps declaration order for equal	\
		 * alignment: poll, schedule, dealloc, try_read_output,	\
		 * drop_join_handle_slow, drop_abort_handle, shutdown,	\
		 * trailer_offset, scheduler_offset, id_offset. dealloc<T, S>	\
		 * calls drop_in_place<Cell<T, S>> first, which names T.	\
		 */	\
		.vtable = { .size = 80, .poll = 0, .dealloc = 16, .naming = 16,	\
			    .trailer_offset = 56, .scheduler_offset = 64, .id_offset = 72 },	\
		.entry = &tokio_entry_points,	\
		/* Trailer.owned (linked_list::Pointers, #[repr(C)] { prev, next }) first */	\
		.owned_links_off = 0,	\
		.future_in_cell = true,	\
		/*	\
		 * The blocking pool: spawn_blocking jobs, and each multi-thread	\
		 * worker's launch task, whose one poll is the worker's life.	\
		 */	\
		.blocking_future = "tokio::runtime::blocking::task::BlockingTask<",	\
		.worker_thread_name = thread_name_,	\
		/* BlockingTask<multi_thread::worker::launch::{{closure}}> */	\
		.worker_launch_future = "worker::launch",	\
		/* BlockingTask<multi_thread::worker::block_in_place::{{closure}}<F, R>> */	\
		.worker_handoff_future = "worker::block_in_place::{",	\
		\
}

static const struct runtime_desc descs[] = {
	TOKIO_DESC("1.24", "tokio-runtime-worker"),
	/* 1.53 renamed the worker threads (runtime/builder.rs) */
	TOKIO_DESC("1.53", "tokio-rt-worker"),
	{
		.name = "async-task 4",
		.kind = TS_RT_ASYNC_TASK,
		.crate = "async-task",
		/*
		 * rustc lays Header out as { vtable, state, awaiter } (checked
		 * against DWARF of a rustc 1.95 build); state bits SCHEDULED,
		 * RUNNING, COMPLETED first, the reference count from bit 8
		 * (state.rs).
		 */
		.layout = { .hdr_state_off = 8, .hdr_vtable_off = 0, .hdr_size = 16,
			    .ref_shift = 8, .running = 2, .complete = 4, .notified = 1 },
		/*
		 * TaskVTable { schedule, drop_future, get_output, drop_ref,
		 * destroy, run, clone_waker, layout_info } (same build);
		 * drop_future calls drop_in_place<F>. No task Id, no list of
		 * the tasks.
		 */
		.vtable = { .size = 64, .poll = 0x28, .dealloc = 0x20, .naming = 0x08 },
		.entry = &async_task_entry_points,
		.spawn_wrappers = { "async_executor::Executor::spawn<",
				    "async_executor::LocalExecutor::spawn<",
				    "async_std::task::builder::SupportTaskLocals<" },
		/* no thread name: the workers are the threads seen polling */
	},
	{
		/* tasks, polls, wakes and their ends all come from the probes */
		.name = "usdt",
		.kind = TS_RT_USDT,
		.abi_version = "abi 1",
	},
};

_Static_assert(ARRAY_SIZE(descs) <= TS_MAX_RUNTIME_DESCS,
	       "runtime_layouts[] in bpf/taskscope.h holds every descriptor");

size_t runtime_desc__count(void)
{
	return ARRAY_SIZE(descs);
}

const struct runtime_desc *runtime_desc__at(size_t idx)
{
	return idx < ARRAY_SIZE(descs) ? &descs[idx] : NULL;
}

uint32_t runtime_desc__index(const struct runtime_desc *d)
{
	return (uint32_t)(d - descs);
}

const struct runtime_desc *runtime_desc__first(enum ts_runtime kind)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(descs); i++)
		if (descs[i].kind == kind)
			return &descs[i];
	return NULL;
}

int runtime_version_cmp(const char *a, const char *b)
{
	while (*a || *b) {
		unsigned long x = strtoul(a, (char **)&a, 10);
		unsigned long y = strtoul(b, (char **)&b, 10);

		if (x != y)
			return x < y ? -1 : 1;
		/* past the dot, or stay at the end (or on what is not a number) */
		a += *a == '.';
		b += *b == '.';
		if ((*a && (*a < '0' || *a > '9')) || (*b && (*b < '0' || *b > '9')))
			break;
	}
	return 0;
}

const struct runtime_desc *runtime_desc__choose(enum ts_runtime kind, const char *version)
{
	const struct runtime_desc *best = NULL;
	size_t i;

	if (!version || !version[0])
		return runtime_desc__first(kind);
	for (i = 0; i < ARRAY_SIZE(descs); i++) {
		const struct runtime_desc *d = &descs[i];

		if (d->kind != kind)
			continue;
		if (d->since && runtime_version_cmp(d->since, version) > 0)
			continue;
		if (!best || !best->since ||
		    (d->since && runtime_version_cmp(d->since, best->since) > 0))
			best = d;
	}
	return best ? best : runtime_desc__first(kind);
}

static bool name_in(const char *const names[RUNTIME_MAX_NAMES], const char *name,
		    bool as_path)
{
	size_t i;

	for (i = 0; i < RUNTIME_MAX_NAMES && names[i]; i++)
		if (as_path ? ts_name_is(name, names[i]) : !strcmp(name, names[i]))
			return true;
	return false;
}

/* `Type<…>::method` or `<Type<…>>::method`: the method, or NULL. */
static const char *method_name(const char *dm, const char *type)
{
	size_t n = strlen(type);
	const char *p;

	if (*dm == '<')
		dm++;
	if (strncmp(dm, type, n) || dm[n] != '<')
		return NULL;
	p = strrchr(dm, ':');
	return p ? p + 1 : NULL;
}

enum runtime_entry runtime_entry__match(const struct runtime_entry_points *e,
					const char *demangled)
{
	const char *name = demangled;
	bool as_path = !e->method_of;

	if (!as_path) {
		name = method_name(demangled, e->method_of);
		if (!name)
			return RUNTIME_ENTRY_NONE;
	}
	if (name_in(e->poll, name, as_path))
		return RUNTIME_ENTRY_POLL;
	if (name_in(e->dealloc, name, as_path))
		return RUNTIME_ENTRY_DEALLOC;
	if (name_in(e->wake, name, as_path))
		return RUNTIME_ENTRY_WAKE;
	return RUNTIME_ENTRY_NONE;
}

bool runtime_entry__may_match(const struct runtime_entry_points *e, const char *mangled)
{
	return strstr(mangled, e->mangled_hint) != NULL;
}

bool runtime_entry__is_task_id_counter(const struct runtime_entry_points *e,
				       const char *demangled)
{
	return e->task_id_counter && ts_name_is(demangled, e->task_id_counter);
}

bool runtime_desc__is_worker_thread(const struct runtime_desc *d, const char *comm)
{
	/* TASK_COMM_LEN: the kernel keeps 15 bytes of a thread's name */
	return d && d->worker_thread_name && !strncmp(comm, d->worker_thread_name, 15);
}

bool runtime_desc__is_worker_launch(const struct runtime_desc *d, const char *future_type)
{
	return d && d->worker_launch_future && strstr(future_type, d->worker_launch_future);
}

bool runtime_desc__is_worker_handoff(const struct runtime_desc *d, const char *future_type)
{
	return d && d->worker_handoff_future && strstr(future_type, d->worker_handoff_future);
}

bool runtime_desc__is_blocking_future(const struct runtime_desc *d, const char *future_type)
{
	return d->blocking_future &&
	       !strncmp(future_type, d->blocking_future, strlen(d->blocking_future));
}

void runtime_desc__bpf_layouts(struct ts_runtime_layout *out, size_t max)
{
	size_t i;

	memset(out, 0, max * sizeof(*out));
	for (i = 0; i < ARRAY_SIZE(descs) && i < max; i++) {
		const struct runtime_desc *d = &descs[i];

		out[i].kind = d->kind;
		out[i].hdr_state_off = d->layout.hdr_state_off;
		out[i].hdr_vtable_off = d->layout.hdr_vtable_off;
		out[i].hdr_owner_off = d->layout.hdr_owner_off;
		out[i].vt_id_offset_slot = d->vtable.id_offset;
		out[i].state_running = d->layout.running;
		out[i].state_complete = d->layout.complete;
		out[i].state_notified = d->layout.notified;
	}
}
