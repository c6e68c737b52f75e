/*
 * taskscope profile's pure logic: percentiles from log2 histograms, which
 * await point stands for a path and what it awaits, rows merged and
 * sorted, folded stacks, the flame graph's layout and SVG.
 */
#include <stdarg.h>
#include <stdlib.h>

#include "intern.h"
#include "profile.h"
#include "unit.h"

#define US 1000ULL
#define MS (1000ULL * 1000)

static void test_quantiles(void)
{
	uint32_t h[TS_PROF_HIST_SLOTS] = {};

	CHECK("quantile of nothing is 0", ts_prof_hist_quantile(h, TS_PROF_HIST_SLOTS, 0.5, 0) == 0);
	h[15] = 100;	/* 50 ms waits: [32768, 65536) us */
	CHECK("p50 is the bucket's upper bound",
	      ts_prof_hist_quantile(h, TS_PROF_HIST_SLOTS, 0.5, 0) == 65536 * US);
	CHECK("p50 capped at the max seen",
	      ts_prof_hist_quantile(h, TS_PROF_HIST_SLOTS, 0.5, 51 * MS) == 51 * MS);
	h[15] = 0;
	h[0] = 98;	/* < 2 us */
	h[10] = 2;	/* [1024, 2048) us */
	CHECK("p50 in the first bucket: 2 us",
	      ts_prof_hist_quantile(h, TS_PROF_HIST_SLOTS, 0.5, 0) == 2 * US);
	CHECK("p99: the 99th of 100 waits is in bucket 10",
	      ts_prof_hist_quantile(h, TS_PROF_HIST_SLOTS, 0.99, 0) == 2048 * US);
	h[0] = 99;
	h[10] = 1;
	CHECK("p99: 99 of 100 under 2 us",
	      ts_prof_hist_quantile(h, TS_PROF_HIST_SLOTS, 0.99, 0) == 2 * US);
	CHECK("p100 reaches the last wait",
	      ts_prof_hist_quantile(h, TS_PROF_HIST_SLOTS, 1.0, 0) == 2048 * US);
}

/*
 * await ids: 0 client main.rs:40 -> 1 slow_backend main.rs:24 (Sleep);
 * 2 locker main.rs:44 -> 3 tokio Mutex::lock -> 4 Mutex::acquire (Acquire);
 * 5 fast_cache main.rs:31 (oneshot); 6 hyper's conn, external, not a leaf.
 */
static struct ts_prof_await_point awaits[] = {
	{ .line = 40 }, { .line = 24, .leaf = true, .leaf_kind = TS_LEAF_TIMER },
	{ .line = 44 }, { .line = 359, .external = true },
	{ .line = 542, .external = true, .leaf = true, .leaf_kind = TS_LEAF_MUTEX },
	{ .line = 31, .leaf = true, .leaf_kind = TS_LEAF_CHAN_RECV },
	{ .line = 80, .external = true },
};

static void tables(struct ts_prof_tables *t)
{
	static const char *names[] = { "app::client", "app::locker", "hyper::Conn" };
	/* hyper::Conn: a hand-written future, no state machine to walk */
	static struct ts_prof_poll polls[] = { { .sm = 0 }, { .sm = 1 }, { .sm = TS_PROF_NONE } };

	awaits[0].func = ts_intern("app::client");
	awaits[1].func = ts_intern("app::slow_backend");
	awaits[2].func = ts_intern("app::locker");
	awaits[3].func = ts_intern("tokio::sync::mutex::lock<u64>");
	awaits[4].func = ts_intern("tokio::sync::mutex::acquire<u64>");
	awaits[5].func = ts_intern("app::fast;cache");	/* a ';' must not split a folded frame */
	awaits[6].func = ts_intern("hyper::proto::h1::dispatch");
	for (size_t i = 0; i < sizeof(awaits) / sizeof(awaits[0]); i++) {
		awaits[i].file = ts_intern(awaits[i].external ? "tokio-1.24.2/src/sync/mutex.rs" :
					   "src/main.rs");
		awaits[i].awaitee = ts_intern("");
	}
	awaits[5].awaitee = ts_intern("tokio::sync::oneshot::Receiver<u64>");
	memset(t, 0, sizeof(*t));
	t->awaits = awaits;
	t->nawaits = sizeof(awaits) / sizeof(awaits[0]);
	t->npolls = 3;
	t->polls = polls;
	t->poll_names = (const char **)names;
	for (int i = 0; i < 3; i++)
		names[i] = ts_intern(names[i]);
}

