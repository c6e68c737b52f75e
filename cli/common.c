/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "json_writer.h"
#include "sampler.h"

static bool json_errors, json_error_written;

void ts_err_as_json(bool on)
{
	json_errors = on;
}

void ts_err_as_json_if_asked(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j"))
			json_errors = true;
}

void ts_err(const char *fmt, ...)
{
	struct json_writer jw;
	char *msg = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		msg = NULL;
	/*
	 * Under --json a script reads stdout: one object it can parse, as
	 * bpftool's p_err does. One only: a second error (a cleanup failing
	 * after the first) goes to stderr rather than break the document.
	 */
	if (json_errors && !json_error_written) {
		json_error_written = true;
		jw_init(&jw, stdout);
		jw_object_begin(&jw);
		jw_kv_string(&jw, "error", msg ? msg : fmt);
		jw_object_end(&jw);
		jw_finish(&jw);
	} else {
		fprintf(stderr, "taskscope: %s\n", msg ? msg : fmt);
	}
	free(msg);
}

void ts_err_bad_option(const char *cmd, char **argv, int c)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	char shown[64];

	/* getopt_long leaves the culprit in argv[optind - 1], a short one in optopt */
	if (!strncmp(arg, "--", 2))
		snprintf(shown, sizeof(shown), "%.*s", (int)strcspn(arg, "="), arg);
	else if (optopt)
		snprintf(shown, sizeof(shown), "-%c", optopt);
	else
		snprintf(shown, sizeof(shown), "%s", arg);
	if (c == ':')
		ts_err("option '%s' needs a value (see taskscope %s --help)", shown, cmd);
	else
		ts_err("unknown option '%s' (see taskscope %s --help)", shown, cmd);
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

int ts_parse_mode(const char *s, unsigned int allowed, enum ts_probe_mode *mode)
{
	static const char *const names[] = {
		[TS_MODE_DEFAULT] = "default", [TS_MODE_FULL] = "full",
		[TS_MODE_LIGHT] = "light", [TS_MODE_SAMPLED] = "sampled",
	};
	char list[64] = "";
	size_t i, o = 0;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(allowed & (1u << i)))
			continue;
		if (!strcmp(s, names[i])) {
			*mode = (enum ts_probe_mode)i;
			return 0;
		}
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", o ? ", " : "", names[i]);
	}
	ts_err("invalid --mode '%s' (%s)", s, list);
	return -1;
}

int ts_parse_sample_hz(const char *s, unsigned int *hz)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*end || end == s || *s == '-' || !v || v > TS_SAMPLE_HZ_MAX) {
		ts_err("invalid --sample-hz '%s' (1 to %d)", s, TS_SAMPLE_HZ_MAX);
		return -1;
	}
	*hz = (unsigned int)v;
	return 0;
}

int ts_parse_burst_ms(const char *s, long *ms)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end || end == s || v < 0 || v > 500) {
		ts_err("invalid --burst '%s' (milliseconds per second, 0 to 500)", s);
		return -1;
	}
	*ms = v;
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

int ts_save_core(const char *dir, pid_t pid, const char *tag, char *path, size_t len)
{
	char prefix[4200], cmd[4600];
	int rc;

	/*
	 * gdb's gcore: it stops the process while it writes the dump (a
	 * ptrace attach), which is why it is only ever done when asked.
	 * Single quotes around the prefix: dir comes from the user.
	 */
	if (strchr(dir, '\'') || strchr(tag, '\''))
		return -EINVAL;
	snprintf(prefix, sizeof(prefix), "%s/core%s%s", dir, tag[0] ? "-" : "", tag);
	snprintf(cmd, sizeof(cmd), "gcore -o '%s' %d >/dev/null 2>&1", prefix, pid);
	rc = system(cmd);
	if (rc != 0)
		return -EIO;
	snprintf(path, len, "%s.%d", prefix, pid);
	return 0;
}
