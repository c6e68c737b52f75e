// SPDX-License-Identifier: (MIT OR Apache-2.0)
#include <stdio.h>
#include <unistd.h>

#include "scenario.h"

enum task_poll ticker_poll(struct task *self)
{
	struct ticker *t = self->state;

	if (!t->next_ns)
		t->next_ns = rt_now_ns() + t->period_ns;
	if (sleep_until(self, t->next_ns) == TASK_PENDING)
		return TASK_PENDING;
	t->ticks++;
	/* From now, not from the missed deadline: no burst of ticks after a stall. */
	t->next_ns = rt_now_ns() + t->period_ns;
	return sleep_until(self, t->next_ns);
}

void scenario_run(struct rt *rt, unsigned int settle_ms)
{
	if (rt_run_until(rt, rt_now_ns() + MS_NS(settle_ms)))
		return;
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	rt_run_until(rt, 0);
}
