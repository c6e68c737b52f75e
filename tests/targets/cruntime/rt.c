// SPDX-License-Identifier: (MIT OR Apache-2.0)
/*
 * Tasks, wakes, timers and the loop: poll a batch of ready tasks, fire due
 * timers, then block in epoll_wait on a timerfd (armed at the earliest
 * deadline), an eventfd (wakes from other threads) and a signalfd
 * (SIGINT/SIGTERM end the loop) until something is ready.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "rt_internal.h"

void die(const char *what)
{
	perror(what);
	exit(2);
}

void *xcalloc(size_t n, size_t size)
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
