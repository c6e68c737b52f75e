// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* top's task tree, resources and problem views: see top_graph.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "array.h"
#include "duration.h"
#include "top_graph.h"

#define SPACESHIP(a, b) (((a) > (b)) - ((a) < (b)))
#define TREE_MAX_DEPTH	8		/* deeper rows keep this indentation */
#define ROOT_KEY(tid)	((1ULL << 63) | (tid))
#define TOP_MAX_PROBLEMS	500	/* entries drawn; report lists every finding */

/* ---- the task tree ---------------------------------------------------- */

struct tree_key {
	pid_t pid;
	uint64_t key;
	size_t vis;
};

static int cmp_tree_key(const void *a, const void *b)
{
	const struct tree_key *x = a, *y = b;

	if (x->pid != y->pid)
		return SPACESHIP(x->pid, y->pid);
	return SPACESHIP(x->key, y->key);
}

static const struct ts_task *row_task(const struct top_session *s, const struct top_row *r)
{
	if (r->proc >= s->nprocs || r->task >= s->procs[r->proc]->cur.ntasks)
		return NULL;
	return &s->procs[r->proc]->cur.tasks[r->task];
}

static uint64_t row_key(const struct top_row *r)
{
	return r->root_tid ? ROOT_KEY(r->root_tid) : r->task_id;
}

void top_tree_clear(struct top_row *rows, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		rows[i].tree[0] = '\0';
		rows[i].subtree = 0;
		rows[i].subtree_polls = 0;
		rows[i].subtree_busy_ns = 0;
	}
}

/* The glyphs before a row's name, from its ancestors' "last child" marks. */
static void tree_glyphs(char *buf, size_t len, const bool *last, int depth, bool ascii)
{
	size_t o = 0;
	int d;

	buf[0] = '\0';
	for (d = 1; d <= depth && d <= TREE_MAX_DEPTH && o < len; d++) {
		const char *g;

		if (d < depth && d < TREE_MAX_DEPTH)
			g = last[d] ? "   " : ascii ? "|  " : "\u2502  ";
		else
			g = last[d] ? (ascii ? "`- " : "\u2514\u2500 ") : (ascii ? "|- " : "\u251c\u2500 ");
		/* whole glyphs only: a cut one would be invalid UTF-8 */
		if (o + strlen(g) >= len)
			break;
		o += (size_t)snprintf(buf + o, len - o, "%s", g);
	}
}

