/*
 * user/common/: the JSON writer, the duration formatter, growable arrays,
 * the binary search, command-line seconds. Pure.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "array.h"
#include "duration.h"
#include "json_writer.h"
#include "parse.h"
#include "unit.h"

/* Runs fn on a writer over a memory stream; returns the text (static). */
static const char *json_of(void (*fn)(struct json_writer *jw), int *finish)
{
	static char buf[4096];
	struct json_writer jw;
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	buf[0] = '\0';
	if (!f)
		return "";
	jw_init(&jw, f);
	fn(&jw);
	*finish = jw_finish(&jw);
	fclose(f);
	/* jw_finish ends the document with a newline: compare without it */
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

static void doc_nested(struct json_writer *jw)
{
	jw_object_begin(jw);
	jw_kv_i64(jw, "pid", -3);
	jw_kv_u64(jw, "big", UINT64_MAX);
	jw_key(jw, "list");
	jw_array_begin(jw);
	jw_u64(jw, 1);
	jw_object_begin(jw);
	jw_object_end(jw);
	jw_array_begin(jw);
	jw_array_end(jw);
	jw_null(jw);
	jw_bool(jw, false);
	jw_array_end(jw);
	jw_kv_hex(jw, "addr", 0x7f00a0);
	jw_kv_double(jw, "s", 1.5, 3);
	jw_kv_double(jw, "nan", NAN, 6);
	jw_kv_double(jw, "inf", INFINITY, 1);
	jw_kv_bool(jw, "ok", true);
	jw_object_end(jw);
}

static void doc_escapes(struct json_writer *jw)
{
	jw_array_begin(jw);
	jw_string(jw, "q\"b\\s/");
	jw_string(jw, "n\nt\tc\x01\x1f");
	jw_string(jw, "caf\xc3\xa9 \xe2\x94\x94\xe2\x94\x80 \xf0\x9f\xa6\x80");
	/* a lone continuation byte, a cut sequence, an overlong '/', a surrogate */
	jw_string(jw, "a\x80z \xe2\x94 \xc0\xaf \xed\xa0\x80");
	jw_string(jw, NULL);
	jw_array_end(jw);
}

static void doc_key_in_array(struct json_writer *jw)
{
	jw_array_begin(jw);
	jw_key(jw, "k");
	jw_array_end(jw);
}

static void doc_value_without_key(struct json_writer *jw)
{
	jw_object_begin(jw);
	jw_u64(jw, 1);
	jw_object_end(jw);
}

static void doc_unbalanced(struct json_writer *jw)
{
	jw_object_begin(jw);
	jw_key(jw, "a");
	jw_array_begin(jw);
}

static void doc_wrong_end(struct json_writer *jw)
{
	jw_array_begin(jw);
	jw_object_end(jw);
	jw_array_end(jw);
}

static void doc_deep(struct json_writer *jw)
{
	int i;

	for (i = 0; i < JW_MAX_DEPTH + 5; i++)
		jw_array_begin(jw);
	for (i = 0; i < JW_MAX_DEPTH + 5; i++)
		jw_array_end(jw);
}

static void test_json_writer(void)
{
	int fin;

	CHECK_STR("json: nesting, commas, numbers", json_of(doc_nested, &fin),
		  "{\"pid\":-3,\"big\":18446744073709551615,\"list\":[1,{},[],null,false],"
		  "\"addr\":\"0x7f00a0\",\"s\":1.500,\"nan\":null,\"inf\":null,\"ok\":true}");
	CHECK("json: well-formed document finishes with 0", fin == 0);
	CHECK_STR("json: escapes, UTF-8 kept, invalid UTF-8 replaced", json_of(doc_escapes, &fin),
		  "[\"q\\\"b\\\\s/\",\"n\\nt\\tc\\u0001\\u001f\","
		  "\"caf\xc3\xa9 \xe2\x94\x94\xe2\x94\x80 \xf0\x9f\xa6\x80\","
		  "\"a\\ufffdz \\ufffd\\ufffd \\ufffd\\ufffd \\ufffd\\ufffd\\ufffd\",\"\"]");
	json_of(doc_key_in_array, &fin);
	CHECK("json: a key in an array is misuse", fin == -EINVAL);
	json_of(doc_value_without_key, &fin);
	CHECK("json: a value without its key is misuse", fin == -EINVAL);
	json_of(doc_unbalanced, &fin);
	CHECK("json: unclosed containers are misuse", fin == -EINVAL);
	json_of(doc_wrong_end, &fin);
	CHECK("json: closing an array as an object is misuse", fin == -EINVAL);
	json_of(doc_deep, &fin);
	CHECK("json: nesting past the limit is misuse, not a crash", fin == -EINVAL);
}

/*
 * The three formatters the shared one replaced, verbatim, as the oracle:
 * every output must stay what it was.
 */
static void old_text(uint64_t ns, char *buf, size_t len)
{
	if (ns >= 100ULL * 1000 * 1000 * 1000)
		snprintf(buf, len, "%.0f s", (double)ns / 1e9);
	else if (ns >= 1000ULL * 1000 * 1000)
		snprintf(buf, len, "%.2f s", (double)ns / 1e9);
	else if (ns >= 1000ULL * 1000)
		snprintf(buf, len, "%.1f ms", (double)ns / 1e6);
	else if (ns >= 1000)
		snprintf(buf, len, "%.1f us", (double)ns / 1e3);
	else
		snprintf(buf, len, "%llu ns", (unsigned long long)ns);
}

static void old_cell(uint64_t ns, char *buf, size_t len)
{
	if (!ns)
		snprintf(buf, len, "-");
	else if (ns >= 100ULL * 1000 * 1000 * 1000)
		snprintf(buf, len, "%.0fs", (double)ns / 1e9);
	else if (ns >= 1000ULL * 1000 * 1000)
		snprintf(buf, len, "%.2fs", (double)ns / 1e9);
	else if (ns >= 1000ULL * 1000)
		snprintf(buf, len, "%.0fms", (double)ns / 1e6);
	else
		snprintf(buf, len, "%.0fus", (double)ns / 1e3);
}

static void old_compact(uint64_t ns, char *buf, size_t len)
{
	double s = (double)ns / 1e9;
	uint64_t sec = ns / 1000000000ULL;

	if (!ns)
		snprintf(buf, len, "-");
	else if (ns < 1000ULL * 1000)
		snprintf(buf, len, "%lluus", (unsigned long long)(ns / 1000));
	else if (ns < 10ULL * 1000 * 1000)
		snprintf(buf, len, "%.1fms", (double)ns / 1e6);
	else if (ns < 1000ULL * 1000 * 1000)
		snprintf(buf, len, "%llums", (unsigned long long)(ns / 1000000));
	else if (ns < 10ULL * 1000 * 1000 * 1000)
		snprintf(buf, len, "%.2fs", s);
	else if (ns < 100ULL * 1000 * 1000 * 1000)
		snprintf(buf, len, "%.1fs", s);
	else if (sec < 1000)
		snprintf(buf, len, "%llus", (unsigned long long)sec);
	else if (sec < 100 * 60)
		snprintf(buf, len, "%llum%02llus", (unsigned long long)(sec / 60),
			 (unsigned long long)(sec % 60));
	else if (sec < 100 * 3600)
		snprintf(buf, len, "%lluh%02llum", (unsigned long long)(sec / 3600),
			 (unsigned long long)(sec / 60 % 60));
	else
		snprintf(buf, len, "%llud%02lluh", (unsigned long long)(sec / 86400),
			 (unsigned long long)(sec / 3600 % 24));
}

static void test_duration(void)
{
	static const struct {
		enum ts_duration_style style;
		void (*old)(uint64_t, char *, size_t);
		const char *name;
	} styles[] = {
		{ TS_DURATION_TEXT, old_text, "text" },
		{ TS_DURATION_CELL, old_cell, "cell" },
		{ TS_DURATION_COMPACT, old_compact, "compact" },
	};
	char got[64], want[64], name[96];
	size_t k;

	for (k = 0; k < ARRAY_SIZE(styles); k++) {
		uint64_t ns, checked = 0, bad = 0, first_bad = 0;
		int digit;

		/* every power of ten and its neighbours, every 1-2-5 step, up to ~580 years */
		for (ns = 1; ns <= UINT64_MAX / 20; ns *= 10) {
			for (digit = 1; digit <= 9; digit++) {
				uint64_t base = ns * (uint64_t)digit, v[] = { base - 1, base, base + 1,
					base + base / 2, base - base / 200, base + base / 200 };
				size_t i;

				for (i = 0; i < ARRAY_SIZE(v); i++) {
					ts_fmt_duration_as(styles[k].style, v[i], got, sizeof(got));
					styles[k].old(v[i], want, sizeof(want));
					checked++;
					if (strcmp(got, want) && !bad++)
						first_bad = v[i];
				}
			}
		}
		ts_fmt_duration_as(styles[k].style, 0, got, sizeof(got));
		styles[k].old(0, want, sizeof(want));
		if (strcmp(got, want) && !bad++)
			first_bad = 0;
		snprintf(name, sizeof(name), "duration %s: same text as before for %llu values",
			 styles[k].name, (unsigned long long)checked + 1);
		CHECK(name, bad == 0);
		if (bad) {
			ts_fmt_duration_as(styles[k].style, first_bad, got, sizeof(got));
			styles[k].old(first_bad, want, sizeof(want));
			printf("# %llu ns: got \"%s\", want \"%s\"\n", (unsigned long long)first_bad,
			       got, want);
		}
	}
	ts_fmt_duration(1500000000ULL, got, sizeof(got));
	CHECK_STR("duration: text 1.5 s", got, "1.50 s");
	ts_fmt_duration_as(TS_DURATION_CELL, 49000, got, sizeof(got));
	CHECK_STR("duration: cell 49us", got, "49us");
	ts_fmt_duration_as(TS_DURATION_COMPACT, 245ULL * 1000000000ULL * 10, got, sizeof(got));
	CHECK_STR("duration: compact 40m50s", got, "40m50s");
	ts_fmt_duration_as(TS_DURATION_COMPACT, 1200000000ULL, got, 3);
	CHECK_STR("duration: cut to the buffer", got, "1.");
}

struct item {
	uint32_t pad;
	struct { uint64_t addr; } key;
	char name[4];
};

static void test_array(void)
{
	struct item *v = NULL, *it;
	size_t n = 0, cap = 0, i, moves = 0, pos;
	const int a5[5] = { 0 };
	void *last = NULL;
	bool zeroed = true;

	CHECK("ARRAY_SIZE", ARRAY_SIZE(a5) == 5);
	for (i = 0; i < 32768; i++) {
		it = ts_array_add(&v, &n, &cap);
		if (!it)
			break;
		zeroed &= !it->key.addr && !it->name[0];
		it->key.addr = 10 * i;
		if ((void *)v != last)
			moves++;
		last = v;
	}
	CHECK("array: 32768 adds", n == 32768 && cap >= n);
	CHECK("array: each added element zeroed", zeroed);
	/* geometric: 8, 16, ... 32768 is 13 reallocations, not 32768 */
	CHECK("array: growth is geometric", moves <= 13 && cap < 2 * 32768 + 8);
	CHECK("array: reserve within capacity is free", ts_array_reserve(&v, &cap, 10) == 0);
	CHECK("array: reserve past size_t fails cleanly",
	      ts_array_reserve(&v, &cap, SIZE_MAX / 2) == -ENOMEM && v && n == 32768);

	pos = TS_LOWER_BOUND(v, n, key.addr, 12340);
	CHECK("bsearch: exact hit", pos == 1234 && v[pos].key.addr == 12340);
	pos = TS_LOWER_BOUND(v, n, key.addr, 12341);
	CHECK("bsearch: between keys, the next one", pos == 1235);
	CHECK("bsearch: before all", TS_LOWER_BOUND(v, n, key.addr, 0) == 0);
	CHECK("bsearch: after all", TS_LOWER_BOUND(v, n, key.addr, UINT64_MAX) == n);
	free(v);
}

/* TS_LOWER_BOUND wants a member; a bare u64 array goes through ts_lower_bound_u64. */
static void test_bsearch_plain(void)
{
	uint64_t k[] = { 2, 4, 4, 8 };

	CHECK("bsearch: first of equal keys", ts_lower_bound_u64(k, 4, sizeof(k[0]), 0, 4) == 1);
	CHECK("bsearch: NULL base with no elements", ts_lower_bound_u64(NULL, 0, 8, 0, 1) == 0);
}

static void test_parse(void)
{
	static const char *const bad[] = { "nan", "NaN", "-nan", "inf", "-inf", "infinity",
					   "", "1s", "2 ", "x", "1e400" };
	double v = -1;
	size_t i;
	bool all_refused = true;

	CHECK("seconds: 2", ts_parse_seconds("2", &v) == 0 && v == 2.0);
	CHECK("seconds: 0.5", ts_parse_seconds("0.5", &v) == 0 && v == 0.5);
	CHECK("seconds: 1e2", ts_parse_seconds("1e2", &v) == 0 && v == 100.0);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		if (ts_parse_seconds(bad[i], &v) != -EINVAL) {
			printf("# accepted \"%s\"\n", bad[i]);
			all_refused = false;
		}
	}
	CHECK("seconds: nan, inf, garbage, overflow refused", all_refused);
}

int main(void)
{
	test_json_writer();
	test_duration();
	test_array();
	test_bsearch_plain();
	test_parse();
	UNIT_EXIT();
}
