// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The ping-pong of tests/targets/tokio/bench_pingpong on the USDT-instrumented
 * C runtime (tests/targets/cruntime, single-threaded): two tasks bounce one
 * number over two channels of capacity 1, for bench/run.sh.
 *
 *	c_pingpong SECONDS
 *
 * Same protocol as bench_pingpong: prints `ready PID`, waits for one line on
 * stdin (the observer attaches meanwhile), runs SECONDS, prints
 *
 *	result round_trips=N polls=N secs=S polls_per_s=R ns_per_poll=T
 *
 * then waits for stdin to close and exits (at most SECONDS + 120 s later).
 * Built by bench/run.sh from rt.c of the cruntime, unchanged.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt.h"

struct side {
	struct channel *out, *in;
	enum { SEND, RECV } step;
	uint64_t n;
	uint64_t polls;
};

static enum task_poll ping_poll(struct task *self)
{
	struct side *s = self->state;

	s->polls++;
	for (;;) {
		if (s->step == SEND) {
			if (channel_send(s->out, self, s->n) == TASK_PENDING)
				return TASK_PENDING;
			s->step = RECV;
		}
		if (channel_recv(s->in, self, &s->n) == TASK_PENDING)
			return TASK_PENDING;
		s->step = SEND;
	}
}

static enum task_poll pong_poll(struct task *self)
{
	struct side *s = self->state;

	s->polls++;
	for (;;) {
		if (s->step == RECV) {
			if (channel_recv(s->in, self, &s->n) == TASK_PENDING)
				return TASK_PENDING;
			s->n++;
			s->step = SEND;
		}
		if (channel_send(s->out, self, s->n) == TASK_PENDING)
			return TASK_PENDING;
		s->step = RECV;
	}
}

int main(int argc, char **argv)
{
	static struct side ping, pong;
	double secs = argc > 1 ? atof(argv[1]) : 0;
	uint64_t t0, t1;
	struct rt *rt;
	char line[64];

	if (secs <= 0 || secs > 600) {
		fprintf(stderr, "usage: c_pingpong SECONDS (0 < SECONDS <= 600)\n");
		return 2;
	}
	alarm((unsigned int)secs + 120);	/* bounded lifetime */
	rt = rt_new();
	ping.out = pong.in = channel_new(rt, "ping", 1);
	pong.out = ping.in = channel_new(rt, "pong", 1);
	ping.step = SEND;
	pong.step = RECV;
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;

	task_spawn(rt, "ping", ping_poll, &ping);
	task_spawn(rt, "pong", pong_poll, &pong);
	t0 = rt_now_ns();
	rt_run_until(rt, t0 + (uint64_t)(secs * 1e9));
	t1 = rt_now_ns();
	{
		uint64_t polls = ping.polls + pong.polls;
		double s = (t1 - t0) * 1e-9;

		printf("result round_trips=%llu polls=%llu secs=%.6f polls_per_s=%.1f ns_per_poll=%.1f\n",
		       (unsigned long long)pong.n, (unsigned long long)polls, s, polls / s,
		       s * 1e9 / polls);
		fflush(stdout);
	}
	while (fgets(line, sizeof(line), stdin))
		;
	/* the tasks are parked on their channels: rt_free drops them (task_drop) */
	rt_free(rt);
	return 0;
}
