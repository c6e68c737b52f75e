// SPDX-License-Identifier: (MIT OR Apache-2.0)
/*
 * A worker blocked by a synchronous call inside async code: every ~200 ms
 * blocking_handler calls usleep(1500000) inside its poll. The loop has one
 * thread, so ticker (due every 10 ms) is starved meanwhile: its timer
 * expires but nothing polls it until the blocking poll returns.
 */
#include <unistd.h>

#include "scenario.h"

struct blocking_handler {
	uint64_t next_ns;
	uint64_t blocked;
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

int main(void)
{
	static struct blocking_handler handler;
	static struct ticker ticker = { .period_ns = MS_NS(10) };
	struct rt *rt = rt_new();

	task_spawn(rt, "blocking_handler", blocking_handler_poll, &handler);
	task_spawn(rt, "ticker", ticker_poll, &ticker);
	/* Ready before the first block (at 200 ms): the harness attaches then. */
	return scenario_run(rt, 50);
}
