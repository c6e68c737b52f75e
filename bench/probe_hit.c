// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Bare cost of one uprobe hit, for bench/run.sh.
 *
 *	probe_hit ROUNDS SECONDS_PER_SLICE
 *
 * Calls each of the functions below in a tight loop for SECONDS_PER_SLICE,
 * one after the other, ROUNDS times (so the conditions alternate and drift
 * hits all of them alike), and prints per slice
 *
 *	slice FUNC ROUND CALLS SECONDS CPU_NS_PER_CALL WALL_NS_PER_CALL
 *
 * CPU_NS_PER_CALL is the calling thread's CPU time (user + kernel, where the
 * trap is spent) per call, so other load on the machine does not inflate it
 * the way it does the wall-clock figure.
 * run.sh attaches bpftrace to some of them (`uprobe:BIN:FUNC { @[probe] =
 * count(); }`) and subtracts the unprobed baseline. The functions are
 * written in assembly so that their first instruction is exactly the kind
 * taskscope meets in tokio, because that decides how the kernel handles
 * the breakpoint (emulated in the kernel, or single-stepped out of line):
 *
 *	ts_hit_base     jmp  (never probed: the baseline)
 *	ts_hit_jmp      jmp  (like every tokio raw::poll instance: `jmp Harness::poll`)
 *	ts_hit_push     push (like raw::dealloc and waker::wake_by_val: `push %r14/%rbx`)
 *	ts_hit_sub      sub $0x18,%rsp (like waker::wake_by_ref: single-stepped)
 *	ts_hit_jmp_ret  jmp, probed with a uprobe and a uretprobe (taskscope --mode full)
 *	ts_hit_jmp_mt   jmp, called by 2 threads at once (2 tokio workers trapping
 *	                concurrently; its baseline is ts_hit_base called by 2 threads,
 *	                printed as ts_hit_base_mt); the figure is per call per thread
 *	ts_hit_usdt     a C function holding TASKSCOPE_POLL_START (usdt/taskscope.h:
 *	                semaphore test + nop5 site, what an instrumented runtime
 *	                pays per event); run.sh attaches usdt:BIN:taskscope:poll_start
 *
 * Each function does the same work after its first instruction. The loop
 * reads the clock every 4096 calls, so it is bounded in time whatever the
 * probe costs (a slice may overshoot by 4096 calls).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "taskscope.h"

#define FN(name, first)						\
	__asm__(".text\n.globl " #name "\n.type " #name ",@function\n"	\
		".p2align 4\n" #name ":\n\t" first "\n"			\
		"1:\n\tmov %rdi, %rax\n\tret\n.size " #name ", .-" #name "\n")

FN(ts_hit_base, "jmp 1f");
FN(ts_hit_jmp, "jmp 1f");
FN(ts_hit_push, "push %rbx\n\tpop %rbx");
FN(ts_hit_sub, "sub $0x18, %rsp\n\tadd $0x18, %rsp");
FN(ts_hit_jmp_ret, "jmp 1f");
FN(ts_hit_jmp_mt, "jmp 1f");

uint64_t ts_hit_base(uint64_t);
uint64_t ts_hit_jmp(uint64_t);
uint64_t ts_hit_push(uint64_t);
uint64_t ts_hit_sub(uint64_t);
uint64_t ts_hit_jmp_ret(uint64_t);
uint64_t ts_hit_jmp_mt(uint64_t);

__attribute__((noinline)) uint64_t ts_hit_usdt(uint64_t x)
{
	TASKSCOPE_POLL_START(x);
	return x;
}

static const struct {
	const char *name;
	uint64_t (*fn)(uint64_t);
} fns[] = {
	{ "ts_hit_base", ts_hit_base },
	{ "ts_hit_jmp", ts_hit_jmp },
	{ "ts_hit_push", ts_hit_push },
	{ "ts_hit_sub", ts_hit_sub },
	{ "ts_hit_jmp_ret", ts_hit_jmp_ret },
	{ "ts_hit_usdt", ts_hit_usdt },
	{ "ts_hit_base_mt", ts_hit_base },	/* 2 threads */
	{ "ts_hit_jmp_mt", ts_hit_jmp_mt },	/* 2 threads */
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double thread_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

struct slice {
	uint64_t (*fn)(uint64_t);
	double seconds;
	uint64_t calls;
	double elapsed;		/* wall clock */
	double cpu;		/* this thread's CPU time (user + kernel: the trap) */
};

/* Calls fn in a loop for s->seconds; bounded in time, not in calls. */
static void *run_slice(void *arg)
{
	struct slice *s = arg;
	/* through a volatile pointer: never inlined or hoisted */
	uint64_t (*volatile target)(uint64_t) = s->fn;
	uint64_t calls = 0, acc = 0;
	double t0 = now(), t1, c0 = thread_cpu(), c1;

	do {
		for (int i = 0; i < 4096; i++)
			acc += target(calls + i);
		calls += 4096;
		t1 = now();
	} while (t1 - t0 < s->seconds);
	c1 = thread_cpu();
	s->calls = calls + (acc & 0);
	s->elapsed = t1 - t0;
	s->cpu = c1 - c0;
	return NULL;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 3;
	double slice = argc > 2 ? atof(argv[2]) : 0.3;

	if (rounds < 1 || rounds > 50 || slice <= 0 || slice > 10) {
		fprintf(stderr, "usage: probe_hit ROUNDS(1-50) SECONDS_PER_SLICE(0-10]\n");
		return 2;
	}
	for (int r = 0; r < rounds; r++) {
		for (size_t f = 0; f < sizeof(fns) / sizeof(fns[0]); f++) {
			struct slice s[2] = {
				{ .fn = fns[f].fn, .seconds = slice },
				{ .fn = fns[f].fn, .seconds = slice },
			};
			int nthreads = strstr(fns[f].name, "_mt") ? 2 : 1;
			pthread_t th;
			double ns, wall;

			if (nthreads == 2 && pthread_create(&th, NULL, run_slice, &s[1]))
				nthreads = 1;
			run_slice(&s[0]);
			if (nthreads == 2)
				pthread_join(th, NULL);
			ns = s[0].cpu * 1e9 / s[0].calls;
			wall = s[0].elapsed * 1e9 / s[0].calls;
			if (nthreads == 2) {
				ns = (ns + s[1].cpu * 1e9 / s[1].calls) / 2;
				wall = (wall + s[1].elapsed * 1e9 / s[1].calls) / 2;
			}
			printf("slice %s %d %llu %.6f %.2f %.2f\n", fns[f].name, r,
			       (unsigned long long)(s[0].calls + (nthreads == 2 ? s[1].calls : 0)),
			       s[0].elapsed, ns, wall);
			fflush(stdout);
		}
	}
	return 0;
}
