/*
 * top's task tree, resources and problem views on hand-built processes:
 * children under their parent with the subtree's counts, siblings in the
 * sort order; the resources of a three-task deadlock with their holders,
 * channel fill and halves, who can free each; the problem view quoting
 * each .await line from the source; the banner and the DOT file. No BPF,
 * no terminal.
 */
#include <curses.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stall_rules.h"
#include "top_graph.h"
#include "top_session.h"
#include "top_ui.h"
#include "unit.h"

#define MS (1000ULL * 1000)
#define S (1000ULL * MS)
#define PID 777

static struct top_session *session_new(void)
{
	struct top_session *s = calloc(1, sizeof(*s));
	struct top_proc *tp = calloc(1, sizeof(*tp));

	ts_rules_config__default(&s->rules);
	s->events_per_s = -1;
	s->start_ns = ts_now_ns();
	tp->op.pid = PID;
	snprintf(tp->op.comm, sizeof(tp->op.comm), "app");
	tp->cur.pid = PID;
	snprintf(tp->cur.runtime, sizeof(tp->cur.runtime), "tokio");
	tp->cur.attach_ns = 100 * S;
	tp->cur.snapshot_ns = 110 * S;
	s->procs = calloc(1, sizeof(*s->procs));
	s->procs[0] = tp;
	s->nprocs = 1;
	return s;
}

static void session_free(struct top_session *s)
{
	top_session__close(s);
	free(s);
}

static struct ts_task *task(struct ts_process *p, uint64_t id, const char *name, uint64_t busy)
{
	struct ts_task *t = ts_process__add_task(p);

	t->task_id = id;
	t->header = 0x1000 * id;
	t->name = ts_intern(name);
	t->state = TS_TASK_IDLE;
	t->st.state = TS_TASK_IDLE;
	t->seen_by_probe = true;
	t->st.first_seen_ns = p->attach_ns + id;
	t->st.busy_ns = busy;
	t->st.polls = busy / MS;
	return t;
}

static void spawned_by(struct ts_task *t, uint64_t parent_id, uint32_t tid)
{
	t->parent_known = true;
	t->parent_id = parent_id;
	t->spawn_tid = tid;
}

/* The names of the visible rows, in order, joined by "," with their glyphs. */
static const char *shown(const struct top_session *s, const size_t *order, size_t n)
{
	static char buf[1024];
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < n && o < sizeof(buf); i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s%s", i ? "," : "",
				      s->rows[order[i]].tree, s->rows[order[i]].name);
	return buf;
}

static const struct top_row *row_named(const struct top_session *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->nrows; i++)
		if (!strcmp(s->rows[i].name, name))
			return &s->rows[i];
	return NULL;
}

static int find_line(const struct top_text *t, const char *needle)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strstr(t->lines[i].text, needle))
			return (int)i;
	return -1;
}

/*
 * main (block_on on thread 777) spawned app::parent, which spawned two
 * children, one of which spawned a grandchild; app::orphan was there
 * before attach; app::stray names a parent gone from the snapshot;
 * app::from_thread was spawned from a plain thread.
 */
static struct top_session *tree_session(void)
{
	struct top_session *s = session_new();
	struct ts_process *p = &s->procs[0]->cur;
	struct ts_task *t;

	t = task(p, 0, "main", 1 * MS);
	t->root_tid = PID;
	t->header = 0x500;
	spawned_by(task(p, 3, "app::parent", 2 * MS), 0, PID);
	spawned_by(task(p, 10, "app::child_a", 5 * MS), 3, 778);
	spawned_by(task(p, 11, "app::child_b", 1 * MS), 3, 778);
	spawned_by(task(p, 12, "app::grandchild", 3 * MS), 10, 779);
	task(p, 20, "app::orphan", 4 * MS);
	spawned_by(task(p, 21, "app::stray", 1 * MS), 99, 778);
	spawned_by(task(p, 22, "app::from_thread", 1 * MS), 0, 4000);
	top_session__build_rows(s);
	return s;
}

