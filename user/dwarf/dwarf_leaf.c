/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Leaf futures and tokio values: what a chain ends in (a timer, a lock,
 * a channel...) and what its frames hold (guards, channel halves). Knows
 * tokio 1.24's type names and layouts; everything else is generic DWARF.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "array.h"
#include "await_chain.h"
#include "dwarf_types.h"
#include "dwarf_walk.h"

void chain_set_leaf(struct walk *w, enum ts_leaf_kind kind, const char *type_name, uint64_t addr,
		     const char *detail)
{
	struct ts_await_leaf *l = &w->c->leaf;

	l->kind = kind;
	l->addr = addr;
	memset(&l->obj, 0, sizeof(l->obj));
	snprintf(l->type_name, sizeof(l->type_name), "%s", type_name ? type_name : "");
	snprintf(l->detail, sizeof(l->detail), "%s", detail ? detail : "");
}

static struct ts_await_hold *add_hold(struct walk *w, enum ts_hold_kind kind, uint64_t object,
				      const char *var)
{
	struct ts_await_hold *h;

	if (w->c->nholds >= TS_CHAIN_MAX_HOLDS || !object)
		return NULL;
	h = &w->c->holds[w->c->nholds++];
	memset(h, 0, sizeof(*h));
	h->kind = kind;
	h->object = object;
	h->frame = w->c->nframes - 1;
	snprintf(h->var, sizeof(h->var), "%s", var);
	return h;
}

static bool starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* The channel kind a half's (or a channel future's) type name says. */
static const char *chan_kind(const char *qn)
{
	if (strstr(qn, "::mpsc::"))
		return strstr(qn, "Unbounded") || strstr(qn, "unbounded") ? "mpsc unbounded" : "mpsc";
	if (strstr(qn, "::oneshot::"))
		return "oneshot";
	if (strstr(qn, "::watch::"))
		return "watch";
	if (strstr(qn, "::broadcast::"))
		return "broadcast";
	return NULL;
}

/*
 * The resource's type as a person writes it: the kind's constructor with
 * the generic arguments of qn, a guard's, half's or lock's type name
 * ("tokio::sync::mpsc::bounded::Sender<app::Job>" -> "mpsc::channel<app::Job>").
 */
static void obj_type(struct ts_await_object *o, const char *qn)
{
	static const struct { const char *kind, *ctor; } ctors[] = {
		{ "mutex", "Mutex" }, { "rwlock", "RwLock" }, { "semaphore", "Semaphore" },
		{ "mpsc", "mpsc::channel" }, { "mpsc unbounded", "mpsc::unbounded_channel" },
		{ "oneshot", "oneshot::channel" }, { "watch", "watch::channel" },
		{ "broadcast", "broadcast::channel" }, { "notify", "Notify" },
	};
	const char *args = qn ? strchr(qn, '<') : NULL, *ctor = o->kind;
	int depth = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ctors); i++)
		if (o->kind && !strcmp(o->kind, ctors[i].kind))
			ctor = ctors[i].ctor;
	if (!ctor)
		return;
	if (!args || !strcmp(ctor, "Semaphore") || !strcmp(ctor, "Notify")) {
		snprintf(o->type, sizeof(o->type), "%s", ctor);
		return;
	}
	/* the first generic argument only: a guard's lifetime is not printed, a
	 * channel's semaphore type is the second argument of Chan */
	for (i = 1; args[i]; i++) {
		if (args[i] == '<')
			depth++;
		else if ((args[i] == '>' || args[i] == ',') && !depth)
			break;
		else if (args[i] == '>')
			depth--;
	}
	snprintf(o->type, sizeof(o->type), "%s<%.*s>", ctor, (int)(i - 1), args + 1);
}

/*
 * An mpsc channel's capacity and length from its Chan: the bounded
 * semaphore keeps `bound` and the free permits (<< 1, the low bit is
 * "closed"); the unbounded one a message count (<< 1). Every release
 * 1.24-1.53 has these names. chan_addr: the Arc's data (dw_format_value),
 * its type found through the ArcInner. Left unset when DWARF or memory
 * disagree.
 */
