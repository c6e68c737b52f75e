/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Where a suspended tokio task waits, from DWARF and read-only memory: the
 * chain of async state machines from the task's future down to the leaf
 * future it awaits (a timer, a semaphore, a channel...), each frame with
 * the source line of its current `.await` and the variables it holds.
 *
 * The future is at Cell.core.stage (Stage::Running); each state machine's
 * `__state` picks the variant, whose `__awaitee` is the next future. The
 * rustc encodings this relies on are listed in dwarf_types.h.
 */
#ifndef TS_AWAIT_CHAIN_H
#define TS_AWAIT_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TS_CHAIN_MAX_FRAMES	16
#define TS_CHAIN_MAX_VARS	16
#define TS_CHAIN_MAX_HOLDS	16

struct json_writer;
struct ts_dwarf;	/* one per binary: DWARF indexed once, types cached; one thread at a time */

enum ts_chain_status {
	TS_CHAIN_SUSPENDED,	/* future polled at least once, parked at an await */
	TS_CHAIN_UNRESUMED,	/* spawned, never polled yet */
	TS_CHAIN_FINISHED,	/* Stage::Finished: output waiting for the JoinHandle */
	TS_CHAIN_CONSUMED,	/* Stage::Consumed */
	TS_CHAIN_NO_TYPE,	/* no DWARF for this task's future */
	TS_CHAIN_UNREADABLE,	/* the task's memory could not be read */
};

enum ts_leaf_kind {
	TS_LEAF_UNKNOWN,	/* a future this code doesn't know */
	TS_LEAF_TIMER,		/* tokio::time::Sleep */
	TS_LEAF_IO,		/* I/O readiness (ScheduledIo) */
	TS_LEAF_SEMAPHORE,	/* batch_semaphore::Acquire on a Semaphore */
	TS_LEAF_MUTEX,		/* ... for a tokio Mutex */
	TS_LEAF_RWLOCK,		/* ... for a tokio RwLock */
	TS_LEAF_CHAN_RECV,	/* mpsc/oneshot/broadcast/watch receive */
	TS_LEAF_CHAN_SEND,	/* bounded mpsc send (waits for capacity) */
	TS_LEAF_JOIN,		/* a JoinHandle: waits for another task */
	TS_LEAF_YIELD,		/* yield_now: runnable again at once */
	TS_LEAF_NOTIFY,		/* tokio::sync::Notify */
	TS_LEAF_PENDING,	/* std::future::pending: never completes */
	TS_LEAF_UNREADABLE,	/* memory or type ran out before a leaf */
	TS_LEAF_NONE,		/* no leaf: task not suspended (see status) */
};

struct ts_await_var {
	char name[32];
	char value[64];		/* "42", "true", "\"alice\"", "0x7f..", "mutex guard 0x.." */
};

struct ts_await_frame {
	char func[192];		/* readable: "await_nested::db_query" */
	char file[128];		/* "src/main.rs"; "tokio-1.24.2/src/sync/mutex.rs" */
	const char *path;	/* as DWARF names it (interned), NULL unknown: to read the line */
	uint32_t line;		/* of the current .await; 0 for wrappers (Timeout...). An
				   await inside a macro (join!) has the macro's line in
				   DWARF: then the fn's own line, the macro's in note */
	char variant[24];	/* "Suspend0"; a wrapper's active enum variant, or "" */
	bool external;		/* in a dependency or std, not the program's own crate */
	bool wrapper;		/* not a state machine: a combinator holding the next future */
	char note[96];		/* "delay: fires in 29 min 58 s", "2 of 3 branches pending" */
	uint64_t addr;		/* runtime address of this future */
	int nvars;
	struct ts_await_var vars[TS_CHAIN_MAX_VARS];
};

/*
 * What a leaf waits on or a hold holds, as a resource: the sync object
 * itself, told by the types around it (tokio 1.24-1.53 names).
 */
struct ts_await_object {
	const char *kind;	/* static: "mutex", "rwlock", "semaphore", "mpsc",
				   "mpsc unbounded", "oneshot", "watch", "broadcast",
				   "notify"; NULL when not one of them */
	char type[96];		/* readable: "Mutex<u64>", "mpsc::channel<app::Job>" */
	bool has_len;		/* mpsc: capacity and length read from the channel */
	uint64_t capacity;	/* 0: unbounded */
	uint64_t len;		/* messages queued (bounded: permits taken) */
	bool has_senders;	/* mpsc: the channel's count of live Senders */
	uint64_t senders;
};

struct ts_await_leaf {
	enum ts_leaf_kind kind;
	char type_name[192];	/* readable type: "tokio::time::Sleep" */
	char detail[96];	/* "fires in 27.7 s", "waiting on mutex 0x7f..a0" */
	uint64_t addr;		/* runtime address of the leaf future */
	uint64_t object;	/* semaphore/mutex/channel/task header awaited; 0 unknown */
	bool has_deadline;
	int64_t remaining_ns;	/* timer: deadline - now on CLOCK_MONOTONIC; < 0 overdue */
	struct ts_await_object obj;	/* object as a resource (kind NULL: not one) */
};

/* Something a frame holds that other tasks may wait for. */
enum ts_hold_kind {
	TS_HOLD_MUTEX_GUARD,	/* tokio MutexGuard (object: the Mutex) */
	TS_HOLD_RWLOCK_GUARD,	/* object: the RwLock */
	TS_HOLD_PERMIT,		/* SemaphorePermit (object: the Semaphore) */
	TS_HOLD_SENDER,		/* a tokio channel's Sender (object: the channel) */
	TS_HOLD_RECEIVER,	/* ... Receiver; a receive leaf's object is the same address */
};

