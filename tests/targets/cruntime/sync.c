// SPDX-License-Identifier: (MIT OR Apache-2.0)
/* Resources tasks wait on: a bounded channel and an async mutex. */
#include <stdio.h>
#include <stdlib.h>

#include "rt_internal.h"

/* ---- wait queues: how a task blocks on a resource ---- */

static void wait_push(struct wait_queue *q, struct task *task)
{
	task->wait_next = NULL;
	if (q->tail)
		q->tail->wait_next = task;
	else
		q->head = task;
	q->tail = task;
}

static bool wait_contains(const struct wait_queue *q, const struct task *task)
{
	const struct task *t;

	for (t = q->head; t; t = t->wait_next)
		if (t == task)
			return true;
	return false;
}

/* Wakes the longest waiter; it retries (or takes a hand-off) when polled. */
static struct task *wait_wake_one(struct wait_queue *q)
{
	struct task *task = q->head;

	if (!task)
		return NULL;
	q->head = task->wait_next;
	if (!q->head)
		q->tail = NULL;
	task->wait_next = NULL;
	task_wake(task);
	return task;
}

/*
 * The contended path: wait_begin once per wait, however many times the
 * task is woken and finds the resource still unavailable.
 */
static void wait_on(struct wait_queue *q, struct task *self, uint64_t res_id)
{
	if (self->waiting_on != res_id) {
		self->waiting_on = res_id;
		self->wait_seen = TASKSCOPE_PROBE_ENABLED(wait_begin);
		TASKSCOPE_WAIT_BEGIN(self->id, res_id);
	}
	if (!wait_contains(q, self))
		wait_push(q, self);
}

static void wait_done(struct task *self, uint64_t res_id)
{
	if (self->waiting_on == res_id) {
		self->waiting_on = 0;
		TASKSCOPE_WAIT_END(self->id, res_id);
	}
}

/* ---- bounded channel of u64 items ---- */

struct channel *channel_new(struct rt *rt, const char *name, size_t cap)
{
	struct channel *ch = xcalloc(1, sizeof(*ch));

	if (!cap) {
		fprintf(stderr, "cruntime: channel %s: capacity 0 (unbounded) is not supported\n",
			name);
		abort();
	}
	ch->id = rt->next_res_id++;
	ch->name = name;
	ch->cap = cap;
	ch->items = xcalloc(cap, sizeof(*ch->items));
	*rt->channels_tail = ch;
	rt->channels_tail = &ch->all_next;
	ch->new_seen = DELIVERED(rt, resource_new);
	TASKSCOPE_RESOURCE_NEW(ch->id, TASKSCOPE_RES_CHANNEL, name, cap);
	return ch;
}

enum task_poll channel_send(struct channel *ch, struct task *self, uint64_t item)
{
	if (ch->len == ch->cap) {
		wait_on(&ch->senders, self, ch->id);
		return TASK_PENDING;
	}
	wait_done(self, ch->id);
	ch->items[(ch->head + ch->len) % ch->cap] = item;
	ch->len++;
	TASKSCOPE_CHANNEL_LEN(ch->id, ch->len);
	wait_wake_one(&ch->receivers);
	return TASK_READY;
}

enum task_poll channel_recv(struct channel *ch, struct task *self, uint64_t *item)
{
	if (ch->len == 0) {
		wait_on(&ch->receivers, self, ch->id);
		return TASK_PENDING;
	}
	wait_done(self, ch->id);
	*item = ch->items[ch->head];
	ch->head = (ch->head + 1) % ch->cap;
	ch->len--;
	TASKSCOPE_CHANNEL_LEN(ch->id, ch->len);
	wait_wake_one(&ch->senders);
	return TASK_READY;
}

/* ---- async mutex ---- */

struct mutex *mutex_new(struct rt *rt, const char *name)
{
	struct mutex *m = xcalloc(1, sizeof(*m));

	m->id = rt->next_res_id++;
	m->name = name;
	*rt->mutexes_tail = m;
	rt->mutexes_tail = &m->all_next;
	m->new_seen = DELIVERED(rt, resource_new);
	TASKSCOPE_RESOURCE_NEW(m->id, TASKSCOPE_RES_MUTEX, name, 0);
	return m;
}

enum task_poll mutex_lock(struct mutex *m, struct task *self)
{
	if (m->owner == self && self->waiting_on != m->id) {
		fprintf(stderr, "cruntime: task %s locks %s twice\n", self->name, m->name);
		abort();
	}
	if (m->owner && m->owner != self) {
		wait_on(&m->waiters, self, m->id);
		return TASK_PENDING;
	}
	/* Free, or handed to us by mutex_unlock while we waited. */
	m->owner = self;
	wait_done(self, m->id);
	m->acquire_seen = DELIVERED(self->rt, acquire);
	TASKSCOPE_ACQUIRE(self->id, m->id);
	return TASK_READY;
}

void mutex_unlock(struct mutex *m, struct task *self)
{
	struct task *next;

	if (m->owner != self) {
		fprintf(stderr, "cruntime: task %s unlocks %s it does not hold\n",
			self->name, m->name);
		abort();
	}
	TASKSCOPE_RELEASE(self->id, m->id);
	/*
	 * Hand-off: the first waiter owns it from now on, so a task polled
	 * before it cannot barge in and starve it. It fires acquire when polled.
	 */
	next = wait_wake_one(&m->waiters);
	m->owner = next;
}
