/* The top view model without a terminal: cells, sort, filter, layout, table, histogram. */
#include <stdlib.h>
#include <string.h>

#include "stall_rules.h"
#include "top_view.h"
#include "unit.h"

#define US 1000ULL
#define MS (1000ULL * US)
#define S (1000ULL * MS)

static struct top_row row(pid_t pid, uint64_t id, const char *name, enum ts_task_state st)
{
	struct top_row r;

	memset(&r, 0, sizeof(r));
	r.pid = pid;
	r.task_id = id;
	r.header = 0x1000 * id + 0x10;
	r.name = name;
	r.state = st;
	r.warn_kind = TOP_WARN_NONE;
	r.polls_per_s = r.busy_pct = -1;
	return r;
}

static const char *fmt_dur(uint64_t ns, bool at_least)
{
	static char buf[32];

	top_fmt_duration(ns, at_least, buf, sizeof(buf));
	return buf;
}

static const char *fmt_count(uint64_t n)
{
	static char buf[32];

	top_fmt_count(n, buf, sizeof(buf));
	return buf;
}

static const char *cell(const char *s, int width, bool right, bool tail, bool ascii)
{
	static char buf[256];

	buf[0] = '\0';
	top_cell(buf, sizeof(buf), s, width, right, tail, ascii);
	return buf;
}

static bool ids_in_order(const struct top_row *rows, size_t n, const uint64_t *want)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (rows[i].task_id != want[i])
			return false;
	return true;
}

static int line_with(const struct top_text *t, const char *needle)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strstr(t->lines[i].text, needle))
			return (int)i;
	return -1;
}

static void test_format(void)
{
	char buf[64];

	CHECK_STR("duration: zero is a dash", fmt_dur(0, false), "-");
	CHECK_STR("duration: us", fmt_dur(850 * US, false), "850us");
	CHECK_STR("duration: ms with a decimal under 10", fmt_dur(3500 * US, false), "3.5ms");
	CHECK_STR("duration: ms", fmt_dur(350 * MS, false), "350ms");
	CHECK_STR("duration: s", fmt_dur(1200 * MS, false), "1.20s");
	CHECK_STR("duration: tens of s", fmt_dur(12300 * MS, false), "12.3s");
	CHECK_STR("duration: hundreds of s", fmt_dur(102 * S, false), "102s");
	CHECK_STR("duration: minutes", fmt_dur(1000 * S, false), "16m40s");
	CHECK_STR("duration: hours", fmt_dur(12 * 3600 * S + 5 * 60 * S, false), "12h05m");
	CHECK_STR("duration: days", fmt_dur(124 * 3600 * S, false), "5d04h");
	CHECK_STR("duration: at least", fmt_dur(3 * S, true), ">3.00s");
	CHECK("duration: at most 7 columns",
	      strlen(fmt_dur(99 * 3600 * S + 59 * 60 * S, true)) <= 7);

	CHECK_STR("count: small", fmt_count(12345), "12345");
	CHECK_STR("count: thousands", fmt_count(123456), "123k");
	CHECK_STR("count: millions", fmt_count(12345678), "12.3M");
	CHECK_STR("count: billions", fmt_count(1234567890), "1.2G");

	top_fmt_age(12 * S + 400 * MS, buf, sizeof(buf));
	CHECK_STR("age: seconds", buf, "12s");
	top_fmt_age(300 * S, buf, sizeof(buf));
	CHECK_STR("age: minutes", buf, "5m");
	top_fmt_hist_slot(0, buf, sizeof(buf));
	CHECK_STR("hist slot 0 is under 2 us", buf, "<2us");
	top_fmt_hist_slot(6, buf, sizeof(buf));
	CHECK_STR("hist slot 6 is 64 us", buf, "64us");
	top_fmt_hist_slot(10, buf, sizeof(buf));
	CHECK_STR("hist slot 10 is 1 ms", buf, "1ms");
	top_fmt_hist_slot(20, buf, sizeof(buf));
	CHECK_STR("hist slot 20 is 1 s", buf, "1.0s");
}

static void test_cells(void)
{
	CHECK_STR("cell: left pads", cell("ab", 5, false, false, false), "ab   ");
	CHECK_STR("cell: right pads", cell("ab", 5, true, false, false), "   ab");
	CHECK_STR("cell: cut keeps the head", cell("abcdefgh", 4, false, false, false), "abcd");
	CHECK_STR("cell: a name keeps its tail behind an ellipsis",
		  cell("demo::reconcile_accounts", 12, false, true, false), "…le_accounts");
	CHECK_STR("cell: ascii ellipsis",
		  cell("demo::reconcile_accounts", 12, false, true, true), "~le_accounts");
	CHECK("cell: width counts glyphs, not bytes",
	      top_str_width(cell("⚠ idle 3s", 11, false, false, false)) == 11);
	CHECK("str width of UTF-8", top_str_width("▁▂█ ok") == 6);
}

