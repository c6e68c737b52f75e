/*
 * Fires every probe of usdt/taskscope.h once with values whose high bits
 * are set (a 4-byte read or a sign slip shows), once a tracer listens,
 * then stays alive so taskscope can read back what its BPF side decoded.
 */
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "taskscope.h"

static int all_enabled(void)
{
	return TASKSCOPE_PROBE_ENABLED(task_spawn) && TASKSCOPE_PROBE_ENABLED(poll_start) &&
	       TASKSCOPE_PROBE_ENABLED(poll_end) && TASKSCOPE_PROBE_ENABLED(wake) &&
	       TASKSCOPE_PROBE_ENABLED(task_drop) && TASKSCOPE_PROBE_ENABLED(resource_new) &&
	       TASKSCOPE_PROBE_ENABLED(wait_begin) && TASKSCOPE_PROBE_ENABLED(wait_end) &&
	       TASKSCOPE_PROBE_ENABLED(acquire) && TASKSCOPE_PROBE_ENABLED(release) &&
	       TASKSCOPE_PROBE_ENABLED(channel_len);
}

int main(void)
{
	volatile uint64_t done_task = 0xfeedface00000001ull, parked = 0x8000000000000042ull;
	volatile uint64_t chan = 0x7f00dead0000beefull, lock = 0x1234, cap = 64;
	volatile uint64_t len = 0x100000003ull;
	struct timespec step = { .tv_nsec = 10 * 1000 * 1000 };

	printf("ready %d\n", getpid());
	fflush(stdout);
	while (!all_enabled())
		nanosleep(&step, NULL);
	/* the semaphores go up one link at a time: let the last link settle */
	nanosleep(&step, NULL);

	TASKSCOPE_ANNOUNCE_ABI();
	/* a task that runs to completion: spawn, pending poll, wake, ready poll, drop */
	TASKSCOPE_TASK_SPAWN(done_task, 0, "finisher", "usdt_decode.c:37");
	TASKSCOPE_POLL_START(done_task);
	TASKSCOPE_POLL_END(done_task, TASKSCOPE_POLL_PENDING);
	TASKSCOPE_WAKE(done_task, parked);
	TASKSCOPE_POLL_START(done_task);
	TASKSCOPE_POLL_END(done_task, TASKSCOPE_POLL_READY);
	TASKSCOPE_TASK_DROP(done_task);
	/* a task left waiting on a channel, another resource held and released */
	TASKSCOPE_TASK_SPAWN(parked, done_task, "parked \xce\xbb", "usdt_decode.c:45");
	TASKSCOPE_RESOURCE_NEW(chan, TASKSCOPE_RES_CHANNEL, "jobs", cap);
	TASKSCOPE_CHANNEL_LEN(chan, len);
	TASKSCOPE_RESOURCE_NEW(lock, TASKSCOPE_RES_MUTEX, "state_lock", 0);
	TASKSCOPE_ACQUIRE(parked, lock);
	TASKSCOPE_RELEASE(parked, lock);
	TASKSCOPE_ACQUIRE(done_task, lock);
	TASKSCOPE_POLL_START(parked);
	TASKSCOPE_WAIT_BEGIN(parked, chan);
	TASKSCOPE_WAIT_END(parked, chan);
	TASKSCOPE_WAIT_BEGIN(parked, chan);
	TASKSCOPE_POLL_END(parked, TASKSCOPE_POLL_PENDING);
	for (;;)
		pause();
}
