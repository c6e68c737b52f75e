// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The wait-for graph: see wait_graph.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "duration.h"
#include "wait_graph.h"

#define SPACESHIP(a, b) (((a) > (b)) - ((a) < (b)))

/* A link while building: where the resource's description comes from. */
struct link_src {
	struct ts_res_link l;
	const struct ts_await_object *obj;	/* NULL: none (USDT) */
};

struct builder {
	struct link_src *v;
	size_t n, cap;
};

static int add_link(struct builder *b, uint64_t object, size_t task, enum ts_res_role role,
		    const struct ts_await_object *obj)
{
	struct link_src *s;

	if (!object)
		return 0;
	s = ts_array_add(&b->v, &b->n, &b->cap);
	if (!s)
		return -ENOMEM;
	s->l.object = object;
	s->l.task = (uint32_t)task;
	s->l.role = role;
	s->l.nholds = 1;
	s->obj = obj && obj->kind ? obj : NULL;
	return 0;
}

static int cmp_link(const void *a, const void *b)
{
	const struct ts_res_link *x = &((const struct link_src *)a)->l;
	const struct ts_res_link *y = &((const struct link_src *)b)->l;

	if (x->object != y->object)
		return SPACESHIP(x->object, y->object);
	if (x->role != y->role)
		return SPACESHIP(x->role, y->role);
	return SPACESHIP(x->task, y->task);
}

static enum ts_res_role hold_role(enum ts_hold_kind k)
{
	switch (k) {
	case TS_HOLD_SENDER:
		return TS_ROLE_SENDER;
	case TS_HOLD_RECEIVER:
		return TS_ROLE_RECEIVER;
	default:
		return TS_ROLE_HOLDS;
	}
}

static enum ts_wait_kind leaf_wait(const struct ts_await_leaf *l)
{
	switch (l->kind) {
	case TS_LEAF_MUTEX:
	case TS_LEAF_RWLOCK:
	case TS_LEAF_SEMAPHORE:
		return TS_WAIT_LOCK;
	case TS_LEAF_CHAN_SEND:
		return TS_WAIT_SEND;
	case TS_LEAF_CHAN_RECV:
		return TS_WAIT_RECV;
	case TS_LEAF_JOIN:
		return TS_WAIT_JOIN;
	case TS_LEAF_NOTIFY:
		return TS_WAIT_NOTIFY;
	default:
		return TS_WAIT_NONE;
	}
}

static const char *usdt_kind(uint32_t kind)
{
	static const char *const names[] = { "resource", "mutex", "rwlock", "semaphore",
					      "channel", "resource" };

	return kind < ARRAY_SIZE(names) ? names[kind] : "resource";
}

static bool chain_waits(const struct ts_task *t)
{
	return t->chain && t->chain->status == TS_CHAIN_SUSPENDED && t->state != TS_TASK_DONE;
}

/* Every (object, task, role) a chain or a USDT probe tells of. */
static int collect(struct builder *b, const struct ts_process *p)
{
	size_t i, k;
	int err = 0;

	for (i = 0; i < p->ntasks && !err; i++) {
		const struct ts_task *t = &p->tasks[i];
		const struct ts_await_chain *c = t->chain;

		if (t->state == TS_TASK_DONE)
			continue;
		if (chain_waits(t)) {
			enum ts_wait_kind wk = leaf_wait(&c->leaf);

			if (wk != TS_WAIT_NONE && wk != TS_WAIT_JOIN)
				err = add_link(b, c->leaf.object, i, TS_ROLE_WAITS, &c->leaf.obj);
		}
		for (k = 0; c && !err && k < (size_t)c->nholds; k++)
			err = add_link(b, c->holds[k].object, i, hold_role(c->holds[k].kind),
				       &c->holds[k].obj);
		if (!err && t->st.waiting_res && !chain_waits(t))
			err = add_link(b, t->st.waiting_res, i, TS_ROLE_WAITS, NULL);
	}
	for (i = 0; i < p->nresources && !err; i++) {
		const struct ts_res_info *r = &p->resources[i];

		for (k = 0; k < p->ntasks && r->r.holder && !err; k++)
			if (p->tasks[k].task_id == r->r.holder && p->tasks[k].state != TS_TASK_DONE) {
				err = add_link(b, r->id, k, TS_ROLE_HOLDS, NULL);
				break;
			}
	}
	return err;
}