struct ts_await_hold {
	enum ts_hold_kind kind;
	uint64_t object;
	int frame;		/* index into frames */
	char var[32];
	struct ts_await_object obj;
};

struct ts_await_chain {
	enum ts_chain_status status;
	bool running;		/* RUNNING bit set when read: being polled, may be mid-change */
	int nframes;
	struct ts_await_frame frames[TS_CHAIN_MAX_FRAMES];
	struct ts_await_leaf leaf;
	bool truncated;		/* depth limit or a cycle cut the walk */
	int nholds;
	struct ts_await_hold holds[TS_CHAIN_MAX_HOLDS];
	char future_type[192];	/* readable name of the task's future (T) */
};

/*
 * 0 ok; -ENODATA when no usable DWARF: `why` then says what is missing and
 * how to get it, in one line. debuginfo_path NULL looks in the ELF itself,
 * then .gnu_debuglink next to it and under /usr/lib/debug, then
 * /usr/lib/debug/.build-id/xx/yyyy.debug.
 */
int ts_dwarf__open(const char *elf_path, const char *debuginfo_path, struct ts_dwarf **out,
		   char *why, size_t whylen);
void ts_dwarf__close(struct ts_dwarf *dw);
/* Readable name of the future type T of the raw::poll instance at poll_fn_vaddr. */
int ts_dwarf__future_name(struct ts_dwarf *dw, uint64_t poll_fn_vaddr, char *buf, size_t len);
/*
 * Fills out for the task whose Header is at header_addr in pid.
 * poll_fn_vaddr: ELF st_value of its raw::poll instance; load_bias: runtime
 * address minus ELF vaddr. Returns 0 (see out->status), -ENOENT when the
 * DWARF has no such poll instance. Never faults on unreadable memory: the
 * chain then ends with a TS_LEAF_UNREADABLE leaf.
 */
int ts_dwarf__task_chain(struct ts_dwarf *dw, pid_t pid, uint64_t load_bias, uint64_t poll_fn_vaddr,
			 uint64_t header_addr, struct ts_await_chain *out);
/*
 * Where the future of a task polled by the raw::poll instance at
 * poll_fn_vaddr is: its offset from the task header (Stage::Running's
 * payload) and its DWARF type (DIE offset). -ENOENT when DWARF lacks it.
 */
int ts_dwarf__poll_future(struct ts_dwarf *dw, uint64_t poll_fn_vaddr, uint64_t *future_off,
			  uint64_t *type_off);
/* Offset of member in the structure named struct_name (qualified), e.g.
 * ("tokio::runtime::task::raw::Vtable", "poll"). */
int ts_dwarf__member_offset(struct ts_dwarf *dw, const char *struct_name, const char *member,
			    uint64_t *off);

/* The tree, one line per frame and one for the leaf. Returns length. */
int ts_await_chain__format(const struct ts_await_chain *c, char *buf, size_t len);
/* The same with each frame's captured variables under it (`--task ID`). */
int ts_await_chain__format_detail(const struct ts_await_chain *c, char *buf, size_t len);

/*
 * The chain as one JSON object value, the text view's model:
 * {"status","running","truncated","future","frames":[{"func","file","line",
 * "variant","external","wrapper","addr","vars":{name:value}}],"leaf":{"kind",
 * "type","detail","addr","object","remaining_s"?},"holds":[{"kind","object",
 * "frame","var"}]}. Addresses are "0x..." strings.
 */
void ts_await_chain__json(const struct ts_await_chain *c, struct json_writer *jw);

/* --- pure helpers, exposed for tests ------------------------------------ */

/*
 * A DWARF type path as a person reads it: "app::f::{async_fn_env#0}" ->
 * "app::f"; "{async_block_env#N}" -> "{async block}"; "{closure_env#N}" ->
 * "{closure}"; "{impl#N}" -> self_type when given (else dropped), the
 * env's generic arguments then dropped too.
 */
void ts_await_readable_name(const char *qname, const char *self_type, char *out, size_t len);
/*
 * A DW_AT_decl_file path as shown: from the crate's "src/" on for the
 * program's own code; "tokio-1.24.2/src/..." (crate dir kept) for a cargo
 * registry crate, "core/src/..." for std. Sets *external for the latter.
 */
void ts_await_short_path(const char *path, char *out, size_t len, bool *external);
/* "fires in 27.7 s" / "overdue by 3.0 s" / "fires in 59 min 58 s". */
void ts_await_format_remaining(int64_t remaining_ns, char *out, size_t len);
const char *ts_leaf_kind_str(enum ts_leaf_kind kind);
/*
 * What a future waits on by its type alone (no memory): the rules of the
 * chain walk's leaf classification, for tables built ahead of time
 * (profile). outer_qname: the state machine awaiting it (tells a mutex's
 * Acquire from a semaphore's, an mpsc recv's PollFn), may be NULL.
 * TS_LEAF_UNKNOWN when none applies.
 */
enum ts_leaf_kind ts_leaf_kind_of_type(const char *qname, const char *outer_qname);
const char *ts_chain_status_str(enum ts_chain_status status);
const char *ts_hold_kind_str(enum ts_hold_kind kind);

#endif
