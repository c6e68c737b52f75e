// SPDX-License-Identifier: (MIT OR Apache-2.0)
/*
 * Two tasks in a mutex deadlock: transfer_ab locks account_a, sleeps 50 ms,
 * then locks account_b; transfer_ba takes them in the opposite order. Each
 * ends up holding one mutex and waiting for the other, forever.
 */
#include "scenario.h"

struct transfer {
	struct mutex *first;
	struct mutex *second;
	enum { T_LOCK_FIRST, T_PAUSE, T_LOCK_SECOND, T_DONE } step;
	uint64_t pause_until_ns;
	uint64_t transfers;
};

static enum task_poll transfer_poll(struct task *self)
{
	struct transfer *t = self->state;

	for (;;) {
		switch (t->step) {
		case T_LOCK_FIRST:
			if (mutex_lock(t->first, self) == TASK_PENDING)
				return TASK_PENDING;
			/* The pause lets the other task take its first lock. */
			t->pause_until_ns = rt_now_ns() + MS_NS(50);
			t->step = T_PAUSE;
			break;
		case T_PAUSE:
			if (sleep_until(self, t->pause_until_ns) == TASK_PENDING)
				return TASK_PENDING;
			t->step = T_LOCK_SECOND;
			break;
		case T_LOCK_SECOND:
			if (mutex_lock(t->second, self) == TASK_PENDING)
				return TASK_PENDING;
			t->transfers++;
			mutex_unlock(t->second, self);
			mutex_unlock(t->first, self);
			/* Unreachable with the pause above; one round per 10 ms if it were. */
			t->pause_until_ns = rt_now_ns() + MS_NS(10);
			t->step = T_DONE;
			break;
		case T_DONE:
			if (sleep_until(self, t->pause_until_ns) == TASK_PENDING)
				return TASK_PENDING;
			t->step = T_LOCK_FIRST;
			break;
		}
	}
}

int main(void)
{
	static struct transfer ab, ba;
	struct rt *rt = rt_new();
	struct mutex *account_a = mutex_new(rt, "account_a");
	struct mutex *account_b = mutex_new(rt, "account_b");

	ab.first = ba.second = account_a;
	ab.second = ba.first = account_b;
	task_spawn(rt, "transfer_ab", transfer_poll, &ab);
	task_spawn(rt, "transfer_ba", transfer_poll, &ba);
	/* Deadlocked at 50 ms; ready at 200 ms, when both waits are long. */
	scenario_run(rt, 200);
	rt_free(rt);
	return 0;
}