static struct ts_prof_path path(uint32_t poll, uint64_t waits, uint64_t wait_ns, uint64_t busy_ns,
				int depth, ...)
{
	struct ts_prof_path p = {};
	va_list ap;

	p.key.tgid = 42;
	p.key.poll_idx = poll;
	p.key.depth = (uint32_t)depth;
	va_start(ap, depth);
	for (int i = 0; i < depth; i++)
		p.key.ids[i] = va_arg(ap, uint32_t);
	va_end(ap);
	p.st.waits = waits;
	p.st.wait_ns = wait_ns;
	p.st.queued_ns = wait_ns / 10;
	p.st.max_wait_ns = waits ? wait_ns / waits + 1 * MS : 0;
	p.st.hist[15] = (uint32_t)waits;
	p.st.polls = waits + 1;
	p.st.busy_ns = busy_ns;
	return p;
}

static void test_sites_and_kinds(void)
{
	struct ts_prof_tables t;
	struct ts_prof_path slow = path(0, 10, 500 * MS, 0, 2, 0u, 1u);
	struct ts_prof_path lock = path(1, 5, 200 * MS, 0, 3, 2u, 3u, 4u);
	struct ts_prof_path ext = path(2, 1, MS, 0, 1, 6u);
	struct ts_prof_path fast = path(0, 10, 100 * US, 0, 2, 0u, 5u);
	struct ts_prof_path start = path(0, 0, 0, 5 * US, 0);
	bool external;

	tables(&t);
	CHECK("site: the deepest frame in the user's crate",
	      ts_prof_path_site(&t, &slow.key, &external) == 1 && !external);
	CHECK("site: under tokio's frames, the user's line above them",
	      ts_prof_path_site(&t, &lock.key, &external) == 0 && !external);
	CHECK("site: no user frame at all is said so",
	      ts_prof_path_site(&t, &ext.key, &external) == 0 && external);
	CHECK("site: a first poll has none", ts_prof_path_site(&t, &start.key, &external) == -1);
	CHECK_STR("kind: timer", ts_prof_path_kind(&t, &slow.key), "timer");
	CHECK_STR("kind: the mutex tokio's acquire waits on", ts_prof_path_kind(&t, &lock.key),
		  "mutex");
	CHECK_STR("kind: a oneshot receive", ts_prof_path_kind(&t, &fast.key), "oneshot");
	CHECK_STR("kind: the walk ended above any leaf", ts_prof_path_kind(&t, &ext.key), "other");
	CHECK_STR("kind: first poll", ts_prof_path_kind(&t, &start.key), "start");
}