int top_tree_order(const struct top_session *s, struct top_row *rows, size_t *order, size_t n,
		   bool ascii, size_t *unknown)
{
	struct tree_key *keys = calloc(n + 1, sizeof(*keys));
	size_t *parent = calloc(n + 1, sizeof(*parent)), *first = calloc(n + 2, sizeof(*first));
	size_t *kids = calloc(n + 1, sizeof(*kids)), *out = calloc(n + 1, sizeof(*out));
	size_t *stack = calloc(n + 1, sizeof(*stack)), *fill = calloc(n + 2, sizeof(*fill));
	int *depth = calloc(n + 1, sizeof(*depth));
	bool *done = calloc(n + 1, sizeof(*done)), last[TREE_MAX_DEPTH + 2] = { false };
	size_t i, k, nout = 0, sp;
	int err = 0, pass;

	*unknown = 0;
	if (!keys || !parent || !first || !kids || !out || !stack || !fill || !depth || !done) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = 0; i < n; i++) {
		const struct top_row *r = &rows[order[i]];

		keys[i] = (struct tree_key){ .pid = r->pid, .key = row_key(r), .vis = i };
	}
	qsort(keys, n, sizeof(*keys), cmp_tree_key);
	/* each visible row's visible parent, SIZE_MAX at the top */
	for (i = 0; i < n; i++) {
		const struct top_row *r = &rows[order[i]];
		const struct ts_task *t = row_task(s, r);
		struct tree_key want, *hit;

		parent[i] = SIZE_MAX;
		if (!t || t->root_tid)
			continue;
		if (!t->parent_known) {
			(*unknown)++;
			continue;
		}
		want.pid = r->pid;
		want.key = t->parent_id ? t->parent_id : t->spawn_tid ? ROOT_KEY(t->spawn_tid) : 0;
		hit = want.key ? bsearch(&want, keys, n, sizeof(*keys), cmp_tree_key) : NULL;
		if (hit && hit->vis != i)
			parent[i] = hit->vis;
	}
	/* children lists in sorted order: counts, offsets, fill */
	for (i = 0; i < n; i++)
		if (parent[i] != SIZE_MAX)
			first[parent[i] + 1]++;
	for (i = 0; i < n; i++)
		first[i + 1] += first[i];
	memcpy(fill, first, (n + 1) * sizeof(*fill));
	for (i = 0; i < n; i++)
		if (parent[i] != SIZE_MAX)
			kids[fill[parent[i]]++] = i;
	/*
	 * Depth first from each top-level row, in order; then from any row
	 * left (only a cycle of parents could leave one: impossible, bounded).
	 */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < n; i++) {
			if (done[i] || (!pass && parent[i] != SIZE_MAX))
				continue;
			sp = 0;
			stack[sp++] = i;
			depth[i] = 0;
			while (sp) {
				size_t v = stack[--sp], c;

				if (done[v])
					continue;
				done[v] = true;
				out[nout++] = v;
				/* last child pushed first: the first child is drawn first */
				for (c = first[v + 1]; c > first[v]; c--) {
					size_t ch = kids[c - 1];

					if (done[ch])
						continue;
					depth[ch] = depth[v] + 1;
					stack[sp++] = ch;
				}
			}
		}
	}
	/* glyphs: a row is its parent's last child when no later sibling follows */
	for (k = 0; k < nout; k++) {
		size_t v = out[k], p = parent[v];
		struct top_row *r = &rows[order[v]];
		int d = depth[v] < TREE_MAX_DEPTH ? depth[v] : TREE_MAX_DEPTH;

		if (d)
			last[d] = p == SIZE_MAX || kids[first[p + 1] - 1] == v;
		tree_glyphs(r->tree, sizeof(r->tree), last, depth[v], ascii);
		r->subtree = 0;
		r->subtree_polls = r->polls;
		r->subtree_busy_ns = r->busy_ns;
	}
	/* subtree sums, children before parents (reverse of depth first) */
	for (k = nout; k-- > 0;) {
		size_t v = out[k];

		if (parent[v] != SIZE_MAX && depth[v]) {
			struct top_row *pr = &rows[order[parent[v]]], *r = &rows[order[v]];

			pr->subtree += 1 + r->subtree;
			pr->subtree_polls += r->subtree_polls;
			pr->subtree_busy_ns += r->subtree_busy_ns;
		}
	}
	for (k = 0; k < nout; k++)
		out[k] = order[out[k]];
	memcpy(order, out, nout * sizeof(*order));
cleanup:
	free(keys);
	free(parent);
	free(first);
	free(kids);
	free(out);
	free(stack);
	free(fill);
	free(depth);
	free(done);
	return err;
}

/* ---- labels ------------------------------------------------------------ */

static const char *task_label(const struct ts_task *t, char *buf, size_t len)
{
	const char *name = t->name[0] ? t->name : "(unnamed)";

	if (t->root_tid)
		snprintf(buf, len, "block_on %s (thread %u)", name, t->root_tid);
	else if (t->task_id)
		snprintf(buf, len, "task %" PRIu64 " %s", t->task_id, name);
	else
		snprintf(buf, len, "task @0x%" PRIx64 " %s", t->header, name);
	return buf;
}

/* Its deepest frame in the program's own code, or NULL. */
static const struct ts_await_frame *own_frame(const struct ts_task *t)
{
	const struct ts_await_chain *c = t->chain;
	int i;

	if (!c || c->status != TS_CHAIN_SUSPENDED)
		return NULL;
	for (i = c->nframes - 1; i >= 0; i--)
		if (!c->frames[i].external && c->frames[i].line)
			return &c->frames[i];
	return NULL;
}

