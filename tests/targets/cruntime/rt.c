// SPDX-License-Identifier: (MIT OR Apache-2.0)
/*
 * The loop: poll a batch of ready tasks, fire due timers, then block in
 * epoll_wait on a timerfd (armed at the earliest deadline) and a signalfd
 * (SIGINT/SIGTERM end the loop) until something is ready.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

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

static unsigned int observed_probes(void);
static unsigned int semaphore_sum(void);

/*
 * Whether an observer got the event a probe fires now. While the semaphores
 * settle the site may not be patched yet: events that are idempotent for an
 * observer (spawn, resource_new, acquire) count as unseen then and are
 * replayed, so the race costs a duplicate rather than a loss. wait_begin is
 * not idempotent (observers count waiters), so it counts as seen: the race
 * may lose a wait that began during the attach, never doubles one.
 */
#define DELIVERED(rt, probe)	((rt)->observers_settled && TASKSCOPE_PROBE_ENABLED(probe))

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (!p)
		die("calloc");
	return p;
}

uint64_t rt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void epoll_add(struct rt *rt, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	if (epoll_ctl(rt->epoll_fd, EPOLL_CTL_ADD, fd, &ev))
		die("epoll_ctl");
}

struct rt *rt_new(void)
{
	struct rt *rt = xcalloc(1, sizeof(*rt));
	sigset_t mask;

	rt->next_task_id = 1;
	rt->next_res_id = 1;
	rt->tasks_tail = &rt->tasks;
	rt->channels_tail = &rt->channels;
	rt->mutexes_tail = &rt->mutexes;
	rt->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (rt->epoll_fd < 0)
		die("epoll_create1");
	rt->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (rt->timer_fd < 0)
		die("timerfd_create");
	epoll_add(rt, rt->timer_fd);

	/* Blocked, so they arrive only through the signalfd, between polls. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, NULL))
		die("sigprocmask");
	rt->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (rt->signal_fd < 0)
		die("signalfd");
	epoll_add(rt, rt->signal_fd);

	rt->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (rt->wake_fd < 0)
		die("eventfd");
	epoll_add(rt, rt->wake_fd);
	pthread_mutex_init(&rt->inbox_lock, NULL);

	TASKSCOPE_ANNOUNCE_ABI();
	/*
	 * Whoever observes now attached before exec, with every site patched:
	 * they see every event live, nothing to replay.
	 */
	rt->observed = observed_probes();
	rt->semaphore_sum = semaphore_sum();
	rt->observers_settled = true;
	return rt;
}

/* ---- ready queue and wakes ---- */

static void ready_push(struct rt *rt, struct task *task)
{
	task->queued = true;
	task->ready_next = NULL;
	if (rt->ready_tail)
		rt->ready_tail->ready_next = task;
	else
		rt->ready_head = task;
	rt->ready_tail = task;
}

static struct task *ready_pop(struct rt *rt)
{
	struct task *task = rt->ready_head;

	if (task) {
		rt->ready_head = task->ready_next;
		if (!rt->ready_head)
			rt->ready_tail = NULL;
		task->queued = false;
	}
	return task;
}

void task_wake(struct task *task)
{
	struct rt *rt = task->rt;

	/* Fires even if already queued: a redundant wake is still a wake. */
	TASKSCOPE_WAKE(task->id, rt->current ? rt->current->id : 0);
	if (!task->queued && !task->done)
		ready_push(rt, task);
}

