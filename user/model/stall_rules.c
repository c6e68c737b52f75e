/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "stall_rules.h"

#define SPACESHIP(a, b) (((a) > (b)) - ((a) < (b)))

/*
 * Findings as the rules make them. Messages go into one text arena; until
 * the findings are packed, a finding's message field holds its offset in
 * the arena (plus one), not a pointer: the arena moves as it grows.
 */
struct finding_vec {
	struct ts_finding *v;
	size_t n, cap;
	char *text;
	size_t text_len, text_cap;
	bool oom;
};

static void set_message(struct finding_vec *fv, struct ts_finding *f, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Out of memory is remembered (fv->oom) and reported once, by ts_rules__evaluate. */
static void set_message(struct finding_vec *fv, struct ts_finding *f, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	size_t n;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	n = len < 0 ? 0 : (size_t)len >= sizeof(buf) ? sizeof(buf) - 1 : (size_t)len;
	if (fv->text_len + n + 1 > fv->text_cap) {
		size_t cap = fv->text_cap ? fv->text_cap * 2 : 4096;
		char *nt;

		while (cap < fv->text_len + n + 1)
			cap *= 2;
		nt = realloc(fv->text, cap);
		if (!nt) {
			fv->oom = true;
			return;
		}
		fv->text = nt;
		fv->text_cap = cap;
	}
	memcpy(fv->text + fv->text_len, buf, n);
	fv->text[fv->text_len + n] = '\0';
	f->message = (const char *)(uintptr_t)(fv->text_len + 1);
	fv->text_len += n + 1;
}

/*
 * The findings and their messages in one block, messages as pointers at
 * last. The findings array is grown in place (realloc: a large block is
 * remapped, not copied) and the text copied after it. fv->v is consumed.
 */
static struct ts_finding *pack(struct finding_vec *fv)
{
	size_t head = fv->n * sizeof(*fv->v), i;
	struct ts_finding *out;
	char *text;

	out = realloc(fv->v, head + fv->text_len + 1);
	if (!out)
		return NULL;
	fv->v = NULL;
	text = (char *)out + head;
	if (fv->text_len)
		memcpy(text, fv->text, fv->text_len);
	text[fv->text_len] = '\0';
	for (i = 0; i < fv->n; i++) {
		uintptr_t off = (uintptr_t)out[i].message;

		out[i].message = off ? text + off - 1 : text + fv->text_len;
	}
	return out;
}

void ts_rules_config__default(struct ts_rules_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));	/* fields added later default to off */
	cfg->stall_ns = 1000ULL * 1000 * 1000;
	/*
	 * tokio asks for 10-100 us between .awaits; a poll of 100 ms is a
	 * thousand times that and already starves timers and other tasks of
	 * its worker, long before a 1 s wait would be called a stall.
	 */
	cfg->long_poll_ns = 100ULL * 1000 * 1000;
	/* a task that yields to itself runs its poll loop thousands of times a second */
	cfg->spin_min_polls_per_s = 200;
	cfg->spin_max_idle_per_poll_ns = 200 * 1000;
}

const char *ts_finding_kind_name(enum ts_finding_kind k)
{
	switch (k) {
	case TS_FIND_DEADLOCK:
		return "deadlock";
	case TS_FIND_BLOCKED_WORKER:
		return "blocked_worker";
	case TS_FIND_STARVED:
		return "starved";
	case TS_FIND_SPINNING:
		return "spinning";
	case TS_FIND_LOST_WAKE:
		return "lost_wake";
	case TS_FIND_IDLE:
		return "idle";
	}
	return "?";
}

static struct ts_finding *add(struct finding_vec *fv, const struct ts_process *p,
			      enum ts_finding_kind kind, size_t task)
{
	if (fv->n == fv->cap) {
		size_t cap = fv->cap ? fv->cap * 2 : 16;
		struct ts_finding *nv = realloc(fv->v, cap * sizeof(*nv));

		if (!nv)
			return NULL;
		fv->v = nv;
		fv->cap = cap;
	}
	memset(&fv->v[fv->n], 0, sizeof(fv->v[0]));
	fv->v[fv->n].kind = kind;
	fv->v[fv->n].task = task;
	fv->v[fv->n].name = task != SIZE_MAX ? p->tasks[task].name : "";
	return &fv->v[fv->n++];
}

