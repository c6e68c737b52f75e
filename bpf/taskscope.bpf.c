// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Task state machine for every observed runtime (tokio, async-task, USDT),
 * fed by uprobes on the task vtable and waker functions, by USDT probes and
 * by sched_switch. Everything is aggregated here; user space only reads the
 * maps.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "taskscope.h"
#include "bits.bpf.h"
#include "maps.bpf.h"
#include "profile.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define SELF_WAKE_WINDOW_NS	(100 * 1000)

/*
 * Where each runtime keeps a task's state word, vtable and owner, and what
 * the state bits mean: one entry per runtime descriptor, filled by user
 * space from user/runtime/runtime.c before load. A probe's cookie names
 * the entry.
 */
const volatile struct ts_runtime_layout runtime_layouts[TS_MAX_RUNTIME_DESCS] = {};

static __always_inline const volatile struct ts_runtime_layout *runtime_layout(u32 desc)
{
	if (desc >= TS_MAX_RUNTIME_DESCS)
		return NULL;
	return &runtime_layouts[desc];
}

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TS_MAX_TASKS);
	__type(key, struct ts_task_key);
	__type(value, struct ts_task_stats);
} tasks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TS_MAX_WORKERS);
	__type(key, u32);
	__type(value, struct ts_worker_state);
} workers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TS_MAX_TYPES);
	__type(key, struct ts_type_key);
	__type(value, u64);
} lost_wakes SEC(".maps");

/* USDT probe sites, indexed by the cookie's low half (user space fills it). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TS_MAX_USDT_SITES);
	__type(key, u32);
	__type(value, struct ts_usdt_site);
} usdt_sites SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TS_MAX_USDT_TASKS);
	__type(key, struct ts_task_key);
	__type(value, struct ts_usdt_task_info);
} usdt_tasks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TS_MAX_RESOURCES);
	__type(key, struct ts_res_key);
	__type(value, struct ts_resource);
} resources SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TS_MAX_SPAWNS);
	__type(key, struct ts_spawn_key);
	__type(value, struct ts_spawn);
} spawns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TS_CNT_MAX);
	__type(key, u32);
	__type(value, u64);
} counters SEC(".maps");

static __always_inline void count(u32 which)
{
	u64 *c = bpf_map_lookup_elem(&counters, &which);

	if (c)
		*c += 1;
}

/* ---- record: events of one process through a ring buffer (taskscope.h) ---- */

/* user space sizes it before load: one page unless recording (--ring-kb) */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, TS_REC_RING_BYTES);
} rec_events SEC(".maps");

/*
 * The process recorded, 0 none: set before load by taskscope record, which
 * loads its own object. Read-only data, so that in every other object the
 * verifier sees 0 and drops the record code: they pay nothing for it.
 */
const volatile __u32 rec_tgid = 0;

static __always_inline struct ts_rec_event *rec_reserve(u32 kind, u32 tgid, u64 header, u64 now)
{
	struct ts_rec_event *e;

	e = bpf_ringbuf_reserve(&rec_events, sizeof(*e), 0);
	if (!e) {
		count(TS_CNT_REC_DROPPED);
		return NULL;
	}
	e->ns = now;
	e->header = header;
	e->task_id = 0;
	e->waker_header = 0;
	e->kind = kind;
	e->tgid = tgid;
	e->tid = (u32)bpf_get_current_pid_tgid();
	e->cpu = bpf_get_smp_processor_id();
	e->ready = TS_REC_PENDING;
	e->poll_idx = TS_POLL_UNKNOWN;
	return e;
}

/*
 * Submits without waking the consumer, which drains the ring on a short
 * timer anyway: a wake-up per event (the default when the consumer has
 * caught up) costs the traced thread an irq_work each time. Past a quarter
 * full, it is woken at once, so that a small ring (--ring-kb) is drained
 * before it overflows.
 */
