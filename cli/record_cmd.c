/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* taskscope record -p PID -o FILE: a timeline for Perfetto, replayable by report and top. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "parse.h"
#include "recorder.h"

enum { OPT_RING_KB = 1000 };

struct record_env {
	int pid;
	double duration_s;
	double interval_s;
	const char *out_path;
	unsigned long ring_kb;
	enum ts_probe_mode mode;
	uint64_t stall_ms, long_poll_ms;
	const char *debuginfo;
	bool verbose;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: taskscope record -p PID -o FILE [-d SECONDS] [-i SECONDS] [--ring-kb N]\n"
		"                        [--mode M] [--stall-ms N] [--long-poll-ms N]\n"
		"                        [--debuginfo FILE]\n\n"
		"Records what the tasks of a running tokio, async-std or smol process do, as a\n"
		"timeline in the Chrome trace-event JSON format that Perfetto (ui.perfetto.dev)\n"
		"and chrome://tracing open: one track per worker thread with a slice per poll,\n"
		"named by task (and the .await it resumed from, when DWARF tells), wake arrows\n"
		"from the waking poll to the woken task's next poll, stalls as instant events.\n"
		"A snapshot of the task model is kept every interval in the same file, so\n"
		"'taskscope report --from FILE' and 'taskscope top --replay FILE' show it later.\n\n"
		"Options:\n"
		"  -p, --pid PID          process to record (required)\n"
		"  -o, --output FILE      where to write the recording (required)\n"
		"  -d, --duration SECS    how long to record (default 5)\n"
		"  -i, --interval SECS    between snapshots of the task model (default 1)\n"
		"      --ring-kb N        ring buffer between the probes and taskscope, KiB, a\n"
		"                         power of two from 4 (default 4096); events that find\n"
		"                         it full are dropped, counted and reported\n"
		"  -m, --mode MODE        default: a trap per poll and per wake, poll ends\n"
		"                         inferred; full: adds a uretprobe per poll (exact\n"
		"                         poll ends, one more trap)\n"
		"  -s, --stall-ms N       how long a wait must last to be flagged (default 1000)\n"
		"  -l, --long-poll-ms N   how long one poll may hold a worker (default 100)\n"
		"  -g, --debuginfo FILE   DWARF for the binary, when it is not in the binary\n"
		"  -v, --verbose          libbpf debug output\n"
		"  -h, --help             this text\n\n"
		"Every poll and wake is traced while recording: a busy service pays a trap per\n"
		"poll and wake (bench/README.md). Exit status: 0 recorded, 2 error.\n\n"
		"Examples:\n"
		"  sudo taskscope record -p 4242 -d 10 -o trace.json\n"
		"  taskscope report --from trace.json\n"
		"  taskscope top --replay trace.json\n");
}