static void task_state(const struct ts_task *t, char *buf, size_t len)
{
	char d[32];

	ts_fmt_duration(t->in_state_ns, d, sizeof(d));
	snprintf(buf, len, "%s %s%s", ts_task_state_name(t->state), t->since_attach ? ">= " : "",
		 d);
}

int top_source_line(const char *path, uint32_t line, char *buf, size_t len)
{
	char text[1024];
	uint32_t n = 0;
	FILE *f;

	buf[0] = '\0';
	if (!path || !path[0] || !line)
		return -ENOENT;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(text, sizeof(text), f)) {
		size_t l = strlen(text);
		bool whole = l && text[l - 1] == '\n';

		if (++n == line) {
			text[strcspn(text, "\r\n")] = '\0';
			snprintf(buf, len, "%s", text);
			break;
		}
		/* a line longer than the buffer: skip the rest of it */
		while (!whole && fgets(text, sizeof(text), f)) {
			l = strlen(text);
			whole = l && text[l - 1] == '\n';
		}
	}
	fclose(f);
	return n == line ? 0 : -ENOENT;
}

/* ---- resources --------------------------------------------------------- */

/* The sort key first, in the direction asked; ties by (pid, object) ascending, as the tasks. */
static int cmp_res(const struct top_res_row *x, const struct top_res_row *y,
		   enum top_res_sort sort, bool descending)
{
	int c = 0;

	switch (sort) {
	case TOP_RS_WAITERS:
		c = SPACESHIP(x->nwaiters, y->nwaiters);
		break;
	case TOP_RS_KIND:
		c = strcmp(x->kind, y->kind);
		c = SPACESHIP(c, 0);
		break;
	case TOP_RS_LEN:
		c = SPACESHIP(x->has_len ? x->len : 0, y->has_len ? y->len : 0);
		break;
	case TOP_RS_PID:
	case TOP_RS_MAX:
		break;
	}
	if (c)
		return descending ? -c : c;
	c = SPACESHIP(x->pid, y->pid);
	if (c && sort == TOP_RS_PID)
		return descending ? -c : c;
	return c ? c : SPACESHIP(x->object, y->object);
}

/* qsort has no context argument: the list is built on the UI thread only */
static enum top_res_sort sort_key;
static bool sort_desc;

static int cmp_res_q(const void *a, const void *b)
{
	return cmp_res(a, b, sort_key, sort_desc);
}

void top_res_list__free(struct top_res_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->rows[i].links);
	free(l->rows);
	memset(l, 0, sizeof(*l));
}

const char *top_res_sort_name(enum top_res_sort k)
{
	static const char *const names[] = { "WAITERS", "KIND", "LEN", "PID" };

	return (size_t)k < ARRAY_SIZE(names) ? names[k] : "?";
}

static bool has_task(const uint32_t *v, size_t n, uint32_t task)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] == task)
			return true;
	return false;
}

/*
 * Marks the links of the tasks that can free what r's waiters wait for
 * (the graph decides: a lock's holders, a full channel's receiver, an
 * empty one's senders) and moves them first, the rest keeping their
 * order: the first lines a person reads after "who waits" is "who can
 * end it".
 */
static void mark_freers(const struct ts_wait_graph *g, const struct ts_wres *r,
			struct top_res_row *row)
{
	uint32_t freers[16];
	size_t k, j, n, nf = 0;

	for (k = 0; k < row->nlinks; k++) {
		const struct ts_task_wait *w = &g->waits[row->links[k].task];

		if (row->links[k].role != TS_ROLE_WAITS)
			continue;
		n = ts_wait_graph__freers(g, r, (enum ts_wait_kind)w->kind, freers + nf,
					  ARRAY_SIZE(freers) - nf);
		nf += n < ARRAY_SIZE(freers) - nf ? n : ARRAY_SIZE(freers) - nf;
	}
	for (k = 0; k < row->nlinks; k++)
		row->links[k].frees = row->links[k].role != TS_ROLE_WAITS &&
				      has_task(freers, nf, (uint32_t)row->links[k].task);
	/* a stable partition: n links at most, a handful in practice */
	for (k = 0, j = 0; k < row->nlinks; k++) {
		struct top_res_link l = row->links[k];
		size_t m;

		if (!l.frees)
			continue;
		for (m = k; m > j; m--)
			row->links[m] = row->links[m - 1];
		row->links[j++] = l;
	}
	row->nfreers = j;
}