static __always_inline void rec_submit(struct ts_rec_event *e)
{
	u64 avail = bpf_ringbuf_query(&rec_events, BPF_RB_AVAIL_DATA);
	u64 size = bpf_ringbuf_query(&rec_events, BPF_RB_RING_SIZE);

	bpf_ringbuf_submit(e, avail > size / 4 ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

static __always_inline void rec_poll_start(u32 tgid, u64 header, u64 task_id, u64 cookie,
					   u64 now)
{
	struct ts_rec_event *e;

	if (rec_tgid != tgid)
		return;
	e = rec_reserve(TS_REC_POLL_START, tgid, header, now);
	if (!e)
		return;
	e->task_id = task_id;
	/* names a task spawned since user space's last snapshot */
	e->poll_idx = TS_COOKIE_IDX(cookie);
	rec_submit(e);
}

static __always_inline void rec_wake(u32 tgid, u64 header, u64 task_id,
				     const struct ts_worker_state *waker, u64 now)
{
	struct ts_rec_event *e;

	if (rec_tgid != tgid)
		return;
	e = rec_reserve(TS_REC_WAKE, tgid, header, now);
	if (!e)
		return;
	e->task_id = task_id;
	/* the flow's start: the poll open on the waking thread, if any */
	if (waker && waker->depth && waker->tgid == tgid)
		e->waker_header = waker->header;
	rec_submit(e);
}

/* Histogram slot of a poll duration: log2 of microseconds, the last open-ended. */
static __always_inline u32 poll_hist_slot(u64 dur_ns)
{
	u32 slot = log2_u64(dur_ns / 1000);

	return slot < TS_HIST_SLOTS - 1 ? slot : TS_HIST_SLOTS - 1;
}

/*
 * A new task entry's first value, never written: built on the stack it
 * would take 280 of poll_begin's 512 bytes, which profile and record
 * need too.
 */
struct ts_task_stats task_stats_zero = {};

static __always_inline struct ts_task_stats *
task_lookup_or_init(struct ts_task_key *key, u64 now)
{
	struct ts_task_stats *t;
	long err;

	/* the hit is the hot path (every poll): build the entry only on a miss */
	t = bpf_map_lookup_elem(&tasks, key);
	if (t)
		return t;
	err = bpf_map_update_elem(&tasks, key, &task_stats_zero, BPF_NOEXIST);
	t = err && err != -EEXIST ? NULL : bpf_map_lookup_elem(&tasks, key);
	if (!t) {
		count(TS_CNT_TASK_INSERT_FAIL);
		return NULL;
	}
	/*
	 * Ours (not another CPU's, inserted meanwhile): fill it in. A probe
	 * of the same task on another CPU in between would see zeros for an
	 * instant (poll_fn 0 instead of unknown), which it only reads to
	 * skip naming work.
	 */
	if (!err) {
		count(TS_CNT_TASK_INSERTS);
		t->first_seen_ns = now;
		t->last_transition_ns = now;
		t->state = TS_TASK_IDLE;
		t->poll_fn = TS_POLL_UNKNOWN;
	}
	return t;
}

/* Woken, then freed without another poll: whoever woke it waited for nothing. */
static __always_inline void count_lost_wake(u32 tgid, struct ts_task_stats *t)
{
	struct ts_type_key k = { .tgid = tgid, .poll_idx = TS_COOKIE_IDX(t->poll_fn) };
	u64 zero = 0, *c;

	if (k.poll_idx == TS_POLL_UNKNOWN)
		k.vtable = t->vtable;

	t->lost_wakes++;
	c = bpf_map_lookup_or_try_init(&lost_wakes, &k, &zero);
	if (c)
		__sync_fetch_and_add(c, 1);
}

/* A freed header address can be handed to a new task by the allocator. */
static __always_inline void task_reincarnate(u32 tgid, struct ts_task_stats *t, u64 now)
{
	u32 gen = t->generation + 1;

	if (t->state == TS_TASK_SCHEDULED)
		count_lost_wake(tgid, t);
	__builtin_memset(t, 0, sizeof(*t));
	t->generation = gen;
	t->first_seen_ns = now;
	t->last_transition_ns = now;
}

static __always_inline void poll_finish(struct ts_worker_state *w, u32 tgid, u64 now,
					int usdt_ready);

/*
 * How the poll open on w ended, for the record: the USDT runtime says it,
 * else the state word's COMPLETE bit (read again here so that
 * poll_finish stays as it is; only a recording pays the read).
 */
static __always_inline void rec_poll_end(const struct ts_worker_state *w, u32 tgid, u64 now,
					 int usdt_ready)
{
	const volatile struct ts_runtime_layout *l;
	struct ts_rec_event *e;
	u64 state_word = 0;

	if (rec_tgid != tgid)
		return;
	e = rec_reserve(TS_REC_POLL_END, tgid, w->header, now);
	if (!e)
		return;
	l = runtime_layout(w->runtime_desc);
	if (usdt_ready >= 0)
		e->ready = usdt_ready ? TS_REC_READY : TS_REC_PENDING;
	else if (l && !bpf_probe_read_user(&state_word, sizeof(state_word),
					   (void *)(w->header + l->hdr_state_off)) &&
		 (state_word & l->state_complete))
		e->ready = TS_REC_READY;
	rec_submit(e);
}

/*
 * The task Id (tokio): header -> vtable -> id_offset -> Id; 0 when there
 * is none. It tells a new task in a reused cell apart.
 */
static __always_inline u64 read_task_id(u64 header, u64 cookie,
					const volatile struct ts_runtime_layout *l)
{
	u64 vtable = 0, id_off = 0, id = 0, slot = l->vt_id_offset_slot;

	if (!slot || (TS_COOKIE_FLAGS(cookie) & TS_COOKIE_F_NO_TASK_ID))
		return 0;
	if (bpf_probe_read_user(&vtable, sizeof(vtable), (void *)(header + l->hdr_vtable_off)))
		return 0;
	if (bpf_probe_read_user(&id_off, sizeof(id_off), (void *)(vtable + slot)))
		return 0;
	if (id_off > 4096 || bpf_probe_read_user(&id, sizeof(id), (void *)(header + id_off)))
		return 0;
	return id;
}

/*
 * tokio's blocking pool runs its tasks unowned (Header.owner_id 0 / None,
 * every release 1.24-1.53): spawn_blocking jobs, and each worker thread's
 * launch task, whose one poll is the worker's whole life. They run long by
 * design and are not async tasks: leave them out, or every worker looks
 * blocked. Spawned tasks are bound to an owner before their first poll.
 */
static __always_inline bool task_unowned(u64 header, const volatile struct ts_runtime_layout *l)
{
	u64 owner = 0, off = l->hdr_owner_off;

	if (!off)
		return false;	/* the runtime has no owner field */
	if (bpf_probe_read_user(&owner, sizeof(owner), (void *)(header + off)))
		return false;
	return owner == 0;
}

static __always_inline void poll_begin(u64 header, u64 cookie)
{
	u64 pid_tgid = bpf_get_current_pid_tgid();
	u32 tid = (u32)pid_tgid, tgid = pid_tgid >> 32, desc = TS_COOKIE_DESC(cookie);
	const volatile struct ts_runtime_layout *l = runtime_layout(desc);
	struct ts_task_key key = { .tgid = tgid, .header = header };
	struct ts_worker_state *w, winit;
	struct ts_task_stats *t;
	u64 now = bpf_ktime_get_ns(), id;

	if (!l || task_unowned(header, l))
		return;
	count(TS_CNT_POLLS);
	w = bpf_map_lookup_elem(&workers, &tid);
	if (!w) {
		__builtin_memset(&winit, 0, sizeof(winit));
		winit.tgid = tgid;
		winit.first_seen_ns = now;
		w = bpf_map_lookup_or_try_init(&workers, &tid, &winit);
		if (!w) {
			count(TS_CNT_WORKER_INSERT_FAIL);
			return;
		}
	}
	if (w->depth) {
		/* no uretprobe: the previous poll on this thread ended by now */
		count(TS_CNT_INFERRED_END);
		poll_finish(w, tgid, now, -1);
	}
	w->depth = 1;
	w->runtime_desc = desc;
	w->header = header;
	w->poll_start_ns = now;
	w->offcpu_start_ns = 0;
	w->offcpu_in_poll_ns = 0;

	t = task_lookup_or_init(&key, now);
	if (!t)
		return;
	/*
	 * A finished task is often freed inside its last poll by a direct
	 * call (Harness::dealloc), which no probe sees; a cell reused for
	 * another future type gives itself away by its poll instance.
	 */
	/* USDT runtimes name tasks by id: the "header" is the id */
	id = l->kind == TS_RT_USDT ? header : read_task_id(header, cookie, l);
	if (t->state == TS_TASK_DONE || (t->polls && t->poll_fn != cookie) ||
	    (id && t->task_id && id != t->task_id))
		task_reincarnate(tgid, t, now);
	t->task_id = id;
	if (t->state == TS_TASK_SCHEDULED) {
		u64 waited = now - t->wake_ns;

		t->scheduled_ns += waited;
		if (waited > t->max_scheduled_ns)
			t->max_scheduled_ns = waited;
	} else if (t->state == TS_TASK_IDLE && t->polls) {
		/* woken by a path we do not trace (e.g. spawn, defer) */
		t->idle_ns += now - t->last_transition_ns;
	}
	t->state = TS_TASK_RUNNING;
	t->last_transition_ns = now;
	t->last_worker_tid = tid;
	t->poll_fn = cookie;
	rec_poll_start(tgid, header, id, cookie, now);
	if (l->kind == TS_RT_TOKIO)
		profile_poll_begin(tgid, header, cookie, now, t->wake_ns);
}


/*
 * Ends the poll open on worker w at now. Called from the uretprobe when
 * there is one (--mode full), else when the end is inferred: the same
 * thread enters its next poll, or goes off-CPU while the task's RUNNING
 * bit is already clear. One trap per poll instead of two.
 */
static __always_inline void poll_finish(struct ts_worker_state *w, u32 tgid, u64 now,
					int usdt_ready)
{
	const volatile struct ts_runtime_layout *l = runtime_layout(w->runtime_desc);
	struct ts_task_key key = { .tgid = tgid, .header = w->header };
	struct ts_task_stats *t;
	u64 dur = now - w->poll_start_ns, state_word = 0;

	rec_poll_end(w, tgid, now, usdt_ready);
	w->depth = 0;
	w->last_header = key.header;
	w->last_end_ns = now;
	w->header = 0;
	w->polls++;
	w->busy_ns += dur;
	w->offcpu_poll_total_ns += w->offcpu_in_poll_ns;
	if (dur > w->max_poll_ns) {
		w->max_poll_ns = dur;
		w->max_poll_offcpu_ns = w->offcpu_in_poll_ns;
		w->max_poll_header = key.header;
	}

	t = bpf_map_lookup_elem(&tasks, &key);
	if (!t)
		return;
	t->polls++;
	t->busy_ns += dur;
	if (dur > t->max_poll_ns)
		t->max_poll_ns = dur;
	t->hist[poll_hist_slot(dur)]++;
	if (t->state != TS_TASK_RUNNING || !l)
		return;
	t->last_transition_ns = now;

	if (l->kind == TS_RT_USDT) {
		/* the runtime said how the poll ended; a wake during it reschedules */
		if (usdt_ready > 0) {
			t->state = TS_TASK_DONE;
		} else if (t->woken_in_poll) {
			t->state = TS_TASK_SCHEDULED;
			t->wake_ns = now;
		} else {
			t->state = TS_TASK_IDLE;
		}
		t->woken_in_poll = 0;
		return;
	}

	/*
	 * The state word says how the poll ended without a probe on each
	 * path. A task that completed may already be freed (Harness::dealloc
	 * runs inside the poll): then the word is garbage, and user space
	 * settles the task when it is no longer found in memory.
	 */
	bpf_probe_read_user(&state_word, sizeof(state_word),
			    (void *)(key.header + l->hdr_state_off));
	if (state_word & l->state_complete) {
		t->state = TS_TASK_DONE;
	} else if (state_word & l->state_notified) {
		t->state = TS_TASK_SCHEDULED;
		t->wake_ns = now;
	} else {
		t->state = TS_TASK_IDLE;
	}
	profile_poll_end(tgid, key.header, now, dur, t->state == TS_TASK_DONE);
}

static __always_inline void poll_end(void)
{
	u64 pid_tgid = bpf_get_current_pid_tgid();
	u32 tid = (u32)pid_tgid;
	struct ts_worker_state *w;

	w = bpf_map_lookup_elem(&workers, &tid);
	if (!w || !w->depth)
		return;	/* attached mid-poll, or already inferred */
	poll_finish(w, pid_tgid >> 32, bpf_ktime_get_ns(), -1);
}

static __always_inline void wake(u64 header, u64 cookie)
{
	u64 pid_tgid = bpf_get_current_pid_tgid();
	u32 tid = (u32)pid_tgid;
	struct ts_task_key key = { .tgid = pid_tgid >> 32, .header = header };
	const volatile struct ts_runtime_layout *l = runtime_layout(TS_COOKIE_DESC(cookie));
	struct ts_worker_state *w;
	struct ts_task_stats *t;
	u64 now = bpf_ktime_get_ns();

	/* the blocking pool's tasks are no async tasks: no entry, no lost wake */
	if (l && task_unowned(header, l))
		return;
	count(TS_CNT_WAKES);
	t = task_lookup_or_init(&key, now);
	if (!t)
		return;
	if (t->state == TS_TASK_DONE)
		return;	/* waker outlived the task: tokio ignores it too */
	t->wakes++;
	/*
	 * Self-wake: woken from inside its own poll, or by its worker right
	 * after that poll, before the worker polled anything else: tokio's
	 * yield_now() defers its wake to then. A timer firing on the same
	 * worker later is not one.
	 */
	w = bpf_map_lookup_elem(&workers, &tid);
	if (w && ((w->depth && w->header == header) ||
		  (!w->depth && w->last_header == header &&
		   now - w->last_end_ns < SELF_WAKE_WINDOW_NS)))
		t->self_wakes++;
	if (t->state == TS_TASK_RUNNING)
		t->woken_in_poll = 1;
	/*
	 * Not seen polled since attach: should it be freed before its next
	 * poll, its vtable is what names the wake it lost. Read once per task.
	 */
	if (l && l->kind != TS_RT_USDT && !t->vtable &&
	    TS_COOKIE_IDX(t->poll_fn) == TS_POLL_UNKNOWN)
		bpf_probe_read_user(&t->vtable, sizeof(t->vtable),
				    (void *)(header + l->hdr_vtable_off));
	if (t->state == TS_TASK_IDLE) {
		if (t->polls)
			t->idle_ns += now - t->last_transition_ns;
		t->state = TS_TASK_SCHEDULED;
		t->wake_ns = now;
		t->last_transition_ns = now;
	}
	rec_wake(key.tgid, header, t->task_id, w, now);
}

SEC("uprobe")
int BPF_KPROBE(task_poll, void *header)
{
	poll_begin((u64)header, bpf_get_attach_cookie(ctx));
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(task_poll_ret)
{
	poll_end();
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(task_wake, void *header)
{
	wake((u64)header, bpf_get_attach_cookie(ctx));
	return 0;
}

/*
 * x86-64 register number (ModRM.reg with REX.R) -> its value in regs,
 * read at an offset as usdt_arg does: the verifier refuses a ctx
 * pointer moved by a variable amount.
 */
static __always_inline u64 reg_value(struct pt_regs *regs, u32 reg)
{
	u64 v = 0, off;

	switch (reg & 15) {
	case 0: off = offsetof(struct pt_regs, ax); break;
	case 1: off = offsetof(struct pt_regs, cx); break;
	case 2: off = offsetof(struct pt_regs, dx); break;
	case 3: off = offsetof(struct pt_regs, bx); break;
	case 4: off = offsetof(struct pt_regs, sp); break;
	case 5: off = offsetof(struct pt_regs, bp); break;
	case 6: off = offsetof(struct pt_regs, si); break;
	case 7: off = offsetof(struct pt_regs, di); break;
	case 8: off = offsetof(struct pt_regs, r8); break;
	case 9: off = offsetof(struct pt_regs, r9); break;
	case 10: off = offsetof(struct pt_regs, r10); break;
	case 11: off = offsetof(struct pt_regs, r11); break;
	case 12: off = offsetof(struct pt_regs, r12); break;
	case 13: off = offsetof(struct pt_regs, r13); break;
	case 14: off = offsetof(struct pt_regs, r14); break;
	default: off = offsetof(struct pt_regs, r15); break;
	}
	if (bpf_probe_read_kernel(&v, sizeof(v), (void *)regs + off))
		return 0;
	return v;
}

/*
 * A task Id was just taken (the instruction after Id::next's fetch_add):
 * the task polled on this thread spawns it. A poll whose end was not
 * seen yet (no uretprobe) is over when the task's RUNNING bit is clear:
 * then code outside any task (a block_on root, a plain thread) spawns.
 */
SEC("uprobe")
int task_spawn(struct pt_regs *ctx)
{
	u64 cookie = bpf_get_attach_cookie(ctx), pid_tgid = bpf_get_current_pid_tgid();
	u32 tid = (u32)pid_tgid, tgid = pid_tgid >> 32;
	struct ts_spawn_key key = { .tgid = tgid, .task_id = reg_value(ctx, TS_COOKIE_IDX(cookie)) };
	struct ts_spawn sp = { .tid = tid, .ns = bpf_ktime_get_ns() };
	struct ts_worker_state *w = bpf_map_lookup_elem(&workers, &tid);

	count(TS_CNT_SPAWNS);
	if (!key.task_id)
		return 0;
	if (w && w->depth && w->tgid == tgid) {
		const volatile struct ts_runtime_layout *l = runtime_layout(w->runtime_desc);
		struct ts_task_key tk = { .tgid = tgid, .header = w->header };
		struct ts_task_stats *t;
		u64 state_word = 0;

		if (l && !bpf_probe_read_user(&state_word, sizeof(state_word),
					      (void *)(w->header + l->hdr_state_off)) &&
		    (state_word & l->state_running)) {
			sp.parent_header = w->header;
			t = bpf_map_lookup_elem(&tasks, &tk);
			if (t)
				sp.parent_id = t->task_id;
		}
	}
	bpf_map_update_elem(&spawns, &key, &sp, BPF_ANY);
	return 0;
}

static __always_inline void task_gone(u64 header)
{
	u64 pid_tgid = bpf_get_current_pid_tgid();
	struct ts_task_key key = { .tgid = pid_tgid >> 32, .header = header };
	struct ts_task_stats *t;
	u64 now = bpf_ktime_get_ns();

	count(TS_CNT_DEALLOCS);
	t = bpf_map_lookup_elem(&tasks, &key);
	if (!t)
		return;
	if (t->state == TS_TASK_SCHEDULED)
		count_lost_wake(key.tgid, t);
	t->state = TS_TASK_DONE;
	t->last_transition_ns = now;
}

SEC("uprobe")
int BPF_KPROBE(task_dealloc, void *header)
{
	task_gone((u64)header);
	return 0;
}

static __always_inline u64 usdt_arg(struct pt_regs *ctx, const struct ts_usdt_site *s, u32 n)
{
	u64 v = 0;
	s8 size;

	if (n >= TS_USDT_MAX_ARGS || n >= s->nargs)
		return 0;
	/* ctx is the kernel's pt_regs: read the register the note names */
	if (bpf_probe_read_kernel(&v, sizeof(v), (void *)ctx + s->args[n].reg_off))
		return 0;
	size = s->args[n].size;
	if (size == 4 || size == -4)
		v = size < 0 ? (u64)(s64)(s32)v : (u32)v;
	else if (size == 1 || size == -1)
		v = size < 0 ? (u64)(s64)(s8)v : (u8)v;
	else if (size == 2 || size == -2)
		v = size < 0 ? (u64)(s64)(s16)v : (u16)v;
	return v;
}

static __always_inline struct ts_resource *resource(u32 tgid, u64 res_id)
{
	struct ts_res_key k = { .tgid = tgid, .res_id = res_id };
	struct ts_resource init = {};

	return bpf_map_lookup_or_try_init(&resources, &k, &init);
}

static __always_inline void usdt_task_wait(u32 tgid, u64 task, u64 res, bool begin)
{
	struct ts_task_key key = { .tgid = tgid, .header = task };
	struct ts_task_stats *t = task_lookup_or_init(&key, bpf_ktime_get_ns());
	struct ts_resource *r = resource(tgid, res);

	if (t) {
		t->waiting_res = begin ? res : 0;
		t->wait_begin_ns = begin ? bpf_ktime_get_ns() : 0;
	}
	if (r) {
		if (begin)
			r->waiters++;
		else if (r->waiters)
			r->waiters--;
	}
}

/*
 * Every probe of usdt/taskscope.h lands here; the cookie's low half
 * indexes the site (which probe, which registers hold its arguments).
 */
SEC("uprobe")
int usdt_event(struct pt_regs *ctx)
{
	u64 cookie = bpf_get_attach_cookie(ctx), a0, a1;
	u32 site_idx = TS_COOKIE_IDX(cookie), tgid = bpf_get_current_pid_tgid() >> 32;
	const struct ts_usdt_site *s = bpf_map_lookup_elem(&usdt_sites, &site_idx);
	struct ts_worker_state *w;
	struct ts_resource *r;
	u32 tid;

	if (!s)
		return 0;
	a0 = usdt_arg(ctx, s, 0);
	a1 = usdt_arg(ctx, s, 1);
	switch (s->probe) {
	case TS_USDT_TASK_SPAWN: {
		struct ts_task_key key = { .tgid = tgid, .header = a0 };
		struct ts_usdt_task_info info = { .parent_id = a1 };
		struct ts_task_stats *t;
		u64 now = bpf_ktime_get_ns();

		bpf_probe_read_user_str(info.name, sizeof(info.name), (void *)usdt_arg(ctx, s, 2));
		bpf_probe_read_user_str(info.location, sizeof(info.location),
					(void *)usdt_arg(ctx, s, 3));
		bpf_map_update_elem(&usdt_tasks, &key, &info, BPF_ANY);
		/*
		 * Runtimes announce existing tasks again when a tracer attaches
		 * (usdt/README.md), so a spawn says nothing about the state: the
		 * task stays idle until a wake or a poll says otherwise.
		 */
		t = task_lookup_or_init(&key, now);
		if (t)
			t->task_id = a0;
		break;
	}
	case TS_USDT_POLL_START:
		/* one poll cookie for every site: USDT tasks have no poll instance */
		poll_begin(a0, TS_COOKIE(TS_COOKIE_DESC(cookie), TS_POLL_UNKNOWN));
		break;
	case TS_USDT_POLL_END:
		tid = (u32)bpf_get_current_pid_tgid();
		w = bpf_map_lookup_elem(&workers, &tid);
		if (w && w->depth && w->header == a0)
			poll_finish(w, tgid, bpf_ktime_get_ns(), a1 ? 1 : 0);
		break;
	case TS_USDT_WAKE:
		wake(a0, cookie);
		break;
	case TS_USDT_TASK_DROP:
		task_gone(a0);
		break;
	case TS_USDT_RESOURCE_NEW:
		r = resource(tgid, a0);
		if (r) {
			r->kind = (u32)a1;
			r->capacity = usdt_arg(ctx, s, 3);
			bpf_probe_read_user_str(r->name, sizeof(r->name), (void *)usdt_arg(ctx, s, 2));
		}
		break;
	case TS_USDT_WAIT_BEGIN:
	case TS_USDT_WAIT_END:
		usdt_task_wait(tgid, a0, a1, s->probe == TS_USDT_WAIT_BEGIN);
		break;
	case TS_USDT_ACQUIRE:
		r = resource(tgid, a1);
		if (r) {
			r->holder = a0;
			r->acquired_ns = bpf_ktime_get_ns();
		}
		break;
	case TS_USDT_RELEASE:
		r = resource(tgid, a1);
		if (r && r->holder == a0)
			r->holder = 0;
		break;
	case TS_USDT_CHANNEL_LEN:
		r = resource(tgid, a0);
		if (r)
			r->len = a1;
		break;
	}
	return 0;
}

/*
 * Off-CPU time inside a poll is a worker blocked by synchronous work.
 * Only threads that already polled a task have an entry, so the common
 * case is two failed hash lookups.
 */
SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	u32 prev_tid = prev->pid, next_tid = next->pid;
	struct ts_worker_state *w;
	u64 now = bpf_ktime_get_ns();

	w = bpf_map_lookup_elem(&workers, &prev_tid);
	if (w && w->depth) {
		const volatile struct ts_runtime_layout *l = runtime_layout(w->runtime_desc);
		bool in_poll = true;

		count(TS_CNT_SCHED_SWITCH);
		/* prev is current: its memory is readable here; USDT polls end by probe */
		if (l && l->kind != TS_RT_USDT) {
			u64 running = l->state_running, state_word = running;

			bpf_probe_read_user(&state_word, sizeof(state_word),
					    (void *)(w->header + l->hdr_state_off));
			in_poll = state_word & running;
		}
		if (in_poll) {
			w->offcpu_start_ns = now;
		} else {
			count(TS_CNT_INFERRED_END);
			poll_finish(w, w->tgid, now, -1);
		}
	}
	w = bpf_map_lookup_elem(&workers, &next_tid);
	if (w && w->depth && w->offcpu_start_ns) {
		w->offcpu_in_poll_ns += now - w->offcpu_start_ns;
		w->offcpu_start_ns = 0;
	}
	return 0;
}