static void test_tree(void)
{
	struct top_session *s = tree_session();
	struct top_filter f = { .done_keep_ns = 5 * S };
	size_t order[16], n, unknown = 42;
	const struct top_row *r;

	top_rows_sort(s->rows, s->nrows, TOP_COL_ID, false);
	n = top_rows_filter(s->rows, s->nrows, &f, order);
	CHECK("tree: orders", n == 8 &&
	      top_tree_order(s, s->rows, order, n, false, &unknown) == 0);
	/* the block_on row (no tokio id) sorts after the ids, its subtree with it */
	CHECK_STR("tree: children under their parent, siblings by id",
		  shown(s, order, n),
		  "app::orphan,app::stray,app::from_thread,main,"
		  "└─ app::parent,   ├─ app::child_a,   │  └─ app::grandchild,   └─ app::child_b");
	CHECK("tree: one task's parent unknown (the block_on root does not count)", unknown == 1);
	r = row_named(s, "main");
	CHECK("tree: the root counts its whole subtree", r && r->subtree == 4 &&
	      r->subtree_polls == 1 + 2 + 5 + 1 + 3 &&
	      r->subtree_busy_ns == (1 + 2 + 5 + 1 + 3) * MS);
	r = row_named(s, "app::parent");
	CHECK("tree: a parent counts its children and grandchildren", r && r->subtree == 3 &&
	      r->subtree_polls == 2 + 5 + 1 + 3 && r->subtree_busy_ns == 11 * MS);
	r = row_named(s, "app::child_a");
	CHECK("tree: one below child_a", r && r->subtree == 1 && r->subtree_busy_ns == 8 * MS);
	r = row_named(s, "app::child_b");
	CHECK("tree: a leaf has no subtree", r && r->subtree == 0);

	/* sorted by busy, ascending: child_b (1 ms) before child_a (5 ms) */
	top_tree_clear(s->rows, s->nrows);
	top_rows_sort(s->rows, s->nrows, TOP_COL_BUSY, false);
	n = top_rows_filter(s->rows, s->nrows, &f, order);
	top_tree_order(s, s->rows, order, n, true, &unknown);
	CHECK_STR("tree: sorting applies among siblings (ascii glyphs)",
		  shown(s, order, n),
		  "app::stray,app::from_thread,main,`- app::parent,   |- app::child_b,"
		  "   `- app::child_a,      `- app::grandchild,app::orphan");

	/* the filter hides the parent: its children stand at the top */
	top_tree_clear(s->rows, s->nrows);
	snprintf(f.name, sizeof(f.name), "child_");
	n = top_rows_filter(s->rows, s->nrows, &f, order);
	top_tree_order(s, s->rows, order, n, false, &unknown);
	CHECK_STR("tree: a hidden parent leaves its children at the top", shown(s, order, n),
		  "app::child_b,app::child_a");
	CHECK("tree: no counts without visible children", !row_named(s, "app::child_a")->subtree);
	top_tree_clear(s->rows, s->nrows);
	CHECK("tree: cleared for the flat list", !row_named(s, "app::parent")->tree[0] &&
	      !row_named(s, "main")->subtree);
	session_free(s);
}

static void test_tree_deep(void)
{
	struct top_session *s = session_new();
	struct ts_process *p = &s->procs[0]->cur;
	struct top_filter f = { .done_keep_ns = 5 * S };
	size_t order[32], n, unknown, i;
	int w;

	/* a chain 20 deep: the glyphs stop growing, whole glyphs only */
	task(p, 1, "app::d", 1 * MS);
	for (i = 2; i <= 20; i++)
		spawned_by(task(p, i, "app::d", 1 * MS), i - 1, 778);
	top_session__build_rows(s);
	top_rows_sort(s->rows, s->nrows, TOP_COL_ID, false);
	n = top_rows_filter(s->rows, s->nrows, &f, order);
	top_tree_order(s, s->rows, order, n, false, &unknown);
	w = top_str_width(s->rows[order[19]].tree);
	CHECK("tree deep: the deepest row's glyphs are capped", w > 0 && w <= 3 * 8);
	CHECK("tree deep: and end in a whole glyph",
	      strstr(s->rows[order[19]].tree, "└─ ") != NULL);
	CHECK("tree deep: the top counts all 19 below", s->rows[order[0]].subtree == 19);
	session_free(s);
}

