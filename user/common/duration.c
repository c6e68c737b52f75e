/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <stdbool.h>
#include <stdio.h>

#include "array.h"
#include "duration.h"

#define US	1000ULL
#define MS	(1000 * US)
#define SEC	(1000 * MS)
#define MIN	(60 * SEC)
#define HOUR	(60 * MIN)
#define DAY	(24 * HOUR)

/*
 * A style is a list of steps, the first whose bound exceeds ns wins.
 * Rounded steps print ns / unit with %.*f; truncated ones print the whole
 * units, and the next smaller unit in two digits when it has one
 * ("4m05s": a column reads minutes and seconds, never "4.1m").
 */
struct duration_step {
	uint64_t below;
	uint64_t unit;
	int decimals;
	bool truncate;
	const char *suffix;
	uint64_t minor;		/* 0, or the unit of the two-digit remainder */
	const char *minor_suffix;
};

#define ROUNDED(b, u, d, s)	{ .below = (b), .unit = (u), .decimals = (d), .suffix = (s) }
#define TRUNCATED(b, u, s)	{ .below = (b), .unit = (u), .truncate = true, .suffix = (s) }
#define TRUNCATED2(b, u, s, m, ms) \
	{ .below = (b), .unit = (u), .truncate = true, .suffix = (s), .minor = (m), .minor_suffix = (ms) }

static const struct duration_step text_steps[] = {
	TRUNCATED(US, 1, " ns"),
	ROUNDED(MS, US, 1, " us"),
	ROUNDED(SEC, MS, 1, " ms"),
	ROUNDED(100 * SEC, SEC, 2, " s"),
	ROUNDED(UINT64_MAX, SEC, 0, " s"),
};

static const struct duration_step cell_steps[] = {
	ROUNDED(MS, US, 0, "us"),
	ROUNDED(SEC, MS, 0, "ms"),
	ROUNDED(100 * SEC, SEC, 2, "s"),
	ROUNDED(UINT64_MAX, SEC, 0, "s"),
};

static const struct duration_step compact_steps[] = {
	TRUNCATED(MS, US, "us"),
	ROUNDED(10 * MS, MS, 1, "ms"),
	TRUNCATED(SEC, MS, "ms"),
	ROUNDED(10 * SEC, SEC, 2, "s"),
	ROUNDED(100 * SEC, SEC, 1, "s"),
	TRUNCATED(1000 * SEC, SEC, "s"),
	TRUNCATED2(100 * MIN, MIN, "m", SEC, "s"),
	TRUNCATED2(100 * HOUR, HOUR, "h", MIN, "m"),
	TRUNCATED2(UINT64_MAX, DAY, "d", HOUR, "h"),
};

static const struct {
	const struct duration_step *steps;
	size_t nsteps;
	const char *zero;	/* what 0 reads as, when not its steps' "0..." */
} styles[] = {
	[TS_DURATION_TEXT] = { text_steps, ARRAY_SIZE(text_steps), NULL },
	[TS_DURATION_CELL] = { cell_steps, ARRAY_SIZE(cell_steps), "-" },
	[TS_DURATION_COMPACT] = { compact_steps, ARRAY_SIZE(compact_steps), "-" },
};

void ts_fmt_duration_as(enum ts_duration_style style, uint64_t ns, char *buf, size_t len)
{
	const struct duration_step *st;
	size_t i;

	if (style >= ARRAY_SIZE(styles))
		style = TS_DURATION_TEXT;
	if (!ns && styles[style].zero) {
		snprintf(buf, len, "%s", styles[style].zero);
		return;
	}
	for (i = 0; i + 1 < styles[style].nsteps && ns >= styles[style].steps[i].below; i++)
		;
	st = &styles[style].steps[i];
	if (!st->truncate)
		snprintf(buf, len, "%.*f%s", st->decimals, (double)ns / (double)st->unit, st->suffix);
	else if (!st->minor)
		snprintf(buf, len, "%llu%s", (unsigned long long)(ns / st->unit), st->suffix);
	else
		snprintf(buf, len, "%llu%s%02llu%s", (unsigned long long)(ns / st->unit), st->suffix,
			 (unsigned long long)(ns / st->minor % (st->unit / st->minor)),
			 st->minor_suffix);
}
