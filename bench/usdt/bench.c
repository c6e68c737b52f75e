// SPDX-License-Identifier: (MIT OR Apache-2.0)
/*
 * Probe cost microbenchmark, driven by bench/usdt/run.sh.
 *
 *	bench idle            ns/iteration of the same loop with no probe, a
 *	                      disabled taskscope probe (1 and 4 args), and a
 *	                      sys/sdt.h probe (1-byte nop, no semaphore test)
 *	bench hit SITE N      N iterations with SITE attached (run.sh attaches
 *	                      bpftrace); SITE is one of
 *	                        nop5   TASKSCOPE_POLL_START (nop5 + %rsp step)
 *	                        bare5  a bare nop5, same note (no %rsp step)
 *	                        nop1   sys/sdt.h STAP_PROBE1 (1-byte nop)
 *
 * Each loop is a noinline function whose body is a dependent add chain, so
 * the work per iteration is fixed and the compiler cannot drop or vectorise
 * it. Every figure is the best of several runs.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "taskscope.h"

/* sys/sdt.h with a semaphore, so "hit nop1" can wait for the attach too. */
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>
__attribute__((section(".probes")))
volatile unsigned short taskscope_bench_nop1_semaphore = 0;
__attribute__((section(".probes")))
volatile unsigned short taskscope_bench_bare5_semaphore = 0;

#define BARE5_PROBE(x)							\
	__asm__ __volatile__(						\
		".balign 8\n"						\
		"990:\t.byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n\t"		\
		".pushsection .note.stapsdt, \"?\", \"note\"\n\t"	\
		".balign 4\n\t"						\
		".4byte 992f-991f, 994f-993f, 3\n"			\
		"991:\t.asciz \"stapsdt\"\n"				\
		"992:\t.balign 4\n"					\
		"993:\t.8byte 990b\n\t"					\
		".8byte _.stapsdt.base\n\t"				\
		".8byte taskscope_bench_bare5_semaphore\n\t"		\
		".asciz \"taskscope_bench\"\n\t"			\
		".asciz \"bare5\"\n\t"					\
		".asciz \"8@%q[a0]\"\n"					\
		"994:\t.balign 4\n\t"					\
		".popsection\n"						\
		: : [a0] "r" ((uint64_t)(x)) : "memory")

#define STEP(acc, i)	((acc) + ((i) ^ ((acc) >> 3)))
/* Keeps acc in a register and opaque, once per iteration. */
#define OPAQUE(acc)	__asm__ __volatile__("" : "+r"(acc))

static __attribute__((noinline)) uint64_t loop_none(uint64_t n)
{
	uint64_t acc = 1, i;

	for (i = 0; i < n; i++) {
		acc = STEP(acc, i);
		OPAQUE(acc);
	}
	return acc;
}

static __attribute__((noinline)) uint64_t loop_nop5(uint64_t n)
{
	uint64_t acc = 1, i;

	for (i = 0; i < n; i++) {
		acc = STEP(acc, i);
		TASKSCOPE_POLL_START(acc);
		OPAQUE(acc);
	}
	return acc;
}

static __attribute__((noinline)) uint64_t loop_spawn(uint64_t n)
{
	uint64_t acc = 1, i;

	for (i = 0; i < n; i++) {
		acc = STEP(acc, i);
		TASKSCOPE_TASK_SPAWN(acc, i, "bench-task", "bench/usdt/bench.c:90");
		OPAQUE(acc);
	}
	return acc;
}

static __attribute__((noinline)) uint64_t loop_bare5(uint64_t n)
{
	uint64_t acc = 1, i;

	for (i = 0; i < n; i++) {
		acc = STEP(acc, i);
		if (__builtin_expect(taskscope_bench_bare5_semaphore != 0, 0))
			BARE5_PROBE(acc);
		OPAQUE(acc);
	}
	return acc;
}

/* Nothing but the loop and the probe test: the probe's raw cost. */
static __attribute__((noinline)) uint64_t loop_empty(uint64_t n)
{
	uint64_t i;

	for (i = 0; i < n; i++)
		OPAQUE(i);
	return i;
}

static __attribute__((noinline)) uint64_t loop_empty_nop5(uint64_t n)
{
	uint64_t i;

	for (i = 0; i < n; i++) {
		TASKSCOPE_POLL_START(i);
		OPAQUE(i);
	}
	return i;
}

/* sys/sdt.h as most projects use it: the nop always executes. */
static __attribute__((noinline)) uint64_t loop_nop1(uint64_t n)
{
	uint64_t acc = 1, i;

	for (i = 0; i < n; i++) {
		acc = STEP(acc, i);
		STAP_PROBE1(taskscope_bench, nop1, acc);
		OPAQUE(acc);
	}
	return acc;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Loop results land here so no loop is dead code. */
volatile uint64_t bench_sink;

static double ns_per_iter(uint64_t (*loop)(uint64_t), uint64_t n, int runs)
{
	double best = 1e30;
	int r;

	for (r = 0; r < runs; r++) {
		double t0 = now_ns(), dt;

		bench_sink = loop(n);
		dt = (now_ns() - t0) / (double)n;
		if (dt < best)
			best = dt;
	}
	return best;
}

static int wait_semaphore(volatile unsigned short *count)
{
	struct timespec step = { 0, 10 * 1000 * 1000 };
	int i;

	for (i = 0; i < 3000 && !*count; i++)
		nanosleep(&step, NULL);
	return *count ? 0 : -1;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "idle")) {
		uint64_t n = argc > 2 ? strtoull(argv[2], NULL, 0) : 100000000ull;

		ns_per_iter(loop_none, n / 4, 1);	/* warm up the CPU clock */
		printf("idle none %.3f\n", ns_per_iter(loop_none, n, 5));
		printf("idle nop5_disabled %.3f\n", ns_per_iter(loop_nop5, n, 5));
		printf("idle spawn_disabled %.3f\n", ns_per_iter(loop_spawn, n, 5));
		printf("idle sdt_nop1 %.3f\n", ns_per_iter(loop_nop1, n, 5));
		printf("idle empty %.3f\n", ns_per_iter(loop_empty, n, 5));
		printf("idle empty_nop5_disabled %.3f\n", ns_per_iter(loop_empty_nop5, n, 5));
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "hit")) {
		uint64_t n = strtoull(argv[3], NULL, 0);
		uint64_t (*loop)(uint64_t);
		volatile unsigned short *sem;

		if (!strcmp(argv[2], "nop5")) {
			loop = loop_nop5;
			sem = &taskscope_poll_start_semaphore;
		} else if (!strcmp(argv[2], "bare5")) {
			loop = loop_bare5;
			sem = &taskscope_bench_bare5_semaphore;
		} else if (!strcmp(argv[2], "nop1")) {
			loop = loop_nop1;
			sem = &taskscope_bench_nop1_semaphore;
		} else {
			fprintf(stderr, "unknown site %s\n", argv[2]);
			return 2;
		}
		if (wait_semaphore(sem)) {
			printf("hit %s semaphore-timeout\n", argv[2]);
			return 3;
		}
		printf("hit %s %.1f\n", argv[2], ns_per_iter(loop, n, 3));
		return 0;
	}
	fprintf(stderr, "usage: %s idle [N] | hit nop5|bare5|nop1 N\n", argv[0]);
	return 2;
}