static const char *task_label(const struct ts_task *t, char *buf, size_t len)
{
	const char *name = t->name[0] ? t->name : "(unnamed)";

	if (t->root_tid)	/* not spawned: the future a thread runs in block_on */
		snprintf(buf, len, "block_on %s (thread %u)", name, t->root_tid);
	else if (t->task_id)
		snprintf(buf, len, "task %llu %s", (unsigned long long)t->task_id, name);
	else
		snprintf(buf, len, "task @0x%llx %s", (unsigned long long)t->header, name);
	return buf;
}

static const struct ts_worker *worker_with_max(const struct ts_process *p, uint64_t header)
{
	const struct ts_worker *best = NULL;
	size_t i;

	for (i = 0; i < p->nworkers; i++)
		if (p->workers[i].st.max_poll_header == header &&
		    (!best || p->workers[i].st.max_poll_ns > best->st.max_poll_ns))
			best = &p->workers[i];
	return best;
}

/*
 * Who paid for a long poll: tasks woken but left unpolled for at least
 * threshold (their longest such wait), other than the blocker itself.
 */
static void waited_meanwhile(const struct ts_process *p, size_t blocker, uint64_t threshold,
			     char *buf, size_t len)
{
	char label[320], d[32];
	size_t i, n = 0, off = 0;
	uint64_t longest = 0;

	buf[0] = '\0';
	for (i = 0; i < p->ntasks; i++) {
		const struct ts_task *t = &p->tasks[i];

		if (i == blocker || t->st.max_scheduled_ns < threshold)
			continue;
		if (t->st.max_scheduled_ns > longest)
			longest = t->st.max_scheduled_ns;
		if (n++ < 3 && off < len)
			off += (size_t)snprintf(buf + off, len - off, "%s%s", n > 1 ? ", " : "",
						task_label(t, label, sizeof(label)));
	}
	if (!n)
		return;
	ts_fmt_duration(longest, d, sizeof(d));
	if (off < len)
		snprintf(buf + off, len - off, "%s", n > 3 ? ", ..." : "");
	{
		char who[400];

		snprintf(who, sizeof(who), "%s", buf);
		snprintf(buf, len, "; meanwhile %zu other task%s waited up to %s to be polled (%s)",
			 n, n == 1 ? "" : "s", d, who);
	}
}

/* In sampled mode: was that long poll measured by a burst's probes? */
static bool bursts_saw(const struct ts_task *t, uint64_t dur)
{
	return t->burst_max_poll_ns && t->burst_max_poll_ns >= dur;
}

/* Thread tid of p as its container sees it, 0 when the same or unknown. */
static uint32_t worker_ns_tid(const struct ts_process *p, uint32_t tid)
{
	size_t i;

	for (i = 0; i < p->nworkers; i++)
		if (p->workers[i].tid == tid)
			return p->workers[i].ns_tid;
	return 0;
}

static int rule_blocked(const struct ts_process *p, const struct ts_rules_config *cfg,
			struct finding_vec *fv)
{
	char label[320], d[32], off[32], meanwhile[480], thread[48];
	uint64_t threshold = cfg->long_poll_ns ? cfg->long_poll_ns : cfg->stall_ns;
	size_t i;