static void test_sort(void)
{
	struct top_row rows[5];
	uint64_t by_busy[] = { 7, 3, 4, 5, 6 }, by_busy_asc[] = { 5, 6, 4, 3, 7 };
	uint64_t by_id[] = { 3, 4, 5, 6, 7 }, by_state[] = { 7, 6, 3, 4, 5 };
	uint64_t by_warn[] = { 7, 5, 6, 3, 4 };

	rows[0] = row(1, 5, "demo::reconcile_accounts", TS_TASK_IDLE);
	rows[1] = row(1, 3, "demo::process_orders", TS_TASK_IDLE);
	rows[2] = row(1, 7, "demo::flush_metrics", TS_TASK_RUNNING);
	rows[3] = row(1, 6, "demo::settle_payments", TS_TASK_SCHEDULED);
	rows[4] = row(1, 4, "demo::accept_orders", TS_TASK_IDLE);
	rows[0].busy_ns = 0;
	rows[1].busy_ns = 2 * MS;
	rows[2].busy_ns = 1200 * MS;
	rows[3].busy_ns = 0;
	rows[4].busy_ns = 1 * MS;
	rows[0].warn_kind = TS_FIND_IDLE;
	rows[0].warn_ns = 5 * S;
	rows[3].warn_kind = TS_FIND_IDLE;
	rows[3].warn_ns = 5 * S;
	rows[2].warn_kind = TS_FIND_BLOCKED_WORKER;
	rows[2].warn_ns = 1200 * MS;

	top_rows_sort(rows, 5, TOP_COL_BUSY, true);
	CHECK("sort: busiest first, ties by id", ids_in_order(rows, 5, by_busy));
	top_rows_sort(rows, 5, TOP_COL_BUSY, false);
	/* ties keep ascending ids whichever the direction: rows don't jump */
	CHECK("sort: inverted, ties still by id", ids_in_order(rows, 5, by_busy_asc));
	top_rows_sort(rows, 5, TOP_COL_ID, false);
	CHECK("sort: by id", ids_in_order(rows, 5, by_id));
	top_rows_sort(rows, 5, TOP_COL_STATE, false);
	CHECK("sort: state running, scheduled, idle", ids_in_order(rows, 5, by_state));
	top_rows_sort(rows, 5, TOP_COL_WARN, true);
	CHECK("sort: warn, most severe kind first", ids_in_order(rows, 5, by_warn));

	/* no truncation: a u64 difference would wrap (BCC filetop's slip) */
	rows[0] = row(1, 1, "a", TS_TASK_IDLE);
	rows[1] = row(1, 2, "b", TS_TASK_IDLE);
	rows[0].polls = 1;
	rows[1].polls = UINT64_MAX;
	top_rows_sort(rows, 2, TOP_COL_POLLS, true);
	CHECK("sort: spaceship on u64 extremes", rows[0].polls == UINT64_MAX);

	rows[0] = row(2, 0, "x", TS_TASK_IDLE);
	rows[1] = row(1, 9, "x", TS_TASK_IDLE);
	rows[2] = row(1, 0, "x", TS_TASK_IDLE);
	top_rows_sort(rows, 3, TOP_COL_NAME, false);
	CHECK("sort: tie-break pid, then known ids before unknown",
	      rows[0].pid == 1 && rows[0].task_id == 9 && rows[1].pid == 1 &&
	      rows[1].task_id == 0 && rows[2].pid == 2);
	CHECK("cmp: equal rows compare equal", top_row_cmp(&rows[0], &rows[0], TOP_COL_BUSY,
							   true) == 0);
	CHECK("cmp: antisymmetric",
	      top_row_cmp(&rows[0], &rows[1], TOP_COL_NAME, true) ==
	      -top_row_cmp(&rows[1], &rows[0], TOP_COL_NAME, true));
}

