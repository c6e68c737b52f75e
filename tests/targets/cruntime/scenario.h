/* SPDX-License-Identifier: (MIT OR Apache-2.0) */
/* What the scenario programs share: a ticker task and the ready handshake. */
#ifndef CRUNTIME_SCENARIO_H
#define CRUNTIME_SCENARIO_H

#include "rt.h"

/* Ticks every period_ns forever; spawn with a struct ticker as state. */
struct ticker {
	uint64_t period_ns;
	uint64_t next_ns;
	uint64_t ticks;
};
enum task_poll ticker_poll(struct task *self);

/*
 * Runs the loop for settle_ms (long enough for the scenario to reach the
 * state it demonstrates), prints "ready <pid>" (flushed: the test harness
 * waits for that line), then runs until SIGINT/SIGTERM.
 */
void scenario_run(struct rt *rt, unsigned int settle_ms);

#endif /* CRUNTIME_SCENARIO_H */