	for (i = 0; i < p->ntasks; i++) {
		const struct ts_task *t = &p->tasks[i];
		const struct ts_worker *w = NULL;
		struct ts_finding *f;
		uint64_t dur = 0, offcpu = 0;
		bool running = false, at_least = false;

		if (t->state == TS_TASK_RUNNING) {
			w = ts_process__worker_polling(p, t->header);
			if (w) {
				dur = w->current_poll_ns;
				offcpu = w->st.offcpu_in_poll_ns;
				if (w->st.offcpu_start_ns && p->snapshot_ns > w->st.offcpu_start_ns)
					offcpu += p->snapshot_ns - w->st.offcpu_start_ns;
				running = true;
			} else if (t->state_from_memory) {
				/* its poll began before we attached */
				dur = t->in_state_ns;
				running = at_least = true;
			}
		}
		if (!running || dur < t->st.max_poll_ns) {
			const struct ts_worker *mw = worker_with_max(p, t->header);

			if (t->st.max_poll_ns > dur) {
				dur = t->st.max_poll_ns;
				running = false;
				at_least = false;
				w = mw;
				offcpu = mw && mw->st.max_poll_ns == dur ? mw->st.max_poll_offcpu_ns : 0;
			}
		}
		if (dur < threshold)
			continue;
		/*
		 * Inside block_in_place the worker's core went to another thread
		 * first: the sanctioned way to block, nothing is held up.
		 */
		if (ts_task__uses_block_in_place(p, t))
			continue;
		f = add(fv, p, TS_FIND_BLOCKED_WORKER, i);
		if (!f)
			return -ENOMEM;
		f->duration_ns = dur;
		f->at_least = at_least;
		f->offcpu_ns = offcpu;
		f->tid = w ? w->tid : t->st.last_worker_tid;
		f->ns_tid = worker_ns_tid(p, f->tid);
		if (f->ns_tid)
			snprintf(thread, sizeof(thread), "%u (%u in its PID namespace)", f->tid,
				 f->ns_tid);
		else
			snprintf(thread, sizeof(thread), "%u", f->tid);
		f->in_progress = running;
		ts_fmt_duration(dur, d, sizeof(d));
		ts_fmt_duration(offcpu, off, sizeof(off));
		waited_meanwhile(p, i, threshold, meanwhile, sizeof(meanwhile));
		set_message(fv, f,
			 "%s: a poll %s %s%s on thread %s%s%s%s; the worker can't run other tasks "
			 "meanwhile (blocking call in async code?)%s",
			 task_label(t, label, sizeof(label)),
			 running ? "has been running for" : "ran for", at_least ? ">= " : "", d,
			 thread, offcpu || w ? ", " : "", offcpu || w ? off : "",
			 offcpu || w ? " of it off-CPU" : "", meanwhile);
		/*
		 * Sampled mode sees a run, not a poll: the task on every sample
		 * and switch of the thread. Polls of one task back to back with
		 * nothing seen between them read as one.
		 */
		if (p->sampled && !p->sampled->probes_attached && !bursts_saw(t, dur))
			set_message(fv, f,
				 "%s: %s thread %s for %s%s (every sample and switch of the thread "
				 "found it polled: one poll, or polls back to back)%s%s%s; the worker "
				 "can't run other tasks meanwhile (blocking call in async code?)%s",
				 task_label(t, label, sizeof(label)), running ? "has held" : "held",
				 thread, at_least ? ">= " : "", d, offcpu ? ", " : "",
				 offcpu ? off : "", offcpu ? " of it off-CPU" : "", meanwhile);
	}
	return 0;
}

static int rule_starved(const struct ts_process *p, const struct ts_rules_config *cfg,
			struct finding_vec *fv)
{
	char label[320], d[32];
	size_t i;

	for (i = 0; i < p->ntasks; i++) {
		const struct ts_task *t = &p->tasks[i];
		uint64_t waited = t->st.max_scheduled_ns;
		bool now = false;
		struct ts_finding *f;

		if (t->state == TS_TASK_SCHEDULED && t->in_state_ns > waited) {
			waited = t->in_state_ns;
			now = true;
		}
		if (waited < cfg->stall_ns)
			continue;
		f = add(fv, p, TS_FIND_STARVED, i);
		if (!f)
			return -ENOMEM;
		f->duration_ns = waited;
		f->at_least = now && t->since_attach;
		f->in_progress = now;
		ts_fmt_duration(waited, d, sizeof(d));
		set_message(fv, f,
			 "%s: woken but %s polled for %s%s: every worker was busy elsewhere",
			 task_label(t, label, sizeof(label)), now ? "not yet" : "not",
			 f->at_least ? ">= " : "", d);
	}
	return 0;
}

static int rule_spinning(const struct ts_process *p, const struct ts_rules_config *cfg,
			 struct finding_vec *fv)
{
	char label[320];
	size_t i;