static int add_res(struct top_res_list *l, const struct top_session *s, size_t pi,
		   const struct ts_wait_graph *g, const struct ts_wres *r)
{
	const struct ts_process *p = &s->procs[pi]->cur;
	struct top_res_row *row = ts_array_add(&l->rows, &l->n, &l->cap);
	char senders[32], receivers[32];
	size_t k;

	if (!row)
		return -ENOMEM;
	memset(row, 0, sizeof(*row));
	row->proc = pi;
	row->pid = p->pid;
	row->object = r->object;
	row->kind = r->kind;
	row->usdt = r->usdt;
	if (r->usdt)
		snprintf(row->what, sizeof(row->what), "\"%s\"", r->name);
	else
		snprintf(row->what, sizeof(row->what), "%s", r->type[0] ? r->type : r->kind);
	row->has_len = r->has_len;
	row->len = r->len;
	row->capacity = r->capacity;
	row->nholders = r->nholders;
	row->nwaiters = r->nwaiters;
	row->nsenders = r->nsenders;
	row->nreceivers = r->nreceivers;
	ts_wres__task_ids(g, r, TS_ROLE_HOLDS, 3, ",", row->holders, sizeof(row->holders));
	ts_wres__task_ids(g, r, TS_ROLE_SENDER, 3, ",", senders, sizeof(senders));
	ts_wres__task_ids(g, r, TS_ROLE_RECEIVER, 3, ",", receivers, sizeof(receivers));
	if (r->nsenders || r->nreceivers)
		snprintf(row->halves, sizeof(row->halves), "tx %s rx %s", senders, receivers);
	else
		snprintf(row->halves, sizeof(row->halves), "-");
	row->links = calloc(r->nlinks ? r->nlinks : 1, sizeof(*row->links));
	if (!row->links)
		return -ENOMEM;
	for (k = 0; k < r->nlinks; k++) {
		row->links[k].proc = pi;
		row->links[k].task = g->links[r->first + k].task;
		row->links[k].role = (enum ts_res_role)g->links[r->first + k].role;
	}
	row->nlinks = r->nlinks;
	mark_freers(g, r, row);
	return 0;
}

int top_res_list__build(struct top_res_list *l, const struct top_session *s,
			enum top_res_sort sort, bool descending)
{
	size_t pi, r;
	int err = 0;

	top_res_list__free(l);
	for (pi = 0; pi < s->nprocs && !err; pi++) {
		struct ts_wait_graph g;

		if (!s->procs[pi]->attached && !s->procs[pi]->cur.ntasks)
			continue;
		err = ts_wait_graph__build(&g, &s->procs[pi]->cur);
		for (r = 0; !err && r < g.nres; r++)
			err = add_res(l, s, pi, &g, &g.res[r]);
		/* build leaves g empty when it fails: freeing is always safe */
		ts_wait_graph__free(&g);
	}
	sort_key = sort;
	sort_desc = descending;
	if (l->n)
		qsort(l->rows, l->n, sizeof(*l->rows), cmp_res_q);
	return err;
}

static void lencap(const struct top_res_row *r, char *buf, size_t len)
{
	if (r->has_len && r->capacity)
		snprintf(buf, len, "%" PRIu64 "/%" PRIu64, r->len, r->capacity);
	else if (r->has_len)
		snprintf(buf, len, "%" PRIu64 "/-", r->len);
	else
		snprintf(buf, len, "-");
}

