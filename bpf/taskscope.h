/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The kernel/user contract: map keys, map values and task states.
 * Included by the BPF programs (after vmlinux.h) and by user space; it includes
 * nothing and uses fixed-width types only, so both sides see one layout.
 */
#ifndef TASKSCOPE_H
#define TASKSCOPE_H

#define TS_MAX_TASKS		32768
#define TS_MAX_WORKERS		4096
#define TS_MAX_PROCS		1024
#define TS_HIST_SLOTS		24	/* log2(poll duration in us), last slot is open-ended */

enum ts_task_state {
	TS_TASK_IDLE = 0,	/* waiting for a wake */
	TS_TASK_SCHEDULED = 1,	/* woken, not yet polled */
	TS_TASK_RUNNING = 2,	/* inside a poll */
	TS_TASK_DONE = 3,	/* deallocated (or completed) */
};

/* The kinds of runtime; each has one or more descriptors (user/runtime/runtime.c). */
enum ts_runtime {
	TS_RT_TOKIO = 0,	/* tokio::runtime::task, per release */
	TS_RT_ASYNC_TASK = 1,	/* async-task 4.x: async-std, smol */
	TS_RT_USDT = 2,		/* runtimes instrumented with usdt/taskscope.h */
};

/*
 * What the BPF programs need to read a task of one runtime descriptor:
 * user space fills the read-only array runtime_layouts[] (one entry per
 * descriptor, in the table's order) before load.
 */
#define TS_MAX_RUNTIME_DESCS	16

struct ts_runtime_layout {
	uint32_t kind;			/* enum ts_runtime */
	uint32_t hdr_state_off;		/* the state word, from the task header */
	uint32_t hdr_vtable_off;
	uint32_t hdr_owner_off;		/* 0: no owner id (tokio's blocking pool runs unowned) */
	uint32_t vt_id_offset_slot;	/* where the vtable keeps the Id's offset; 0: no task Id */
	uint32_t pad;
	uint64_t state_running;		/* state word bits */
	uint64_t state_complete;
	uint64_t state_notified;
};

/* The probes of usdt/taskscope.h (provider "taskscope"). */
enum ts_usdt_probe {
	TS_USDT_TASK_SPAWN = 1,	/* task_id, parent_id, name, location */
	TS_USDT_POLL_START,	/* task_id */
	TS_USDT_POLL_END,	/* task_id, ready */
	TS_USDT_WAKE,		/* task_id, waker_task_id */
	TS_USDT_TASK_DROP,	/* task_id */
	TS_USDT_RESOURCE_NEW,	/* res_id, kind, name, capacity */
	TS_USDT_WAIT_BEGIN,	/* task_id, res_id */
	TS_USDT_WAIT_END,	/* task_id, res_id */
	TS_USDT_ACQUIRE,	/* task_id, res_id */
	TS_USDT_RELEASE,	/* task_id, res_id */
	TS_USDT_CHANNEL_LEN,	/* res_id, len */
	TS_USDT_ABI_VERSION,	/* version */
};

#define TS_USDT_MAX_ARGS	4
#define TS_MAX_USDT_SITES	4096
#define TS_MAX_RESOURCES	4096
#define TS_MAX_USDT_TASKS	8192	/* names and spawn locations */
#define TS_NAME_LEN		48

/*
 * One probe site: which probe, and where its arguments are. Our ABI keeps
 * every argument in a register, so an argument is an offset into pt_regs.
 */
struct ts_usdt_arg {
	uint16_t reg_off;	/* offsetof(struct pt_regs, reg) */
	int8_t size;		/* bytes; negative when signed */
	uint8_t pad;
};

struct ts_usdt_site {
	uint32_t probe;		/* enum ts_usdt_probe */
	uint32_t nargs;
	struct ts_usdt_arg args[TS_USDT_MAX_ARGS];
};

/* What an instrumented runtime said about a task at spawn. */
struct ts_usdt_task_info {
	uint64_t parent_id;
	char name[TS_NAME_LEN];
	char location[64];
};

struct ts_res_key {
	uint32_t tgid;
	uint32_t pad;
	uint64_t res_id;
};

struct ts_resource {
	uint32_t kind;		/* TASKSCOPE_RES_* of usdt/taskscope.h */
	uint32_t waiters;	/* tasks between wait_begin and wait_end */
	uint64_t capacity;
	uint64_t len;		/* channel_len */
	uint64_t holder;	/* task that acquired it, 0 when free */
	uint64_t acquired_ns;
	char name[TS_NAME_LEN];
};

/*
 * A probe's cookie: the index of the probed function instance in the low
 * 32 bits; in the high 32, the runtime descriptor's index in
 * runtime_layouts[] and TS_COOKIE_F_* flags for the attached process.
 */
