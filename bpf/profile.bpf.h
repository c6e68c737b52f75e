/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * taskscope profile: wait and busy time per await point, in the kernel.
 * Called from poll_begin / poll_finish of taskscope.bpf.c; does nothing
 * unless user space set profile_on, so the other modes pay one load of a
 * global per poll.
 *
 * At a poll's start the task's future has not run yet: it is where the
 * last poll left it, owned by this worker (the task is in the run queue's
 * hands, not polled anywhere else), so its state machines are read here,
 * once per poll, and never at an inferred poll end, when another worker
 * may already be polling the task again.
 */
#ifndef TS_PROFILE_BPF_H
#define TS_PROFILE_BPF_H

__u32 profile_on = 0;
/*
 * Initial map values, never written: poll_begin's stack is nearly full
 * (512 bytes), so new entries are copied from here, not from the stack.
 */
struct ts_prof_task prof_task_zero = {};
struct ts_prof_stats prof_stats_zero = {};

/* Filled by user space from DWARF before profile_on is set (see taskscope.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TS_PROF_MAX_POLLS);
	__type(key, u32);
	__type(value, struct ts_prof_poll);
} prof_polls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TS_PROF_MAX_SMS);
	__type(key, u32);
	__type(value, struct ts_prof_sm);
} prof_sms SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TS_PROF_MAX_SUSPENDS);
	__type(key, struct ts_prof_suspend_key);
	__type(value, struct ts_prof_suspend);
} prof_suspends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TS_MAX_TASKS);
	__type(key, struct ts_task_key);
	__type(value, struct ts_prof_task);
} prof_tasks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TS_PROF_MAX_PATHS);
	__type(key, struct ts_prof_key);
	__type(value, struct ts_prof_stats);
} prof_stats SEC(".maps");

/* A discriminant of size 1, 2, 4 or 8 bytes at addr; false when unreadable. */
static __always_inline bool prof_read_discr(u64 addr, u32 size, u32 *discr)
{
	u8 v1;
	u16 v2;
	u32 v4;
	u64 v8;

	switch (size) {
	case 1:
		if (bpf_probe_read_user(&v1, 1, (void *)addr))
			return false;
		*discr = v1;
		return true;
	case 2:
		if (bpf_probe_read_user(&v2, 2, (void *)addr))
			return false;
		*discr = v2;
		return true;
	case 4:
		if (bpf_probe_read_user(&v4, 4, (void *)addr))
			return false;
		*discr = v4;
		return true;
	case 8:
		if (bpf_probe_read_user(&v8, 8, (void *)addr))
			return false;
		*discr = (u32)v8;
		return true;
	}
	return false;
}

/*
 * The await points the future of the task at header is suspended at,
 * outermost first: each state machine's discriminant names its Suspend<N>
 * variant, whose `__awaitee` is the next state machine, down to a leaf
 * (a Sleep, an Acquire...) or TS_PROF_MAX_DEPTH levels.
 */
static __always_inline void prof_walk(u64 header, u32 poll_idx, struct ts_prof_key *k)
{
	const struct ts_prof_poll *pp = bpf_map_lookup_elem(&prof_polls, &poll_idx);
	u64 addr;
	u32 sm, i;

	if (!pp || pp->sm == TS_PROF_NONE)
		return;
	addr = header + pp->future_off;
	sm = pp->sm;
	for (i = 0; i < TS_PROF_MAX_DEPTH; i++) {
		const struct ts_prof_sm *t = bpf_map_lookup_elem(&prof_sms, &sm);
		struct ts_prof_suspend_key sk = { .sm = sm };
		const struct ts_prof_suspend *s;

		if (!t || !prof_read_discr(addr + t->discr_off, t->discr_size, &sk.discr))
			return;
		s = bpf_map_lookup_elem(&prof_suspends, &sk);
		if (!s)
			return;	/* Unresumed, Returned: not at an await */
		k->ids[i] = s->await_id;
		k->depth = i + 1;
		if (s->next_sm == TS_PROF_NONE)
			return;
		addr += s->awaitee_off;
		sm = s->next_sm;
	}
}