int top_panel_resources(struct top_text *out, const struct top_res_list *l, int width,
			size_t selected, size_t first, int height, bool show_pid,
			enum top_res_sort sort)
{
	char line[640], lc[32], addr[24];
	/* TYPE takes what the fixed columns and ~20 of OTHER HALF leave: generic types are long */
	int tw = width - 85 - (show_pid ? 8 : 0);
	size_t i;

	tw = tw < 30 ? 30 : tw > 96 ? 96 : tw;

	top_text__addf(out, TOP_A_TITLE, "Resources: %zu (locks and channels the stuck tasks' "
		       "await chains name; sorted by %s; < > sort, i invert, Enter: its tasks)",
		       l->n, top_res_sort_name(sort));
	snprintf(line, sizeof(line), "%s%-15s %-*s %-16s %9s %-12s %7s %s",
		 show_pid ? "    PID " : "", "KIND", tw, "TYPE / NAME", "ADDRESS", "LEN/CAP",
		 "HOLDERS", "WAITERS", "OTHER HALF");
	top_text__add(out, TOP_A_COLHEAD, line);
	if (!l->n)
		top_text__add(out, TOP_A_DIM, "  (no lock or channel in a stuck task's await chain)");
	for (i = first; i < l->n && (int)(i - first) < height; i++) {
		const struct top_res_row *r = &l->rows[i];
		char pid[16] = "";

		lencap(r, lc, sizeof(lc));
		if (r->usdt)
			snprintf(addr, sizeof(addr), "#%" PRIu64, r->object);
		else
			snprintf(addr, sizeof(addr), "0x%" PRIx64, r->object);
		if (show_pid)
			snprintf(pid, sizeof(pid), "%7d ", r->pid);
		snprintf(line, sizeof(line), "%s%-15s %-*.*s %-16s %9s %-12.12s %7u %s", pid,
			 r->kind, tw, tw, r->what, addr, lc, r->holders, r->nwaiters, r->halves);
		top_text__add(out, i == selected ? TOP_A_SELECTED :
			      r->nwaiters ? TOP_A_NORMAL : TOP_A_DIM, line);
	}
	return 0;
}

/* What frees a resource for its waiters, by kind. */
static const char *frees_it(const struct top_res_row *r)
{
	if (!strcmp(r->kind, "mutex") || !strcmp(r->kind, "rwlock"))
		return "its guard's holder, when the guard is dropped";
	if (!strcmp(r->kind, "semaphore"))
		return "any permit holder, when the permit is dropped";
	/* a channel's fill says which side its waiters wait for */
	if (!strncmp(r->kind, "mpsc", 4) && r->has_len && r->capacity && r->len >= r->capacity)
		return "its receiver, by taking a message: the channel is full";
	if (!strncmp(r->kind, "mpsc", 4) && r->has_len && !r->len)
		return "a sender, by sending (or every Sender being dropped): the channel is empty";
	if (!strncmp(r->kind, "mpsc", 4) || !strcmp(r->kind, "broadcast"))
		return "senders wait for the receiver to take a message; the receiver waits for "
		       "a sender to send (or every Sender to be dropped)";
	if (!strcmp(r->kind, "oneshot"))
		return "the Sender's holder, by sending or dropping it";
	if (!strcmp(r->kind, "watch"))
		return "the Sender's holder, by sending a new value";
	if (!strcmp(r->kind, "notify"))
		return "whoever calls notify_one/notify_waiters (not known from memory)";
	return "the tasks linked to it";
}

