/*
 * The wait-for graph and the deadlock rule on hand-built await chains:
 * cycles through a mutex, a channel and a JoinHandle are found; waits
 * several tasks (or a Sender outside any task) could end are not cycles.
 */
#include <stdlib.h>

#include "stall_rules.h"
#include "unit.h"
#include "wait_graph.h"

#define S (1000ULL * 1000 * 1000)

static struct ts_task *task(struct ts_process *p, uint64_t id, const char *name)
{
	struct ts_task *t = ts_process__add_task(p);

	t->task_id = id;
	t->header = 0x1000 * id;
	t->name = ts_intern(name);
	t->state = TS_TASK_IDLE;
	t->in_state_ns = 5 * S;
	t->chain = calloc(1, sizeof(*t->chain));
	t->chain->status = TS_CHAIN_SUSPENDED;
	t->chain->nframes = 1;
	snprintf(t->chain->frames[0].func, sizeof(t->chain->frames[0].func), "%s", name);
	snprintf(t->chain->frames[0].file, sizeof(t->chain->frames[0].file), "src/main.rs");
	t->chain->frames[0].line = (uint32_t)(10 * id);
	return t;
}

static void waits(struct ts_task *t, enum ts_leaf_kind k, uint64_t object, const char *kind)
{
	t->chain->leaf.kind = k;
	t->chain->leaf.object = object;
	t->chain->leaf.obj.kind = kind;
	if (kind && !strcmp(kind, "mutex"))
		snprintf(t->chain->leaf.obj.type, sizeof(t->chain->leaf.obj.type), "Mutex<u64>");
}

static struct ts_await_hold *holds(struct ts_task *t, enum ts_hold_kind k, uint64_t object,
				   const char *kind)
{
	struct ts_await_hold *h = &t->chain->holds[t->chain->nholds++];

	h->kind = k;
	h->object = object;
	h->obj.kind = kind;
	return h;
}

static int deadlocks(const struct ts_process *p, struct ts_finding **f)
{
	struct ts_rules_config cfg;
	int n, i, d = 0;

	ts_rules_config__default(&cfg);
	n = ts_rules__evaluate(p, &cfg, f);
	for (i = 0; i < n; i++)
		d += (*f)[i].kind == TS_FIND_DEADLOCK;
	return d;
}

static const struct ts_finding *first_deadlock(const struct ts_finding *f)
{
	while (f->kind != TS_FIND_DEADLOCK)
		f++;
	return f;
}