static void test_filter(void)
{
	struct top_row rows[4];
	struct top_filter f;
	size_t order[4], n;

	memset(&f, 0, sizeof(f));
	f.done_keep_ns = 5 * S;
	rows[0] = row(1, 5, "demo::reconcile_accounts", TS_TASK_IDLE);
	rows[1] = row(1, 6, "demo::settle_payments", TS_TASK_IDLE);
	rows[2] = row(2, 7, "other::settle", TS_TASK_DONE);
	rows[3] = row(2, 8, "other::settle", TS_TASK_DONE);
	rows[2].done_ns = 1 * S;
	rows[3].done_ns = 60 * S;

	n = top_rows_filter(rows, 4, &f, order);
	CHECK("filter: none shows all but long-done tasks", n == 3 && order[2] == 2);
	snprintf(f.name, sizeof(f.name), "SETTLE");
	n = top_rows_filter(rows, 4, &f, order);
	CHECK("filter: substring, case-insensitive", n == 2 && order[0] == 1 && order[1] == 2);
	f.pid = 1;
	n = top_rows_filter(rows, 4, &f, order);
	CHECK("filter: one process", n == 1 && order[0] == 1);
	f.pid = 0;
	f.show_done = true;
	n = top_rows_filter(rows, 4, &f, order);
	CHECK("filter: every done task on request", n == 3);
	snprintf(f.name, sizeof(f.name), "nothing-matches");
	CHECK("filter: no match", top_rows_filter(rows, 4, &f, order) == 0);
}

static void test_layout(void)
{
	int w[TOP_COL_MAX], c, total = 0, nvis;

	nvis = top_table_layout(200, false, TOP_MIN_NAME, w);
	CHECK("layout: wide shows every column but PID", nvis == TOP_COL_MAX - 1 && !w[TOP_COL_PID]);
	for (c = 0; c < TOP_COL_MAX; c++)
		total += w[c] + (w[c] ? 1 : 0);
	CHECK("layout: columns fill the width exactly", total - 1 == 200);

	top_table_layout(80, false, TOP_MIN_NAME, w);
	total = 0;
	for (c = 0; c < TOP_COL_MAX; c++)
		total += w[c] + (w[c] ? 1 : 0);
	CHECK("layout 80: fits", total - 1 == 80);
	CHECK("layout 80: name readable", w[TOP_COL_NAME] >= TOP_MIN_NAME);
	CHECK("layout 80: keeps id, state, busy, idle, warn",
	      w[TOP_COL_ID] && w[TOP_COL_STATE] && w[TOP_COL_BUSY] && w[TOP_COL_IDLE] &&
	      w[TOP_COL_WARN]);
	CHECK("layout 80: drops self and wakes first", !w[TOP_COL_SELF] && !w[TOP_COL_WAKES]);

	top_table_layout(80, true, TOP_MIN_NAME, w);
	CHECK("layout 80 system-wide: pid shown", w[TOP_COL_PID] > 0);
	top_table_layout(40, true, TOP_MIN_NAME, w);
	CHECK("layout 40: still an id and a name", w[TOP_COL_ID] && w[TOP_COL_NAME] > 0);
}

static void test_table(void)
{
	struct top_row rows[30];
	size_t order[30], i;
	struct top_table_opts o;
	struct top_text t = {};
	char name[30][32];
	int k;

	for (i = 0; i < 30; i++) {
		snprintf(name[i], sizeof(name[i]), "app::task_%02zu", i);
		rows[i] = row(1, i + 1, name[i], TS_TASK_IDLE);
		rows[i].busy_ns = i * MS;
		order[i] = i;
	}
	rows[4].warn_kind = TS_FIND_IDLE;
	rows[4].warn_ns = 12 * S;
	memset(&o, 0, sizeof(o));
	o.width = 80;
	o.height = 10;
	o.sort = TOP_COL_BUSY;
	o.descending = true;
	o.cursor = true;
	o.selected = 4;
	o.first = 0;
	CHECK("table: renders", top_table_render(&t, rows, order, 30, &o) == 0);
	CHECK("table: title line plus height rows", t.n == 11);
	CHECK("table: title line attribute", t.lines[0].attr == TOP_A_COLHEAD);
	CHECK("table: sort indicator on BUSY", strstr(t.lines[0].text, "BUSY▼") != NULL);
	CHECK("table: sorted column highlighted", t.lines[0].nspans == 1 &&
	      t.lines[0].spans[0].attr == TOP_A_COLHEAD_SORT);
	k = line_with(&t, "app::task_04");
	CHECK("table: flagged row says why", k > 0 && strstr(t.lines[k].text, "⚠ idle 12s"));
	CHECK("table: selected flagged row", k > 0 && t.lines[k].attr == TOP_A_STALL_SELECTED);
	k = line_with(&t, "app::task_03");
	CHECK("table: plain row", k > 0 && t.lines[k].attr == TOP_A_NORMAL);
	for (i = 0, k = 1; i < t.n; i++)
		if (top_str_width(t.lines[i].text) != 80)
			k = 0;
	CHECK("table: every line exactly the width", k);
	CHECK("table: rows past height not drawn", line_with(&t, "app::task_10") < 0);
	top_text__free(&t);

	o.ascii = true;
	o.first = 25;
	o.selected = 27;
	top_table_render(&t, rows, order, 30, &o);
	CHECK("table: scrolled to first", t.n == 6 && strstr(t.lines[1].text, "app::task_25"));
	CHECK("table: ascii sort indicator", strstr(t.lines[0].text, "BUSYv") != NULL);
	k = line_with(&t, "app::task_27");
	CHECK("table: selection", k > 0 && t.lines[k].attr == TOP_A_SELECTED);
	top_text__free(&t);

	o.ascii = false;
	o.first = 0;
	o.height = 0;
	o.cursor = false;
	rows[4].warn_kind = TOP_WARN_NONE;
	rows[5].state = TS_TASK_DONE;
	top_table_render(&t, rows, order, 30, &o);
	CHECK("table: height 0 renders every row", t.n == 31);
	CHECK("table: done rows dim", t.lines[6].attr == TOP_A_DIM);
	top_text__free(&t);
}

