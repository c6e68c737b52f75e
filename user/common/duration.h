/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Nanoseconds for people: the one duration formatter, in three styles. Pure. */
#ifndef TS_DURATION_H
#define TS_DURATION_H

#include <stddef.h>
#include <stdint.h>

enum ts_duration_style {
	/* in sentences (findings): "1.50 s", "350.0 ms", "12.3 us", "800 ns" */
	TS_DURATION_TEXT,
	/* report table cells: "1.50s", "350ms", "12us", "-" for 0 */
	TS_DURATION_CELL,
	/* top columns, narrow: "49us", "3.2ms", "1.20s", "4m05s", "2h10m", "-" for 0 */
	TS_DURATION_COMPACT,
};

void ts_fmt_duration_as(enum ts_duration_style style, uint64_t ns, char *buf, size_t len);

static inline void ts_fmt_duration(uint64_t ns, char *buf, size_t len)
{
	ts_fmt_duration_as(TS_DURATION_TEXT, ns, buf, len);
}

#endif