static void describe(struct ts_wres *r, const struct link_src *s, const struct ts_process *p)
{
	const struct ts_res_info *u = ts_process__find_resource(p, r->object);

	/* each link may know a part: the kind, the type, the channel's fill */
	if (s->obj) {
		const struct ts_await_object *o = s->obj;

		if (!r->kind)
			r->kind = o->kind;
		if (!r->type[0])
			snprintf(r->type, sizeof(r->type), "%s", o->type);
		if (!r->has_len && o->has_len) {
			r->has_len = true;
			r->capacity = o->capacity;
			r->len = o->len;
		} else if (!r->has_len && o->capacity) {
			r->capacity = o->capacity;	/* oneshot: 1 */
		}
		if (!r->has_senders && o->has_senders) {
			r->has_senders = true;
			r->senders = o->senders;
		}
	}
	if (!s->obj && u && !r->kind) {
		r->usdt = true;
		r->kind = usdt_kind(u->r.kind);
		snprintf(r->name, sizeof(r->name), "%s", u->r.name);
		r->capacity = u->r.capacity;
		r->len = u->r.len;
		r->has_len = u->r.kind == 4;
	}
}

/* Sorts the links by object and folds them into resources. */
static int group(struct ts_wait_graph *g, struct builder *b)
{
	size_t i, j, nres = 0;

	if (b->n)
		qsort(b->v, b->n, sizeof(*b->v), cmp_link);
	g->links = calloc(b->n ? b->n : 1, sizeof(*g->links));
	g->res = calloc(b->n ? b->n : 1, sizeof(*g->res));
	if (!g->links || !g->res)
		return -ENOMEM;
	for (i = 0; i < b->n; i = j) {
		struct ts_wres *r = &g->res[nres++];

		r->object = b->v[i].l.object;
		r->first = (uint32_t)g->nlinks;
		for (j = i; j < b->n && b->v[j].l.object == r->object; j++) {
			struct ts_res_link *last = g->nlinks > r->first ? &g->links[g->nlinks - 1] : NULL;

			describe(r, &b->v[j], g->p);
			if (b->v[j].l.role == TS_ROLE_SENDER)
				r->sender_holds++;
			if (last && last->task == b->v[j].l.task && last->role == b->v[j].l.role) {
				last->nholds++;
				continue;
			}
			g->links[g->nlinks++] = b->v[j].l;
			switch (b->v[j].l.role) {
			case TS_ROLE_HOLDS:
				r->nholders++;
				break;
			case TS_ROLE_SENDER:
				r->nsenders++;
				break;
			case TS_ROLE_RECEIVER:
				r->nreceivers++;
				break;
			default:
				r->nwaiters++;
			}
		}
		r->nlinks = (uint32_t)g->nlinks - r->first;
		if (!r->kind)
			r->kind = "resource";
	}
	g->nres = nres;
	return 0;
}

