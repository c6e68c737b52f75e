/* SPDX-License-Identifier: (MIT OR Apache-2.0) */
/*
 * cruntime: a small single-threaded async runtime in C, instrumented with
 * usdt/taskscope.h, so taskscope has a non-Rust USDT target to observe.
 *
 * Tasks are stackless state machines, polled until ready like Rust futures:
 * a poll function returns TASK_PENDING after arranging to be woken (a timer,
 * a channel or mutex wait queue, or task_wake() on itself) and TASK_READY
 * when done, which drops the task. Resource operations (sleep_until,
 * channel_send/recv, mutex_lock) are themselves polls: call them again on
 * the next poll until they return TASK_READY.
 *
 *	static enum task_poll tick(struct task *self)
 *	{
 *		struct ticker *t = self->state;
 *		if (sleep_until(self, t->next) == TASK_PENDING)
 *			return TASK_PENDING;
 *		...
 *	}
 *	task_spawn(rt, "ticker", tick, &ticker);
 */
#ifndef CRUNTIME_RT_H
#define CRUNTIME_RT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum task_poll {
	TASK_PENDING = 0,
	TASK_READY = 1,
};

struct rt;
struct task;

typedef enum task_poll (*task_poll_fn)(struct task *self);

/* A FIFO of tasks waiting for one side of a resource. */
struct wait_queue {
	struct task *head;
	struct task *tail;
};

struct task {
	uint64_t id;			/* 1, 2, ...: never reused */
	uint64_t parent_id;		/* the task that spawned it, 0 if none */
	const char *name;
	const char *location;		/* spawn site, "file.c:42" */
	task_poll_fn poll;
	void *state;			/* the poll function's own state; owned by the spawner */
	struct rt *rt;
	/* runtime-private below */
	struct task *ready_next;
	struct task *wait_next;
	struct task *all_next;
	uint64_t waiting_on;		/* resource id of the current wait_begin, 0 if none */
	uint64_t deadline_ns;
	int timer_slot;			/* index in the timer heap, -1 if no timer */
	bool queued;
	bool done;
	bool in_inbox;			/* woken by another thread; under inbox_lock */
	struct task *inbox_next;
	bool spawn_seen;		/* an observer got task_spawn (see replay) */
	bool wait_seen;			/* ... and wait_begin of the current wait */
};

struct channel {
	uint64_t id;
	const char *name;
	uint64_t *items;		/* ring buffer of cap items */
	size_t cap;
	size_t len;
	size_t head;
	struct wait_queue senders;	/* waiting for room */
	struct wait_queue receivers;	/* waiting for an item */
	struct channel *all_next;
	bool new_seen;
};

struct mutex {
	uint64_t id;
	const char *name;
	struct task *owner;
	struct wait_queue waiters;
	struct mutex *all_next;
	bool new_seen;
	bool acquire_seen;
};

struct rt *rt_new(void);
/*
 * Runs the loop until deadline_ns (CLOCK_MONOTONIC, 0: forever) or SIGINT /
 * SIGTERM. Returns 1 on a signal (the caller should rt_free), else 0.
 */
int rt_run_until(struct rt *rt, uint64_t deadline_ns);
/* Drops every live task (task_drop probes) and frees the runtime. */
void rt_free(struct rt *rt);

uint64_t rt_now_ns(void);
#define MS_NS(ms)	((uint64_t)(ms) * 1000000ull)

#define CRUNTIME__STR2(x)	#x
#define CRUNTIME__STR(x)	CRUNTIME__STR2(x)
/* The spawn site goes to the task_spawn probe as "file:line". */
#define task_spawn(rt, name, poll, state)				\
	task_spawn_at((rt), (name), __FILE__ ":" CRUNTIME__STR(__LINE__),	\
		      (poll), (state))
struct task *task_spawn_at(struct rt *rt, const char *name, const char *location,
			   task_poll_fn poll, void *state);
/* Puts the task on the ready queue; the waker is the task being polled. */
void task_wake(struct task *task);
/*
 * The same from another thread (waker 0): the loop picks it up at its next
 * turn, so while a poll blocks the loop the task stays woken but unpolled.
 * The caller keeps the task alive (it must not finish meanwhile).
 */
void task_wake_remote(struct task *task);

/* TASK_READY once now >= deadline_ns; until then the timer wakes self. */
enum task_poll sleep_until(struct task *self, uint64_t deadline_ns);

/* A FIFO of at most cap (>= 1) items; send waits while full, recv while empty. */
struct channel *channel_new(struct rt *rt, const char *name, size_t cap);
enum task_poll channel_send(struct channel *ch, struct task *self, uint64_t item);
enum task_poll channel_recv(struct channel *ch, struct task *self, uint64_t *item);

struct mutex *mutex_new(struct rt *rt, const char *name);
/* Not reentrant; ownership is handed to the first waiter on unlock (FIFO). */
enum task_poll mutex_lock(struct mutex *m, struct task *self);
void mutex_unlock(struct mutex *m, struct task *self);

#endif /* CRUNTIME_RT_H */