/* The tree through the keys and the screen, as a person sees it. */
static void test_tree_ui(void)
{
	struct top_session *s = tree_session();
	struct top_text t = {};
	struct top_ui ui;
	int i;

	top_ui__init(&ui, false, false);
	top_ui__update(&ui, s);
	CHECK("ui: t toggles the tree", top_ui__key(&ui, s, 't') & TOP_R_REDRAW && ui.tree);
	top_ui__compose(&ui, s, 120, 30, &t);
	CHECK("ui tree: says how many parents are unknown and why",
	      find_line(&t, "parent unknown for 1 task (spawned before attach)") >= 0);
	i = find_line(&t, "└─ app::parent [+3: 11 polls 11ms]");
	CHECK("ui tree 120 columns: a parent row with its subtree's counts", i >= 0);
	CHECK("ui tree: its children below it", i >= 0 &&
	      strstr(t.lines[i + 1].text, "   ├─ app::child_a [+1] ") &&
	      strstr(t.lines[i + 2].text, "   │  └─ app::grandchild"));
	top_text__free(&t);
	top_ui__compose(&ui, s, 200, 30, &t);
	CHECK("ui tree 200 columns: the counts in full",
	      find_line(&t, "└─ app::parent  [3 below, 11 polls, busy 11ms]") >= 0);
	top_text__free(&t);
	/* narrow: the glyphs stay, the name gives way */
	top_ui__compose(&ui, s, 80, 30, &t);
	CHECK("ui tree 80 columns: glyphs kept", find_line(&t, "   │  └─ app::grandchild") >= 0);
	CHECK("ui tree 80 columns: the counts", find_line(&t, "└─ app::parent") >= 0 &&
	      strstr(t.lines[find_line(&t, "└─ app::parent")].text, "+3"));
	top_text__free(&t);
	s->sampled = true;
	top_ui__compose(&ui, s, 160, 30, &t);
	CHECK("ui tree sampled: bursts named",
	      find_line(&t, "parent unknown for 1 task (spawned outside probe bursts, or "
			"before attach)") >= 0);
	top_text__free(&t);
	top_ui__key(&ui, s, 't');
	top_ui__compose(&ui, s, 120, 30, &t);
	CHECK("ui: t again, the flat list", !ui.tree && find_line(&t, "below,") < 0 &&
	      find_line(&t, "parent unknown") < 0);
	top_text__free(&t);
	top_ui__free(&ui);
	session_free(s);
}

/* ---- the wait-for graph: cycle3 of tests/targets/tokio/waitfor --------- */

static char src_path[256];

static struct ts_task *chained(struct ts_process *p, uint64_t id, const char *name, uint32_t line)
{
	struct ts_task *t = task(p, id, name, 0);

	t->in_state_ns = 5 * S;
	t->chain = calloc(1, sizeof(*t->chain));
	t->chain->status = TS_CHAIN_SUSPENDED;
	t->chain->nframes = 1;
	snprintf(t->chain->frames[0].func, sizeof(t->chain->frames[0].func), "%s", name);
	snprintf(t->chain->frames[0].file, sizeof(t->chain->frames[0].file), "src/main.rs");
	t->chain->frames[0].path = src_path;
	t->chain->frames[0].line = line;
	return t;
}

static void waits(struct ts_task *t, enum ts_leaf_kind k, uint64_t object, const char *kind,
		  const char *type)
{
	t->chain->leaf.kind = k;
	t->chain->leaf.object = object;
	t->chain->leaf.obj.kind = kind;
	if (type)
		snprintf(t->chain->leaf.obj.type, sizeof(t->chain->leaf.obj.type), "%s", type);
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

/*
 * hold_and_join holds the Mutex and joins wait_for_message, which waits
 * on a channel whose only Sender lock_then_send holds while it waits for
 * the Mutex; idle_holder keeps a semaphore permit nobody waits for.
 */
static struct top_session *cycle_session(void)
{
	struct top_session *s = session_new();
	struct top_proc *tp = s->procs[0];
	struct ts_process *p = &tp->cur;
	struct ts_task *a, *b, *c, *d;
	struct ts_await_hold *h;

	a = chained(p, 3, "app::hold_and_join", 3);
	b = chained(p, 4, "app::wait_for_message", 4);
	c = chained(p, 5, "app::lock_then_send", 5);
	d = chained(p, 6, "app::idle_holder", 6);
	holds(a, TS_HOLD_MUTEX_GUARD, 0xa0, "mutex");
	waits(a, TS_LEAF_JOIN, b->header, NULL, NULL);
	waits(b, TS_LEAF_CHAN_RECV, 0xc0, "mpsc", "mpsc::channel<u64>");
	b->chain->leaf.obj.has_len = true;
	b->chain->leaf.obj.capacity = 4;
	holds(b, TS_HOLD_RECEIVER, 0xc0, "mpsc");
	h = holds(c, TS_HOLD_SENDER, 0xc0, "mpsc");
	h->obj.has_senders = true;
	h->obj.senders = 1;
	waits(c, TS_LEAF_MUTEX, 0xa0, "mutex", "Mutex<u64>");
	holds(d, TS_HOLD_PERMIT, 0xe0, "semaphore");
	waits(d, TS_LEAF_TIMER, 0, NULL, NULL);
	tp->nfindings = (size_t)ts_rules__evaluate(p, &s->rules, &tp->findings);
	top_session__build_rows(s);
	return s;
}

static const struct top_res_row *res_of(const struct top_res_list *l, uint64_t object)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->rows[i].object == object)
			return &l->rows[i];
	return NULL;
}

