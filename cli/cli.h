/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef TS_CLI_H
#define TS_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "attach.h"

#define TASKSCOPE_VERSION "0.1.0"

/* Exit codes: scripts tell "stall found" from "could not look". */
#define TS_EXIT_OK	0
#define TS_EXIT_STALL	1
#define TS_EXIT_ERROR	2

int cmd_report(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_probes(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_help(int argc, char **argv);
int cmd_version(int argc, char **argv);

/*
 * Set by SIGINT and SIGTERM (and SIGHUP when asked): the commands' loops
 * end, detach and exit cleanly. A signal handler can only reach a global.
 */
extern volatile sig_atomic_t ts_stop_requested;
void ts_catch_stop_signals(bool hangup_too);

/*
 * One line on stderr, prefixed "taskscope: "; once JSON output is asked
 * for, the first error is {"error": "..."} on stdout instead.
 */
void ts_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ts_err_as_json(bool on);
/* Before parsing: errors in the options themselves are JSON too when --json is among them. */
void ts_err_as_json_if_asked(int argc, char **argv);
/*
 * An unknown option or a missing value, as getopt_long (opterr = 0, an
 * optstring starting with ':') returned c: one line pointing at --help.
 */
void ts_err_bad_option(const char *cmd, char **argv, int c);
/* Checks we may load BPF; prints the reason and returns false otherwise. */
int ts_require_root(void);
/* Parses a PID argument; returns -1 (after printing why) when invalid. */
int ts_parse_pid(const char *s);
/* --stall-ms N, --long-poll-ms N (0 < N <= a day); -1 after printing why when invalid. */
int ts_parse_ms(const char *option, const char *s, uint64_t *ms);
/* --mode M among allowed (a mask of 1 << TS_MODE_*); -1 after printing why. */
int ts_parse_mode(const char *s, unsigned int allowed, enum ts_probe_mode *mode);
/* --sample-hz N (1 to TS_SAMPLE_HZ_MAX), --burst MS (0 to 500); -1 after printing why. */
int ts_parse_sample_hz(const char *s, unsigned int *hz);
int ts_parse_burst_ms(const char *s, long *ms);
/*
 * A core of pid into dir with gdb's gcore (the process stops while it is
 * written): DIR/core[-TAG].PID, its path into path. 0, or -errno.
 */
int ts_save_core(const char *dir, pid_t pid, const char *tag, char *path, size_t len);
/* A file option's argument must be readable; -1 after printing why. */
int ts_check_readable(const char *option, const char *path);

#endif
