/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "stall_rules.h"
#include "top_view.h"

#define SPACESHIP(a, b) (((a) > (b)) - ((a) < (b)))

/* ---- lines of text ----------------------------------------------------- */

struct top_line *top_text__add(struct top_text *t, enum top_attr attr, const char *s)
{
	struct top_line *l;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct top_line *nv = realloc(t->lines, cap * sizeof(*nv));

		if (!nv)
			return NULL;
		t->lines = nv;
		t->cap = cap;
	}
	l = &t->lines[t->n];
	memset(l, 0, sizeof(*l));
	l->text = strdup(s);
	if (!l->text)
		return NULL;
	l->attr = attr;
	t->n++;
	return l;
}

struct top_line *top_text__addf(struct top_text *t, enum top_attr attr, const char *fmt, ...)
{
	struct top_line *l;
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	l = top_text__add(t, attr, s);
	free(s);
	return l;
}

int top_text__add_lines(struct top_text *t, enum top_attr attr, const char *s)
{
	int n = 0;

	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);

		if (!top_text__addf(t, attr, "%.*s", (int)len, s))
			return -ENOMEM;
		n++;
		s += len + (nl ? 1 : 0);
	}
	return n;
}

void top_line__span(struct top_line *l, int col, int len, enum top_attr attr)
{
	if (!l || l->nspans >= TOP_MAX_SPANS || len <= 0)
		return;
	l->spans[l->nspans].col = col;
	l->spans[l->nspans].len = len;
	l->spans[l->nspans].attr = attr;
	l->nspans++;
}

void top_text__free(struct top_text *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->lines[i].text);
	free(t->lines);
	memset(t, 0, sizeof(*t));
}

void top_text__write(const struct top_text *t, FILE *out)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		const char *s = t->lines[i].text;
		size_t len = strlen(s);

		/* trailing padding is for highlighting, not for logs */
		while (len && s[len - 1] == ' ')
			len--;
		fprintf(out, "%.*s\n", (int)len, s);
	}
}

/* ---- UTF-8 cells ------------------------------------------------------- */

static bool utf8_cont(char c)
{
	return ((unsigned char)c & 0xC0) == 0x80;
}

int top_str_width(const char *s)
{
	int w = 0;

	for (; *s; s++)
		if (!utf8_cont(*s))
			w++;
	return w;
}

/* Pointer past the first cols glyphs of s. */
static const char *utf8_skip(const char *s, int cols)
{
	while (*s && cols > 0) {
		s++;
		while (*s && utf8_cont(*s))
			s++;
		cols--;
	}
	return s;
}

static void append(char *buf, size_t len, const char *s, size_t n)
{
	size_t used = strlen(buf);

	if (used + 1 >= len)
		return;
	if (n > len - used - 1) {
		n = len - used - 1;
		/* never cut a glyph in half */
		while (n && utf8_cont(s[n]))
			n--;
	}
	memcpy(buf + used, s, n);
	buf[used + n] = '\0';
}

static void append_spaces(char *buf, size_t len, int n)
{
	static const char spaces[] = "                                                                ";

	while (n > 0) {
		int k = n > 64 ? 64 : n;

		append(buf, len, spaces, (size_t)k);
		n -= k;
	}
}

void top_cell(char *buf, size_t len, const char *s, int width, bool right, bool keep_tail,
	      bool ascii)
{
	int w = top_str_width(s);

	if (width <= 0)
		return;
	if (w <= width) {
		if (right)
			append_spaces(buf, len, width - w);
		append(buf, len, s, strlen(s));
		if (!right)
			append_spaces(buf, len, width - w);
		return;
	}
	if (keep_tail) {
		const char *tail = utf8_skip(s, w - (width - 1));

		append(buf, len, ascii ? "~" : "…", ascii ? 1 : strlen("…"));
		append(buf, len, tail, strlen(tail));
	} else {
		append(buf, len, s, (size_t)(utf8_skip(s, width) - s));
	}
}

/* ---- formatting -------------------------------------------------------- */

void top_fmt_duration(uint64_t ns, bool at_least, char *buf, size_t len)
{
	/* ">2.0s": a lower bound, as a poll still running or a task idle since before attach */
	if (at_least && ns && len > 1) {
		buf[0] = '>';
		buf++;
		len--;
	}
	ts_fmt_duration_as(TS_DURATION_COMPACT, ns, buf, len);
}

