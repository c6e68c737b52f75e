// SPDX-License-Identifier: (MIT OR Apache-2.0)
/*
 * Fires every taskscope probe with known values and prints each firing as
 *	expect <probe> <arg>...
 * (integers in hex, strings verbatim), so a tracer that prints
 *	got <probe> <arg>...
 * in the same shape can be checked line for line.
 *
 *	probes_all          wait (30 s max) until every probe is enabled, fire
 *	probes_all idle     print the semaphores and exit 0 if all are zero
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <inttypes.h>

#include "taskscope.h"

#define HEX "%" PRIx64

struct semaphore_ref {
	const char *name;
	volatile unsigned short *count;
};

static const struct semaphore_ref semaphores[] = {
	{ "task_spawn", &taskscope_task_spawn_semaphore },
	{ "poll_start", &taskscope_poll_start_semaphore },
	{ "poll_end", &taskscope_poll_end_semaphore },
	{ "wake", &taskscope_wake_semaphore },
	{ "task_drop", &taskscope_task_drop_semaphore },
	{ "resource_new", &taskscope_resource_new_semaphore },
	{ "wait_begin", &taskscope_wait_begin_semaphore },
	{ "wait_end", &taskscope_wait_end_semaphore },
	{ "acquire", &taskscope_acquire_semaphore },
	{ "release", &taskscope_release_semaphore },
	{ "channel_len", &taskscope_channel_len_semaphore },
	{ "abi_version", &taskscope_abi_version_semaphore },
};
#define N_SEMAPHORES (sizeof(semaphores) / sizeof(semaphores[0]))

static unsigned int count_enabled(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < N_SEMAPHORES; i++)
		n += *semaphores[i].count != 0;
	return n;
}

/* A tracer attaches asynchronously: its semaphore increments say when. */
static int wait_enabled(double timeout_s)
{
	struct timespec step = { 0, 10 * 1000 * 1000 };
	double waited = 0;
	unsigned int i;

	while (count_enabled() < N_SEMAPHORES) {
		if (waited >= timeout_s) {
			printf("semaphore-timeout");
			for (i = 0; i < N_SEMAPHORES; i++)
				if (!*semaphores[i].count)
					printf(" %s", semaphores[i].name);
			printf("\n");
			return -1;
		}
		nanosleep(&step, NULL);
		waited += 0.01;
	}
	printf("enabled-after %.2f s\n", waited);
	return 0;
}

/*
 * noinline and volatile inputs keep the compiler from folding the values
 * into constants the probe sites could be specialised on.
 */
static __attribute__((noinline)) void fire_task(volatile uint64_t *v, const char *name,
						const char *location)
{
	uint64_t task = v[0], parent = v[1];

	TASKSCOPE_TASK_SPAWN(task, parent, name, location);
	printf("expect task_spawn " HEX " " HEX " %s %s\n", task, parent, name, location);
	TASKSCOPE_POLL_START(task);
	printf("expect poll_start " HEX "\n", task);
	TASKSCOPE_POLL_END(task, TASKSCOPE_POLL_PENDING);
	printf("expect poll_end " HEX " 0\n", task);
	TASKSCOPE_WAKE(task, parent);
	printf("expect wake " HEX " " HEX "\n", task, parent);
	TASKSCOPE_POLL_START(task);
	printf("expect poll_start " HEX "\n", task);
	TASKSCOPE_POLL_END(task, TASKSCOPE_POLL_READY);
	printf("expect poll_end " HEX " 1\n", task);
	TASKSCOPE_TASK_DROP(task);
	printf("expect task_drop " HEX "\n", task);
}

static __attribute__((noinline)) void fire_resource(volatile uint64_t *v, uint32_t kind,
						    const char *name)
{
	uint64_t res = v[0], task = v[1], capacity = v[2], len = v[3];

	TASKSCOPE_RESOURCE_NEW(res, kind, name, capacity);
	printf("expect resource_new " HEX " %" PRIx32 " %s " HEX "\n", res, kind, name, capacity);
	TASKSCOPE_WAIT_BEGIN(task, res);
	printf("expect wait_begin " HEX " " HEX "\n", task, res);
	TASKSCOPE_WAIT_END(task, res);
	printf("expect wait_end " HEX " " HEX "\n", task, res);
	TASKSCOPE_ACQUIRE(task, res);
	printf("expect acquire " HEX " " HEX "\n", task, res);
	TASKSCOPE_CHANNEL_LEN(res, len);
	printf("expect channel_len " HEX " " HEX "\n", res, len);
	TASKSCOPE_RELEASE(task, res);
	printf("expect release " HEX " " HEX "\n", task, res);
}

int main(int argc, char **argv)
{
	/* High bits set on purpose: a 4-byte read or sign slip shows. */
	volatile uint64_t task_a[2] = { 0xfeedface00000001ull, 0 };
	volatile uint64_t task_b[2] = { 0x8000000000000042ull, 0xfeedface00000001ull };
	volatile uint64_t chan[4] = { 0x7f00dead0000beefull, 0x8000000000000042ull, 64,
				      0x100000003ull };
	volatile uint64_t lock[4] = { 0x1234, 0xfeedface00000001ull, 0, 0 };
	unsigned int i;

	if (argc > 1 && !strcmp(argv[1], "idle")) {
		for (i = 0; i < N_SEMAPHORES; i++)
			printf("semaphore %s %u\n", semaphores[i].name, *semaphores[i].count);
		return count_enabled() ? 1 : 0;
	}

	if (wait_enabled(30.0))
		return 3;

	TASKSCOPE_ANNOUNCE_ABI();
	printf("expect abi_version %x\n", TASKSCOPE_ABI_VERSION);
	fire_task(task_a, "root", "src/main.rs:10");
	fire_task(task_b, "worker-7 \xce\xbb", "usdt/test/probes_all.c:123");
	fire_resource(chan, TASKSCOPE_RES_CHANNEL, "jobs");
	fire_resource(lock, TASKSCOPE_RES_MUTEX, "state_lock");
	fflush(stdout);
	return 0;
}