const struct ts_wres *ts_wait_graph__find(const struct ts_wait_graph *g, uint64_t object)
{
	size_t lo = 0, hi = g->nres;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (g->res[mid].object == object)
			return &g->res[mid];
		if (g->res[mid].object < object)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static enum ts_res_role freer_role(enum ts_wait_kind k)
{
	return k == TS_WAIT_SEND ? TS_ROLE_RECEIVER : k == TS_WAIT_RECV ? TS_ROLE_SENDER :
	       TS_ROLE_HOLDS;
}

size_t ts_wait_graph__freers(const struct ts_wait_graph *g, const struct ts_wres *r,
			     enum ts_wait_kind k, uint32_t *out, size_t max)
{
	enum ts_res_role role = freer_role(k);
	size_t i, n = 0;

	if (!r || k == TS_WAIT_NOTIFY || k == TS_WAIT_OTHER || k == TS_WAIT_NONE)
		return 0;
	for (i = r->first; i < (size_t)r->first + r->nlinks; i++) {
		if (g->links[i].role != role)
			continue;
		if (n < max)
			out[n] = g->links[i].task;
		n++;
	}
	return n;
}

static size_t task_by_header(const struct ts_process *p, uint64_t header)
{
	size_t i;

	for (i = 0; header && i < p->ntasks; i++)
		if (p->tasks[i].header == header && p->tasks[i].state != TS_TASK_DONE)
			return i;
	return SIZE_MAX;
}

/*
 * Can nobody but the one freer found free it? A guard, an mpsc receiver
 * and a oneshot sender are unique; an empty mpsc channel's senders are
 * all known when every live Sender sits in a task frame.
 */
static bool definite(const struct ts_wres *r, enum ts_wait_kind k, size_t nfreers)
{
	if (nfreers != 1 || !r)
		return false;
	switch (k) {
	case TS_WAIT_LOCK:
		return true;
	case TS_WAIT_SEND:
		return !strncmp(r->kind, "mpsc", 4);
	case TS_WAIT_RECV:
		if (!strcmp(r->kind, "oneshot"))
			return true;
		return !strncmp(r->kind, "mpsc", 4) && r->has_senders &&
		       r->senders == r->sender_holds;
	default:
		return false;
	}
}

static void task_wait(struct ts_wait_graph *g, size_t i)
{
	const struct ts_process *p = g->p;
	const struct ts_task *t = &p->tasks[i];
	struct ts_task_wait *w = &g->waits[i];
	const struct ts_wres *r = NULL;
	enum ts_wait_kind k = TS_WAIT_NONE;
	uint32_t freers[2];
	size_t n;

	w->res = w->target = TS_WG_NONE;
	if (t->state == TS_TASK_DONE)
		return;
	if (chain_waits(t)) {
		k = leaf_wait(&t->chain->leaf);
		if (k == TS_WAIT_JOIN) {
			size_t j = task_by_header(p, t->chain->leaf.object);

			w->kind = k;
			if (j != SIZE_MAX && j != i) {
				w->target = (uint32_t)j;
				w->definite = true;
				w->nfreers = 1;
			}
			return;
		}
		if (k != TS_WAIT_NONE)
			r = ts_wait_graph__find(g, t->chain->leaf.object);
	} else if (t->st.waiting_res) {
		r = ts_wait_graph__find(g, t->st.waiting_res);
		k = r && (!strcmp(r->kind, "mutex") || !strcmp(r->kind, "rwlock") ||
			  !strcmp(r->kind, "semaphore")) ? TS_WAIT_LOCK : TS_WAIT_OTHER;
	}
	w->kind = k;
	if (!r)
		return;
	w->res = (uint32_t)(r - g->res);
	n = ts_wait_graph__freers(g, r, k, freers, 2);
	/*
	 * A task holding what it waits for frees nothing by waiting: a
	 * receiver keeping the channel's only Sender is never woken.
	 */
	if (n == 1 && freers[0] == i) {
		w->self_freer = definite(r, k, 1);
		n = 0;
	}
	w->nfreers = n > UINT16_MAX ? UINT16_MAX : (uint16_t)n;
	if (n == 1)
		w->target = freers[0];
	w->definite = definite(r, k, n);
}

/*
 * Definite edges leave each task at most once: the cycles of a
 * functional graph, each found once by walking from every task with a
 * visit stamp.
 */
static int find_cycles(struct ts_wait_graph *g)
{
	size_t n = g->p->ntasks, i;
	uint32_t *stamp = calloc(n ? n : 1, sizeof(*stamp));

	if (!stamp)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		size_t cur = i;

		while (cur != SIZE_MAX && !stamp[cur]) {
			stamp[cur] = (uint32_t)i + 1;
			cur = g->waits[cur].definite ? g->waits[cur].target : SIZE_MAX;
			if (cur == TS_WG_NONE)
				cur = SIZE_MAX;
		}
		if (cur != SIZE_MAX && stamp[cur] == i + 1) {
			struct ts_wait_cycle *c = ts_array_add(&g->cycles, &g->ncycles, &g->cycles_cap);
			size_t start = cur, lowest = cur;

			if (!c) {
				free(stamp);
				return -ENOMEM;
			}
			/* from its lowest task index: one order for one cycle */
			do {
				lowest = cur < lowest ? cur : lowest;
				cur = g->waits[cur].target;
			} while (cur != start);
			c->n = 0;
			cur = lowest;
			do {
				if (c->n < TS_CYCLE_MAX)
					c->tasks[c->n++] = (uint32_t)cur;
				cur = g->waits[cur].target;
			} while (cur != lowest);
		}
	}
	free(stamp);
	return 0;
}

