// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Sampled mode: which tokio task each worker thread is polling, read from
 * the thread-local CONTEXT.current_task_id when the cpu-clock interrupts a
 * watched thread (perf_event) and when one leaves a CPU (sched_switch).
 * Nothing is attached to the target's code: it never traps.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "taskscope.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Processes to sample, by tgid: where their threads keep the task id. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TS_MAX_PROCS);
	__type(key, u32);
	__type(value, struct ts_tls_layout);
} sample_procs SEC(".maps");

/*
 * Task ids that mean "no task": tokio runs each multi_thread worker inside
 * a blocking-pool task, so between two polls a worker's current_task_id
 * is its launch task's id, not None. User space lists them (blocking
 * tasks found in memory); spawn_blocking work is left out alike.
 */
struct {
	/* LRU: spawn_blocking jobs come and go; the workers' own stay in use */
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TS_MAX_SAMPLE_IGNORED);
	__type(key, struct ts_sample_key);
	__type(value, u8);
} sample_ignore SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TS_MAX_SAMPLE_THREADS);
	__type(key, u32);
	__type(value, struct ts_sample_thread);
} sample_threads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TS_MAX_SAMPLE_COUNTS);
	__type(key, struct ts_sample_key);
	__type(value, struct ts_sample_count);
} sample_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TS_SCNT_MAX);
	__type(key, u32);
	__type(value, u64);
} sample_counters SEC(".maps");

/*
 * Calibration (a binary without DWARF for the field): CONTEXT's first
 * words as samples find them, for user space to tell which word holds a
 * task id (its values are ids of tasks found in memory). Each sample lands
 * in a random slot (clang 14's BPF v1 target has no fetch-and-add with a
 * result); user space reads the filled ones (tid != 0) and clears them.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TS_CALIB_SLOTS);
	__type(key, u32);
	__type(value, struct ts_calib_sample);
} calib_samples SEC(".maps");

static __always_inline void count(u32 which)
{
	u64 *c = bpf_map_lookup_elem(&sample_counters, &which);

	if (c)
		*c += 1;
}

/* The id of the task thread t (state th) is polling (0: none), or -1 when unreadable. */
static __always_inline int running_task(struct task_struct *t, struct ts_sample_thread *th,
					const struct ts_tls_layout *l, u64 *id)
{
	u64 fsbase = BPF_CORE_READ(t, thread.fsbase), buf[2] = {}, tag, mask;
	struct ts_sample_key ik = { .tgid = th->tgid };
	u32 size = l->tag_size;

	if (!fsbase)
		return -1;	/* a kernel thread, or TLS not set up yet */
	if (bpf_probe_read_user(buf, sizeof(buf), (void *)(fsbase + l->opt_off)))
		return -1;
	tag = buf[(l->tag_off >> 3) & 1] >> ((l->tag_off & 7) * 8);
	mask = size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
	*id = (tag & mask) == l->tag_none ? 0 : buf[(l->id_off >> 3) & 1];
	if (!*id)
		return 0;
	/* a worker's own launch task, remembered: one lookup saved per sample */
	if (*id == th->base_task) {
		*id = 0;
		return 0;
	}
	ik.task = *id;
	if (bpf_map_lookup_elem(&sample_ignore, &ik)) {
		th->base_task = *id;
		*id = 0;
	}
	return 0;
}

static __always_inline struct ts_sample_thread *thread_get(u32 tid, u32 tgid)
{
	struct ts_sample_thread *th, zero = {};

	th = bpf_map_lookup_elem(&sample_threads, &tid);
	if (th && th->tgid == tgid)
		return th;
	/* new, or a tid reused by another process */
	zero.tgid = tgid;
	bpf_map_update_elem(&sample_threads, &tid, &zero, BPF_ANY);
	return bpf_map_lookup_elem(&sample_threads, &tid);
}

static __always_inline struct ts_sample_count *count_get(u32 tgid, u32 tid, u64 task)
{
	struct ts_sample_key k = { .tgid = tgid, .tid = tid, .task = task };
	struct ts_sample_count *c, zero = {};

	c = bpf_map_lookup_elem(&sample_counts, &k);
	if (c)
		return c;
	bpf_map_update_elem(&sample_counts, &k, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&sample_counts, &k);
}