static void test_aggregate(void)
{
	struct ts_prof_tables t;
	struct ts_prof_path paths[] = {
		path(0, 10, 100 * US, 10 * US, 2, 0u, 5u),	/* fast */
		path(1, 5, 200 * MS, 20 * US, 3, 2u, 3u, 4u),	/* lock */
		path(0, 10, 500 * MS, 30 * US, 2, 0u, 1u),	/* slow, from client... */
		path(1, 4, 200 * MS, 40 * US, 2, 0u, 1u),	/* ...and another task type */
		path(0, 0, 0, 5 * US, 0),			/* first polls */
		path(2, 0, 0, 3 * US, 0),			/* hyper: busy only */
	};
	struct ts_profile prof = {};

	tables(&t);
	CHECK("aggregate", ts_profile__aggregate(&prof, &t, paths, 6) == 0);
	CHECK("one row per await point, first polls and await-less types apart",
	      prof.nsites == 5);
	CHECK("slowest first: slow_backend", prof.sites[0].await_id == 1 &&
	      prof.sites[0].line == 24 && !strcmp(prof.sites[0].func, "app::slow_backend"));
	CHECK("its paths merged", prof.sites[0].waits == 14 &&
	      prof.sites[0].wait_ns == 700 * MS && prof.sites[0].busy_ns == 70 * US &&
	      prof.sites[0].queued_ns == 70 * MS);
	CHECK("future of the most waited path", !strcmp(prof.sites[0].future, "app::client"));
	CHECK("then the mutex at the locker's line", prof.sites[1].line == 44 &&
	      !strcmp(prof.sites[1].kind, "mutex"));
	CHECK("then the fast line", prof.sites[2].line == 31);
	CHECK("first polls after the waits, busy only",
	      prof.sites[3].await_id == TS_PROF_SITE_FIRST_POLL &&
	      prof.sites[3].busy_ns == 5 * US && prof.sites[3].waits == 0);
	CHECK("a future type without state machine is not a first poll",
	      prof.sites[4].await_id == TS_PROF_SITE_NO_AWAITS &&
	      !strcmp(prof.sites[4].func, "hyper::Conn") && prof.sites[4].busy_ns == 3 * US);
	CHECK("p50 from the merged histogram, capped at max",
	      prof.sites[0].p50_ns == prof.sites[0].max_wait_ns);
	CHECK("polls summed", prof.polls == 11 + 6 + 11 + 5 + 1 + 1);
	ts_profile__free(&prof);
}

static void test_folded(void)
{
	struct ts_prof_tables t;
	struct ts_prof_path paths[] = {
		path(0, 10, 500 * MS, 30 * US, 2, 0u, 1u),
		path(0, 10, 100 * US, 0, 2, 0u, 5u),
		path(0, 0, 0, 5 * US, 0),
	};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	tables(&t);
	ts_prof_write_folded(f, &t, paths, 3);
	fclose(f);
	CHECK_STR("folded: waits and busy per path, us, zero weights left out", buf,
		  "app::client;app::client (src/main.rs:40);app::slow_backend (src/main.rs:24);"
		  "[timer wait] 500000\n"
		  "app::client;app::client (src/main.rs:40);app::slow_backend (src/main.rs:24);"
		  "[busy] 30\n"
		  "app::client;app::client (src/main.rs:40);app::fast:cache (src/main.rs:31);"
		  "[oneshot wait] 100\n"
		  "app::client;[busy] 5\n");
	free(buf);
}

static void test_flame(void)
{
	char l0[] = "a;b 10", l1[] = "a;c 5", l2[] = "d<x> 5", l3[] = "no weight",
	     l4[] = "a;b 0", l5[] = "a;b 2";
	char *lines[] = { l0, l1, l2, l3, l4, l5 };
	struct ts_flame_rect *r;
	uint64_t total;
	int depth, n, i, rects = 0;
	char *buf = NULL, *at;
	size_t len = 0;
	FILE *f;

	n = ts_flame_layout(lines, 6, &r, &total, &depth);
	CHECK("layout: a, b, c, d", n == 4);
	CHECK("layout: total and depth", total == 22 && depth == 1);
	for (i = 0; i < n; i++) {
		if (r[i].name_len == 1 && r[i].name[0] == 'a')
			CHECK("layout: a spans its children", r[i].x == 0 && r[i].width == 17 &&
			      r[i].depth == 0);
		if (r[i].name_len == 1 && r[i].name[0] == 'b')
			CHECK("layout: b first under a, lines merged", r[i].x == 0 &&
			      r[i].width == 12 && r[i].depth == 1);
		if (r[i].name_len == 1 && r[i].name[0] == 'c')
			CHECK("layout: c after b", r[i].x == 12 && r[i].width == 5 && r[i].depth == 1);
		if (r[i].name[0] == 'd')
			CHECK("layout: d after a", r[i].x == 17 && r[i].width == 5 && r[i].depth == 0);
	}
	free(r);
	f = open_memstream(&buf, &len);
	CHECK("svg written", ts_flame_write_svg(f, lines, 6, "t & <t>") == 0);
	fclose(f);
	for (at = buf; (at = strstr(at, "<rect")) != NULL; at++)
		rects++;
	CHECK("svg: a background and a rect per frame", rects == 5);
	CHECK("svg: names escaped", strstr(buf, "d&lt;x&gt;") && strstr(buf, "t &amp; &lt;t&gt;") &&
	      !strstr(buf, "d<x>"));
	CHECK("svg: tooltips with weights", strstr(buf, "<title>a (17 us, 77.27%)</title>") != NULL);
	CHECK("svg: ends", strstr(buf, "</svg>\n") != NULL);
	free(buf);
}