int ts_wait_graph__build(struct ts_wait_graph *g, const struct ts_process *p)
{
	struct builder b = {};
	size_t i;
	int err;

	memset(g, 0, sizeof(*g));
	g->p = p;
	err = collect(&b, p);
	if (!err)
		err = group(g, &b);
	free(b.v);
	if (!err) {
		g->waits = calloc(p->ntasks ? p->ntasks : 1, sizeof(*g->waits));
		if (!g->waits)
			err = -ENOMEM;
	}
	for (i = 0; !err && i < p->ntasks; i++)
		task_wait(g, i);
	if (!err)
		err = find_cycles(g);
	if (err)
		ts_wait_graph__free(g);
	return err;
}

void ts_wait_graph__free(struct ts_wait_graph *g)
{
	free(g->res);
	free(g->links);
	free(g->waits);
	free(g->cycles);
	memset(g, 0, sizeof(*g));
}

const char *ts_wait_kind_name(enum ts_wait_kind k)
{
	static const char *const names[] = { "none", "lock", "send", "recv", "join", "notify",
					      "other" };

	return (size_t)k < ARRAY_SIZE(names) ? names[k] : "?";
}

const char *ts_res_role_name(enum ts_res_role r)
{
	static const char *const names[] = { "holds", "sender", "receiver", "waits" };

	return (size_t)r < ARRAY_SIZE(names) ? names[r] : "?";
}

const struct ts_wres *ts_wait_graph__waits_on(const struct ts_wait_graph *g, size_t i)
{
	if (!g->waits || i >= g->p->ntasks || g->waits[i].res == TS_WG_NONE)
		return NULL;
	return &g->res[g->waits[i].res];
}

void ts_wres__label(const struct ts_wres *r, char *buf, size_t len)
{
	char fill[48] = "";

	if (r->usdt && r->has_len)
		snprintf(fill, sizeof(fill), " (%" PRIu64 " of %" PRIu64 " queued)", r->len,
			 r->capacity);
	else if (r->has_len && r->capacity)
		snprintf(fill, sizeof(fill), " (%" PRIu64 "/%" PRIu64 "%s)", r->len, r->capacity,
			 r->len >= r->capacity ? " full" : "");
	else if (r->has_len)
		snprintf(fill, sizeof(fill), " (%" PRIu64 " queued)", r->len);
	if (r->usdt)
		snprintf(buf, len, "%s \"%s\"%s", r->kind, r->name, fill);
	else
		snprintf(buf, len, "%s 0x%" PRIx64 "%s", r->type[0] ? r->type : r->kind, r->object,
			 fill);
}

void ts_wres__task_ids(const struct ts_wait_graph *g, const struct ts_wres *r,
		       enum ts_res_role role, size_t max, const char *sep, char *buf, size_t len)
{
	size_t k, o = 0, n = 0;