void top_fmt_count(uint64_t n, char *buf, size_t len)
{
	if (n < 100000)
		snprintf(buf, len, "%llu", (unsigned long long)n);
	else if (n < 1000000)
		snprintf(buf, len, "%lluk", (unsigned long long)(n / 1000));
	else if (n < 1000000000ULL)
		snprintf(buf, len, "%.1fM", (double)n / 1e6);
	else
		snprintf(buf, len, "%.1fG", (double)n / 1e9);
}

void top_fmt_age(uint64_t ns, char *buf, size_t len)
{
	uint64_t sec = ns / 1000000000ULL;

	if (ns < 1000000000ULL)
		snprintf(buf, len, "%llums", (unsigned long long)(ns / 1000000));
	else if (sec < 100)
		snprintf(buf, len, "%llus", (unsigned long long)sec);
	else if (sec < 100 * 60)
		snprintf(buf, len, "%llum", (unsigned long long)(sec / 60));
	else
		snprintf(buf, len, "%lluh", (unsigned long long)(sec / 3600));
}

void top_fmt_hist_slot(int k, char *buf, size_t len)
{
	uint64_t us = 1ULL << k;

	/* the BPF side puts 0-1 us in slot 0 and everything past the last in it */
	if (k <= 0)
		snprintf(buf, len, "<2us");
	else if (us < 1000)
		snprintf(buf, len, "%lluus", (unsigned long long)us);
	else if (us < 1000000)
		snprintf(buf, len, "%llums", (unsigned long long)(us / 1000));
	else
		snprintf(buf, len, "%.1fs", (double)us / 1e6);
}

/* ---- histogram --------------------------------------------------------- */

static const char *const spark_utf8[8] = { "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" };
static const char spark_ascii[8] = { '.', ':', '-', '=', '+', '*', '#', '@' };
static const char *const eighths[8] = { "", "▏", "▎", "▍", "▌", "▋", "▊", "▉" };

static uint32_t hist_max(const uint32_t *hist, int n)
{
	uint32_t m = 0;
	int k;

	for (k = 0; k < n; k++)
		if (hist[k] > m)
			m = hist[k];
	return m;
}

void top_hist_sparkline(const uint32_t *hist, int n, bool ascii, char *buf, size_t len)
{
	uint32_t max = hist_max(hist, n);
	int k;

	if (len)
		buf[0] = '\0';
	for (k = 0; k < n; k++) {
		uint64_t level;

		if (!hist[k]) {
			append(buf, len, " ", 1);
			continue;
		}
		level = ((uint64_t)hist[k] * 8 + max - 1) / max;	/* 1..8 */
		if (level < 1)
			level = 1;
		if (ascii)
			append(buf, len, &spark_ascii[level - 1], 1);
		else
			append(buf, len, spark_utf8[level - 1], strlen(spark_utf8[level - 1]));
	}
}

int top_hist_bars(struct top_text *out, const uint32_t *hist, int n, int width, bool ascii)
{
	uint32_t max = hist_max(hist, n);
	uint64_t total = 0;
	int k, first = -1, last = -1, barw = width - 28, lines = 0;

	if (barw < 8)
		barw = 8;
	for (k = 0; k < n; k++) {
		total += hist[k];
		if (hist[k]) {
			if (first < 0)
				first = k;
			last = k;
		}
	}
	if (first < 0) {
		if (top_text__add(out, TOP_A_DIM, "  (no poll measured yet)"))
			lines++;
		return lines;
	}
	for (k = first; k <= last; k++) {
		char label[16], bar[1024] = "", pct[16];
		uint64_t e = (uint64_t)hist[k] * (uint64_t)barw * 8 / max;
		struct top_line *l;
		int full = (int)(e / 8), col;

		top_fmt_hist_slot(k, label, sizeof(label));
		if (k == n - 1)
			strncat(label, "+", sizeof(label) - strlen(label) - 1);
		for (col = 0; col < full; col++)
			append(bar, sizeof(bar), ascii ? "#" : "█", ascii ? 1 : strlen("█"));
		if (!ascii && e % 8 && full < barw) {
			append(bar, sizeof(bar), eighths[e % 8], strlen(eighths[e % 8]));
			full++;
		} else if (!full && hist[k]) {
			/* a non-empty slot always shows */
			append(bar, sizeof(bar), ascii ? "#" : "▏", ascii ? 1 : strlen("▏"));
			full++;
		}
		append_spaces(bar, sizeof(bar), barw - full);
		snprintf(pct, sizeof(pct), "%3.0f%%", 100.0 * hist[k] / (double)total);
		l = top_text__addf(out, TOP_A_NORMAL, "  %6s %s%s%s %8u %4s", label,
				   ascii ? "|" : "│", bar, ascii ? "|" : "│", hist[k], pct);
		if (!l)
			break;
		top_line__span(l, 10, barw, TOP_A_BAR);
		lines++;
	}
	return lines;
}