	for (i = 0; i < p->ntasks; i++) {
		const struct ts_task *t = &p->tasks[i];
		uint64_t window, idle, idle_per_poll;
		double rate;
		struct ts_finding *f;

		if (!t->seen_by_probe || t->state == TS_TASK_DONE || !t->st.polls)
			continue;
		window = p->snapshot_ns - (t->st.first_seen_ns > p->attach_ns ?
					   t->st.first_seen_ns : p->attach_ns);
		if (window < 200ULL * 1000 * 1000)
			continue;	/* too short to judge */
		rate = (double)t->st.polls * 1e9 / (double)window;
		idle = t->st.idle_ns + (t->state == TS_TASK_IDLE ? t->in_state_ns : 0);
		idle_per_poll = idle / t->st.polls;
		/*
		 * Spinning: it wakes itself (yield_now, a waker called in its
		 * own poll) and is polled again at once, many times a second.
		 * A busy consumer is woken by others; a fast timer idles between
		 * polls.
		 */
		if (rate < (double)cfg->spin_min_polls_per_s ||
		    t->st.self_wakes * 2 < t->st.wakes ||
		    idle_per_poll > cfg->spin_max_idle_per_poll_ns)
			continue;
		f = add(fv, p, TS_FIND_SPINNING, i);
		if (!f)
			return -ENOMEM;
		f->count = t->st.polls;
		f->duration_ns = window;
		set_message(fv, f,
			 "%s: %.0f polls/s, %llu of %llu wakes from itself, %.1f us idle per poll: "
			 "it reschedules itself without waiting for anything",
			 task_label(t, label, sizeof(label)), rate,
			 (unsigned long long)t->st.self_wakes, (unsigned long long)t->st.wakes,
			 (double)idle_per_poll / 1e3);
	}
	return 0;
}

/* Many short-lived tasks of one type lose wakes alike: one finding per type. */
static int rule_lost_wakes(const struct ts_process *p, struct finding_vec *fv)
{
	size_t i;

	for (i = 0; i < p->nlost; i++) {
		const struct ts_lost_wakes *l = &p->lost[i];
		struct ts_finding *f;

		if (!l->wakes)
			continue;
		f = add(fv, p, TS_FIND_LOST_WAKE, SIZE_MAX);
		if (!f)
			return -ENOMEM;
		f->count = l->wakes;
		f->name = ts_intern(l->name);
		set_message(fv, f,
			 "%llu wake%s lost to tasks of %s: woken, then dropped before their next "
			 "poll (runtime shut down or task aborted while scheduled)",
			 (unsigned long long)l->wakes, l->wakes == 1 ? "" : "s",
			 l->name[0] ? l->name : "(unnamed)");
	}
	return 0;
}

/* The leaf as an object of "waiting on": "mutex 0x7f..", "tokio::time::Sleep (fires in 3 s)". */
static void leaf_what(const struct ts_await_chain *c, char *buf, size_t len)
{
	static const char prefix[] = "waiting on ";
	const char *d = c->leaf.detail;

	if (!strncmp(d, prefix, sizeof(prefix) - 1))
		snprintf(buf, len, "%s", d + sizeof(prefix) - 1);
	else if (d[0])
		snprintf(buf, len, "%s (%s)", c->leaf.type_name, d);
	else
		snprintf(buf, len, "%s", c->leaf.type_name[0] ? c->leaf.type_name : "an unknown future");
}

/* Where a suspended task sits: its deepest frame in the program's own code. */
static void await_site(const struct ts_task *t, char *buf, size_t len)
{
	const struct ts_await_chain *c = t->chain;
	int i;

	buf[0] = '\0';
	if (!c || c->status != TS_CHAIN_SUSPENDED)
		return;
	for (i = c->nframes - 1; i >= 0; i--) {
		if (c->frames[i].external || !c->frames[i].line)
			continue;
		snprintf(buf, len, " at %s:%u", c->frames[i].file, c->frames[i].line);
		return;
	}
}

/*
 * ", waiting on mutex 0x.. held by task 4 app::b" and the like: what it
 * waits on and, from the wait-for graph, the one task that can free it.
 */
