/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Interned strings: one copy of each distinct string for the program's
 * life. A million tasks of a few hundred future types share their names
 * instead of carrying 800 bytes each; a pointer from here stays valid
 * through every copy of a task or finding, so snapshots, carried memory
 * scans and findings can all point at it. Safe from several threads.
 */
#ifndef TS_INTERN_H
#define TS_INTERN_H

#include <stddef.h>

/* The one copy of s (NULL is ""); "" when out of memory. Never NULL. */
const char *ts_intern(const char *s);
/* The same for the first n bytes of s. */
const char *ts_intern_n(const char *s, size_t n);
/* printf-style, cut at 1 KiB. */
const char *ts_internf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Distinct strings held (tests, -v). */
size_t ts_intern_count(void);

#endif