#define TS_COOKIE_F_NO_TASK_ID	0x10000u	/* vtables unconfirmed: read no Id through them */
#define TS_COOKIE(desc, idx)	(((uint64_t)(desc) << 32) | (uint32_t)(idx))
#define TS_COOKIE_DESC(c)	((uint32_t)((c) >> 32) & 0xffffu)
#define TS_COOKIE_FLAGS(c)	((uint32_t)((c) >> 32) & ~0xffffu)
#define TS_COOKIE_IDX(c)	((uint32_t)(c))

/*
 * Who spawned a tokio task: at the instruction after an inlined
 * `NEXT_ID.fetch_add(1)` (Id::next, a `lock xadd` into the counter), the
 * register named by the cookie's index holds the new task's Id, and the
 * task polled on this thread (if any) is its parent.
 */
#define TS_MAX_SPAWNS		32768

struct ts_spawn_key {
	uint32_t tgid;
	uint32_t pad;
	uint64_t task_id;		/* the child's */
};

struct ts_spawn {
	uint64_t parent_header;		/* 0: no task was being polled on the thread */
	uint64_t parent_id;		/* its Id, 0 when not read */
	uint32_t tid;			/* spawning thread */
	uint32_t pad;
	uint64_t ns;
};

/* Global event counters, a per-CPU array indexed by these. */
enum ts_counter {
	TS_CNT_POLLS = 0,
	TS_CNT_WAKES,
	TS_CNT_DEALLOCS,
	TS_CNT_SCHED_SWITCH,	/* switches that touched a worker thread */
	TS_CNT_TASK_INSERTS,	/* new task entries; minus live entries = LRU evictions */
	TS_CNT_TASK_INSERT_FAIL,
	TS_CNT_WORKER_INSERT_FAIL,
	TS_CNT_INFERRED_END,	/* poll ends inferred (no uretprobe) */
	TS_CNT_SPAWNS,		/* task Ids taken (spawn probes) */
	TS_CNT_REC_DROPPED,	/* record: events the ring buffer had no room for */
	TS_CNT_MAX,
};

/* A task is a task header address in a process (USDT runtimes: the task id). */
struct ts_task_key {
	uint32_t tgid;
	uint32_t pad;
	uint64_t header;
};

struct ts_task_stats {
	uint64_t first_seen_ns;		/* bpf_ktime_get_ns() clock */
	uint64_t last_transition_ns;	/* entered the current state */
	uint64_t wake_ns;		/* last wake that scheduled the task */
	uint64_t polls;
	uint64_t busy_ns;
	uint64_t scheduled_ns;		/* sum of wake -> poll start */
	uint64_t idle_ns;		/* sum of poll end -> wake */
	uint64_t wakes;
	uint64_t self_wakes;		/* woken by its own worker before it polled anything else */
	uint64_t max_poll_ns;
	uint64_t max_scheduled_ns;
	uint64_t poll_fn;		/* its poll probe's cookie, or TS_POLL_UNKNOWN */
	uint64_t task_id;		/* tokio task Id or USDT task id, 0 when not read */
	uint32_t state;			/* enum ts_task_state */
	uint32_t last_worker_tid;
	uint32_t generation;		/* bumped when a dealloc'd address is reused */
	uint32_t lost_wakes;		/* wakes pending when the task was deallocated */
	uint32_t woken_in_poll;		/* USDT: a wake arrived during the poll */
	uint32_t pad2;
	uint64_t waiting_res;		/* USDT: resource between wait_begin and wait_end */
	uint64_t wait_begin_ns;
	uint64_t vtable;		/* woken before any poll was seen: its vtable, to name it */
	uint32_t hist[TS_HIST_SLOTS];	/* poll durations, log2 microseconds */
};

/*
 * Lost wakes per future type: (process, poll function instance index), or
 * for a task never seen polled (woken and freed between attach and its
 * next poll) the runtime address of its vtable, which names its type.
 */
struct ts_type_key {
	uint32_t tgid;
	uint32_t poll_idx;	/* TS_POLL_UNKNOWN when the task was never polled */
	uint64_t vtable;	/* then: its vtable (runtime address), 0 unknown */
};

#define TS_POLL_UNKNOWN		0xffffffffu
#define TS_MAX_TYPES		4096