static void test_leaf_names(void)
{
	CHECK("leaf: Sleep", ts_leaf_kind_of_type("tokio::time::sleep::Sleep", NULL) ==
	      TS_LEAF_TIMER);
	CHECK("leaf: a Mutex's Acquire",
	      ts_leaf_kind_of_type("tokio::sync::batch_semaphore::Acquire",
				   "tokio::sync::mutex::{impl#7}::acquire::{async_fn_env#0}<u64>") ==
	      TS_LEAF_MUTEX);
	CHECK("leaf: a Semaphore's Acquire",
	      ts_leaf_kind_of_type("tokio::sync::batch_semaphore::Acquire",
				   "tokio::sync::semaphore::{impl#1}::acquire::{async_fn_env#0}") ==
	      TS_LEAF_SEMAPHORE);
	CHECK("leaf: a bounded send's Acquire (method named by impl)",
	      ts_leaf_kind_of_type("tokio::sync::batch_semaphore::Acquire",
				   "tokio::sync::mpsc::bounded::{impl#3}::reserve::{async_fn_env#0}<u64>")
	      == TS_LEAF_CHAN_SEND);
	CHECK("leaf: recv's PollFn",
	      ts_leaf_kind_of_type("tokio::future::poll_fn::PollFn<x>",
				   "tokio::sync::mpsc::bounded::{impl#5}::recv::{async_fn_env#0}<u64>") ==
	      TS_LEAF_CHAN_RECV);
	CHECK("leaf: a oneshot", ts_leaf_kind_of_type("tokio::sync::oneshot::Receiver<u64>", "") ==
	      TS_LEAF_CHAN_RECV);
	CHECK("leaf: unknown", ts_leaf_kind_of_type("app::MyFuture", "app::f") == TS_LEAF_UNKNOWN);
}

static void test_contention_waits(void)
{
	struct ts_prof_site sites[2] = {
		{ .await_id = 3, .file = "src/main.rs", .line = 44, .kind = "mutex",
		  .max_wait_ns = 45 * MS },
		{ .await_id = 4, .file = "src/main.rs", .line = 4, .kind = "mutex",
		  .max_wait_ns = 900 * MS },	/* "src/main.rs:4" is no item of ":44" */
	};
	struct ts_prof_contention cont = { .kind = "mutex", .longest_wait_ns = 30 * MS };
	struct ts_profile prof = { .sites = sites, .nsites = 2, .cont = &cont, .ncont = 1 };

	snprintf(cont.wait_lines, sizeof(cont.wait_lines), "src/main.rs:44");
	ts_profile__contention_waits(&prof);
	CHECK("longest wait: the kernel's max at the lock's wait line",
	      cont.longest_wait_ns == 45 * MS);
}

int main(void)
{
	test_quantiles();
	test_sites_and_kinds();
	test_aggregate();
	test_folded();
	test_flame();
	test_leaf_names();
	test_contention_waits();
	UNIT_EXIT();
}