static void chan_fill(struct walk *w, const struct dw_type *arc, uint64_t chan_addr,
		      struct ts_await_object *o)
{
	const struct dw_type *pt, *ai, *chan, *sem, *mt;
	const struct dw_member *data;
	uint64_t poff, soff, off, bound, permits;

	if (!o->kind || strncmp(o->kind, "mpsc", 4) || !arc ||
	    dw_type__first_pointer(w->dw, arc, 6, &poff, &pt) ||
	    !(ai = dw_type__get(w->dw, pt->target)) || !(data = dw_type__member(ai, "data")) ||
	    !(chan = dw_type__get(w->dw, data->type)) ||
	    dw_type__find_path(w->dw, chan, "semaphore", &soff, &sem))
		return;
	off = chan_addr + soff;
	if (!dw_type__find_path(w->dw, chan, "tx_count", &poff, &mt) &&
	    !dw_read_uint(w->mr, chan_addr + poff, 8, &permits) && permits < (1ULL << 32)) {
		o->has_senders = true;
		o->senders = permits;
	}
	if (!dw_type__find_path(w->dw, sem, "bound", &poff, &mt)) {
		uint64_t permoff;

			if (dw_type__find_deep(w->dw, sem, "permits", 6, &permoff, &mt) ||
		    dw_read_uint(w->mr, off + poff, 8, &bound) ||
		    dw_read_uint(w->mr, off + permoff, 8, &permits) || (permits >> 1) > bound ||
		    bound > (1ULL << 40))
			return;
		o->capacity = bound;
		o->len = bound - (permits >> 1);
	} else {
		if (dw_read_uint(w->mr, off, 8, &permits))
			return;
		o->capacity = 0;
		o->len = permits >> 1;
	}
	o->has_len = true;
}

/*
 * The channel a Sender/Receiver (or a pointer to one) at addr belongs to:
 * its Chan. o, when given, gets the channel's kind, type and length.
 */
static uint64_t channel_of_obj(struct walk *w, const struct dw_type *t, uint64_t addr,
			       struct ts_await_object *o)
{
	/* tokio 1.24: mpsc halves hold chan.inner: Arc<Chan>; watch and broadcast
	 * halves shared: Arc<Shared>; oneshot halves inner: Option<Arc<Inner>> */
	static const char *const paths[] = { "chan.inner", "shared", "inner" };
	const struct dw_type *arc;
	uint64_t off, p = 0;
	char scratch[64];
	size_t i;

	if (t && t->kind == DW_K_PTR) {
		if (mem_reader__u64(w->mr, addr, &addr))
			return 0;
		t = dw_type__get(w->dw, t->target);
	}
	for (i = 0; t && i < ARRAY_SIZE(paths); i++) {
		if (dw_type__find_path(w->dw, t, paths[i], &off, &arc))
			continue;
		p = 0;
		if (dw_format_value(w->dw, w->mr, arc, addr + off, scratch, sizeof(scratch), &p))
			continue;
		if (o && p) {
			const char *qn = dw_type__qname(w->dw, t);

			o->kind = chan_kind(qn);
			obj_type(o, qn);
			if (o->kind && !strcmp(o->kind, "oneshot"))
				o->capacity = 1;
			chan_fill(w, arc, p, o);
		}
		return p;
	}
	return 0;
}

/* A lock's kind and type from the type of a pointer to it (a frame's self, a guard's lock). */
static void lock_obj(struct walk *w, const struct dw_type *t, const char *kind,
		     struct ts_await_object *o)
{
	if (t && t->kind == DW_K_PTR)
		t = dw_type__get(w->dw, t->target);
	o->kind = kind;
	obj_type(o, t ? dw_type__qname(w->dw, t) : NULL);
}

