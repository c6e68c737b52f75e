/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Command-line numbers, checked the same way by every command. Pure. */
#ifndef TS_PARSE_H
#define TS_PARSE_H

/*
 * A number of seconds ("2", "0.5", "1e2"): the whole string a finite
 * number. strtod also takes "nan" and "inf", which every range check
 * lets through (NaN compares false) and which turn into garbage once
 * cast to nanoseconds. 0 or -EINVAL; the range is the caller's.
 */
int ts_parse_seconds(const char *s, double *out);

#endif
