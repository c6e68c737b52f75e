/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "await_chain.h"
#include "top_await.h"

int top_await_chain(void *ctx, const struct observed_proc *op, const struct ts_task *t,
		    char *buf, size_t len)
{
	struct ts_await_chain *c;
	int err;

	if (len)
		buf[0] = '\0';
	if (!op->dw) {
		snprintf(buf, len, "%s", op->dwarf_note[0] ? op->dwarf_note : "no DWARF");
		return -ENODATA;
	}
	/* a polled task is on a worker's stack, not parked at an await */
	if (t->state != TS_TASK_IDLE && t->state != TS_TASK_SCHEDULED)
		return 0;
	if (!t->poll_fn_vaddr) {
		snprintf(buf, len, "its future type is not known");
		return -ENOENT;
	}
	c = calloc(1, sizeof(*c));	/* tens of KiB: not on the stack */
	if (!c)
		return -ENOMEM;
	err = ts_dwarf__task_chain(op->dw, op->pid, op->bias, t->poll_fn_vaddr, t->header, c);
	if (err) {
		snprintf(buf, len, "no await chain for this future in the DWARF");
		free(c);
		return err;
	}
	err = ts_await_chain__format_detail(c, buf, len);
	free(c);
	return err;
}
