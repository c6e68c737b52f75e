/* SPDX-License-Identifier: (MIT OR Apache-2.0) */
/* What rt.c, sync.c and replay.c share; not for scenario programs. */
#ifndef CRUNTIME_RT_INTERNAL_H
#define CRUNTIME_RT_INTERNAL_H

#include <pthread.h>

#include "taskscope.h"
#include "rt.h"

/*
 * An observer that attaches to a running process has missed the spawns,
 * resources and waits that describe it, and a deadlocked process fires
 * nothing more. So the loop replays that state to probes that just got
 * their first observer (replay_state), and never parks longer than this to
 * notice one.
 */
#define PARK_MAX_MS	100
/*
 * The kernel bumps a probe's semaphore before it patches the probe site, so
 * an event fired right after the bump can be lost; bpftrace also attaches
 * probe by probe. Replay waits until the semaphores have been still this
 * long (a busy process lost its whole replay without it).
 */
#define OBSERVERS_SETTLE_MS	20

/* Probes whose state the runtime replays to a new observer. */
enum observed_probe {
	OBS_ABI		= 1 << 0,
	OBS_SPAWN	= 1 << 1,
	OBS_RESOURCE	= 1 << 2,
	OBS_ACQUIRE	= 1 << 3,
	OBS_WAIT	= 1 << 4,
	OBS_CHANNEL_LEN	= 1 << 5,
	OBS_WAKE	= 1 << 6,
};

struct rt {
	int epoll_fd;
	int timer_fd;
	int signal_fd;
	uint64_t timer_armed_ns;	/* deadline the timerfd is armed at, 0: disarmed */
	struct task *ready_head;
	struct task *ready_tail;
	struct task *current;		/* the task being polled: the waker of its wakes */
	struct task **timers;		/* min-heap on deadline_ns */
	size_t n_timers;
	size_t cap_timers;
	uint64_t next_task_id;
	uint64_t next_res_id;
	/* Everything alive, in creation order, for replay and shutdown. */
	struct task *tasks, **tasks_tail;
	struct channel *channels, **channels_tail;
	struct mutex *mutexes, **mutexes_tail;
	/* Observers, as the semaphores tell (see replay_state). */
	unsigned int observed;		/* enum observed_probe, at the last replay */
	unsigned int semaphore_sum;
	uint64_t semaphores_changed_ns;
	bool observers_settled;		/* semaphores still for OBSERVERS_SETTLE_MS */
	/* Wakes from other threads. */
	int wake_fd;			/* eventfd, readable when the inbox is not empty */
	pthread_mutex_t inbox_lock;
	struct task *inbox;
	bool stopping;
};

/* rt.c */
void die(const char *what);
void *xcalloc(size_t n, size_t size);

/* replay.c */
unsigned int observed_probes(void);
unsigned int semaphore_sum(void);
void replay_state(struct rt *rt);

/*
 * Whether an observer got the event a probe fires now. While the semaphores
 * settle the site may not be patched yet: events that are idempotent for an
 * observer (spawn, resource_new, acquire) count as unseen then and are
 * replayed, so the race costs a duplicate rather than a loss. wait_begin is
 * not idempotent (observers count waiters), so it counts as seen: the race
 * may lose a wait that began during the attach, never doubles one.
 */
#define DELIVERED(rt, probe)	((rt)->observers_settled && TASKSCOPE_PROBE_ENABLED(probe))

#endif /* CRUNTIME_RT_INTERNAL_H */