int top_panel_resource(struct top_text *out, const struct top_session *s,
		       const struct top_res_row *r, size_t selected)
{
	char lc[32], label[320], st[64], line[640];
	size_t k;

	lencap(r, lc, sizeof(lc));
	top_text__addf(out, TOP_A_TITLE, "%s %s %s0x%" PRIx64 "  LEN/CAP %s  in PID %d", r->kind,
		       r->what, r->usdt ? "id " : "", r->object, lc, r->pid);
	top_text__addf(out, TOP_A_DIM, "  freed by: %s", frees_it(r));
	if (r->nwaiters && r->nfreers)
		top_text__addf(out, TOP_A_NORMAL, "  %zu task%s can free it for its waiters: "
			       "marked \"frees\" below", r->nfreers, r->nfreers == 1 ? "" : "s");
	else if (r->nwaiters)
		top_text__add(out, TOP_A_WARN, "  no task seen can free it: whoever can is "
			      "outside the tasks' frames (a thread, a static, a dropped task)");
	top_text__add(out, TOP_A_NORMAL, "");
	top_text__addf(out, TOP_A_COLHEAD, "  %-9s %-6s %-48s %-18s %s", "ROLE", "FREES", "TASK",
		       "STATE", "AT");
	for (k = 0; k < r->nlinks; k++) {
		const struct top_proc *tp = r->links[k].proc < s->nprocs ?
					    s->procs[r->links[k].proc] : NULL;
		const struct ts_task *t = tp && r->links[k].task < tp->cur.ntasks ?
					  &tp->cur.tasks[r->links[k].task] : NULL;
		const struct ts_await_frame *f;
		char at[160] = "";

		if (!t)
			continue;
		f = own_frame(t);
		if (f)
			snprintf(at, sizeof(at), "%s:%u", f->file, f->line);
		task_state(t, st, sizeof(st));
		snprintf(line, sizeof(line), "  %-9s %-6s %-48.48s %-18s %s",
			 r->links[k].role == TS_ROLE_WAITS ? "waits" :
			 r->links[k].role == TS_ROLE_HOLDS ? "holds" :
			 r->links[k].role == TS_ROLE_SENDER ? "sender" : "receiver",
			 r->links[k].frees ? "frees" : "",
			 task_label(t, label, sizeof(label)), st, at);
		top_text__add(out, k == selected ? TOP_A_SELECTED : TOP_A_NORMAL, line);
	}
	top_text__add(out, TOP_A_NORMAL, "");
	top_text__add(out, TOP_A_DIM, "  Enter: the task in full; Esc: back");
	return 0;
}

/* ---- problems ---------------------------------------------------------- */

static int kind_rank(enum ts_finding_kind k)
{
	switch (k) {
	case TS_FIND_DEADLOCK:
		return 0;
	case TS_FIND_STARVED:
		return 1;
	case TS_FIND_BLOCKED_WORKER:
		return 2;
	case TS_FIND_SPINNING:
		return 3;
	case TS_FIND_LOST_WAKE:
		return 4;
	default:
		return 5;
	}
}

bool top_problems__any(const struct top_session *s, int kind)
{
	size_t i, k;

	for (i = 0; i < s->nprocs; i++)
		for (k = 0; k < s->procs[i]->nfindings; k++)
			if ((int)s->procs[i]->findings[k].kind == kind)
				return true;
	return false;
}

void top_problems__free(struct top_problems *pl)
{
	free(pl->v);
	memset(pl, 0, sizeof(*pl));
}

static int add_problem(struct top_problems *pl, size_t proc, size_t finding, size_t task,
		       const struct ts_wait_graph *g, bool first)
{
	struct top_problem *e;
	const struct ts_wres *r;

	if (pl->n >= TOP_MAX_PROBLEMS)
		return 0;
	e = ts_array_add(&pl->v, &pl->n, &pl->cap);
	if (!e)
		return -ENOMEM;
	e->proc = proc;
	e->finding = finding;
	e->task = task;
	e->first = first;
	r = task != SIZE_MAX ? ts_wait_graph__waits_on(g, task) : NULL;
	e->object = r ? r->object : 0;
	return 0;
}