static __always_inline void run_close(struct ts_sample_thread *th, u32 tid)
{
	u64 dur = th->run_last_ns - th->run_start_ns;
	struct ts_sample_count *c;

	if (!th->task)
		return;
	if (dur > th->max_run_ns) {
		th->max_run_ns = dur;
		th->max_run_task = th->task;
		th->max_run_offcpu_ns = th->run_offcpu_ns;
		th->max_run_end_ns = th->run_last_ns;
	}
	c = count_get(th->tgid, tid, th->task);
	if (c && dur > c->max_run_ns) {
		c->max_run_ns = dur;
		c->max_run_offcpu_ns = th->run_offcpu_ns;
	}
}

/* Thread tid was seen polling task (0: no task) at now. */
static __always_inline void observe(struct ts_sample_thread *th, u32 tid, u64 task, u64 now)
{
	if (task && task == th->task) {
		th->run_last_ns = now;
		return;
	}
	run_close(th, tid);
	th->task = task;
	th->run_start_ns = now;
	th->run_last_ns = now;
	th->run_offcpu_ns = 0;
}

static __always_inline void calibrate(struct task_struct *t, const struct ts_tls_layout *l,
				      u32 tid)
{
	u32 slot = bpf_get_prandom_u32() % TS_CALIB_SLOTS;
	struct ts_calib_sample *cs;
	u64 fsbase;

	cs = bpf_map_lookup_elem(&calib_samples, &slot);
	fsbase = BPF_CORE_READ(t, thread.fsbase);
	if (!cs || !fsbase)
		return;
	cs->tid = tid;
	if (bpf_probe_read_user(cs->words, sizeof(cs->words), (void *)(fsbase + l->sym_off)))
		cs->tid = 0;
}

SEC("perf_event")
int sample_cpu(struct bpf_perf_event_data *ctx)
{
	u64 pid_tgid = bpf_get_current_pid_tgid(), task_id, now;
	u32 tgid = pid_tgid >> 32, tid = (u32)pid_tgid;
	const struct ts_tls_layout *l;
	struct ts_sample_thread *th;
	struct ts_sample_count *c;
	struct task_struct *t;

	count(TS_SCNT_SAMPLES);
	if (!tgid)
		return 0;	/* the idle task */
	l = bpf_map_lookup_elem(&sample_procs, &tgid);
	if (!l)
		return 0;
	count(TS_SCNT_WATCHED);
	t = bpf_get_current_task_btf();
	if (l->calibrate) {
		/* the layout is what calibration is looking for: nothing else to do */
		calibrate(t, l, tid);
		return 0;
	}
	th = thread_get(tid, tgid);
	if (!th)
		return 0;
	if (running_task(t, th, l, &task_id)) {
		count(TS_SCNT_TLS_FAIL);
		return 0;
	}
	now = bpf_ktime_get_ns();
	th->samples++;
	th->last_sample_ns = now;
	observe(th, tid, task_id, now);
	if (!task_id)
		return 0;
	th->poll_samples++;
	c = count_get(tgid, tid, task_id);
	if (c) {
		c->samples++;
		c->last_ns = now;
	}
	return 0;
}

/*
 * A thread that leaves the CPU inside a poll is blocked inside async code
 * (a sleep, a lock, a blocking read) unless it was preempted; its worker
 * polls nothing meanwhile. prev is current here, so its thread-local is
 * readable; next's is not (another mm), so its return only closes the
 * off-CPU interval.
 */
SEC("tp_btf/sched_switch")
int BPF_PROG(sample_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	u32 prev_tgid = prev->tgid, prev_tid = prev->pid, next_tid = next->pid;
	const struct ts_tls_layout *l;
	struct ts_sample_thread *th;
	u64 now = bpf_ktime_get_ns(), task_id;

	l = bpf_map_lookup_elem(&sample_procs, &prev_tgid);
	th = l && !l->calibrate ? thread_get(prev_tid, prev_tgid) : NULL;
	if (th && !running_task(prev, th, l, &task_id)) {
		count(TS_SCNT_SWITCH_OUT);
		observe(th, prev_tid, task_id, now);
		th->offcpu_start_ns = task_id ? now : 0;
	}
	th = bpf_map_lookup_elem(&sample_threads, &next_tid);
	if (th && th->offcpu_start_ns) {
		u64 d = now - th->offcpu_start_ns;
		struct ts_sample_count *c;

		th->offcpu_start_ns = 0;
		if (th->task) {
			th->run_offcpu_ns += d;
			th->run_last_ns = now;
			th->offcpu_in_poll_ns += d;
			c = count_get(th->tgid, next_tid, th->task);
			if (c) {
				c->offcpu_ns += d;
				c->last_ns = now;
			}
		}
	}
	return 0;
}