static void test_scroll(void)
{
	size_t first = 0;

	top_scroll_clamp(100, 15, 10, &first);
	CHECK("scroll: follows the selection down", first == 6);
	top_scroll_clamp(100, 3, 10, &first);
	CHECK("scroll: and up", first == 3);
	first = 95;
	top_scroll_clamp(100, 99, 10, &first);
	CHECK("scroll: no empty space past the end", first == 90);
	top_scroll_clamp(5, 4, 10, &first);
	CHECK("scroll: short lists start at the top", first == 0);
}

static void test_histogram(void)
{
	uint32_t hist[TS_HIST_SLOTS] = {};
	struct top_text t = {};
	char buf[256];
	int n;

	hist[2] = 8000;
	hist[3] = 1000;
	hist[5] = 1;
	top_hist_sparkline(hist, 8, false, buf, sizeof(buf));
	CHECK_STR("sparkline: heights, empty slots blank", buf, "  █▁ ▁  ");
	top_hist_sparkline(hist, 8, true, buf, sizeof(buf));
	CHECK_STR("sparkline: ascii", buf, "  @. .  ");
	n = top_hist_bars(&t, hist, TS_HIST_SLOTS, 80, false);
	CHECK("bars: one per slot from first to last non-empty", n == 4 && t.n == 4);
	CHECK("bars: labelled", strstr(t.lines[0].text, "4us") != NULL);
	CHECK("bars: count and share", strstr(t.lines[0].text, "8000") &&
	      strstr(t.lines[0].text, " 89%"));
	CHECK("bars: the biggest is full", strstr(t.lines[0].text, "████████████████████"));
	CHECK("bars: an empty slot between is shown empty",
	      strstr(t.lines[2].text, "16us") && !strstr(t.lines[2].text, "█"));
	CHECK("bars: a tiny non-empty slot still shows", strstr(t.lines[3].text, "▏") != NULL);
	CHECK("bars: fit the width", top_str_width(t.lines[0].text) <= 80);
	top_text__free(&t);
	hist[TS_HIST_SLOTS - 1] = 3;
	top_hist_bars(&t, hist, TS_HIST_SLOTS, 60, true);
	CHECK("bars: ascii", strstr(t.lines[0].text, "####") && !strstr(t.lines[0].text, "█"));
	CHECK("bars: the last slot is open-ended", strstr(t.lines[t.n - 1].text, "+") != NULL);
	top_text__free(&t);
	memset(hist, 0, sizeof(hist));
	top_hist_bars(&t, hist, TS_HIST_SLOTS, 80, false);
	CHECK("bars: nothing measured", t.n == 1 && strstr(t.lines[0].text, "no poll"));
	top_text__free(&t);

	top_meter(0.5, "50.0%", 20, false, buf, sizeof(buf));
	CHECK_STR("meter: half", buf, "[|||||||||    50.0%]");
	top_meter(2.0, "200%", 12, true, buf, sizeof(buf));
	CHECK("meter: clamped to the width", top_str_width(buf) == 12);
}

static void test_text(void)
{
	struct top_text t = {};
	struct top_line *l;

	top_text__add_lines(&t, TOP_A_NORMAL, "one\ntwo\n\nfour");
	CHECK("text: split at newlines, empty lines kept",
	      t.n == 4 && !strcmp(t.lines[1].text, "two") && !t.lines[2].text[0]);
	l = top_text__addf(&t, TOP_A_TITLE, "n=%d", 5);
	top_line__span(l, 0, 1, TOP_A_KEY);
	CHECK("text: formatted line with a span", l && !strcmp(l->text, "n=5") && l->nspans == 1);
	top_text__free(&t);
	CHECK("text: freed", t.n == 0 && !t.lines);
}

int main(void)
{
	test_format();
	test_cells();
	test_sort();
	test_filter();
	test_layout();
	test_table();
	test_scroll();
	test_histogram();
	test_text();
	UNIT_EXIT();
}