int top_problems__build(struct top_problems *pl, const struct top_session *s)
{
	struct ts_wait_graph *g = calloc(s->nprocs ? s->nprocs : 1, sizeof(*g));
	bool *built = calloc(s->nprocs ? s->nprocs : 1, sizeof(*built));
	int rank, err = 0;
	size_t i, k, m;

	top_problems__free(pl);
	if (!g || !built) {
		err = -ENOMEM;
		goto cleanup;
	}
	/* deadlocks first across every process, then the next kind: one graph each */
	for (rank = 0; rank <= 5 && !err; rank++) {
		for (i = 0; i < s->nprocs && !err; i++) {
			const struct top_proc *tp = s->procs[i];

			if (!tp->nfindings)
				continue;
			if (!built[i]) {
				if (ts_wait_graph__build(&g[i], &tp->cur))
					continue;
				built[i] = true;
			}
			for (k = 0; k < tp->nfindings && !err; k++) {
				const struct ts_finding *f = &tp->findings[k];

				if (kind_rank(f->kind) != rank)
					continue;
				if (f->kind == TS_FIND_DEADLOCK) {
					for (m = 0; m < f->count && m < ARRAY_SIZE(f->members) && !err; m++)
						err = add_problem(pl, i, k, f->members[m], &g[i], !m);
				} else {
					err = add_problem(pl, i, k, f->task < tp->cur.ntasks ? f->task :
							  SIZE_MAX, &g[i], true);
				}
			}
		}
	}
cleanup:
	for (i = 0; g && built && i < s->nprocs; i++)
		if (built[i])
			ts_wait_graph__free(&g[i]);
	free(g);
	free(built);
	return err;
}

/*
 * "prefix text" wrapped at width columns, continuation lines indented by
 * indent spaces; cut at spaces, never inside a UTF-8 glyph. A finding's
 * message names a task, its .await and what it waits on, and the end of
 * it is the part that says who.
 */
static void add_wrapped(struct top_text *out, enum top_attr attr, const char *prefix,
			const char *text, int indent, int width)
{
	int avail = width - top_str_width(prefix);
	bool first = true;

	while (*text) {
		const char *p = text, *cut = NULL;
		int cols = 0;

		if (avail < 20)
			avail = 20;
		/* the byte after avail columns, and the last space before it */
		while (*p && cols < avail) {
			if (*p == ' ')
				cut = p;
			p++;
			while ((*p & 0xc0) == 0x80)
				p++;
			cols++;
		}
		if (!*p || !cut)
			cut = p;
		top_text__addf(out, attr, "%*s%s%.*s", first ? 0 : indent, "", first ? prefix : "",
			       (int)(cut - text), text);
		if (first)
			avail = width - indent;
		first = false;
		text = cut;
		while (*text == ' ')
			text++;
	}
}

/*
 * One task of a finding: its state, the .await it is stuck at with that
 * source line (as gdb's `list` would show it), what it waits on and who
 * can free it.
 */
static void problem_task(struct top_text *out, const struct ts_process *p,
			 const struct ts_wait_graph *g, const struct top_problem *e, bool selected,
			 bool ascii)
{
	const struct ts_task *t = &p->tasks[e->task];
	const struct ts_await_frame *fr = own_frame(t);
	const char *arrow = ascii ? "->" : "\u2192";
	char label[320], st[64], src[256], what[256];
	const struct ts_task_wait *w;
	const struct ts_wres *r;
	uint32_t freers[2];
	size_t nf;

	task_state(t, st, sizeof(st));
	top_text__addf(out, selected ? TOP_A_SELECTED : TOP_A_NORMAL, "  %s %s  %s",
		       ascii ? ">" : "\u25b8", task_label(t, label, sizeof(label)), st);
	if (fr) {
		int err = top_source_line(fr->path, fr->line, src, sizeof(src));
		const char *code = src;

		while (*code == ' ' || *code == '\t')
			code++;
		top_text__addf(out, TOP_A_NORMAL, "      %s:%u   %s", fr->file, fr->line,
			       err ? "(source not on this machine)" : code);
	}
	if (!g || (!e->object && !(t->chain && t->chain->leaf.kind == TS_LEAF_JOIN)))
		return;
	w = &g->waits[e->task];
	ts_wait_graph__edge_label(g, e->task, what, sizeof(what));
	if (w->target != TS_WG_NONE) {
		top_text__addf(out, TOP_A_NORMAL, "      waits on %s %s %s", what, arrow,
			       task_label(&p->tasks[w->target], label, sizeof(label)));
		return;
	}
	r = ts_wait_graph__waits_on(g, e->task);
	nf = r ? ts_wait_graph__freers(g, r, (enum ts_wait_kind)w->kind, freers,
				       ARRAY_SIZE(freers)) : 0;
	if (nf)
		top_text__addf(out, TOP_A_NORMAL, "      waits on %s %s %zu tasks can free it "
			       "(Enter)", what, arrow, nf);
	else
		top_text__addf(out, TOP_A_NORMAL, "      waits on %s %s no task seen can free it",
			       what, arrow);
}

