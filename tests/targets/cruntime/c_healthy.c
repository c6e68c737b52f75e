// SPDX-License-Identifier: (MIT OR Apache-2.0)
/*
 * A busy, healthy service: every task is woken at least every ~10 ms and no
 * wait lasts longer than ~7 ms. taskscope must report no stall here.
 *
 * producer: every 5 ms sends a job on "jobs" (capacity 16), then holds the
 *           "stats" mutex for 2 ms (an async write while holding the lock);
 * consumer: receives each job and counts it under "stats", so it waits
 *           briefly on both: the channel while empty, the mutex while the
 *           producer holds it;
 * ticker:   ticks every 10 ms.
 */
#include "scenario.h"

struct producer {
	struct channel *jobs;
	struct mutex *stats;
	enum { P_SLEEP, P_SEND, P_LOCK, P_HOLD } step;
	uint64_t deadline_ns;
	uint64_t sent;
};

struct consumer {
	struct channel *jobs;
	struct mutex *stats;
	enum { C_RECV, C_LOCK } step;
	uint64_t received;
	uint64_t sum;
};

static enum task_poll producer_poll(struct task *self)
{
	struct producer *p = self->state;

	for (;;) {
		switch (p->step) {
		case P_SLEEP:
			if (sleep_until(self, p->deadline_ns) == TASK_PENDING)
				return TASK_PENDING;
			p->step = P_SEND;
			break;
		case P_SEND:
			if (channel_send(p->jobs, self, p->sent) == TASK_PENDING)
				return TASK_PENDING;
			p->sent++;
			p->step = P_LOCK;
			break;
		case P_LOCK:
			if (mutex_lock(p->stats, self) == TASK_PENDING)
				return TASK_PENDING;
			p->deadline_ns = rt_now_ns() + MS_NS(2);
			p->step = P_HOLD;
			break;
		case P_HOLD:
			if (sleep_until(self, p->deadline_ns) == TASK_PENDING)
				return TASK_PENDING;
			mutex_unlock(p->stats, self);
			p->deadline_ns = rt_now_ns() + MS_NS(5);
			p->step = P_SLEEP;
			break;
		}
	}
}

static enum task_poll consumer_poll(struct task *self)
{
	struct consumer *c = self->state;
	uint64_t job;

	for (;;) {
		switch (c->step) {
		case C_RECV:
			if (channel_recv(c->jobs, self, &job) == TASK_PENDING)
				return TASK_PENDING;
			c->sum += job;
			c->step = C_LOCK;
			break;
		case C_LOCK:
			if (mutex_lock(c->stats, self) == TASK_PENDING)
				return TASK_PENDING;
			c->received++;
			mutex_unlock(c->stats, self);
			c->step = C_RECV;
			break;
		}
	}
}

int main(void)
{
	static struct producer producer;
	static struct consumer consumer;
	static struct ticker ticker = { .period_ns = MS_NS(10) };
	struct rt *rt = rt_new();

	producer.jobs = consumer.jobs = channel_new(rt, "jobs", 16);
	producer.stats = consumer.stats = mutex_new(rt, "stats");
	task_spawn(rt, "producer", producer_poll, &producer);
	task_spawn(rt, "consumer", consumer_poll, &consumer);
	task_spawn(rt, "ticker", ticker_poll, &ticker);
	scenario_run(rt, 50);
	rt_free(rt);
	return 0;
}
