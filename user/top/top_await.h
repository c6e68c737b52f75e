/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The await chain of a task for the detail view of `taskscope top`. */
#ifndef TS_TOP_AWAIT_H
#define TS_TOP_AWAIT_H

#include <stddef.h>

#include "observe.h"
#include "task_model.h"

/*
 * A top_await_fn (top_panels.h) over the DWARF await-chain code: the tree
 * from the task's future to the leaf it waits on, with each frame's
 * variables. Needs observed_proc__load_dwarf done on op. Returns the
 * length; 0 when the task is not suspended; -errno with the reason in buf.
 */
int top_await_chain(void *ctx, const struct observed_proc *op, const struct ts_task *t,
		    char *buf, size_t len);

#endif