static void what_frees_it(const struct ts_process *p, const struct ts_wait_graph *g, size_t i,
			  char *buf, size_t len)
{
	const struct ts_task *t = &p->tasks[i];
	const struct ts_task_wait *w = &g->waits[i];
	const struct ts_wres *r = ts_wait_graph__waits_on(g, i);
	char what[256], label[320];
	const char *how;

	buf[0] = '\0';
	if (t->chain && t->chain->status == TS_CHAIN_SUSPENDED)
		leaf_what(t->chain, what, sizeof(what));
	else if (r)
		ts_wres__label(r, what, sizeof(what));
	else
		return;
	if (w->kind == TS_WAIT_JOIN && w->target != TS_WG_NONE) {
		snprintf(buf, len, ", waiting on the JoinHandle of %s",
			 task_label(&p->tasks[w->target], label, sizeof(label)));
		return;
	}
	if (w->self_freer) {
		snprintf(buf, len, ", waiting on %s whose only %s it holds itself: nothing else can "
			 "wake it", what, w->kind == TS_WAIT_RECV ? "sender" :
			 w->kind == TS_WAIT_SEND ? "receiver" : "guard");
		return;
	}
	if (w->target == TS_WG_NONE) {
		snprintf(buf, len, ", waiting on %s", what);
		return;
	}
	how = w->kind == TS_WAIT_SEND ? "whose receiver is held by" :
	      w->kind == TS_WAIT_RECV ? "whose only sender is held by" : "held by";
	if (w->kind == TS_WAIT_RECV && !w->definite)
		how = "whose sender is held by";
	snprintf(buf, len, ", waiting on %s %s %s", what, how,
		 task_label(&p->tasks[w->target], label, sizeof(label)));
}

/* What to do about a cycle, by the kinds of wait on it. */
static const char *cycle_remedy(const struct ts_wait_graph *g, const struct ts_wait_cycle *c)
{
	bool lock = false, chan = false, join = false;
	int k;

	for (k = 0; k < c->n; k++) {
		enum ts_wait_kind wk = g->waits[c->tasks[k]].kind;

		lock |= wk == TS_WAIT_LOCK;
		chan |= wk == TS_WAIT_SEND || wk == TS_WAIT_RECV;
		join |= wk == TS_WAIT_JOIN;
	}
	if (join)
		return "a task awaits a JoinHandle while holding what that task needs (a guard, a "
		       "channel half): release it (end its scope, drop it) before awaiting the task";
	if (chan)
		return "a channel's sender and receiver wait on each other: drain the receiver "
		       "while awaiting (select!), use try_send or a larger capacity, or drop the "
		       "Sender/guard before awaiting the other task";
	if (lock)
		return "acquire the locks in one consistent order, use try_lock or "
		       "tokio::time::timeout around lock(), or shrink each guard's scope";
	return "break the cycle: one of these tasks must stop waiting for the next";
}

/*
 * Tasks waiting on each other, round a cycle of definite wait-for edges
 * (wait_graph.h): locks, full or empty channels whose other half one task
 * holds, JoinHandles. Written as the cycle:
 * "task 3 a at src/main.rs:12 -> Mutex<u64> 0x.. -> task 4 b ... -> task 3".
 */
static int rule_deadlock(const struct ts_process *p, const struct ts_wait_graph *g,
			 struct finding_vec *fv)
{
	size_t ci;

	for (ci = 0; ci < g->ncycles; ci++) {
		const struct ts_wait_cycle *c = &g->cycles[ci];
		const struct ts_task *first = &p->tasks[c->tasks[0]];
		struct ts_finding *f;
		char label[320], msg[2048], site[160], edge[256];
		size_t o;
		int k;

		if (c->n < 2)
			continue;
		f = add(fv, p, TS_FIND_DEADLOCK, c->tasks[0]);
		if (!f)
			return -ENOMEM;
		f->count = (uint64_t)c->n;
		f->remedy = cycle_remedy(g, c);
		/* the cycle closed when its last member began to wait */
		f->duration_ns = first->in_state_ns;
		f->at_least = true;
		for (k = 0; k < c->n; k++) {
			const struct ts_task *t = &p->tasks[c->tasks[k]];

			f->members[k] = c->tasks[k];
			if (t->in_state_ns < f->duration_ns)
				f->duration_ns = t->in_state_ns;
			f->at_least &= t->since_attach;
		}
		o = (size_t)snprintf(msg, sizeof(msg), "%d task%s wait%s for each other: ", c->n,
				     c->n == 1 ? "" : "s", c->n == 1 ? "s" : "");
		for (k = 0; k < c->n && o < sizeof(msg); k++) {
			const struct ts_task *t = &p->tasks[c->tasks[k]];

			await_site(t, site, sizeof(site));
			ts_wait_graph__edge_label(g, c->tasks[k], edge, sizeof(edge));
			o += (size_t)snprintf(msg + o, sizeof(msg) - o, "%s%s \u2192 %s \u2192 ",
					      task_label(t, label, sizeof(label)), site, edge);
		}
		if (o < sizeof(msg))
			snprintf(msg + o, sizeof(msg) - o, "%s",
				 task_label(first, label, sizeof(label)));
		set_message(fv, f, "%s", msg);
	}
	return 0;
}