/* tokio values worth naming: guards, permits, channel halves. 0 when not one. */
int chain_tokio_value(struct walk *w, const struct dw_type *t, uint64_t addr,
			      const char *var, char *buf, size_t len)
{
	const char *qn = dw_type__qname(w->dw, t);
	struct ts_await_object obj = {};
	struct ts_await_hold *h;
	enum ts_hold_kind kind;
	uint64_t p = 0;
	size_t i;
	const char *what, *lock_kind;

	if (starts(qn, "tokio::sync::mutex::MutexGuard<") ||
	    starts(qn, "tokio::sync::mutex::OwnedMutexGuard<")) {
		kind = TS_HOLD_MUTEX_GUARD;
		what = "mutex guard";
		lock_kind = "mutex";
	} else if (starts(qn, "tokio::sync::rwlock::")  && strstr(qn, "Guard<")) {
		kind = TS_HOLD_RWLOCK_GUARD;
		what = "rwlock guard";
		lock_kind = "rwlock";
	} else if (starts(qn, "tokio::sync::semaphore::SemaphorePermit") ||
		   starts(qn, "tokio::sync::semaphore::OwnedSemaphorePermit")) {
		kind = TS_HOLD_PERMIT;
		what = "permit of semaphore";
		lock_kind = "semaphore";
	} else if (starts(qn, "tokio::sync::") && (strstr(qn, "::Sender<") || strstr(qn, "UnboundedSender<"))) {
		p = channel_of_obj(w, t, addr, &obj);
		if (!p)
			return -ENOTSUP;
		snprintf(buf, len, "sender of channel 0x%" PRIx64, p);
		if ((h = add_hold(w, TS_HOLD_SENDER, p, var)))
			h->obj = obj;
		return 0;
	} else if (starts(qn, "tokio::sync::") &&
		   (strstr(qn, "::Receiver<") || strstr(qn, "UnboundedReceiver<"))) {
		p = channel_of_obj(w, t, addr, &obj);
		if (!p)
			return -ENOTSUP;
		snprintf(buf, len, "receiver of channel 0x%" PRIx64, p);
		if ((h = add_hold(w, TS_HOLD_RECEIVER, p, var)))
			h->obj = obj;
		return 0;
	} else {
		return -ENOTSUP;
	}
	/* guards and permits hold their lock first: `lock: &Mutex`, or an Arc of it */
	for (i = 0; i < t->nmembers; i++) {
		p = 0;
		if (dw_format_value(w->dw, w->mr, dw_type__get(w->dw, t->members[i].type),
				    addr + t->members[i].off, buf, len, &p) == 0 && p)
			break;
	}
	if (i == t->nmembers)
		return -ENOTSUP;
	snprintf(buf, len, "%s 0x%" PRIx64, what, p);
	/* an Arc'd lock (Owned guards) names its type inside the Arc: the guard's own name then */
	lock_obj(w, dw_type__get(w->dw, t->members[i].type), lock_kind, &obj);
	if (!strchr(obj.type, '<') && kind != TS_HOLD_PERMIT)
		obj_type(&obj, qn);
	if ((h = add_hold(w, kind, p, var)))
		h->obj = obj;
	return 0;
}

static void format_addr_detail(char *buf, size_t len, const char *what, uint64_t addr,
			       const char *tail)
{
	if (addr)
		snprintf(buf, len, "waiting on %s 0x%" PRIx64 "%s", what, addr, tail);
	else
		snprintf(buf, len, "waiting on a %s%s", what, tail);
}

static int64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * Where Sleep keeps its deadline, by tokio release (first match wins):
 * 1.24 Sleep { inner: Inner { deadline }, entry: TimerEntry }; 1.29-1.47
 * the deadline moved into the TimerEntry (Sleep.entry.deadline); 1.53
 * keeps it in Sleep itself, next to `timer: Option<Timer>`.
 */
static const char *const sleep_deadline_paths[] = {
	"inner.deadline", "entry.deadline", "deadline",
};

/*
 * tokio's Instant wraps std's, which on Linux is CLOCK_MONOTONIC
 * { tv_sec: i64, tv_nsec: u32 }.
 */
