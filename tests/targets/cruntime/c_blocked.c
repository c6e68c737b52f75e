// SPDX-License-Identifier: (MIT OR Apache-2.0)
/*
 * A worker blocked by a synchronous call inside async code: every ~200 ms
 * blocking_handler calls usleep(1500000) inside its poll. The loop has one
 * thread, so ticker starves meanwhile: a plain thread (a clock) wakes it
 * every 10 ms, and it stays woken but unpolled until the blocking poll
 * returns.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include "scenario.h"

struct blocking_handler {
	uint64_t next_ns;
	uint64_t blocked;
};

/* Ticks delivered by the clock thread, and the ticker task it wakes. */
struct clocked_ticker {
	struct task *task;
	atomic_uint_fast64_t sent;
	uint64_t seen;
	atomic_bool stop;
};

static enum task_poll blocking_handler_poll(struct task *self)
{
	struct blocking_handler *h = self->state;

	if (!h->next_ns)
		h->next_ns = rt_now_ns() + MS_NS(200);
	if (sleep_until(self, h->next_ns) == TASK_PENDING)
		return TASK_PENDING;
	/* The bug this scenario shows: a blocking call where it must not be. */
	usleep(1500000);
	h->blocked++;
	h->next_ns = rt_now_ns() + MS_NS(200);
	return sleep_until(self, h->next_ns);
}

/* Takes whatever ticks arrived; the clock thread wakes it for the next. */
static enum task_poll clocked_ticker_poll(struct task *self)
{
	struct clocked_ticker *t = self->state;

	t->seen = atomic_load(&t->sent);
	return TASK_PENDING;
}

static void *clock_thread(void *arg)
{
	struct clocked_ticker *t = arg;

	while (!atomic_load(&t->stop)) {
		usleep(10000);
		/* Count first, then wake: the poll that follows sees the tick. */
		atomic_fetch_add(&t->sent, 1);
		task_wake_remote(t->task);
	}
	return NULL;
}

int main(void)
{
	static struct blocking_handler handler;
	static struct clocked_ticker ticker;
	struct rt *rt = rt_new();
	pthread_t clock;

	task_spawn(rt, "blocking_handler", blocking_handler_poll, &handler);
	ticker.task = task_spawn(rt, "ticker", clocked_ticker_poll, &ticker);
	/* After rt_new: the thread inherits its blocked SIGINT/SIGTERM. */
	if (pthread_create(&clock, NULL, clock_thread, &ticker)) {
		fprintf(stderr, "c_blocked: pthread_create failed\n");
		return 2;
	}
	/* Ready before the first block (at 200 ms): the harness attaches then. */
	scenario_run(rt, 50);
	/* The clock must not wake a task rt_free has freed. */
	atomic_store(&ticker.stop, true);
	pthread_join(clock, NULL);
	rt_free(rt);
	return 0;
}