/* A mutex, RwLock or semaphore: somebody holds what it waits for. */
static bool root_waits_on_lock(const struct ts_task *t)
{
	if (!t->chain)
		return false;
	switch (t->chain->leaf.kind) {
	case TS_LEAF_MUTEX:
	case TS_LEAF_RWLOCK:
	case TS_LEAF_SEMAPHORE:
		return true;
	default:
		return false;
	}
}

static int rule_idle(const struct ts_process *p, const struct ts_wait_graph *g,
		     const struct ts_rules_config *cfg, struct finding_vec *fv)
{
	char label[320], d[32], site[160], frees[700];
	size_t i, nidle = 0;

	/* room for them all at once: a million idle tasks, one growth */
	for (i = 0; i < p->ntasks; i++)
		nidle += p->tasks[i].state == TS_TASK_IDLE && p->tasks[i].in_state_ns >= cfg->stall_ns;
	if (nidle && ts_array_reserve(&fv->v, &fv->cap, fv->n + nidle))
		return -ENOMEM;
	if (nidle && !fv->text_cap) {
		fv->text = malloc(nidle * 128);
		fv->text_cap = fv->text ? nidle * 128 : 0;
	}
	for (i = 0; i < p->ntasks; i++) {
		const struct ts_task *t = &p->tasks[i];
		struct ts_finding *f;

		if (t->state != TS_TASK_IDLE || t->in_state_ns < cfg->stall_ns)
			continue;
		if (t->root_tid && !cfg->idle_roots && !root_waits_on_lock(t))
			continue;
		f = add(fv, p, TS_FIND_IDLE, i);
		if (!f)
			return -ENOMEM;
		f->duration_ns = t->in_state_ns;
		f->at_least = t->since_attach;
		f->in_progress = true;
		ts_fmt_duration(t->in_state_ns, d, sizeof(d));
		await_site(t, site, sizeof(site));
		what_frees_it(p, g, i, frees, sizeof(frees));
		set_message(fv, f, "%s: idle for %s%s%s%s%s",
			 task_label(t, label, sizeof(label)), t->since_attach ? ">= " : "", d,
			 t->since_attach ? " (since before attach)" : "", site,
			 frees[0] ? frees : ", waiting for a wake");
	}
	return 0;
}

static int cmp_finding(const void *a, const void *b)
{
	const struct ts_finding *x = a, *y = b;

	if (x->kind != y->kind)
		return SPACESHIP(x->kind, y->kind);
	if (x->duration_ns != y->duration_ns)
		return SPACESHIP(y->duration_ns, x->duration_ns);
	if (x->count != y->count)
		return SPACESHIP(y->count, x->count);
	return SPACESHIP(x->task, y->task);
}

int ts_rules__evaluate(const struct ts_process *p, const struct ts_rules_config *cfg,
		       struct ts_finding **out)
{
	struct finding_vec fv = {};
	struct ts_wait_graph g;
	int err;

	err = ts_wait_graph__build(&g, p);
	if (err) {
		*out = NULL;
		return err;
	}
	err = rule_deadlock(p, &g, &fv);
	if (!err)
		err = rule_blocked(p, cfg, &fv);
	if (!err)
		err = rule_starved(p, cfg, &fv);
	if (!err)
		err = rule_spinning(p, cfg, &fv);
	if (!err)
		err = rule_lost_wakes(p, &fv);
	if (!err)
		err = rule_idle(p, &g, cfg, &fv);
	ts_wait_graph__free(&g);
	if (!err && fv.oom)
		err = -ENOMEM;
	if (!err && fv.n)
		qsort(fv.v, fv.n, sizeof(*fv.v), cmp_finding);
	*out = err ? NULL : pack(&fv);
	if (!err && !*out)
		err = -ENOMEM;
	free(fv.v);
	free(fv.text);
	return err ? err : (int)fv.n;
}