static void test_resources(void)
{
	struct top_session *s = cycle_session();
	struct top_res_list l = {};
	const struct top_res_row *r;
	struct top_text t = {};
	int i;

	CHECK("resources: build", top_res_list__build(&l, s, TOP_RS_WAITERS, true) == 0);
	CHECK("resources: the mutex and the channel at least", l.n >= 2 &&
	      res_of(&l, 0xa0) && res_of(&l, 0xc0));
	/* both have one waiter: ties by address ascending, whatever the direction */
	CHECK("resources: most waiters first, ties by address", l.n >= 2 &&
	      l.rows[0].object == 0xa0 && l.rows[1].object == 0xc0);
	r = res_of(&l, 0xa0);
	CHECK_STR("resources: mutex kind", r ? r->kind : NULL, "mutex");
	CHECK_STR("resources: mutex type", r ? r->what : NULL, "Mutex<u64>");
	CHECK_STR("resources: mutex held by task 3", r ? r->holders : NULL, "3");
	CHECK("resources: mutex one waiter, no halves, no length", r && r->nwaiters == 1 &&
	      !strcmp(r->halves, "-") && !r->has_len);
	CHECK("resources: the holder first and marked as the one that frees it",
	      r && r->nfreers == 1 && r->links[0].frees && r->links[0].role == TS_ROLE_HOLDS &&
	      s->procs[0]->cur.tasks[r->links[0].task].task_id == 3);
	r = res_of(&l, 0xc0);
	CHECK_STR("resources: channel type", r ? r->what : NULL, "mpsc::channel<u64>");
	CHECK("resources: channel length and capacity", r && r->has_len && r->len == 0 &&
	      r->capacity == 4);
	CHECK_STR("resources: channel halves", r ? r->halves : NULL, "tx 5 rx 4");
	CHECK_STR("resources: a channel has no holder", r ? r->holders : NULL, "-");
	/* empty: only its sender can free the receiver's wait, not the receiver itself */
	CHECK("resources: an empty channel is freed by its sender", r && r->nfreers == 1 &&
	      r->links[0].role == TS_ROLE_SENDER && r->links[0].frees &&
	      s->procs[0]->cur.tasks[r->links[0].task].task_id == 5);
	for (i = 1; r && i < (int)r->nlinks; i++)
		CHECK("resources: nothing else frees the channel", !r->links[i].frees);

	top_panel_resources(&t, &l, 140, 1, 0, 10, false, TOP_RS_WAITERS);
	CHECK("resources panel: column titles", find_line(&t, "KIND") == 1 &&
	      strstr(t.lines[1].text, "HOLDERS") && strstr(t.lines[1].text, "WAITERS") &&
	      strstr(t.lines[1].text, "LEN/CAP") && strstr(t.lines[1].text, "OTHER HALF"));
	i = find_line(&t, "mpsc::channel<u64>");
	CHECK("resources panel: the channel row", i == 3 && strstr(t.lines[i].text, "0xc0") &&
	      strstr(t.lines[i].text, " 0/4 ") && strstr(t.lines[i].text, "tx 5 rx 4"));
	CHECK("resources panel: its selection", i == 3 && t.lines[i].attr == TOP_A_SELECTED);
	i = find_line(&t, "Mutex<u64>");
	CHECK("resources panel: the mutex row, held by 3", i == 2 &&
	      strstr(t.lines[i].text, "0xa0") && strstr(t.lines[i].text, " 3 "));
	top_text__free(&t);

	top_panel_resource(&t, s, res_of(&l, 0xc0), 0);
	CHECK("one resource: what it is", find_line(&t, "mpsc mpsc::channel<u64> 0xc0  LEN/CAP 0/4")
	      == 0);
	CHECK("one resource: who can free it", find_line(&t, "1 task can free it") >= 0);
	i = find_line(&t, "app::lock_then_send");
	CHECK("one resource: the sender frees it, first and selected", i >= 0 &&
	      strstr(t.lines[i].text, "sender    frees  task 5 app::lock_then_send") &&
	      t.lines[i].attr == TOP_A_SELECTED);
	CHECK("one resource: the receiver and the waiter", find_line(&t, "receiver         task 4")
	      >= 0 && find_line(&t, "waits            task 4") >= 0);
	top_text__free(&t);

	top_res_list__build(&l, s, TOP_RS_KIND, false);
	CHECK("resources: by kind ascending", l.n >= 2 && !strcmp(l.rows[0].kind, "mpsc") &&
	      !strcmp(l.rows[1].kind, "mutex"));
	top_res_list__build(&l, s, TOP_RS_KIND, true);
	CHECK("resources: by kind descending", l.n >= 2 &&
	      !strcmp(l.rows[l.n - 1].kind, "mpsc") && !strcmp(l.rows[l.n - 2].kind, "mutex"));
	top_res_list__build(&l, s, TOP_RS_WAITERS, false);
	CHECK("resources: fewest waiters first when inverted", l.n >= 2 &&
	      l.rows[l.n - 1].nwaiters == 1 && l.rows[l.n - 2].nwaiters == 1 &&
	      l.rows[l.n - 2].object == 0xa0);
	top_res_list__free(&l);
	session_free(s);
}

