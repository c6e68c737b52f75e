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
 *	slice FUNC ROUND CALLS SECONDS NS_PER_CALL
 *
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
 *	ts_hit_usdt     a C function holding TASKSCOPE_POLL_START (usdt/taskscope.h:
 *	                semaphore test + nop5 site, what an instrumented runtime
 *	                pays per event); run.sh attaches usdt:BIN:taskscope:poll_start
 *
 * Each function does the same work after its first instruction. The loop
 * reads the clock every 4096 calls, so it is bounded in time whatever the
 * probe costs (a slice may overshoot by 4096 calls).
 */
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

uint64_t ts_hit_base(uint64_t);
uint64_t ts_hit_jmp(uint64_t);
uint64_t ts_hit_push(uint64_t);
uint64_t ts_hit_sub(uint64_t);
uint64_t ts_hit_jmp_ret(uint64_t);

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
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Calls through a volatile pointer so the call is never inlined or hoisted. */
static uint64_t (*volatile target)(uint64_t);

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 3;
	double slice = argc > 2 ? atof(argv[2]) : 0.3;
	volatile uint64_t sink = 0;

	if (rounds < 1 || rounds > 50 || slice <= 0 || slice > 10) {
		fprintf(stderr, "usage: probe_hit ROUNDS(1-50) SECONDS_PER_SLICE(0-10]\n");
		return 2;
	}
	for (int r = 0; r < rounds; r++) {
		for (size_t f = 0; f < sizeof(fns) / sizeof(fns[0]); f++) {
			uint64_t calls = 0, acc = 0;
			double t0 = now(), t1;

			target = fns[f].fn;
			do {
				for (int i = 0; i < 4096; i++)
					acc += target(calls + i);
				calls += 4096;
				t1 = now();
			} while (t1 - t0 < slice);
			sink = acc;
			printf("slice %s %d %llu %.6f %.2f\n", fns[f].name, r,
			       (unsigned long long)calls, t1 - t0, (t1 - t0) * 1e9 / calls);
			fflush(stdout);
		}
	}
	(void)sink;
	return 0;
}
