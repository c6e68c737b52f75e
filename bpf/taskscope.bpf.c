// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Task state machine for tokio, fed by uprobes on the task vtable and waker
 * functions and by sched_switch. Everything is aggregated here; user space
 * only reads the maps.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "taskscope.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define TOKIO_HDR_VTABLE	16
#define SELF_WAKE_WINDOW_NS	(100 * 1000)

/*
 * Where each runtime keeps a task's state word and what its bits mean.
 * tokio 1.24 Header (#[repr(C)], runtime/task/state.rs): state @0,
 * RUNNING=1, COMPLETE=2, NOTIFIED=4. async-task 4.x Header (rustc puts
 * the vtable reference first): state @8, SCHEDULED=1, RUNNING=2,
 * COMPLETED=4.
 */
static __always_inline u64 rt_state_off(u32 rt)
{
	return rt == TS_RT_ASYNC_TASK ? 8 : 0;
}

static __always_inline u64 rt_running(u32 rt)
{
	return rt == TS_RT_ASYNC_TASK ? 2 : 1;
}

static __always_inline u64 rt_complete(u32 rt)
{
	return rt == TS_RT_ASYNC_TASK ? 4 : 2;
}

static __always_inline u64 rt_notified(u32 rt)
{
	return rt == TS_RT_ASYNC_TASK ? 1 : 4;
}

/*
 * Offset of Vtable.id_offset, found by user space from the binary (0: do
 * not read ids). The task Id tells a new task in a reused cell apart.
 */
const volatile __u64 vt_id_offset_slot = 0;

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

static __always_inline u32 log2_slot(u64 us)
{
	u32 slot = 0;

	/* bounded loop: the verifier sees at most TS_HIST_SLOTS iterations */
	for (int i = 0; i < TS_HIST_SLOTS - 1; i++) {
		if (us <= 1)
			break;
		us >>= 1;
		slot++;
	}
	return slot;
}

static __always_inline struct ts_task_stats *
task_lookup_or_init(struct ts_task_key *key, u64 now)
{
	struct ts_task_stats *t, zero = {};

	t = bpf_map_lookup_elem(&tasks, key);
	if (t)
		return t;
	zero.first_seen_ns = now;
	zero.last_transition_ns = now;
	zero.state = TS_TASK_IDLE;
	zero.poll_fn = TS_POLL_UNKNOWN;
	/* EEXIST means another CPU inserted it first: use that one */
	bpf_map_update_elem(&tasks, key, &zero, BPF_NOEXIST);
	t = bpf_map_lookup_elem(&tasks, key);
	count(t ? TS_CNT_TASK_INSERTS : TS_CNT_TASK_INSERT_FAIL);
	return t;
}