static void test_source_line(void)
{
	char buf[128], *longline = malloc(5000);
	FILE *f;

	memset(longline, 'x', 4999);
	longline[4999] = '\0';
	f = fopen(src_path, "w");
	fprintf(f, "fn main() {\n%s\n    let mut guard = m.lock().await;\n"
		"    let n = rx.recv().await;\n\tlet v = *m.lock().await;\r\n}\n", longline);
	fclose(f);
	free(longline);
	CHECK("source: line 3 after a line longer than the buffer",
	      top_source_line(src_path, 3, buf, sizeof(buf)) == 0 &&
	      !strcmp(buf, "    let mut guard = m.lock().await;"));
	CHECK("source: CRLF trimmed", top_source_line(src_path, 5, buf, sizeof(buf)) == 0 &&
	      !strcmp(buf, "\tlet v = *m.lock().await;"));
	CHECK("source: past the end", top_source_line(src_path, 9, buf, sizeof(buf)) == -ENOENT);
	CHECK("source: no such file",
	      top_source_line("/nonexistent/src/main.rs", 1, buf, sizeof(buf)) == -ENOENT);
	CHECK("source: unknown path", top_source_line(NULL, 3, buf, sizeof(buf)) == -ENOENT);
}

static void test_problems(void)
{
	struct top_session *s = cycle_session();
	struct top_problems pl = {};
	struct top_text t = {};
	int i;

	CHECK("problems: a deadlock found", top_problems__any(s, TS_FIND_DEADLOCK) &&
	      !top_problems__any(s, TS_FIND_STARVED));
	CHECK("problems: build", top_problems__build(&pl, s) == 0);
	CHECK("problems: the deadlock's three tasks first, in cycle order", pl.n >= 3 &&
	      pl.v[0].first && !pl.v[1].first && !pl.v[2].first &&
	      pl.v[0].finding == pl.v[2].finding &&
	      s->procs[0]->findings[pl.v[0].finding].kind == TS_FIND_DEADLOCK &&
	      s->procs[0]->cur.tasks[pl.v[0].task].task_id == 3 &&
	      s->procs[0]->cur.tasks[pl.v[1].task].task_id == 4 &&
	      s->procs[0]->cur.tasks[pl.v[2].task].task_id == 5);
	CHECK("problems: each with the resource it waits on", pl.n >= 3 && pl.v[0].object == 0 &&
	      pl.v[1].object == 0xc0 && pl.v[2].object == 0xa0);
	top_panel_problems(&t, s, &pl, 1, 140, false);
	CHECK("problems panel: the deadlock's heading",
	      find_line(&t, "[deadlock] PID 777: 3 tasks wait for each other, in a cycle:") >= 0);
	i = find_line(&t, "\u25b8 task 4 app::wait_for_message");
	CHECK("problems panel: the selected task", i >= 0 && t.lines[i].attr == TOP_A_SELECTED);
	CHECK("problems panel: its .await line and source text", i >= 0 &&
	      strstr(t.lines[i + 1].text, "src/main.rs:4   let n = rx.recv().await;"));
	CHECK("problems panel: what it waits on and who frees it", i >= 0 &&
	      strstr(t.lines[i + 2].text, "waits on recv on mpsc::channel<u64> 0xc0") &&
	      strstr(t.lines[i + 2].text, "\u2192 task 5 app::lock_then_send"));
	CHECK("problems panel: the mutex, held by hold_and_join",
	      find_line(&t, "waits on Mutex<u64> 0xa0 \u2192 task 3 app::hold_and_join") >= 0);
	CHECK("problems panel: the join", find_line(&t, "src/main.rs:3   let mut guard") >= 0 &&
	      find_line(&t, "waits on JoinHandle of task 4 \u2192 task 4") >= 0);
	CHECK("problems panel: a fix", find_line(&t, "    fix: ") >= 0);
	top_text__free(&t);

	unlink(src_path);
	top_panel_problems(&t, s, &pl, 0, 140, true);
	CHECK("problems panel: source gone",
	      find_line(&t, "src/main.rs:4   (source not on this machine)") >= 0);
	CHECK("problems panel ascii: no arrows", find_line(&t, "\u2192") < 0 &&
	      find_line(&t, "waits on Mutex<u64> 0xa0 -> task 3") >= 0);
	top_text__free(&t);
	top_problems__free(&pl);
	session_free(s);
}