void top_meter(double ratio, const char *label, int width, bool ascii, char *buf, size_t len)
{
	int inner = width - 2, fill, lw = top_str_width(label), i;

	if (len)
		buf[0] = '\0';
	if (inner < 1)
		return;
	if (ratio < 0 || ratio != ratio)
		ratio = 0;
	if (ratio > 1)
		ratio = 1;
	fill = (int)(ratio * inner + 0.5);
	append(buf, len, "[", 1);
	/* htop's look: bars, then the value right-aligned over the empty part */
	for (i = 0; i < inner; i++) {
		if (i >= inner - lw && lw <= inner) {
			append(buf, len, label, strlen(label));
			break;
		}
		append(buf, len, i < fill ? "|" : " ", 1);
	}
	append(buf, len, "]", 1);
}

/* ---- rows and columns -------------------------------------------------- */

const struct top_column top_columns[TOP_COL_MAX] = {
	[TOP_COL_PID] = { "PID", "process id (system-wide mode)", false, 7, 9, true },
	[TOP_COL_ID] = { "ID", "tokio task Id (- when not known)", false, 6, 12, true },
	[TOP_COL_STATE] = { "STATE",
		"run: in a poll; sched: woken, waiting for a worker; idle: waiting for a "
		"wake; done: finished", false, 5, 10, false },
	[TOP_COL_TOTAL] = { "TOTAL",
		"age since first seen (lifetime once done); > it existed before attach",
		true, 7, 4, true },
	[TOP_COL_BUSY] = { "BUSY", "time spent inside polls", true, 6, 7, true },
	[TOP_COL_SCHED] = { "SCHED", "time woken but not yet polled (scheduling delay)", true, 6,
		3, true },
	[TOP_COL_IDLE] = { "IDLE", "time waiting for a wake; > since before attach", true, 7, 8,
		true },
	[TOP_COL_POLLS] = { "POLLS", "times polled", true, 6, 5, true },
	[TOP_COL_WAKES] = { "WAKES", "times woken", true, 6, 2, true },
	[TOP_COL_SELF] = { "SELF", "wakes by its own worker (yield_now, self-wake)", true, 5, 1,
		true },
	[TOP_COL_MAXPOLL] = { "MAXPOLL", "longest single poll", true, 7, 6, true },
	[TOP_COL_WARN] = { "WARN",
		"a stall flagged: long poll (blocked worker), starved, spinning, lost wake, "
		"idle N s", true, 11, 11, false },
	[TOP_COL_NAME] = { "NAME", "the task's future: the async fn or block it runs", false, 0,
		13, false },
};

static int state_rank(enum ts_task_state s)
{
	switch (s) {
	case TS_TASK_RUNNING:
		return 0;
	case TS_TASK_SCHEDULED:
		return 1;
	case TS_TASK_IDLE:
		return 2;
	case TS_TASK_DONE:
		return 3;
	}
	return 4;
}

/* Unknown ids (0) sort after every known one. */
static uint64_t id_key(uint64_t id)
{
	return id ? id : UINT64_MAX;
}

static int cmp_warn(const struct top_row *a, const struct top_row *b)
{
	bool wa = a->warn_kind != TOP_WARN_NONE, wb = b->warn_kind != TOP_WARN_NONE;

	if (wa != wb)
		return SPACESHIP(wa, wb);
	/* the rules list kinds most severe first: a lower kind is "more" */
	if (a->warn_kind != b->warn_kind)
		return SPACESHIP(b->warn_kind, a->warn_kind);
	return SPACESHIP(a->warn_ns, b->warn_ns);
}