static int parse_args(int argc, char **argv, struct record_env *env)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "output", required_argument, NULL, 'o' },
		{ "duration", required_argument, NULL, 'd' },
		{ "interval", required_argument, NULL, 'i' },
		{ "ring-kb", required_argument, NULL, OPT_RING_KB },
		{ "mode", required_argument, NULL, 'm' },
		{ "stall-ms", required_argument, NULL, 's' },
		{ "long-poll-ms", required_argument, NULL, 'l' },
		{ "debuginfo", required_argument, NULL, 'g' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	char *end;
	int c;

	env->duration_s = 5.0;
	env->interval_s = 1.0;
	env->ring_kb = TS_REC_RING_BYTES / 1024;
	env->stall_ms = 1000;
	env->long_poll_ms = 100;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":p:o:d:i:m:s:l:g:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			env->pid = ts_parse_pid(optarg);
			if (env->pid < 0)
				return -1;
			break;
		case 'o':
			env->out_path = optarg;
			break;
		case 'd':
			if (ts_parse_seconds(optarg, &env->duration_s) ||
			    env->duration_s <= 0 || env->duration_s > 86400) {
				ts_err("invalid duration '%s' (seconds, > 0)", optarg);
				return -1;
			}
			break;
		case 'i':
			if (ts_parse_seconds(optarg, &env->interval_s) ||
			    env->interval_s < 0.1 || env->interval_s > 3600) {
				ts_err("invalid interval '%s' (seconds, 0.1 to 3600)", optarg);
				return -1;
			}
			break;
		case OPT_RING_KB:
			errno = 0;
			env->ring_kb = strtoul(optarg, &end, 10);
			/* the kernel wants a power-of-two number of pages */
			if (errno || *end || env->ring_kb < 4 || env->ring_kb > (1u << 20) ||
			    (env->ring_kb & (env->ring_kb - 1))) {
				ts_err("invalid --ring-kb '%s' (a power of two, 4 to 1048576)", optarg);
				return -1;
			}
			break;
		case 'm':
			if (ts_parse_mode(optarg, 1u << TS_MODE_DEFAULT | 1u << TS_MODE_FULL,
					  &env->mode))
				return -1;
			break;
		case 's':
			if (ts_parse_ms("--stall-ms", optarg, &env->stall_ms))
				return -1;
			break;
		case 'l':
			if (ts_parse_ms("--long-poll-ms", optarg, &env->long_poll_ms))
				return -1;
			break;
		case 'g':
			if (ts_check_readable("--debuginfo", optarg))
				return -1;
			env->debuginfo = optarg;
			break;
		case 'v':
			env->verbose = true;
			break;
		case 'h':
			usage(stdout);
			exit(TS_EXIT_OK);
		default:
			ts_err_bad_option("record", argv, c);
			return -1;
		}
	}
	if (optind < argc) {
		ts_err("unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (!env->pid) {
		ts_err("record needs -p PID (see taskscope record --help)");
		return -1;
	}
	if (!env->out_path) {
		ts_err("record needs -o FILE, where to write the recording");
		return -1;
	}
	return 0;
}

static void print_summary(const struct record_env *env, const struct recorder_result *res)
{
	fprintf(stderr, "recorded PID %d for %.1f s%s: %llu polls, %llu wake arrows, %llu stalls, "
		"%llu snapshots; %.1f MB (%.0f bytes per poll) in %s\n",
		env->pid, res->seconds, res->target_gone ? " (it exited)" : "",
		(unsigned long long)res->slices, (unsigned long long)res->flows,
		(unsigned long long)res->stalls, (unsigned long long)res->snapshots,
		(double)res->bytes / 1e6, res->slices ? (double)res->bytes / (double)res->slices : 0,
		env->out_path);
	if (res->dropped)
		fprintf(stderr, "dropped %llu events: the ring buffer was full (--ring-kb %lu; "
			"try %lu)\n", (unsigned long long)res->dropped, env->ring_kb,
			env->ring_kb < (1u << 20) ? env->ring_kb * 4 : env->ring_kb);
	else
		fprintf(stderr, "dropped 0 events\n");
}

int cmd_record(int argc, char **argv)
{
	struct record_env env = {};
	struct recorder_opts o = {};
	struct recorder_result res;
	char why[512];
	FILE *out = NULL;
	int err, ret = TS_EXIT_ERROR;

	if (parse_args(argc, argv, &env))
		return TS_EXIT_ERROR;
	if (!ts_require_root())
		return TS_EXIT_ERROR;
	ts_catch_stop_signals(false);
	out = fopen(env.out_path, "w");
	if (!out) {
		ts_err("can't write %s: %s", env.out_path, strerror(errno));
		return TS_EXIT_ERROR;
	}
	o.duration_s = env.duration_s;
	o.interval_s = env.interval_s;
	o.ring_bytes = (uint32_t)(env.ring_kb * 1024);
	o.mode = env.mode;
	o.debuginfo = env.debuginfo;
	o.verbose = env.verbose;
	ts_rules_config__default(&o.rules);
	o.rules.stall_ns = env.stall_ms * 1000 * 1000;
	o.rules.long_poll_ns = env.long_poll_ms * 1000 * 1000;

	err = recorder__run(env.pid, out, &o, &ts_stop_requested, &res, why, sizeof(why));
	if (fclose(out) && !err) {
		err = -errno;
		snprintf(why, sizeof(why), "writing %s failed: %s", env.out_path, strerror(errno));
	}
	if (err) {
		ts_err("%s", why);
		unlink(env.out_path);	/* half a recording opens nowhere */
		return TS_EXIT_ERROR;
	}
	print_summary(&env, &res);
	ret = TS_EXIT_OK;
	return ret;
}