int top_panel_problems(struct top_text *out, const struct top_session *s,
		       const struct top_problems *pl, size_t selected, int width, bool ascii)
{
	struct ts_wait_graph g = {};
	size_t i, nf = 0, gproc = SIZE_MAX;

	for (i = 0; i < s->nprocs; i++)
		nf += s->procs[i]->nfindings;
	top_text__addf(out, TOP_A_TITLE, "Problems: %zu finding%s (deadlocks first; Up/Down "
		       "picks a task, Enter: what it waits on and who can free it; D: the "
		       "wait-for graph as DOT)", nf, nf == 1 ? "" : "s");
	if (!pl->n)
		top_text__add(out, TOP_A_DIM, "  (nothing flagged)");
	for (i = 0; i < pl->n; i++) {
		const struct top_problem *e = &pl->v[i];
		const struct top_proc *tp = s->procs[e->proc];
		const struct ts_finding *f = &tp->findings[e->finding];

		if (e->first) {
			top_text__add(out, TOP_A_NORMAL, "");
			if (f->kind == TS_FIND_DEADLOCK) {
				top_text__addf(out, TOP_A_WARN, "[deadlock] PID %d: %llu tasks wait "
					       "for each other, in a cycle:", tp->cur.pid,
					       (unsigned long long)f->count);
			} else {
				char head[64];

				snprintf(head, sizeof(head), "[%s] PID %d: ",
					 ts_finding_kind_name(f->kind), tp->cur.pid);
				add_wrapped(out, TOP_A_WARN, head, f->message, 4, width);
			}
		}
		if (e->task != SIZE_MAX) {
			/* one graph per process, not per entry: a million tasks are one walk */
			if (gproc != e->proc) {
				ts_wait_graph__free(&g);
				gproc = ts_wait_graph__build(&g, &tp->cur) ? SIZE_MAX : e->proc;
			}
			problem_task(out, &tp->cur, gproc == e->proc ? &g : NULL, e, i == selected,
				     ascii);
		}
		if (f->remedy && (i + 1 == pl->n || pl->v[i + 1].first))
			add_wrapped(out, TOP_A_DIM, "    fix: ", f->remedy, 9, width);
	}
	ts_wait_graph__free(&g);
	return 0;
}

int top_write_dot(const struct top_session *s, size_t proc, char *path, size_t len)
{
	const struct top_proc *tp;
	struct ts_wait_graph g;
	char stamp[32];
	char cwd[256];
	const char *dir = getcwd(cwd, sizeof(cwd)) ? cwd : ".";
	time_t now = time(NULL);
	struct tm tm;
	FILE *f;
	int err;

	if (proc >= s->nprocs)
		return -ENOENT;
	tp = s->procs[proc];
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%H%M%S", &tm);
	if (access(dir, W_OK)) {
		dir = getenv("TMPDIR");
		if (!dir || !dir[0])
			dir = "/tmp";
	}
	snprintf(path, len, "%s/taskscope-waits-%d-%s.dot", dir, tp->cur.pid, stamp);
	err = ts_wait_graph__build(&g, &tp->cur);
	if (err)
		return err;
	f = fopen(path, "wxe");
	if (!f) {
		err = -errno;
		ts_wait_graph__free(&g);
		return err;
	}
	ts_wait_graph__write_dot(&g, f, s->rules.stall_ns);
	err = fclose(f) ? -errno : 0;
	ts_wait_graph__free(&g);
	return err;
}
