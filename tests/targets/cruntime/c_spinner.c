// SPDX-License-Identifier: (MIT OR Apache-2.0)
/*
 * A task that spins: spin_loop wakes itself and returns PENDING forever (a
 * yield_now loop), always runnable, never making progress; ticker next to
 * it stays healthy, because the loop checks timers between batches.
 */
#include "scenario.h"

struct spin_loop {
	uint64_t counter;
};

static enum task_poll spin_loop_poll(struct task *self)
{
	struct spin_loop *s = self->state;

	s->counter++;
	task_wake(self);
	return TASK_PENDING;
}

int main(void)
{
	static struct spin_loop spin;
	static struct ticker ticker = { .period_ns = MS_NS(10) };
	struct rt *rt = rt_new();

	task_spawn(rt, "spin_loop", spin_loop_poll, &spin);
	task_spawn(rt, "ticker", ticker_poll, &ticker);
	scenario_run(rt, 50);
	rt_free(rt);
	return 0;
}