	buf[0] = '\0';
	for (k = r->first; k < (size_t)r->first + r->nlinks && o < len; k++) {
		const struct ts_task *t = &g->p->tasks[g->links[k].task];

		if (g->links[k].role != role)
			continue;
		if (n++ == max) {
			o += (size_t)snprintf(buf + o, len - o, "%s...", sep);
			break;
		}
		if (t->root_tid)
			o += (size_t)snprintf(buf + o, len - o, "%sT%u", n > 1 ? sep : "", t->root_tid);
		else
			o += (size_t)snprintf(buf + o, len - o, "%s%" PRIu64, n > 1 ? sep : "",
					      t->task_id);
	}
	if (!n)
		snprintf(buf, len, "-");
}

static const char *task_name(const struct ts_task *t)
{
	return t->name[0] ? t->name : "(unnamed)";
}

static void task_id_label(const struct ts_task *t, char *buf, size_t len)
{
	if (t->root_tid)
		snprintf(buf, len, "block_on (thread %u)", t->root_tid);
	else if (t->task_id)
		snprintf(buf, len, "task %" PRIu64, t->task_id);
	else
		snprintf(buf, len, "task @0x%" PRIx64, t->header);
}

void ts_wait_graph__edge_label(const struct ts_wait_graph *g, size_t i, char *buf, size_t len)
{
	const struct ts_task_wait *w = &g->waits[i];
	char l[200];

	buf[0] = '\0';
	if (w->kind == TS_WAIT_JOIN) {
		if (w->target != TS_WG_NONE) {
			task_id_label(&g->p->tasks[w->target], l, sizeof(l));
			snprintf(buf, len, "JoinHandle of %s", l);
		} else {
			snprintf(buf, len, "JoinHandle");
		}
		return;
	}
	if (w->res == TS_WG_NONE)
		return;
	ts_wres__label(&g->res[w->res], l, sizeof(l));
	snprintf(buf, len, "%s%s", w->kind == TS_WAIT_SEND ? "send on " :
		 w->kind == TS_WAIT_RECV ? "recv on " : "", l);
}

/* DOT strings: quotes and backslashes escaped, no newlines. */
static void dot_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		fputc(*s == '\n' ? ' ' : *s, out);
	}
	fputc('"', out);
}

static bool on_cycle(const struct ts_wait_graph *g, size_t task, size_t next)
{
	size_t c;
	int k;

	for (c = 0; c < g->ncycles; c++)
		for (k = 0; k < g->cycles[c].n; k++)
			if (g->cycles[c].tasks[k] == task &&
			    (next == SIZE_MAX ||
			     g->cycles[c].tasks[(k + 1) % g->cycles[c].n] == next))
				return true;
	return false;
}

/* Light yellow past the threshold, orange at 10x, red at 100x. */
static const char *wait_colour(const struct ts_task *t, uint64_t stall_ns)
{
	if (t->state != TS_TASK_IDLE || !stall_ns || t->in_state_ns < stall_ns)
		return "white";
	if (t->in_state_ns >= 100 * stall_ns)
		return "#f4a09c";
	if (t->in_state_ns >= 10 * stall_ns)
		return "#fbc98e";
	return "#fff3b0";
}

