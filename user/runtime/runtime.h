/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What taskscope knows of each runtime it observes: one descriptor per
 * runtime, and for tokio one per release whose task internals changed.
 * A descriptor says where a task header keeps its fields and what its state
 * bits mean, where the task vtable keeps its slots, which functions are
 * probed, how worker threads are named and how the owned-task list is
 * linked. The binary's runtime and version choose one (runtime_binary.c);
 * the BPF side gets what it needs of every descriptor as read-only data
 * (struct ts_runtime_layout in bpf/taskscope.h). Observing a new runtime or
 * a tokio release with other internals is adding an entry to the table in
 * runtime.c.
 */
#ifndef TS_RUNTIME_H
#define TS_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "taskscope.h"

/* Where a runtime keeps a task's fields, from its header address. */
struct task_layout {
	uint32_t hdr_state_off;
	uint32_t hdr_vtable_off;
	uint32_t hdr_size;		/* bytes read per header */
	uint32_t ref_shift;		/* reference count starts at this bit */
	/*
	 * Owner id (tokio: the OwnedTasks list a task is bound to); 0 when the
	 * runtime has none. Unowned tokio tasks are the blocking pool's.
	 */
	uint32_t hdr_owner_off;
	uint64_t running, complete, notified;	/* state word bits */
};

/* A task's state from its header's state word, as the layout's bits say. */
static inline enum ts_task_state task_layout__state(const struct task_layout *l, uint64_t w)
{
	if (w & l->complete)
		return TS_TASK_DONE;
	if (w & l->running)
		return TS_TASK_RUNNING;
	if (w & l->notified)
		return TS_TASK_SCHEDULED;
	return TS_TASK_IDLE;
}

/*
 * Byte offsets of a task vtable's slots (tokio `raw::Vtable`, async-task
 * `TaskVTable`). Each vtable found is checked by its dealloc slot, so a
 * reordering by rustc is detected, not trusted.
 */
struct task_vtable_slots {
	uint32_t size;			/* bytes */
	uint32_t poll;			/* the probed poll function */
	uint32_t dealloc;		/* frees the task */
	uint32_t naming;		/* a function whose drop glue names the future type */
	/* offsets from the header, stored in the vtable; 0: the runtime has none */
	uint32_t trailer_offset;
	uint32_t scheduler_offset;
	uint32_t id_offset;		/* the task Id: the BPF side reads Ids through it */
};

/* Room for the names of one kind of entry point (NULL-terminated). */
#define RUNTIME_MAX_NAMES	3

enum runtime_entry {
	RUNTIME_ENTRY_NONE = 0,
	RUNTIME_ENTRY_POLL,		/* first argument: the task header */
	RUNTIME_ENTRY_DEALLOC,		/* frees the task */
	RUNTIME_ENTRY_WAKE,		/* by value or by reference */
};

/* The functions probed, by demangled name. */
struct runtime_entry_points {
	/* in the mangled name of each of them: a cheap filter before demangling */
	const char *mangled_hint;
	/*
	 * NULL: the names below are paths (matched with ts_name_is, generic
	 * arguments allowed). Otherwise the generic type whose methods they
	 * are: `async_task::raw::RawTask<F, T, S>::run`.
	 */
	const char *method_of;
	const char *poll[RUNTIME_MAX_NAMES];
	const char *dealloc[RUNTIME_MAX_NAMES];
	const char *wake[RUNTIME_MAX_NAMES];
	/* the static holding the next task Id (an object, not probed); NULL: none */
	const char *task_id_counter;
};

struct runtime_desc {
	const char *name;		/* "tokio 1.24": runtime and first release */
	enum ts_runtime kind;
	/* its panic-location strings read "/<crate>-X.Y.Z/": the version */
	const char *crate;
	/* first release this describes (NULL: all); the newest one <= the binary's wins */
	const char *since;
	struct task_layout layout;
	struct task_vtable_slots vtable;
	const struct runtime_entry_points *entry;
	/*
	 * The owned-task list (tokio OwnedTasks), when vtable.trailer_offset
	 * is set: where in the trailer a task's links sit, two pointers to the
	 * neighbouring headers.
	 */
	uint32_t owned_links_off;
	/*
	 * Drop glue names the future type: of the task cell whose first generic
	 * argument it is (tokio `Cell<T, S>`), or of the future itself, with
	 * the wrappers the front ends add around it.
	 */
	bool future_in_cell;
	const char *spawn_wrappers[RUNTIME_MAX_NAMES];
	/* future types that run long by design, not async work (prefix) */
	const char *blocking_future;
	/* its worker threads' name as spawned (the kernel keeps 15 bytes); NULL: unnamed */
	const char *worker_thread_name;
	/*
	 * In the future type of the task a worker thread runs its whole life
	 * in (tokio: one per multi-thread worker, in the blocking pool), so
	 * workers are counted from memory; NULL: none.
	 */
	const char *worker_launch_future;
	/*
	 * The same for a worker handed to a new thread by block_in_place (the
	 * old thread stays inside its poll meanwhile); NULL: none.
	 */
	const char *worker_handoff_future;
	const char *abi_version;	/* USDT: the probe ABI, shown as the version */
};

/* The descriptor table, in a fixed order: an index is its BPF-side identity. */
size_t runtime_desc__count(void);
const struct runtime_desc *runtime_desc__at(size_t idx);
/* Index of d in the table (the probe cookie carries it). */
uint32_t runtime_desc__index(const struct runtime_desc *d);

/* The oldest descriptor of a runtime kind, NULL when there is none. */
const struct runtime_desc *runtime_desc__first(enum ts_runtime kind);
/*
 * The descriptor for a binary of runtime kind whose crate is at version
 * ("1.24.2"; "" or NULL when unknown): the newest whose `since` is not
 * after the version, else the oldest of that kind. Pure.
 */
const struct runtime_desc *runtime_desc__choose(enum ts_runtime kind, const char *version);

/* Which entry point a demangled function name is under e. Pure. */
enum runtime_entry runtime_entry__match(const struct runtime_entry_points *e,
					const char *demangled);
/* True when a mangled name may be one of e's entry points (before demangling). */
bool runtime_entry__may_match(const struct runtime_entry_points *e, const char *mangled);
/* True when a demangled object name is e's task Id counter. Pure. */
bool runtime_entry__is_task_id_counter(const struct runtime_entry_points *e,
				       const char *demangled);

/* True when a thread's comm (as /proc shows it) is one of d's workers. Pure. */
bool runtime_desc__is_worker_thread(const struct runtime_desc *d, const char *comm);
/* True when a future type or name is d's worker launch task. Pure. */
bool runtime_desc__is_worker_launch(const struct runtime_desc *d, const char *future_type);
/*
 * True when it is the task block_in_place runs a worker in on a new
 * thread; its type names the caller's closure:
 * BlockingTask<worker::block_in_place::{closure}<app::f::{closure}, R>>. Pure.
 */
bool runtime_desc__is_worker_handoff(const struct runtime_desc *d, const char *future_type);
/* True when a future type runs long by design under d (a blocking task). Pure. */
bool runtime_desc__is_blocking_future(const struct runtime_desc *d, const char *future_type);

/* What the BPF side needs of every descriptor, in table order. */
void runtime_desc__bpf_layouts(struct ts_runtime_layout *out, size_t max);

/* Compares dotted versions numerically ("1.9" < "1.24.2"); a missing part is 0. Pure. */
int runtime_version_cmp(const char *a, const char *b);

#endif