static bool file_starts(const char *path, const char *want)
{
	char buf[64] = "";
	FILE *f = fopen(path, "r");

	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return !strncmp(buf, want, strlen(want));
}

static void test_ui_graph(const char *dir)
{
	struct top_session *s = cycle_session();
	struct top_text t = {};
	struct top_ui ui;
	char want[300], *p;
	int i;

	top_ui__init(&ui, false, false);
	top_ui__update(&ui, s);
	top_ui__compose(&ui, s, 140, 30, &t);
	i = find_line(&t, "deadlock cycle detected \u2014 press P");
	CHECK("banner: under the header, highlighted", i > 0 && t.lines[i].attr == TOP_A_WARN &&
	      find_line(&t, "   ID") > i);
	top_text__free(&t);

	top_ui__key(&ui, s, 'P');
	CHECK("P: the problem view", ui.view == TOP_VIEW_PROBLEMS && ui.probs.n >= 3);
	top_ui__key(&ui, s, KEY_DOWN);
	top_ui__key(&ui, s, '\n');
	CHECK("P, Enter on a task waiting on a channel: the channel",
	      ui.view == TOP_VIEW_RESOURCE && ui.res_object == 0xc0);
	top_ui__compose(&ui, s, 140, 30, &t);
	CHECK("P, Enter: who can free it", find_line(&t, "sender    frees  task 5") >= 0);
	top_text__free(&t);
	top_ui__key(&ui, s, '\n');
	CHECK("Enter on its task: the task in full", ui.view == TOP_VIEW_DETAIL &&
	      ui.detail.header == 0x5000);
	top_ui__key(&ui, s, 27);	/* Esc */
	CHECK("Esc: back to the resource", ui.view == TOP_VIEW_RESOURCE);
	top_ui__key(&ui, s, 27);	/* Esc */
	CHECK("Esc: back to the problems", ui.view == TOP_VIEW_PROBLEMS);

	top_ui__key(&ui, s, 'r');
	CHECK("r: the resources", ui.view == TOP_VIEW_RESOURCES && ui.res.n >= 2);
	top_ui__key(&ui, s, KEY_DOWN);
	CHECK("r: the cursor on the channel", ui.res.rows[ui.rsel].object == 0xc0);
	top_ui__key(&ui, s, '>');
	CHECK("r, >: sorted by kind, the cursor still on the channel",
	      ui.rsort == TOP_RS_KIND && ui.res.rows[ui.rsel].object == 0xc0);
	top_ui__key(&ui, s, 'i');
	CHECK("r, i: inverted, the cursor follows", ui.rdesc &&
	      ui.res.rows[ui.rsel].object == 0xc0);
	top_ui__key(&ui, s, '\n');
	CHECK("r, Enter: that resource", ui.view == TOP_VIEW_RESOURCE && ui.res_object == 0xc0);

	CHECK("D: chdir", chdir(dir) == 0);
	top_ui__key(&ui, s, 'D');
	snprintf(want, sizeof(want), "wrote %s/taskscope-waits-777-", dir);
	CHECK("D: says where", !strncmp(ui.status, want, strlen(want)));
	p = ui.status + strlen(want);
	CHECK("D: HHMMSS.dot", strspn(p, "0123456789") == 6 && !strncmp(p + 6, ".dot ", 5));
	p[10] = '\0';
	CHECK("D: a DOT file", file_starts(ui.status + 6, "digraph waits {"));
	unlink(ui.status + 6);
	top_ui__key(&ui, s, 'x');
	CHECK("a key clears the message", !ui.status[0]);
	top_ui__free(&ui);
	session_free(s);
}