/* Per worker thread (any thread that polled a task), keyed by tid. */
struct ts_worker_state {
	uint32_t tgid;
	uint32_t depth;			/* 1 while a poll is open on this thread */
	uint32_t runtime_desc;		/* runtime_layouts[] index of the open poll */
	uint32_t pad;
	uint64_t header;		/* task being polled, 0 when none */
	uint64_t poll_start_ns;
	uint64_t offcpu_start_ns;	/* 0 while on CPU */
	uint64_t offcpu_in_poll_ns;	/* off-CPU time within the current poll */
	uint64_t polls;
	uint64_t busy_ns;		/* completed polls */
	uint64_t offcpu_poll_total_ns;	/* off-CPU time inside completed polls */
	uint64_t max_poll_ns;
	uint64_t max_poll_offcpu_ns;	/* off-CPU time of that longest poll */
	uint64_t max_poll_header;	/* task of that longest poll */
	uint64_t last_header;		/* task of the last finished poll */
	uint64_t last_end_ns;		/* when that poll ended */
	uint64_t first_seen_ns;
};

/* ---- sampled mode (bpf/sample.bpf.c) ------------------------------------
 * No trap on the hot path: a perf_event program on the software cpu-clock
 * reads, in the thread it interrupts, the id of the tokio task being
 * polled (the thread-local CONTEXT.current_task_id), and sched_switch reads
 * the same for the thread leaving the CPU.
 */
#define TS_MAX_SAMPLE_THREADS	4096
#define TS_MAX_SAMPLE_COUNTS	16384
#define TS_MAX_SAMPLE_IGNORED	4096
#define TS_CALIB_WORDS		16	/* words of CONTEXT looked at while calibrating */
#define TS_CALIB_SLOTS		512

/*
 * Where a watched process keeps the running task's id, per thread: the
 * Option<Id> is at fsbase + opt_off (x86-64 TLS variant II: the main
 * executable's block ends at fsbase, so opt_off is negative). Inside it,
 * the discriminant (tag_size bytes at tag_off, tag_none meaning None) and
 * the u64 id at id_off; a niche-encoded Option (NonZero id) has tag_off ==
 * id_off and tag_none 0. Both offsets are below 16.
 */
struct ts_tls_layout {
	int64_t opt_off;
	uint32_t tag_off;
	uint32_t tag_size;	/* 1, 2, 4 or 8 */
	uint64_t tag_none;
	uint32_t id_off;
	uint32_t calibrate;	/* 1: record CONTEXT's words instead (calibration) */
	int64_t sym_off;	/* calibration: fsbase + sym_off is CONTEXT itself */
};

/* Per thread of a watched process, keyed by tid. */
struct ts_sample_thread {
	uint32_t tgid;
	uint32_t pad;
	uint64_t base_task;		/* its id in sample_ignore: a worker's launch task */
	uint64_t samples;		/* samples that found it on a CPU */
	uint64_t poll_samples;		/* ... with a task id set: inside a poll */
	uint64_t offcpu_in_poll_ns;	/* switched out with a task id set, total */
	/*
	 * The current run: one task seen on every observation (sample or
	 * switch-out) of this thread since run_start_ns. A poll can't end
	 * while its thread is off the CPU, so off-CPU time inside the run is
	 * inside one poll; on-CPU, back-to-back polls of the same task with
	 * no observation between them read as one run.
	 */
	uint64_t task;			/* task id of the run, 0 none */
	uint64_t run_start_ns;
	uint64_t run_last_ns;		/* last observation inside it */
	uint64_t run_offcpu_ns;
	uint64_t offcpu_start_ns;	/* left the CPU inside the run, 0 on CPU */
	uint64_t max_run_ns;		/* longest closed run */
	uint64_t max_run_task;
	uint64_t max_run_offcpu_ns;
	uint64_t max_run_end_ns;
	uint64_t last_sample_ns;
};

/* Aggregates per (process, thread, task); tid 0 in the sample_ignore map. */
struct ts_sample_key {
	uint32_t tgid;
	uint32_t tid;
	uint64_t task;			/* tokio task id */
};

struct ts_sample_count {
	uint64_t samples;
	uint64_t offcpu_ns;		/* off-CPU inside its polls */
	uint64_t max_run_ns;		/* its longest closed run on this thread */
	uint64_t max_run_offcpu_ns;
	uint64_t last_ns;		/* last seen inside a poll */
};

enum ts_sample_counter {
	TS_SCNT_SAMPLES = 0,	/* perf_event runs, any process */
	TS_SCNT_WATCHED,	/* ... that interrupted a watched process */
	TS_SCNT_TLS_FAIL,	/* the thread-local could not be read */
	TS_SCNT_SWITCH_OUT,	/* watched threads leaving a CPU */
	TS_SCNT_MAX,
};

/* One calibration sample: CONTEXT's first words in thread tid (0: unreadable). */
struct ts_calib_sample {
	uint32_t tid;
	uint32_t pad;
	uint64_t words[TS_CALIB_WORDS];
};