int main(void)
{
	struct ts_process p = {};
	struct ts_wait_graph g;
	struct ts_finding *f;
	struct ts_task *a, *b, *c;
	struct ts_await_hold *h;
	char buf[4096];
	FILE *mem;

	/* three tasks: a holds M and joins b; b waits on ch whose only Sender c
	 * holds; c waits on M */
	a = task(&p, 3, "app::hold_and_join");
	b = task(&p, 4, "app::wait_for_message");
	c = task(&p, 5, "app::lock_then_send");
	holds(a, TS_HOLD_MUTEX_GUARD, 0xa0, "mutex");
	waits(a, TS_LEAF_JOIN, b->header, NULL);
	waits(b, TS_LEAF_CHAN_RECV, 0xc0, "mpsc");
	holds(b, TS_HOLD_RECEIVER, 0xc0, "mpsc");
	h = holds(c, TS_HOLD_SENDER, 0xc0, "mpsc");
	h->obj.has_senders = true;
	h->obj.senders = 1;
	waits(c, TS_LEAF_MUTEX, 0xa0, "mutex");
	CHECK("graph builds", ts_wait_graph__build(&g, &p) == 0);
	CHECK("two resources: the mutex and the channel", g.nres == 2);
	CHECK("one cycle of three", g.ncycles == 1 && g.cycles[0].n == 3);
	CHECK("a joins b (definite)", g.waits[0].kind == TS_WAIT_JOIN && g.waits[0].definite &&
	      g.waits[0].target == 1);
	CHECK("b's recv: its only sender c", g.waits[1].definite && g.waits[1].target == 2);
	CHECK("c's lock: held by a", g.waits[2].kind == TS_WAIT_LOCK && g.waits[2].target == 0);
	mem = fmemopen(buf, sizeof(buf), "w");
	ts_wait_graph__write_dot(&g, mem, S);
	fclose(mem);
	CHECK("DOT: a digraph", !strncmp(buf, "digraph waits {", 15));
	CHECK("DOT: the JoinHandle edge on the cycle is red",
	      strstr(buf, "t0 -> t1 [label=\"awaits JoinHandle\", color=red") != NULL);
	CHECK("DOT: the mutex held by a, red", strstr(buf, "label=\"held by\", style=dashed, "
						      "color=red") != NULL);
	ts_wait_graph__free(&g);
	CHECK("rules: one deadlock", deadlocks(&p, &f) == 1);
	CHECK("deadlock written as its cycle",
	      strstr(first_deadlock(f)->message,
		     "task 3 app::hold_and_join at src/main.rs:30 \u2192 JoinHandle of task 4 "
		     "\u2192 task 4 app::wait_for_message at src/main.rs:40 \u2192 recv on ") &&
	      strstr(first_deadlock(f)->message, "\u2192 task 5 app::lock_then_send at "
		     "src/main.rs:50 \u2192 Mutex<u64> 0xa0 \u2192 task 3 app::hold_and_join"));
	CHECK("deadlock: a remedy", first_deadlock(f)->remedy != NULL);
	CHECK("deadlock: members in cycle order", first_deadlock(f)->count == 3 &&
	      first_deadlock(f)->members[0] == 0 && first_deadlock(f)->members[2] == 2);
	free(f);

	/* a second live Sender not in any task frame: b's recv is no cycle */
	h->obj.senders = 2;
	CHECK("recv with a Sender outside the tasks: no deadlock", deadlocks(&p, &f) == 0);
	free(f);
	h->obj.senders = 1;

	/* two holders of a semaphore: either can free it, no definite edge */
	waits(c, TS_LEAF_SEMAPHORE, 0xa0, "semaphore");
	a->chain->holds[0].kind = TS_HOLD_PERMIT;
	holds(b, TS_HOLD_PERMIT, 0xa0, "semaphore");
	CHECK("semaphore held twice: no deadlock", deadlocks(&p, &f) == 0);
	free(f);
	ts_process__free(&p);

	/* a full channel whose receiver awaits the sender's JoinHandle */
	memset(&p, 0, sizeof(p));
	a = task(&p, 4, "app::fill_and_send");
	b = task(&p, 3, "app::join_then_drain");
	waits(a, TS_LEAF_CHAN_SEND, 0xd0, "mpsc");
	holds(a, TS_HOLD_SENDER, 0xd0, "mpsc");
	holds(b, TS_HOLD_RECEIVER, 0xd0, "mpsc");
	waits(b, TS_LEAF_JOIN, a->header, NULL);
	CHECK("send on a full channel <-> join: a deadlock", deadlocks(&p, &f) == 1);
	CHECK("its message names the send", strstr(first_deadlock(f)->message, "send on ") != NULL);
	free(f);

	/* the receiver parked on pending(), not on the sender: no cycle */
	waits(b, TS_LEAF_PENDING, 0, NULL);
	CHECK("receiver parked elsewhere: no deadlock", deadlocks(&p, &f) == 0);
	free(f);
	CHECK("graph: the sender's edge still names the receiver",
	      !ts_wait_graph__build(&g, &p) && g.waits[0].definite && g.waits[0].target == 1);
	ts_wait_graph__free(&g);
	ts_process__free(&p);

	/* a receiver keeping the channel's only Sender: never woken, said so */
	memset(&p, 0, sizeof(p));
	a = task(&p, 7, "app::waits_for_reply");
	waits(a, TS_LEAF_CHAN_RECV, 0xe0, "mpsc");
	holds(a, TS_HOLD_RECEIVER, 0xe0, "mpsc");
	h = holds(a, TS_HOLD_SENDER, 0xe0, "mpsc");
	h->obj.has_senders = true;
	h->obj.senders = 1;
	CHECK("graph: its own sender marks the wait", !ts_wait_graph__build(&g, &p) &&
	      g.waits[0].self_freer && !g.waits[0].definite);
	ts_wait_graph__free(&g);
	{
		struct ts_rules_config cfg;
		int n, i, found = 0;

		ts_rules_config__default(&cfg);
		n = ts_rules__evaluate(&p, &cfg, &f);
		for (i = 0; i < n; i++)
			found += f[i].kind == TS_FIND_IDLE &&
				 strstr(f[i].message, "whose only sender it holds itself") != NULL;
		free(f);
		CHECK("idle: the message says it holds its only sender", found == 1);
		CHECK("no deadlock of one task", deadlocks(&p, &f) == 0);
		free(f);
	}
	h->obj.senders = 2;
	CHECK("a second live Sender elsewhere: not marked", !ts_wait_graph__build(&g, &p) &&
	      !g.waits[0].self_freer);
	ts_wait_graph__free(&g);
	ts_process__free(&p);
	UNIT_EXIT();
}
