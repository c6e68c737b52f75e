// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Each thread's block_on future as a task of its own: the body of
 * #[tokio::main] or of a #[tokio::test] is in no owned-task list, and a
 * service stuck in main is as common as one stuck in a spawned task
 * (thread_root.h says how it is found).
 *
 * A one-shot read says where such a future waits, not since when: the
 * threads are read at attach too, and one whose future is parked at the
 * same .await on the same object at the snapshot, its thread not switched
 * in since, has waited all along.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "array.h"
#include "observe.h"
#include "thread_root.h"

#define ROOTS_MAX_THREADS	1024

/* Enough of a root's chain to tell "still parked where it was". */
static void root_mark(pid_t pid, const struct ts_thread_root *r, struct root_mark *m)
{
	const struct ts_await_chain *c = &r->chain;

	memset(m, 0, sizeof(*m));
	m->tid = r->tid;
	/*
	 * A loop that parks at the same .await on a timer made anew at the
	 * same address looks the same each time: only the thread's switches
	 * tell that it never woke in between.
	 */
	if (proc_thread_switches(pid, r->tid, &m->switches))
		m->switches = UINT64_MAX;
	m->future_addr = r->future_addr;
	m->leaf_addr = c->leaf.addr;
	m->leaf_object = c->leaf.object;
	if (c->nframes) {
		m->line = c->frames[c->nframes - 1].line;
		snprintf(m->variant, sizeof(m->variant), "%s", c->frames[c->nframes - 1].variant);
	}
}

static bool same_mark(const struct root_mark *a, const struct root_mark *b)
{
	return a->tid == b->tid && a->switches == b->switches && a->switches != UINT64_MAX &&
	       a->future_addr == b->future_addr &&
	       a->leaf_addr == b->leaf_addr && a->leaf_object == b->leaf_object &&
	       a->line == b->line && !strcmp(a->variant, b->variant);
}

/* Calls fn for each thread of op whose block_on future is parked. */
static int each_root(struct observed_proc *op,
		     int (*fn)(struct observed_proc *op, const struct ts_thread_root *r, void *ctx),
		     void *ctx)
{
	struct ts_thread_root *r;
	pid_t *tids;
	int n, i, err = 0;

	if (!op->dw)
		return 0;	/* no types */
	tids = calloc(ROOTS_MAX_THREADS, sizeof(*tids));
	r = malloc(sizeof(*r));
	if (!tids || !r) {
		err = -ENOMEM;
		goto cleanup;
	}
	if (op->core) {	/* the stack pointers the dump kept (NT_PRSTATUS) */
		for (i = 0; i < (int)op->core->nthreads && !err; i++) {
			const struct core_thread *ct = &op->core->threads[i];

			if (ts_dwarf__thread_root_at(op->dw, op->pid, ct->tid, ct->rsp, op->bias, r))
				continue;
			err = fn(op, r, ctx);
		}
		goto cleanup;
	}
	n = proc_threads(op->pid, tids, ROOTS_MAX_THREADS);
	for (i = 0; i < n && !err; i++) {
		if (ts_dwarf__thread_root(op->dw, op->pid, tids[i], op->bias, r))
			continue;	/* running, no block_on, or gone */
		err = fn(op, r, ctx);
	}
cleanup:
	free(tids);
	free(r);
	return err;
}

static int keep_mark(struct observed_proc *op, const struct ts_thread_root *r, void *ctx)
{
	struct root_mark *m;

	(void)ctx;
	m = ts_array_add(&op->root_marks, &op->nroot_marks, &op->cap_root_marks);
	if (!m)
		return -ENOMEM;
	root_mark(op->pid, r, m);
	m->since_ns = op->attach_ns;
	return 0;
}

void observed_proc__mark_roots(struct observed_proc *op)
{
	op->nroot_marks = 0;
	if (op->find_roots)
		each_root(op, keep_mark, NULL);
}