/* ---- record (taskscope record) -----------------------------------------
 * While rec_tgid (the BPF object's .bss) names a process, the precise
 * probes also stream one event per poll start, poll end and wake of that
 * process through the rec_events ring buffer; a full ring counts
 * TS_CNT_REC_DROPPED. Every other mode pays one load and a branch.
 */
#define TS_REC_RING_BYTES	(4u << 20)

enum ts_rec_kind {
	TS_REC_POLL_START = 1,
	TS_REC_POLL_END = 2,
	TS_REC_WAKE = 3,
};

enum ts_rec_ready {
	TS_REC_PENDING = 0,
	TS_REC_READY = 1,	/* completed */
};

struct ts_rec_event {
	uint64_t ns;			/* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	uint64_t header;		/* the task polled, or woken */
	uint64_t task_id;		/* 0 unknown (poll end: see the start) */
	uint64_t waker_header;		/* wake: task polled on the waker's thread, 0 none */
	uint32_t kind;			/* enum ts_rec_kind */
	uint32_t tgid;
	uint32_t tid;			/* the polling thread, or the waking one */
	uint32_t cpu;
	uint32_t ready;			/* poll end: enum ts_rec_ready */
	uint32_t poll_idx;		/* poll start: its poll function instance, or TS_POLL_UNKNOWN */
};

/* ---- profile (taskscope profile, issue 14) ------------------------------
 * Where the time of a process's tasks goes, per await point, aggregated in
 * the kernel. From DWARF, user space describes every task future's state
 * machine: at a poll's start, BPF reads the discriminant of the task's
 * future, finds the `.await` it is suspended at (an await point id) and
 * the future it awaits there, and so down to TS_PROF_MAX_DEPTH levels.
 * That path is the key of per-process wait and busy statistics. The
 * programs do this only while profile_on (.bss) is set.
 */
#define TS_PROF_MAX_DEPTH	8
#define TS_PROF_MAX_POLLS	4096		/* = raw::poll instances: the cookie's index */
#define TS_PROF_MAX_SMS		16384		/* state machine types */
#define TS_PROF_MAX_SUSPENDS	65536		/* (state machine, Suspend<N> discriminant) */
#define TS_PROF_MAX_PATHS	16384
#define TS_PROF_HIST_SLOTS	32		/* log2(wait in us) */
#define TS_PROF_NONE		0xffffffffu	/* no state machine: a leaf, or no DWARF */

/* Per poll instance (the cookie's index): where the task's future is. */
struct ts_prof_poll {
	uint32_t sm;		/* its state machine's index, TS_PROF_NONE: not one / no DWARF */
	uint32_t pad;
	uint64_t future_off;	/* from the task header: Cell.core.stage's Running payload */
};

/* Per state machine type: where its discriminant (`__state`) is. */
struct ts_prof_sm {
	uint32_t discr_off;
	uint32_t discr_size;	/* 1, 2, 4 or 8 */
};

/* A suspension point: state machine sm with discriminant discr (a Suspend<N>). */
struct ts_prof_suspend_key {
	uint32_t sm;
	uint32_t discr;
};

struct ts_prof_suspend {
	uint32_t await_id;	/* index into user space's await point table */
	uint32_t next_sm;	/* the awaitee's state machine, TS_PROF_NONE: a leaf */
	uint64_t awaitee_off;	/* of `__awaitee`, from the start of this state machine */
};

/* Where a task of one process was suspended: the key of prof_stats. */
struct ts_prof_key {
	uint32_t tgid;
	uint32_t poll_idx;	/* the task's future type (poll instance) */
	uint32_t depth;		/* ids used; 0: not at an await (first poll) */
	uint32_t pad;
	uint32_t ids[TS_PROF_MAX_DEPTH];	/* await ids, outermost first */
};

/* Per task (keyed like tasks): the path it resumed from, when it suspended. */
struct ts_prof_task {
	struct ts_prof_key path;	/* read at the current / last poll's start */
	uint64_t suspend_ns;		/* end of its last poll, 0: none seen */
};

struct ts_prof_stats {
	uint64_t waits;			/* suspensions at this path that were resumed */
	uint64_t wait_ns;		/* suspended (poll end) -> next poll start, summed */
	uint64_t max_wait_ns;
	uint64_t polls;			/* polls that resumed from this path */
	uint64_t busy_ns;		/* their durations */
	uint64_t max_busy_ns;
	uint64_t queued_ns;		/* of wait_ns: woken -> polled (run queue), when the wake was seen */
	uint32_t hist[TS_PROF_HIST_SLOTS];	/* waits, log2 microseconds */
};

#endif /* TASKSCOPE_H */