static void test_starved_banner(void)
{
	struct top_session *s = tree_session();
	struct top_proc *tp = s->procs[0];
	struct top_text t = {};
	struct top_ui ui;
	int i;

	tp->findings = calloc(1, sizeof(*tp->findings));
	tp->findings[0].kind = TS_FIND_STARVED;
	tp->findings[0].task = 1;
	tp->findings[0].message = "task 3 app::parent: woken 2.00 s ago, not polled";
	tp->nfindings = 1;
	top_ui__init(&ui, false, true);
	top_ui__update(&ui, s);
	top_ui__compose(&ui, s, 120, 30, &t);
	i = find_line(&t, "!! starvation detected - press P");
	CHECK("banner: starvation (ascii)", i > 0 && t.lines[i].attr == TOP_A_WARN);
	CHECK("banner: no deadlock", find_line(&t, "deadlock") < 0);
	top_text__free(&t);
	top_ui__key(&ui, s, 'P');
	top_ui__compose(&ui, s, 120, 30, &t);
	CHECK("P: the starved task", find_line(&t, "[starved] PID 777: task 3 app::parent") >= 0 &&
	      find_line(&t, "> task 3 app::parent") >= 0);
	top_text__free(&t);
	tp->nfindings = 0;
	top_ui__key(&ui, s, 't');
	top_ui__compose(&ui, s, 120, 30, &t);
	CHECK("no finding: no banner", find_line(&t, "detected") < 0);
	top_text__free(&t);
	top_ui__free(&ui);
	session_free(s);
}

static void test_help(void)
{
	struct top_text t = {};

	top_ui__help(&t, false, 100);
	CHECK("help: task -> resource -> holder", find_line(&t, "task -> resource -> holder") >= 0);
	CHECK("help: the new keys", find_line(&t, "  r  ") >= 0 && find_line(&t, "  P  ") >= 0 &&
	      find_line(&t, "  D  ") >= 0 && find_line(&t, "tree of who spawned whom") >= 0);
	CHECK("help: deadlock remedies", find_line(&t, "consistent order") >= 0);
	CHECK("help: full channel remedies", find_line(&t, "raise the capacity") >= 0);
	CHECK("help: blocked worker remedies", find_line(&t, "spawn_blocking") >= 0);
	CHECK("help: starvation, spinning, idle", find_line(&t, "  starved") >= 0 &&
	      find_line(&t, "  spinning") >= 0 && find_line(&t, "  idle") >= 0);
	top_text__free(&t);
}

int main(void)
{
	char dir[] = "/tmp/test_top_graph.XXXXXX";

	if (!mkdtemp(dir))
		return 2;
	snprintf(src_path, sizeof(src_path), "%s/main.rs", dir);
	test_tree();
	test_tree_deep();
	test_tree_ui();
	test_resources();
	test_source_line();
	test_problems();
	test_ui_graph(dir);
	test_starved_banner();
	test_help();
	unlink(src_path);
	rmdir(dir);
	UNIT_EXIT();
}