static int add_root(struct observed_proc *op, const struct ts_thread_root *r, void *ctx)
{
	struct ts_process *p = ctx;
	struct root_mark now;
	struct ts_task *t;
	char comm[32] = "", name[256];
	size_t i;

	t = ts_process__add_task(p);
	if (!t)
		return -ENOMEM;
	t->chain = malloc(sizeof(*t->chain));
	if (!t->chain)
		return -ENOMEM;
	*t->chain = r->chain;
	proc_comm(op->pid, r->tid, comm, sizeof(comm));
	t->root_tid = (uint32_t)r->tid;
	t->header = r->future_addr;
	ts_thread_root_name(r->func, comm, r->tid == op->pid, name, sizeof(name));
	t->name = ts_intern(name);
	t->future_type = ts_intern(r->chain.future_type);
	t->location = ts_intern(r->executor);
	t->state = TS_TASK_IDLE;
	t->state_from_memory = true;
	t->in_memory = true;
	root_mark(op->pid, r, &now);
	for (i = 0; i < op->nroot_marks; i++)
		if (op->root_marks[i].tid == r->tid)
			break;
	if (i < op->nroot_marks && same_mark(&op->root_marks[i], &now)) {
		/* parked there since the mark: the whole window when it was at attach */
		now.since_ns = op->root_marks[i].since_ns;
		t->since_attach = now.since_ns == op->attach_ns;
		if (p->snapshot_ns > now.since_ns)
			t->in_state_ns = p->snapshot_ns - now.since_ns;
	} else {
		now.since_ns = p->snapshot_ns;	/* moved: from now on (an observer that looks again) */
	}
	if (i == op->nroot_marks && !ts_array_add(&op->root_marks, &op->nroot_marks,
						  &op->cap_root_marks))
		return -ENOMEM;
	op->root_marks[i] = now;
	return 0;
}

static void free_root_cache(struct observed_proc *op)
{
	size_t i;

	for (i = 0; i < op->nroot_cache; i++)
		free(op->root_cache[i].chain);
	op->nroot_cache = 0;
}

void observed_proc__free_roots(struct observed_proc *op)
{
	free_root_cache(op);
	free(op->root_cache);
	op->root_cache = NULL;
	op->cap_root_cache = 0;
	free(op->root_marks);
	op->root_marks = NULL;
	op->nroot_marks = op->cap_root_marks = 0;
}

/* A copy of t whose chain is its own (the snapshot frees its tasks' chains). */
static int copy_root(struct ts_task *dst, const struct ts_task *src)
{
	*dst = *src;
	dst->chain = NULL;
	if (!src->chain)
		return 0;
	dst->chain = malloc(sizeof(*dst->chain));
	if (!dst->chain)
		return -ENOMEM;
	*dst->chain = *src->chain;
	return 0;
}

int observed_proc__add_roots(struct observed_proc *op, struct ts_process *p)
{
	size_t first = p->ntasks, i;
	int err;

	if (!op->find_roots)
		return 0;
	if (op->roots_every_ns && op->roots_read_ns && p->snapshot_ns >= op->roots_read_ns &&
	    p->snapshot_ns - op->roots_read_ns < op->roots_every_ns) {
		/* the last read's roots, their waits grown by the time since */
		for (i = 0; i < op->nroot_cache; i++) {
			struct ts_task *t = ts_process__add_task(p);

			if (!t || copy_root(t, &op->root_cache[i]))
				return -ENOMEM;
			t->in_state_ns += p->snapshot_ns - op->roots_read_ns;
		}
		return 0;
	}
	err = each_root(op, add_root, p);
	if (err || !op->roots_every_ns)
		return err;
	free_root_cache(op);
	for (i = first; i < p->ntasks; i++) {
		struct ts_task *c = ts_array_add(&op->root_cache, &op->nroot_cache,
						 &op->cap_root_cache);

		if (!c || copy_root(c, &p->tasks[i]))
			return -ENOMEM;
	}
	op->roots_read_ns = p->snapshot_ns;
	return 0;
}
