// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A CPU-bound loop for bench/bench.py's sampled part: the cost of a
 * cpu-clock sample is what it takes from a thread that only computes.
 *
 *     spin_loop SECONDS   prints "spin loops_per_cpu_s=R"
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 0, t0, c0;
	volatile unsigned long sink = 0;
	unsigned long loops = 0;

	if (secs <= 0 || secs > 60) {
		fprintf(stderr, "usage: spin_loop SECONDS (0 < SECONDS <= 60)\n");
		return 2;
	}
	t0 = clock_s(CLOCK_MONOTONIC);
	c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
	while (clock_s(CLOCK_MONOTONIC) - t0 < secs) {
		for (int i = 0; i < 10000; i++)
			sink += (unsigned long)i;
		loops++;
	}
	/* per CPU-second: time on other CPUs or waiting does not count */
	printf("spin loops_per_cpu_s=%.1f\n", loops / (clock_s(CLOCK_THREAD_CPUTIME_ID) - c0));
	return 0;
}