static int cmp_column(const struct top_row *a, const struct top_row *b, enum top_col col)
{
	switch (col) {
	case TOP_COL_PID:
		return SPACESHIP(a->pid, b->pid);
	case TOP_COL_ID:
		return SPACESHIP(id_key(a->task_id), id_key(b->task_id));
	case TOP_COL_STATE:
		return SPACESHIP(state_rank(a->state), state_rank(b->state));
	case TOP_COL_TOTAL:
		return SPACESHIP(a->age_ns, b->age_ns);
	case TOP_COL_BUSY:
		return SPACESHIP(a->busy_ns, b->busy_ns);
	case TOP_COL_SCHED:
		return SPACESHIP(a->sched_ns, b->sched_ns);
	case TOP_COL_IDLE:
		return SPACESHIP(a->idle_ns, b->idle_ns);
	case TOP_COL_POLLS:
		return SPACESHIP(a->polls, b->polls);
	case TOP_COL_WAKES:
		return SPACESHIP(a->wakes, b->wakes);
	case TOP_COL_SELF:
		return SPACESHIP(a->self_wakes, b->self_wakes);
	case TOP_COL_MAXPOLL:
		return SPACESHIP(a->max_poll_ns, b->max_poll_ns);
	case TOP_COL_WARN:
		return cmp_warn(a, b);
	case TOP_COL_NAME: {
		int c = strcmp(a->name ? a->name : "", b->name ? b->name : "");

		return SPACESHIP(c, 0);
	}
	case TOP_COL_MAX:
		break;
	}
	return 0;
}

int top_row_cmp(const struct top_row *a, const struct top_row *b, enum top_col col,
		bool descending)
{
	int c = cmp_column(a, b, col);

	if (c)
		return descending ? -c : c;
	/* ties keep one order whatever the direction: rows don't jump */
	if (a->pid != b->pid)
		return SPACESHIP(a->pid, b->pid);
	if (a->task_id != b->task_id)
		return SPACESHIP(id_key(a->task_id), id_key(b->task_id));
	if (a->header != b->header)
		return SPACESHIP(a->header, b->header);
	return SPACESHIP(a->first_seen_ns, b->first_seen_ns);
}

struct sort_ctx {
	enum top_col col;
	bool descending;
};

static int cmp_rows(const void *a, const void *b, void *arg)
{
	const struct sort_ctx *c = arg;

	return top_row_cmp(a, b, c->col, c->descending);
}

void top_rows_sort(struct top_row *rows, size_t n, enum top_col col, bool descending)
{
	struct sort_ctx c = { col, descending };

	if (n > 1)
		qsort_r(rows, n, sizeof(*rows), cmp_rows, &c);
}

bool top_row_visible(const struct top_row *r, const struct top_filter *f)
{
	if (f->pid && r->pid != f->pid)
		return false;
	if (f->name[0] && !strcasestr(r->name ? r->name : "", f->name))
		return false;
	if (r->state == TS_TASK_DONE && !f->show_done && r->done_ns > f->done_keep_ns)
		return false;
	return true;
}

size_t top_rows_filter(const struct top_row *rows, size_t n, const struct top_filter *f,
		       size_t *order)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		if (top_row_visible(&rows[i], f))
			order[k++] = i;
	return k;
}

void top_fmt_warn(const struct top_row *r, bool ascii, char *buf, size_t len)
{
	const char *sign = ascii ? "!" : "⚠";
	char age[16];

	switch (r->warn_kind) {
	case TS_FIND_DEADLOCK:
		snprintf(buf, len, "%s deadlock", sign);
		return;
	case TS_FIND_BLOCKED_WORKER:
		snprintf(buf, len, "%s long poll", sign);
		return;
	case TS_FIND_STARVED:
		snprintf(buf, len, "%s starved", sign);
		return;
	case TS_FIND_SPINNING:
		snprintf(buf, len, "%s spinning", sign);
		return;
	case TS_FIND_LOST_WAKE:
		snprintf(buf, len, "%s lost wake", sign);
		return;
	case TS_FIND_IDLE:
		top_fmt_age(r->warn_ns, age, sizeof(age));
		snprintf(buf, len, "%s idle %s", sign, age);
		return;
	}
	if (len)
		buf[0] = '\0';
}

static const char *state_short(enum ts_task_state s)
{
	switch (s) {
	case TS_TASK_RUNNING:
		return "run";
	case TS_TASK_SCHEDULED:
		return "sched";
	case TS_TASK_IDLE:
		return "idle";
	case TS_TASK_DONE:
		return "done";
	}
	return "?";
}