/* Woken, then freed without another poll: whoever woke it waited for nothing. */
static __always_inline void count_lost_wake(u32 tgid, struct ts_task_stats *t)
{
	struct ts_type_key k = { .tgid = tgid, .poll_idx = TS_COOKIE_IDX(t->poll_fn) };
	u64 one = 1, *c;

	t->lost_wakes++;
	c = bpf_map_lookup_elem(&lost_wakes, &k);
	if (c)
		__sync_fetch_and_add(c, 1);
	else
		bpf_map_update_elem(&lost_wakes, &k, &one, BPF_NOEXIST);
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

static __always_inline void poll_finish(struct ts_worker_state *w, u32 tgid, u64 now);

/* tokio's task Id: header -> vtable -> id_offset -> Id. */
static __always_inline u64 read_task_id(u64 header, u32 rt)
{
	u64 vtable = 0, id_off = 0, id = 0;

	if (!vt_id_offset_slot || rt != TS_RT_TOKIO)
		return 0;	/* async-task has no task Id */
	if (bpf_probe_read_user(&vtable, sizeof(vtable), (void *)(header + TOKIO_HDR_VTABLE)))
		return 0;
	if (bpf_probe_read_user(&id_off, sizeof(id_off), (void *)(vtable + vt_id_offset_slot)))
		return 0;
	if (id_off > 4096 || bpf_probe_read_user(&id, sizeof(id), (void *)(header + id_off)))
		return 0;
	return id;
}

static __always_inline void poll_begin(u64 header, u64 cookie)
{
	u64 pid_tgid = bpf_get_current_pid_tgid();
	u32 tid = (u32)pid_tgid, tgid = pid_tgid >> 32;
	struct ts_task_key key = { .tgid = tgid, .header = header };
	struct ts_worker_state *w, wzero = {};
	struct ts_task_stats *t;
	u64 now = bpf_ktime_get_ns(), id;

	count(TS_CNT_POLLS);
	w = bpf_map_lookup_elem(&workers, &tid);
	if (!w) {
		wzero.tgid = tgid;
		wzero.first_seen_ns = now;
		if (bpf_map_update_elem(&workers, &tid, &wzero, BPF_NOEXIST))
			count(TS_CNT_WORKER_INSERT_FAIL);
		w = bpf_map_lookup_elem(&workers, &tid);
		if (!w)
			return;
	}
	if (w->depth) {
		/* no uretprobe: the previous poll on this thread ended by now */
		count(TS_CNT_INFERRED_END);
		poll_finish(w, tgid, now);
	}
	w->depth = 1;
	w->runtime = TS_COOKIE_RT(cookie);
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
	id = read_task_id(header, TS_COOKIE_RT(cookie));
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
}


/*
 * Ends the poll open on worker w at now. Called from the uretprobe when
 * there is one (--mode full), else when the end is inferred: the same
 * thread enters its next poll, or goes off-CPU while the task's RUNNING
 * bit is already clear. One trap per poll instead of two.
 */
static __always_inline void poll_finish(struct ts_worker_state *w, u32 tgid, u64 now)
{
	struct ts_task_key key = { .tgid = tgid, .header = w->header };
	struct ts_task_stats *t;
	u64 dur = now - w->poll_start_ns, state_word = 0;
	u32 slot;

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
	slot = log2_slot(dur / 1000);
	if (slot < TS_HIST_SLOTS)
		t->hist[slot]++;
	if (t->state != TS_TASK_RUNNING)
		return;
	t->last_transition_ns = now;

	/*
	 * The state word says how the poll ended without a probe on each
	 * path. A task that completed may already be freed (Harness::dealloc
	 * runs inside the poll): then the word is garbage, and user space
	 * settles the task when it is no longer found in memory.
	 */
	bpf_probe_read_user(&state_word, sizeof(state_word),
			    (void *)(key.header + rt_state_off(w->runtime)));
	if (state_word & rt_complete(w->runtime)) {
		t->state = TS_TASK_DONE;
	} else if (state_word & rt_notified(w->runtime)) {
		t->state = TS_TASK_SCHEDULED;
		t->wake_ns = now;
	} else {
		t->state = TS_TASK_IDLE;
	}
}

static __always_inline void poll_end(void)
{
	u64 pid_tgid = bpf_get_current_pid_tgid();
	u32 tid = (u32)pid_tgid;
	struct ts_worker_state *w;

	w = bpf_map_lookup_elem(&workers, &tid);
	if (!w || !w->depth)
		return;	/* attached mid-poll, or already inferred */
	poll_finish(w, pid_tgid >> 32, bpf_ktime_get_ns());
}

static __always_inline void wake(u64 header)
{
	u64 pid_tgid = bpf_get_current_pid_tgid();
	u32 tid = (u32)pid_tgid;
	struct ts_task_key key = { .tgid = pid_tgid >> 32, .header = header };
	struct ts_worker_state *w;
	struct ts_task_stats *t;
	u64 now = bpf_ktime_get_ns();

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
	if (t->state == TS_TASK_IDLE) {
		if (t->polls)
			t->idle_ns += now - t->last_transition_ns;
		t->state = TS_TASK_SCHEDULED;
		t->wake_ns = now;
		t->last_transition_ns = now;
	}
}

SEC("uprobe")
int BPF_KPROBE(tokio_poll, void *header)
{
	poll_begin((u64)header, bpf_get_attach_cookie(ctx));
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(tokio_poll_ret)
{
	poll_end();
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(tokio_wake, void *header)
{
	wake((u64)header);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(tokio_dealloc, void *header)
{
	u64 pid_tgid = bpf_get_current_pid_tgid();
	struct ts_task_key key = { .tgid = pid_tgid >> 32, .header = (u64)header };
	struct ts_task_stats *t;
	u64 now = bpf_ktime_get_ns();

	count(TS_CNT_DEALLOCS);
	t = bpf_map_lookup_elem(&tasks, &key);
	if (!t)
		return 0;
	if (t->state == TS_TASK_SCHEDULED)
		count_lost_wake(key.tgid, t);
	t->state = TS_TASK_DONE;
	t->last_transition_ns = now;
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
		u64 running = rt_running(w->runtime), state_word = running;

		count(TS_CNT_SCHED_SWITCH);
		/* prev is current: its memory is readable here */
		bpf_probe_read_user(&state_word, sizeof(state_word),
				    (void *)(w->header + rt_state_off(w->runtime)));
		if (state_word & running) {
			w->offcpu_start_ns = now;
		} else {
			count(TS_CNT_INFERRED_END);
			poll_finish(w, w->tgid, now);
		}
	}
	w = bpf_map_lookup_elem(&workers, &next_tid);
	if (w && w->depth && w->offcpu_start_ns) {
		w->offcpu_in_poll_ns += now - w->offcpu_start_ns;
		w->offcpu_start_ns = 0;
	}
	return 0;
}