void task_wake_remote(struct task *task)
{
	struct rt *rt = task->rt;
	uint64_t one = 1;
	bool was_empty;

	TASKSCOPE_WAKE(task->id, 0);
	pthread_mutex_lock(&rt->inbox_lock);
	was_empty = !rt->inbox;
	if (!task->in_inbox) {
		task->in_inbox = true;
		task->inbox_next = rt->inbox;
		rt->inbox = task;
	}
	pthread_mutex_unlock(&rt->inbox_lock);
	if (was_empty && write(rt->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		die("write eventfd");
}

/* Moves the tasks other threads woke to the ready queue (probes fired there). */
static void drain_inbox(struct rt *rt)
{
	struct task *task;
	uint64_t count;

	if (read(rt->wake_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		die("read eventfd");
	/* Under the lock: once in_inbox is clear, a waker may relink the task. */
	pthread_mutex_lock(&rt->inbox_lock);
	for (task = rt->inbox; task; task = task->inbox_next) {
		task->in_inbox = false;
		if (!task->queued && !task->done)
			ready_push(rt, task);
	}
	rt->inbox = NULL;
	pthread_mutex_unlock(&rt->inbox_lock);
}

struct task *task_spawn_at(struct rt *rt, const char *name, const char *location,
			   task_poll_fn poll, void *state)
{
	struct task *task = xcalloc(1, sizeof(*task));

	task->id = rt->next_task_id++;
	task->parent_id = rt->current ? rt->current->id : 0;
	task->name = name;
	task->location = location;
	task->poll = poll;
	task->state = state;
	task->rt = rt;
	task->timer_slot = -1;
	*rt->tasks_tail = task;
	rt->tasks_tail = &task->all_next;
	task->spawn_seen = DELIVERED(rt, task_spawn);
	TASKSCOPE_TASK_SPAWN(task->id, task->parent_id, name, location);
	/*
	 * Spawning queues the task for its first poll: that is a wake, by the
	 * spawner. Firing it keeps task_spawn meaning only "exists", which is
	 * what a replayed spawn of an idle task says too.
	 */
	TASKSCOPE_WAKE(task->id, task->parent_id);
	ready_push(rt, task);
	return task;
}

/* ---- timers: a binary min-heap of tasks on deadline_ns ---- */

static void heap_set(struct rt *rt, size_t i, struct task *task)
{
	rt->timers[i] = task;
	task->timer_slot = (int)i;
}

static void heap_sift_up(struct rt *rt, size_t i)
{
	struct task *task = rt->timers[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (rt->timers[parent]->deadline_ns <= task->deadline_ns)
			break;
		heap_set(rt, i, rt->timers[parent]);
		i = parent;
	}
	heap_set(rt, i, task);
}

static void heap_sift_down(struct rt *rt, size_t i)
{
	struct task *task = rt->timers[i];

	for (;;) {
		size_t child = 2 * i + 1;

		if (child >= rt->n_timers)
			break;
		if (child + 1 < rt->n_timers &&
		    rt->timers[child + 1]->deadline_ns < rt->timers[child]->deadline_ns)
			child++;
		if (task->deadline_ns <= rt->timers[child]->deadline_ns)
			break;
		heap_set(rt, i, rt->timers[child]);
		i = child;
	}
	heap_set(rt, i, task);
}

static void timer_remove(struct rt *rt, struct task *task)
{
	size_t i = (size_t)task->timer_slot;
	struct task *last = rt->timers[--rt->n_timers];

	task->timer_slot = -1;
	if (last == task)
		return;
	heap_set(rt, i, last);
	heap_sift_up(rt, i);
	heap_sift_down(rt, (size_t)last->timer_slot);
}

static void timer_insert(struct rt *rt, struct task *task)
{
	if (rt->n_timers == rt->cap_timers) {
		rt->cap_timers = rt->cap_timers ? 2 * rt->cap_timers : 16;
		rt->timers = realloc(rt->timers, rt->cap_timers * sizeof(*rt->timers));
		if (!rt->timers)
			die("realloc");
	}
	heap_set(rt, rt->n_timers++, task);
	heap_sift_up(rt, (size_t)task->timer_slot);
}

enum task_poll sleep_until(struct task *self, uint64_t deadline_ns)
{
	struct rt *rt = self->rt;

	if (rt_now_ns() >= deadline_ns) {
		if (self->timer_slot >= 0)
			timer_remove(rt, self);
		return TASK_READY;
	}
	if (self->timer_slot >= 0 && self->deadline_ns == deadline_ns)
		return TASK_PENDING;
	if (self->timer_slot >= 0)
		timer_remove(rt, self);
	self->deadline_ns = deadline_ns;
	timer_insert(rt, self);
	return TASK_PENDING;
}

static void fire_timers(struct rt *rt)
{
	uint64_t now = rt_now_ns();

	/* rt->current is NULL here: timer wakes carry waker 0. */
	while (rt->n_timers && rt->timers[0]->deadline_ns <= now) {
		struct task *task = rt->timers[0];

		timer_remove(rt, task);
		task_wake(task);
	}
}

static void arm_timerfd(struct rt *rt)
{
	uint64_t deadline = rt->n_timers ? rt->timers[0]->deadline_ns : 0;
	struct itimerspec its = {
		.it_value.tv_sec = (time_t)(deadline / 1000000000ull),
		.it_value.tv_nsec = (long)(deadline % 1000000000ull),
	};

	if (deadline == rt->timer_armed_ns)
		return;
	/* An all-zero it_value disarms. */
	if (timerfd_settime(rt->timer_fd, TFD_TIMER_ABSTIME, &its, NULL))
		die("timerfd_settime");
	rt->timer_armed_ns = deadline;
}

/* ---- replaying state to a new observer ---- */

static unsigned int observed_probes(void)
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
static unsigned int semaphore_sum(void)
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
 * progress, channel lengths. The *_seen
 * flags (set when a live event was delivered) keep an event from being
 * sent twice; a probe losing its last observer clears them. Limits: a
 * second observer of an already-observed probe gets no replay, and a
 * replayed wait_begin starts the wait now, not when it really began.
 */
static void replay_state(struct rt *rt)
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

/* ---- the loop ---- */

static void task_free(struct rt *rt, struct task *task)
{
	struct task **p;

	for (p = &rt->tasks; *p != task; p = &(*p)->all_next)
		;
	*p = task->all_next;
	if (rt->tasks_tail == &task->all_next)
		rt->tasks_tail = p;
	TASKSCOPE_TASK_DROP(task->id);
	free(task);
}

static void poll_task(struct rt *rt, struct task *task)
{
	enum task_poll ready;

	rt->current = task;
	TASKSCOPE_POLL_START(task->id);
	ready = task->poll(task);
	TASKSCOPE_POLL_END(task->id, ready == TASK_READY ?
			   TASKSCOPE_POLL_READY : TASKSCOPE_POLL_PENDING);
	rt->current = NULL;
	if (ready != TASK_READY)
		return;
	/* A finished task waits for nothing: the poll function's contract. */
	if (task->waiting_on) {
		fprintf(stderr, "cruntime: task %s finished while waiting\n", task->name);
		abort();
	}
	if (task->timer_slot >= 0)
		timer_remove(rt, task);
	task->done = true;
	if (!task->queued)	/* else freed when it leaves the queue */
		task_free(rt, task);
}

/* Polls the tasks ready now; those they wake wait for the next batch. */
static void run_batch(struct rt *rt)
{
	struct task *last = rt->ready_tail;
	struct task *task;

	while (last && (task = ready_pop(rt))) {
		bool was_last = task == last;

		if (task->done)
			task_free(rt, task);
		else
			poll_task(rt, task);
		if (was_last)
			break;
	}
}

/* Waits for timers and signals; 0 ms when tasks are ready (just a check). */
static void park(struct rt *rt, int timeout_ms)
{
	struct epoll_event events[4];
	int n, i;

	arm_timerfd(rt);
	n = epoll_wait(rt->epoll_fd, events, 4, timeout_ms);
	if (n < 0 && errno != EINTR)
		die("epoll_wait");
	for (i = 0; i < n; i++) {
		if (events[i].data.fd == rt->timer_fd) {
			uint64_t expirations;

			/* Nonblocking: a re-arm may have reset it already. */
			if (read(rt->timer_fd, &expirations, sizeof(expirations)) < 0 &&
			    errno != EAGAIN)
				die("read timerfd");
		} else if (events[i].data.fd == rt->signal_fd) {
			struct signalfd_siginfo si;

			if (read(rt->signal_fd, &si, sizeof(si)) == sizeof(si))
				rt->stopping = true;
		} else if (events[i].data.fd == rt->wake_fd) {
			drain_inbox(rt);
		}
	}
}

int rt_run_until(struct rt *rt, uint64_t deadline_ns)
{
	while (!rt->stopping) {
		uint64_t now;
		int timeout_ms = 0;

		replay_state(rt);
		run_batch(rt);
		fire_timers(rt);
		now = rt_now_ns();
		if (deadline_ns && now >= deadline_ns)
			return 0;
		if (!rt->ready_head) {
			/* Timers wake through the timerfd; ms granularity is only the cap. */
			timeout_ms = rt->observers_settled ? PARK_MAX_MS : OBSERVERS_SETTLE_MS;
			if (deadline_ns && (deadline_ns - now) / 1000000 + 1 < (uint64_t)timeout_ms)
				timeout_ms = (int)((deadline_ns - now) / 1000000 + 1);
		}
		park(rt, timeout_ms);
	}
	return 1;
}

void rt_free(struct rt *rt)
{
	struct channel *ch;
	struct mutex *m;

	/* Close the books the way a cancelled task would: give up waits and locks. */
	while (rt->tasks) {
		struct task *task = rt->tasks;

		if (task->waiting_on)
			TASKSCOPE_WAIT_END(task->id, task->waiting_on);
		/* An owner still waiting on m was handed it, but never acquired it. */
		for (m = rt->mutexes; m; m = m->all_next)
			if (m->owner == task && task->waiting_on != m->id)
				TASKSCOPE_RELEASE(task->id, m->id);
		task_free(rt, task);
	}
	while ((ch = rt->channels)) {
		rt->channels = ch->all_next;
		free(ch->items);
		free(ch);
	}
	while ((m = rt->mutexes)) {
		rt->mutexes = m->all_next;
		free(m);
	}
	pthread_mutex_destroy(&rt->inbox_lock);
	close(rt->wake_fd);
	close(rt->signal_fd);
	close(rt->timer_fd);
	close(rt->epoll_fd);
	free(rt->timers);
	free(rt);
}

/* ---- wait queues: how a task blocks on a resource ---- */

static void wait_push(struct wait_queue *q, struct task *task)
{
	task->wait_next = NULL;
	if (q->tail)
		q->tail->wait_next = task;
	else
		q->head = task;
	q->tail = task;
}

static bool wait_contains(const struct wait_queue *q, const struct task *task)
{
	const struct task *t;

	for (t = q->head; t; t = t->wait_next)
		if (t == task)
			return true;
	return false;
}

/* Wakes the longest waiter; it retries (or takes a hand-off) when polled. */
static struct task *wait_wake_one(struct wait_queue *q)
{
	struct task *task = q->head;

	if (!task)
		return NULL;
	q->head = task->wait_next;
	if (!q->head)
		q->tail = NULL;
	task->wait_next = NULL;
	task_wake(task);
	return task;
}

/*
 * The contended path: wait_begin once per wait, however many times the
 * task is woken and finds the resource still unavailable.
 */
static void wait_on(struct wait_queue *q, struct task *self, uint64_t res_id)
{
	if (self->waiting_on != res_id) {
		self->waiting_on = res_id;
		self->wait_seen = TASKSCOPE_PROBE_ENABLED(wait_begin);
		TASKSCOPE_WAIT_BEGIN(self->id, res_id);
	}
	if (!wait_contains(q, self))
		wait_push(q, self);
}

static void wait_done(struct task *self, uint64_t res_id)
{
	if (self->waiting_on == res_id) {
		self->waiting_on = 0;
		TASKSCOPE_WAIT_END(self->id, res_id);
	}
}

/* ---- bounded channel of u64 items ---- */

struct channel *channel_new(struct rt *rt, const char *name, size_t cap)
{
	struct channel *ch = xcalloc(1, sizeof(*ch));

	ch->id = rt->next_res_id++;
	ch->name = name;
	ch->cap = cap;
	ch->items = xcalloc(cap, sizeof(*ch->items));
	*rt->channels_tail = ch;
	rt->channels_tail = &ch->all_next;
	ch->new_seen = DELIVERED(rt, resource_new);
	TASKSCOPE_RESOURCE_NEW(ch->id, TASKSCOPE_RES_CHANNEL, name, cap);
	return ch;
}

enum task_poll channel_send(struct channel *ch, struct task *self, uint64_t item)
{
	if (ch->len == ch->cap) {
		wait_on(&ch->senders, self, ch->id);
		return TASK_PENDING;
	}
	wait_done(self, ch->id);
	ch->items[(ch->head + ch->len) % ch->cap] = item;
	ch->len++;
	TASKSCOPE_CHANNEL_LEN(ch->id, ch->len);
	wait_wake_one(&ch->receivers);
	return TASK_READY;
}

enum task_poll channel_recv(struct channel *ch, struct task *self, uint64_t *item)
{
	if (ch->len == 0) {
		wait_on(&ch->receivers, self, ch->id);
		return TASK_PENDING;
	}
	wait_done(self, ch->id);
	*item = ch->items[ch->head];
	ch->head = (ch->head + 1) % ch->cap;
	ch->len--;
	TASKSCOPE_CHANNEL_LEN(ch->id, ch->len);
	wait_wake_one(&ch->senders);
	return TASK_READY;
}

/* ---- async mutex ---- */

struct mutex *mutex_new(struct rt *rt, const char *name)
{
	struct mutex *m = xcalloc(1, sizeof(*m));

	m->id = rt->next_res_id++;
	m->name = name;
	*rt->mutexes_tail = m;
	rt->mutexes_tail = &m->all_next;
	m->new_seen = DELIVERED(rt, resource_new);
	TASKSCOPE_RESOURCE_NEW(m->id, TASKSCOPE_RES_MUTEX, name, 0);
	return m;
}

enum task_poll mutex_lock(struct mutex *m, struct task *self)
{
	if (m->owner == self && self->waiting_on != m->id) {
		fprintf(stderr, "cruntime: task %s locks %s twice\n", self->name, m->name);
		abort();
	}
	if (m->owner && m->owner != self) {
		wait_on(&m->waiters, self, m->id);
		return TASK_PENDING;
	}
	/* Free, or handed to us by mutex_unlock while we waited. */
	m->owner = self;
	wait_done(self, m->id);
	m->acquire_seen = DELIVERED(self->rt, acquire);
	TASKSCOPE_ACQUIRE(self->id, m->id);
	return TASK_READY;
}

void mutex_unlock(struct mutex *m, struct task *self)
{
	struct task *next;

	if (m->owner != self) {
		fprintf(stderr, "cruntime: task %s unlocks %s it does not hold\n",
			self->name, m->name);
		abort();
	}
	TASKSCOPE_RELEASE(self->id, m->id);
	/*
	 * Hand-off: the first waiter owns it from now on, so a task polled
	 * before it cannot barge in and starve it. It fires acquire when polled.
	 */
	next = wait_wake_one(&m->waiters);
	m->owner = next;
}