/*
 * A tree parent's subtree after its name, from the fullest form to the
 * shortest: "  [50 below, 1516 polls, busy 4.2ms]", " [+50: 1516 polls 4.2ms]",
 * " [+50]"; form 3 and rows without children: "".
 */
static void subtree_counts(const struct top_row *r, int form, char *buf, size_t len)
{
	char polls[16], busy[16];

	buf[0] = '\0';
	if (!r->subtree)
		return;
	top_fmt_count(r->subtree_polls, polls, sizeof(polls));
	top_fmt_duration(r->subtree_busy_ns, false, busy, sizeof(busy));
	if (form == 0)
		snprintf(buf, len, "  [%u below, %s polls, busy %s]", r->subtree, polls, busy);
	else if (form == 1)
		snprintf(buf, len, " [+%u: %s polls %s]", r->subtree, polls, busy);
	else if (form == 2)
		snprintf(buf, len, " [+%u]", r->subtree);
}

void top_fmt_cell(const struct top_row *r, enum top_col col, bool ascii, char *buf, size_t len)
{
	switch (col) {
	case TOP_COL_PID:
		snprintf(buf, len, "%d", (int)r->pid);
		return;
	case TOP_COL_ID:
		if (r->task_id)
			snprintf(buf, len, "%llu", (unsigned long long)r->task_id);
		else if (r->root_tid)
			snprintf(buf, len, "T%u", r->root_tid);
		else
			snprintf(buf, len, "-");
		return;
	case TOP_COL_STATE:
		snprintf(buf, len, "%s", state_short(r->state));
		return;
	case TOP_COL_TOTAL:
		top_fmt_duration(r->age_ns, r->age_at_least, buf, len);
		return;
	case TOP_COL_BUSY:
		top_fmt_duration(r->busy_ns, false, buf, len);
		return;
	case TOP_COL_SCHED:
		top_fmt_duration(r->sched_ns, false, buf, len);
		return;
	case TOP_COL_IDLE:
		top_fmt_duration(r->idle_ns, r->idle_at_least, buf, len);
		return;
	case TOP_COL_POLLS:
		top_fmt_count(r->polls, buf, len);
		return;
	case TOP_COL_WAKES:
		top_fmt_count(r->wakes, buf, len);
		return;
	case TOP_COL_SELF:
		top_fmt_count(r->self_wakes, buf, len);
		return;
	case TOP_COL_MAXPOLL:
		top_fmt_duration(r->max_poll_ns, false, buf, len);
		return;
	case TOP_COL_WARN:
		top_fmt_warn(r, ascii, buf, len);
		return;
	case TOP_COL_NAME: {
		char below[64];

		subtree_counts(r, 0, below, sizeof(below));
		snprintf(buf, len, "%s%s%s", r->tree, r->name && r->name[0] ? r->name : "(unnamed)",
			 below);
		return;
	}
	case TOP_COL_MAX:
		break;
	}
	if (len)
		buf[0] = '\0';
}

int top_table_layout(int width, bool show_pid, int min_name, int widths[TOP_COL_MAX])
{
	int c, used = 0, nvis = 0;

	for (c = 0; c < TOP_COL_MAX; c++) {
		widths[c] = (c == TOP_COL_PID && !show_pid) ? 0 : top_columns[c].width;
		if (c == TOP_COL_NAME || widths[c]) {
			used += widths[c] + (nvis ? 1 : 0);
			nvis++;
		}
	}
	while (used + min_name > width) {
		int drop = -1;

		for (c = 0; c < TOP_COL_MAX; c++)
			if (c != TOP_COL_NAME && widths[c] &&
			    (drop < 0 || top_columns[c].keep < top_columns[drop].keep))
				drop = c;
		if (drop < 0)
			break;
		used -= widths[drop] + 1;
		widths[drop] = 0;
		nvis--;
	}
	widths[TOP_COL_NAME] = width - used > 1 ? width - used : 1;
	return nvis;
}

void top_scroll_clamp(size_t n, size_t selected, int height, size_t *first)
{
	size_t h = height > 0 ? (size_t)height : 1;

	if (n <= h) {
		*first = 0;
		return;
	}
	if (selected < *first)
		*first = selected;
	else if (selected >= *first + h)
		*first = selected - h + 1;
	if (*first + h > n)
		*first = n - h;
}

