// SPDX-License-Identifier: (MIT OR Apache-2.0)
/*
 * Replaying the runtime's state to an observer that attaches late: USDT
 * probes only report changes, so without this an observer attached to a
 * deadlocked process would see nothing at all.
 */
#include "rt_internal.h"

unsigned int observed_probes(void)
{
	return (TASKSCOPE_PROBE_ENABLED(abi_version) ? OBS_ABI : 0) |
	       (TASKSCOPE_PROBE_ENABLED(task_spawn) ? OBS_SPAWN : 0) |
	       (TASKSCOPE_PROBE_ENABLED(resource_new) ? OBS_RESOURCE : 0) |
	       (TASKSCOPE_PROBE_ENABLED(acquire) ? OBS_ACQUIRE : 0) |
	       (TASKSCOPE_PROBE_ENABLED(wait_begin) ? OBS_WAIT : 0) |
	       (TASKSCOPE_PROBE_ENABLED(channel_len) ? OBS_CHANNEL_LEN : 0) |
	       (TASKSCOPE_PROBE_ENABLED(wake) ? OBS_WAKE : 0);
}

/* Any attach or detach changes it (the kernel counts per probe site). */
unsigned int semaphore_sum(void)
{
	return taskscope_task_spawn_semaphore + taskscope_poll_start_semaphore +
	       taskscope_poll_end_semaphore + taskscope_wake_semaphore +
	       taskscope_task_drop_semaphore + taskscope_resource_new_semaphore +
	       taskscope_wait_begin_semaphore + taskscope_wait_end_semaphore +
	       taskscope_acquire_semaphore + taskscope_release_semaphore +
	       taskscope_channel_len_semaphore + taskscope_abi_version_semaphore;
}

/*
 * Once the semaphores have settled after a change, fires for each probe
 * that got its first observer the events that describe the current state
 * and that no observer of that probe has seen: the ABI version, resources,
 * live tasks, which of them are queued (a wake), held mutexes, waits in
 * progress, channel lengths. The *_seen flags (set when a live event was
 * delivered) keep an event from being sent twice; a probe losing its last
 * observer clears them. Limits: a second observer of an already-observed
 * probe gets no replay, and a replayed wait_begin starts the wait now, not
 * when it really began.
 */
void replay_state(struct rt *rt)
{
	unsigned int sum = semaphore_sum(), now_on, lost, fresh;
	struct channel *ch;
	struct mutex *m;
	struct task *t;

	if (sum != rt->semaphore_sum) {
		rt->semaphore_sum = sum;
		rt->semaphores_changed_ns = rt_now_ns();
		rt->observers_settled = false;
		return;
	}
	if (rt->observers_settled ||
	    rt_now_ns() - rt->semaphores_changed_ns < MS_NS(OBSERVERS_SETTLE_MS))
		return;
	rt->observers_settled = true;
	now_on = observed_probes();
	lost = rt->observed & ~now_on;
	fresh = now_on & ~rt->observed;
	rt->observed = now_on;
	for (t = rt->tasks; t; t = t->all_next) {
		t->spawn_seen &= !(lost & OBS_SPAWN);
		t->wait_seen &= !(lost & OBS_WAIT);
	}
	for (ch = rt->channels; ch; ch = ch->all_next)
		ch->new_seen &= !(lost & OBS_RESOURCE);
	for (m = rt->mutexes; m; m = m->all_next) {
		m->new_seen &= !(lost & OBS_RESOURCE);
		m->acquire_seen &= !(lost & OBS_ACQUIRE);
	}

	if (fresh & OBS_ABI)
		TASKSCOPE_ANNOUNCE_ABI();
	for (ch = rt->channels; ch; ch = ch->all_next) {
		if ((fresh & OBS_RESOURCE) && !ch->new_seen) {
			ch->new_seen = true;
			TASKSCOPE_RESOURCE_NEW(ch->id, TASKSCOPE_RES_CHANNEL, ch->name, ch->cap);
		}
		if (fresh & OBS_CHANNEL_LEN)
			TASKSCOPE_CHANNEL_LEN(ch->id, ch->len);
	}
	for (m = rt->mutexes; m; m = m->all_next)
		if ((fresh & OBS_RESOURCE) && !m->new_seen) {
			m->new_seen = true;
			TASKSCOPE_RESOURCE_NEW(m->id, TASKSCOPE_RES_MUTEX, m->name, 0);
		}
	for (t = rt->tasks; t; t = t->all_next) {
		if ((fresh & OBS_SPAWN) && !t->spawn_seen && !t->done) {
			t->spawn_seen = true;
			TASKSCOPE_TASK_SPAWN(t->id, t->parent_id, t->name, t->location);
		}
		/* Which tasks are scheduled (queued for a poll) right now. */
		if ((fresh & OBS_WAKE) && t->queued && !t->done)
			TASKSCOPE_WAKE(t->id, 0);
	}
	/* A waiter handed a mutex has not acquired it yet: it is still waiting. */
	for (m = rt->mutexes; m; m = m->all_next)
		if ((fresh & OBS_ACQUIRE) && m->owner && !m->acquire_seen &&
		    m->owner->waiting_on != m->id) {
			m->acquire_seen = true;
			TASKSCOPE_ACQUIRE(m->owner->id, m->id);
		}
	for (t = rt->tasks; t; t = t->all_next)
		if ((fresh & OBS_WAIT) && t->waiting_on && !t->wait_seen) {
			t->wait_seen = true;
			TASKSCOPE_WAIT_BEGIN(t->id, t->waiting_on);
		}
}