void chain_leaf_timer(struct walk *w, const struct dw_type *t, uint64_t addr)
{
	struct ts_await_leaf *l = &w->c->leaf;
	const struct dw_type *inst = NULL, *st, *nt;
	uint64_t off = 0, soff, noff, sec, nsec;
	size_t i;
	int err = -ENOENT;

	chain_set_leaf(w, TS_LEAF_TIMER, "tokio::time::Sleep", addr, "");
	for (i = 0; err && i < sizeof(sleep_deadline_paths) / sizeof(sleep_deadline_paths[0]); i++)
		err = dw_type__find_path(w->dw, t, sleep_deadline_paths[i], &off, &inst);
	if (err ||
	    dw_type__find_deep(w->dw, inst, "tv_sec", 6, &soff, &st) ||
	    dw_type__find_deep(w->dw, inst, "tv_nsec", 6, &noff, &nt) ||
	    dw_read_uint(w->mr, addr + off + soff, 8, &sec) ||
	    dw_read_uint(w->mr, addr + off + noff, 4, &nsec) || nsec >= 1000000000ULL ||
	    sec > INT64_MAX / 1000000000LL - 1) {
		/* a torn or garbage value: CLOCK_MONOTONIC is seconds since boot */
		snprintf(l->detail, sizeof(l->detail), "deadline unreadable");
		return;
	}
	l->has_deadline = true;
	l->remaining_ns = (int64_t)sec * 1000000000LL + (int64_t)nsec - monotonic_ns();
	ts_await_format_remaining(l->remaining_ns, l->detail, sizeof(l->detail));
}

/* Function name of the innermost recorded frame matching all of a, b (b may be NULL). */
static int frame_matching(struct walk *w, const char *a, const char *b)
{
	int i;

	for (i = w->c->nframes - 1; i >= 0; i--) {
		const char *fn = w->c->frames[i].func;

		if (strstr(fn, a) && (!b || strstr(fn, b)))
			return i;
	}
	return -1;
}

/* Acquire: the semaphore is known; what it guards is told by the frames above. */
static void leaf_acquire(struct walk *w, const struct dw_type *t, uint64_t addr)
{
	struct ts_await_leaf *l = &w->c->leaf;
	const struct dw_member *sem = dw_type__member(t, "semaphore");
	uint64_t sem_addr = 0;
	int fi;

	if (sem)
		mem_reader__u64(w->mr, addr + sem->off, &sem_addr);
	chain_set_leaf(w, TS_LEAF_SEMAPHORE, "tokio::sync::batch_semaphore::Acquire", addr, "");
	l->object = sem_addr;
	if ((fi = frame_matching(w, "tokio::sync::mutex::", NULL)) >= 0) {
		l->kind = TS_LEAF_MUTEX;
		if (w->self_ptr[fi])
			l->object = w->self_ptr[fi];
		lock_obj(w, w->self_type[fi], "mutex", &l->obj);
		format_addr_detail(l->detail, sizeof(l->detail), "mutex", l->object, "");
	} else if ((fi = frame_matching(w, "tokio::sync::rwlock::", NULL)) >= 0) {
		l->kind = TS_LEAF_RWLOCK;
		if (w->self_ptr[fi])
			l->object = w->self_ptr[fi];
		lock_obj(w, w->self_type[fi], "rwlock", &l->obj);
		format_addr_detail(l->detail, sizeof(l->detail), "rwlock", l->object, "");
	} else if ((fi = frame_matching(w, "tokio::sync::mpsc::", "Sender")) >= 0 ||
		   (fi = frame_matching(w, "tokio::sync::mpsc::", "Permit")) >= 0) {
		uint64_t ch = w->self_type[fi] ?
			channel_of_obj(w, w->self_type[fi], w->self_ptr[fi], &l->obj) : 0;

		l->kind = TS_LEAF_CHAN_SEND;
		if (ch)
			l->object = ch;
		format_addr_detail(l->detail, sizeof(l->detail), "channel", l->object,
				   " (send: channel full)");
	} else {
		l->obj.kind = "semaphore";
		obj_type(&l->obj, NULL);
		format_addr_detail(l->detail, sizeof(l->detail), "semaphore", l->object, "");
	}
}

static uint64_t first_pointer_value(struct walk *w, const struct dw_type *t, uint64_t addr)
{
	const struct dw_type *pt;
	uint64_t off, p = 0;

	if (dw_type__first_pointer(w->dw, t, 6, &off, &pt) || mem_reader__u64(w->mr, addr + off, &p))
		return 0;
	return p;
}

