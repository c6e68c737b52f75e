// SPDX-License-Identifier: (MIT OR Apache-2.0)
/*
 * Uses every macro of taskscope.h; compiled (not run) as C99 and C++11
 * with -Wall -Wextra -pedantic -Werror and stricter conversion warnings.
 */
#include "taskscope.h"

#if TASKSCOPE_ABI_VERSION < 1
#error "ABI version must be at least 1"
#endif

struct fake_task {
	uint64_t id;
	uint64_t parent;
	const char *name;
};

int header_check(const struct fake_task *task, uint64_t res, uint64_t len);

int header_check(const struct fake_task *task, uint64_t res, uint64_t len)
{
	int enabled = 0;

	enabled += TASKSCOPE_PROBE_ENABLED(task_spawn);
	enabled += TASKSCOPE_PROBE_ENABLED(poll_start);
	enabled += TASKSCOPE_PROBE_ENABLED(poll_end);
	enabled += TASKSCOPE_PROBE_ENABLED(wake);
	enabled += TASKSCOPE_PROBE_ENABLED(task_drop);
	enabled += TASKSCOPE_PROBE_ENABLED(resource_new);
	enabled += TASKSCOPE_PROBE_ENABLED(wait_begin);
	enabled += TASKSCOPE_PROBE_ENABLED(wait_end);
	enabled += TASKSCOPE_PROBE_ENABLED(acquire);
	enabled += TASKSCOPE_PROBE_ENABLED(release);
	enabled += TASKSCOPE_PROBE_ENABLED(channel_len);
	enabled += TASKSCOPE_PROBE_ENABLED(abi_version);

	TASKSCOPE_TASK_SPAWN(task->id, task->parent, task->name, __FILE__);
	TASKSCOPE_POLL_START(task->id);
	TASKSCOPE_POLL_END(task->id, TASKSCOPE_POLL_PENDING);
	TASKSCOPE_POLL_END(task->id, TASKSCOPE_POLL_READY);
	TASKSCOPE_WAKE(task->id, 0);
	TASKSCOPE_TASK_DROP(task->id);
	TASKSCOPE_RESOURCE_NEW(res, TASKSCOPE_RES_MUTEX, "m", 0);
	TASKSCOPE_RESOURCE_NEW(res, TASKSCOPE_RES_RWLOCK, "rw", 0);
	TASKSCOPE_RESOURCE_NEW(res, TASKSCOPE_RES_SEMAPHORE, "sem", 4);
	TASKSCOPE_RESOURCE_NEW(res, TASKSCOPE_RES_CHANNEL, "chan", 64);
	TASKSCOPE_RESOURCE_NEW(res, TASKSCOPE_RES_OTHER, 0, 0);	/* NULL name */
	TASKSCOPE_WAIT_BEGIN(task->id, res);
	TASKSCOPE_WAIT_END(task->id, res);
	TASKSCOPE_ACQUIRE(task->id, res);
	TASKSCOPE_RELEASE(task->id, res);
	TASKSCOPE_CHANNEL_LEN(res, len);
	TASKSCOPE_ANNOUNCE_ABI();
	/* A probe as the only statement of an if/else must still parse. */
	if (len)
		TASKSCOPE_POLL_START(len);
	else
		TASKSCOPE_TASK_DROP(len);
	return enabled;
}