/*
 * The NAME cell in the tree: the glyphs and the subtree counts stay and
 * the name gives way (keeping its tail), so a narrow terminal still shows
 * the shape; the counts get shorter first, so the name keeps 12 columns.
 */
static void tree_name_cell(char *line, size_t len, const struct top_row *r, int width,
			   bool ascii)
{
	const char *name = r->name && r->name[0] ? r->name : "(unnamed)";
	int wt = top_str_width(r->tree), wn = top_str_width(name), wb = 0, form;
	char below[64] = "";

	if (width - wt < 6) {
		top_cell(line, len, name, width, false, true, ascii);
		return;
	}
	for (form = 0; form < 3 && r->subtree; form++) {
		subtree_counts(r, form, below, sizeof(below));
		wb = top_str_width(below);
		if (width - wt - wb >= (wn < 12 ? wn : 12))
			break;
	}
	if (form == 3 || !r->subtree) {
		below[0] = '\0';
		wb = 0;
	}
	append(line, len, r->tree, strlen(r->tree));
	if (wn <= width - wt - wb) {
		append(line, len, name, strlen(name));
		top_cell(line, len, below, width - wt - wn, false, false, ascii);
		return;
	}
	top_cell(line, len, name, width - wt - wb, false, true, ascii);
	append(line, len, below, strlen(below));
}

int top_table_render(struct top_text *out, const struct top_row *rows, const size_t *order,
		     size_t n, const struct top_table_opts *o)
{
	int widths[TOP_COL_MAX], c, col, sort_col = -1, sort_w = 0;
	size_t len = (size_t)o->width * 4 + 64, i, end;
	char *line = malloc(len), cell[512];
	struct top_line *l;

	if (!line)
		return -ENOMEM;
	top_table_layout(o->width, o->show_pid, TOP_MIN_NAME, widths);

	line[0] = '\0';
	for (c = 0, col = 0; c < TOP_COL_MAX; c++) {
		const struct top_column *tc = &top_columns[c];

		if (!widths[c])
			continue;
		if (col) {
			append(line, len, " ", 1);
			col++;
		}
		if ((enum top_col)c == o->sort) {
			snprintf(cell, sizeof(cell), "%s%s", tc->title,
				 o->ascii ? (o->descending ? "v" : "^") :
					    (o->descending ? "▼" : "▲"));
			sort_col = col;
			sort_w = widths[c];
		} else {
			snprintf(cell, sizeof(cell), "%s", tc->title);
		}
		top_cell(line, len, cell, widths[c], tc->right, false, o->ascii);
		col += widths[c];
	}
	l = top_text__add(out, TOP_A_COLHEAD, line);
	if (l && sort_col >= 0)
		top_line__span(l, sort_col, sort_w, TOP_A_COLHEAD_SORT);

	end = o->height > 0 && o->first + (size_t)o->height < n ? o->first + (size_t)o->height : n;
	for (i = o->first; i < end; i++) {
		const struct top_row *r = &rows[order[i]];
		bool sel = o->cursor && i == o->selected;
		bool stall = r->warn_kind != TOP_WARN_NONE;
		int warn_col = -1;
		enum top_attr attr;

		line[0] = '\0';
		for (c = 0, col = 0; c < TOP_COL_MAX; c++) {
			if (!widths[c])
				continue;
			if (col) {
				append(line, len, " ", 1);
				col++;
			}
			if (c == TOP_COL_WARN)
				warn_col = col;
			if (c == TOP_COL_NAME && (r->tree[0] || r->subtree)) {
				tree_name_cell(line, len, r, widths[c], o->ascii);
				col += widths[c];
				continue;
			}
			top_fmt_cell(r, (enum top_col)c, o->ascii, cell, sizeof(cell));
			top_cell(line, len, cell, widths[c], top_columns[c].right,
				 c == TOP_COL_NAME, o->ascii);
			col += widths[c];
		}
		if (sel)
			attr = stall ? TOP_A_STALL_SELECTED : TOP_A_SELECTED;
		else if (stall)
			attr = TOP_A_STALL;
		else
			attr = r->state == TS_TASK_DONE ? TOP_A_DIM : TOP_A_NORMAL;
		l = top_text__add(out, attr, line);
		if (!l) {
			free(line);
			return -ENOMEM;
		}
		if (stall && !sel && warn_col >= 0)
			top_line__span(l, warn_col, widths[TOP_COL_WARN], TOP_A_WARN);
	}
	free(line);
	return 0;
}