static __always_inline struct ts_prof_stats *prof_stats_of(const struct ts_prof_key *k)
{
	struct ts_prof_stats *st;

	st = bpf_map_lookup_elem(&prof_stats, k);
	if (st)
		return st;
	return bpf_map_lookup_or_try_init(&prof_stats, k, &prof_stats_zero);
}

/*
 * A poll of a task starts: where it resumes from, and how long it waited
 * there since its last poll ended (suspension -> this poll, run-queue
 * delay included: what the .await cost the task). wake_ns: the task's
 * last wake (tasks map); after the suspension, the wait's tail from it is
 * run-queue time.
 */
static __always_inline void profile_poll_begin(u32 tgid, u64 header, u64 cookie, u64 now,
					       u64 wake_ns)
{
	struct ts_task_key tk = { .tgid = tgid, .header = header };
	struct ts_prof_task *pt;
	struct ts_prof_stats *st;
	u64 waited, suspended_at = 0;
	u32 slot;

	if (!profile_on)
		return;
	pt = bpf_map_lookup_elem(&prof_tasks, &tk);
	if (!pt) {
		pt = bpf_map_lookup_or_try_init(&prof_tasks, &tk, &prof_task_zero);
		if (!pt)
			return;
	} else if (pt->path.poll_idx == TS_COOKIE_IDX(cookie)) {
		suspended_at = pt->suspend_ns;
	}
	__builtin_memset(&pt->path, 0, sizeof(pt->path));
	pt->path.tgid = tgid;
	pt->path.poll_idx = TS_COOKIE_IDX(cookie);
	pt->suspend_ns = 0;
	prof_walk(header, pt->path.poll_idx, &pt->path);
	/* a task's first poll (or a reused cell) resumes from no await: nothing waited */
	if (!suspended_at || !pt->path.depth || now < suspended_at)
		return;
	st = prof_stats_of(&pt->path);
	if (!st)
		return;
	waited = now - suspended_at;
	__sync_fetch_and_add(&st->waits, 1);
	__sync_fetch_and_add(&st->wait_ns, waited);
	/* a wake before the suspension is an older one (light mode has none) */
	if (wake_ns >= suspended_at && wake_ns <= now)
		__sync_fetch_and_add(&st->queued_ns, now - wake_ns);
	if (waited > st->max_wait_ns)
		st->max_wait_ns = waited;
	slot = log2_u64(waited / 1000);
	if (slot >= TS_PROF_HIST_SLOTS)
		slot = TS_PROF_HIST_SLOTS - 1;
	/*
	 * clang narrows the clamped slot in a way the verifier can't follow:
	 * hide its value from the optimiser, then mask, so the bound is seen
	 */
	asm volatile("" : "+r"(slot));
	__sync_fetch_and_add(&st->hist[slot & (TS_PROF_HIST_SLOTS - 1)], 1);
}

/* The poll ends: its time is busy time of the path it resumed from. */
static __always_inline void profile_poll_end(u32 tgid, u64 header, u64 now, u64 dur, bool done)
{
	struct ts_task_key tk = { .tgid = tgid, .header = header };
	struct ts_prof_task *pt;
	struct ts_prof_stats *st;

	if (!profile_on)
		return;
	pt = bpf_map_lookup_elem(&prof_tasks, &tk);
	if (!pt || pt->suspend_ns)
		return;	/* polled before profile started, or this end was seen already */
	st = prof_stats_of(&pt->path);
	if (st) {
		__sync_fetch_and_add(&st->polls, 1);
		__sync_fetch_and_add(&st->busy_ns, dur);
		if (dur > st->max_busy_ns)
			st->max_busy_ns = dur;
	}
	if (done)
		bpf_map_delete_elem(&prof_tasks, &tk);
	else
		pt->suspend_ns = now;
}

#endif /* TS_PROFILE_BPF_H */
