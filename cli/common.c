/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

void ts_err(const char *fmt, ...)
{
	va_list ap;

	fputs("taskscope: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int ts_require_root(void)
{
	if (geteuid() != 0) {
		ts_err("must run as root: loading BPF programs and uprobes needs "
		       "CAP_BPF and CAP_PERFMON (try sudo)");
		return 0;
	}
	return 1;
}

int ts_parse_pid(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v <= 0 || v > INT_MAX) {
		ts_err("invalid PID '%s'", s);
		return -1;
	}
	return (int)v;
}

int ts_parse_ms(const char *option, const char *s, uint64_t *ms)
{
	char *end;

	errno = 0;
	*ms = strtoull(s, &end, 10);
	if (errno || *end || end == s || !*ms || *s == '-' || *ms > 86400ULL * 1000) {
		ts_err("invalid %s '%s' (milliseconds, > 0)", option, s);
		return -1;
	}
	return 0;
}

int ts_check_readable(const char *option, const char *path)
{
	if (access(path, R_OK)) {
		ts_err("can't read %s %s: %s", option, path, strerror(errno));
		return -1;
	}
	return 0;
}

volatile sig_atomic_t ts_stop_requested;

static void on_stop_signal(int sig)
{
	ts_stop_requested = 1;
}

void ts_catch_stop_signals(bool hangup_too)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (hangup_too)
		sigaction(SIGHUP, &sa, NULL);
}