/* Known leaf futures by type; true when t is one (and the leaf is set). */
bool chain_classify_leaf(struct walk *w, const struct dw_type *t, uint64_t addr)
{
	const char *qn = dw_type__qname(w->dw, t);
	struct ts_await_leaf *l = &w->c->leaf;
	const struct dw_member *m;
	char name[192];
	int fi;

	if (!strcmp(qn, "tokio::time::sleep::Sleep")) {
		chain_leaf_timer(w, t, addr);
		return true;
	}
	if (!strcmp(qn, "tokio::sync::batch_semaphore::Acquire")) {
		leaf_acquire(w, t, addr);
		return true;
	}
	if (starts(qn, "tokio::runtime::task::join::JoinHandle<")) {
		snprintf(name, sizeof(name), "tokio::task::JoinHandle%s", qn + strlen("tokio::runtime::task::join::JoinHandle"));
		chain_set_leaf(w, TS_LEAF_JOIN, name, addr, "");
		l->object = first_pointer_value(w, t, addr);	/* raw.ptr: the awaited task's Header */
		format_addr_detail(l->detail, sizeof(l->detail), "task", l->object, " (JoinHandle)");
		return true;
	}
	if (strstr(qn, "yield_now") && strstr(qn, "YieldNow")) {
		chain_set_leaf(w, TS_LEAF_YIELD, "tokio::task::yield_now", addr, "yielded: runnable again");
		return true;
	}
	if (starts(qn, "core::future::pending::Pending<")) {
		chain_set_leaf(w, TS_LEAF_PENDING, "std::future::pending", addr, "never completes");
		return true;
	}
	if (starts(qn, "tokio::sync::notify::Notified")) {
		chain_set_leaf(w, TS_LEAF_NOTIFY, "tokio::sync::Notified", addr, "");
		l->object = first_pointer_value(w, t, addr);
		l->obj.kind = "notify";
		obj_type(&l->obj, NULL);
		format_addr_detail(l->detail, sizeof(l->detail), "notify", l->object, "");
		/* watch::Receiver::changed waits on its channel's Notify */
		fi = frame_matching(w, "tokio::sync::watch::", "::changed");
		if (fi >= 0) {
			struct ts_await_object o = {};
			uint64_t ch = channel_of_obj(w, w->self_type[fi], w->self_ptr[fi], &o);

			l->kind = TS_LEAF_CHAN_RECV;
			if (ch)
				l->obj = o;
			if (ch)
				l->object = ch;
			format_addr_detail(l->detail, sizeof(l->detail), "channel", l->object,
					   " (watch: changed)");
		}
		return true;
	}
	if (strstr(qn, "scheduled_io::Readiness")) {
		chain_set_leaf(w, TS_LEAF_IO, "tokio I/O readiness", addr, "");
		l->object = first_pointer_value(w, t, addr);
		format_addr_detail(l->detail, sizeof(l->detail), "I/O resource", l->object, "");
		return true;
	}
	if (starts(qn, "tokio::runtime::blocking::task::BlockingTask<")) {
		ts_await_readable_name(qn, NULL, name, sizeof(name));
		chain_set_leaf(w, TS_LEAF_UNKNOWN, name, addr, "spawn_blocking work: runs on a blocking thread");
		return true;
	}
	if (starts(qn, "tokio::sync::oneshot::Receiver<") || starts(qn, "tokio::sync::broadcast::Recv<")) {
		ts_await_readable_name(qn, NULL, name, sizeof(name));
		chain_set_leaf(w, TS_LEAF_CHAN_RECV, name, addr, "");
		/* oneshot: the Receiver itself; broadcast: Recv { receiver: &mut Receiver, .. } */
		l->object = starts(qn, "tokio::sync::oneshot::") ? channel_of_obj(w, t, addr, &l->obj) :
			    (m = dw_type__member(t, "receiver")) != NULL ?
			    channel_of_obj(w, dw_type__get(w->dw, m->type), addr + m->off, &l->obj) : 0;
		format_addr_detail(l->detail, sizeof(l->detail), "channel", l->object, " (recv)");
		return true;
	}
	return false;
}

