// SPDX-License-Identifier: (MIT OR Apache-2.0)
/*
 * A bounded-channel sender stuck because its receiver stopped receiving:
 * consumer takes 8 items from "jobs" (capacity 4) and then sleeps for a
 * day, still the only receiver, so producer fills the channel and waits in
 * channel_send forever.
 */
#include "scenario.h"

struct producer {
	struct channel *jobs;
	uint64_t sent;
};

struct consumer {
	struct channel *jobs;
	uint64_t received;
	uint64_t wake_ns;
};

/* Sends an increasing counter as fast as the channel takes it. */
static enum task_poll producer_poll(struct task *self)
{
	struct producer *p = self->state;

	while (channel_send(p->jobs, self, p->sent) == TASK_READY)
		p->sent++;
	return TASK_PENDING;
}

static enum task_poll consumer_poll(struct task *self)
{
	struct consumer *c = self->state;
	uint64_t job;

	for (;;) {
		while (c->received < 8) {
			if (channel_recv(c->jobs, self, &job) == TASK_PENDING)
				return TASK_PENDING;
			c->received++;
		}
		/* Stops receiving: busy elsewhere (here, asleep) for a day. */
		if (!c->wake_ns)
			c->wake_ns = rt_now_ns() + 86400 * MS_NS(1000);
		if (sleep_until(self, c->wake_ns) == TASK_PENDING)
			return TASK_PENDING;
		c->received = 0;
		c->wake_ns = 0;
	}
}

int main(void)
{
	static struct producer producer;
	static struct consumer consumer;
	struct rt *rt = rt_new();

	producer.jobs = consumer.jobs = channel_new(rt, "jobs", 4);
	task_spawn(rt, "producer", producer_poll, &producer);
	task_spawn(rt, "consumer", consumer_poll, &consumer);
	/* The channel is full within a millisecond; 200 ms makes the wait long. */
	scenario_run(rt, 200);
	rt_free(rt);
	return 0;
}
