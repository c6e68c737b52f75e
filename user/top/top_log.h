/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Messages while `taskscope top` owns the terminal: libbpf's and top's own
 * (a process that could not be attached...). Kept in memory, the last one
 * shown on the status line, all of them printed to stderr after endwin();
 * with --log FILE also appended there as they come.
 */
#ifndef TS_TOP_LOG_H
#define TS_TOP_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define TOP_LOG_KEEP	64

void top_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void top_log_v(const char *fmt, va_list ap);
/* Sends libbpf's messages here (debug ones only when verbose). */
void top_log__capture_libbpf(bool verbose);
/* Also append every message to this file (NULL: none). */
int top_log__set_file(const char *path);
/* Messages logged so far (including ones no longer kept). */
size_t top_log__count(void);
/* The latest message, "" when none. */
const char *top_log__last(void);
/* The kept messages, oldest first, each as "taskscope: ...". */
void top_log__dump(FILE *out);
void top_log__free(void);

#endif