/* A future nobody here knows by type: maybe the frames above tell (recv's PollFn). */
void chain_leaf_unknown(struct walk *w, const struct dw_type *t, uint64_t addr)
{
	struct ts_await_leaf *l = &w->c->leaf;
	char name[192];
	int fi;

	ts_await_readable_name(dw_type__qname(w->dw, t), NULL, name, sizeof(name));
	chain_set_leaf(w, TS_LEAF_UNKNOWN, name, addr, "");
	fi = w->c->nframes - 1;
	if (fi >= 0 && strstr(w->c->frames[fi].func, "tokio::sync::mpsc::") &&
	    strstr(w->c->frames[fi].func, "Receiver") && strstr(w->c->frames[fi].func, "::recv")) {
		l->kind = TS_LEAF_CHAN_RECV;
		if (w->self_type[fi])
			l->object = channel_of_obj(w, w->self_type[fi], w->self_ptr[fi], &l->obj);
		format_addr_detail(l->detail, sizeof(l->detail), "channel", l->object, " (recv)");
	}
}

bool chain_is_leaf_type(const char *qn)
{
	return !strcmp(qn, "tokio::time::sleep::Sleep") ||
	       !strcmp(qn, "tokio::sync::batch_semaphore::Acquire") ||
	       starts(qn, "tokio::runtime::task::join::JoinHandle<") ||
	       starts(qn, "tokio::sync::notify::Notified") || strstr(qn, "scheduled_io::Readiness") ||
	       starts(qn, "core::future::pending::Pending<");
}

/*
 * chain_classify_leaf's and leaf_acquire's rules on names alone: the
 * awaiting state machine stands for the frames above (tokio 1.24-1.53).
 */
enum ts_leaf_kind ts_leaf_kind_of_type(const char *qn, const char *outer)
{
	if (!outer)
		outer = "";
	if (!strcmp(qn, "tokio::time::sleep::Sleep"))
		return TS_LEAF_TIMER;
	if (!strcmp(qn, "tokio::sync::batch_semaphore::Acquire")) {
		if (starts(outer, "tokio::sync::mutex::"))
			return TS_LEAF_MUTEX;
		if (starts(outer, "tokio::sync::rwlock::"))
			return TS_LEAF_RWLOCK;
		/* DWARF names a method by its impl ({impl#N}): no Sender in the path */
		if (starts(outer, "tokio::sync::mpsc::") &&
		    (strstr(outer, "Sender") || strstr(outer, "Permit") ||
		     strstr(outer, "::send") || strstr(outer, "::reserve")))
			return TS_LEAF_CHAN_SEND;
		return TS_LEAF_SEMAPHORE;
	}
	if (starts(qn, "tokio::runtime::task::join::JoinHandle<"))
		return TS_LEAF_JOIN;
	if (strstr(qn, "yield_now") && strstr(qn, "YieldNow"))
		return TS_LEAF_YIELD;
	if (starts(qn, "core::future::pending::Pending<"))
		return TS_LEAF_PENDING;
	if (starts(qn, "tokio::sync::notify::Notified"))
		return starts(outer, "tokio::sync::watch::") && strstr(outer, "::changed") ?
		       TS_LEAF_CHAN_RECV : TS_LEAF_NOTIFY;
	if (strstr(qn, "scheduled_io::Readiness"))
		return TS_LEAF_IO;
	/* AsyncReadExt/AsyncWriteExt futures: poll_read/poll_write, readiness inside */
	if (starts(qn, "tokio::io::util::"))
		return TS_LEAF_IO;
	if (starts(qn, "tokio::sync::oneshot::Receiver<") || starts(qn, "tokio::sync::broadcast::Recv<"))
		return TS_LEAF_CHAN_RECV;
	if (starts(outer, "tokio::sync::mpsc::") && strstr(outer, "::recv"))
		return TS_LEAF_CHAN_RECV;
	return TS_LEAF_UNKNOWN;
}