void ts_wait_graph__write_dot(const struct ts_wait_graph *g, FILE *out, uint64_t stall_ns)
{
	const struct ts_process *p = g->p;
	bool *drawn = calloc(p->ntasks ? p->ntasks : 1, sizeof(*drawn));
	size_t i, r, k;
	char label[400], id[64], d[32];

	fprintf(out, "digraph waits {\n\tgraph [rankdir=LR, fontname=\"sans\", label=");
	snprintf(label, sizeof(label), "taskscope: who waits on whom in PID %d (%s)", p->pid, p->comm);
	dot_str(out, label);
	fprintf(out, "];\n\tnode [fontname=\"sans\", fontsize=10];\n"
		"\tedge [fontname=\"sans\", fontsize=9];\n");
	if (!drawn)
		goto end;
	/* tasks on an edge: waiting on something known, or able to free it */
	for (i = 0; i < p->ntasks; i++) {
		const struct ts_task_wait *w = &g->waits[i];

		if (w->res != TS_WG_NONE || w->kind == TS_WAIT_JOIN)
			drawn[i] = true;
		if (w->target != TS_WG_NONE)
			drawn[w->target] = true;
	}
	for (r = 0; r < g->nres; r++)
		if (g->res[r].nwaiters)
			for (k = g->res[r].first; k < g->res[r].first + g->res[r].nlinks; k++)
				drawn[g->links[k].task] = true;
	for (i = 0; i < p->ntasks; i++) {
		const struct ts_task *t = &p->tasks[i];
		bool cyc = on_cycle(g, i, SIZE_MAX);

		if (!drawn[i])
			continue;
		task_id_label(t, id, sizeof(id));
		ts_fmt_duration(t->in_state_ns, d, sizeof(d));
		snprintf(label, sizeof(label), "%s\\n%s\\n%s %s%s", id, task_name(t),
			 ts_task_state_name(t->state), t->since_attach ? ">= " : "", d);
		fprintf(out, "\tt%zu [shape=box, style=filled, fillcolor=\"%s\", color=\"%s\", "
			"penwidth=%s, label=\"", i, wait_colour(t, stall_ns), cyc ? "red" : "black",
			cyc ? "2" : "1");
		/* the label's \n are DOT line breaks: written as they are */
		for (const char *s = label; *s; s++) {
			if (*s == '"')
				fputc('\\', out);
			fputc(*s, out);
		}
		fprintf(out, "\"];\n");
	}
	for (r = 0; r < g->nres; r++) {
		const struct ts_wres *x = &g->res[r];

		if (!x->nwaiters)
			continue;
		ts_wres__label(x, label, sizeof(label));
		fprintf(out, "\tr%zu [shape=ellipse, label=", r);
		dot_str(out, label);
		fprintf(out, "];\n");
	}
	for (i = 0; i < p->ntasks; i++) {
		const struct ts_task_wait *w = &g->waits[i];
		bool cyc = w->target != TS_WG_NONE && on_cycle(g, i, w->target);
		const char *style = cyc ? ", color=red, penwidth=2" : "";

		if (w->kind == TS_WAIT_JOIN && w->target != TS_WG_NONE) {
			fprintf(out, "\tt%zu -> t%u [label=\"awaits JoinHandle\"%s];\n", i, w->target,
				style);
			continue;
		}
		if (w->res == TS_WG_NONE)
			continue;
		fprintf(out, "\tt%zu -> r%u [label=\"%s\"%s];\n", i, w->res,
			ts_wait_kind_name(w->kind), style);
	}
	for (r = 0; r < g->nres; r++) {
		const struct ts_wres *x = &g->res[r];

		if (!x->nwaiters)
			continue;
		for (k = x->first; k < x->first + x->nlinks; k++) {
			const struct ts_res_link *l = &g->links[k];
			bool cyc = false;
			size_t w;

			if (l->role == TS_ROLE_WAITS)
				continue;
			/* red when a waiter of r on a cycle is freed by this task */
			for (w = x->first; w < x->first + x->nlinks; w++)
				if (g->links[w].role == TS_ROLE_WAITS &&
				    g->waits[g->links[w].task].target == l->task &&
				    on_cycle(g, g->links[w].task, l->task))
					cyc = true;
			fprintf(out, "\tr%zu -> t%u [label=\"%s%s\", style=dashed%s];\n", r, l->task,
				l->role == TS_ROLE_HOLDS ? "held by" : l->role == TS_ROLE_SENDER ?
				"sender held by" : "receiver held by",
				l->nholds > 1 ? " (x2+)" : "", cyc ? ", color=red, penwidth=2" : "");
		}
	}
end:
	fprintf(out, "}\n");
	free(drawn);
}
