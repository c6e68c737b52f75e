// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* taskscope serve: Prometheus metrics and a web dashboard for the fleet view. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "parse.h"
#include "serve_api.h"
#include "serve_http.h"
#include "serve_metrics.h"
#include "serve_source.h"
#include "top_log.h"

#define SERVE_DEFAULT_LISTEN	"127.0.0.1:9464"
#define SERVE_MAX_PIDS		64
#define SERVE_TOKEN_MAX		256

enum { OPT_LISTEN = 0x100, OPT_TOKEN, OPT_TOKEN_FILE, OPT_SAMPLE_HZ, OPT_BURST };

struct serve_env {
	const char *listen;
	pid_t pids[SERVE_MAX_PIDS];
	size_t npids;
	char token[SERVE_TOKEN_MAX + 1];
	bool has_token;
	enum ts_probe_mode mode;	/* sampled or default */
	unsigned int sample_hz;		/* 0: sampled mode's default */
	long burst_ms;			/* -1: sampled mode's default */
	double interval_s;
	double duration_s;		/* 0: until stopped */
	uint64_t stall_ms, long_poll_ms;
	bool verbose;
};

struct serve_state {
	struct serve_source src;
	struct serve_ledger ledger;
	struct serve_history history;
	struct serve_http *http;
	struct serve_proc *views;
	size_t nviews;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: taskscope serve [--listen ADDR:PORT] [-p PID]... [--token T | --token-file F]\n"
		"                       [-i SECONDS] [--mode sampled|default] [OPTIONS]\n\n"
		"Serves what top shows, for Prometheus and a browser: every tokio (async-std,\n"
		"smol, USDT) process on the host, or the -p ones, refreshed every second.\n"
		"  /                 the dashboard (processes, tasks, stalls, await chains)\n"
		"  /metrics          Prometheus text format, names taskscope_*\n"
		"  /api/processes    JSON: every process, tasks by state, stalls by kind\n"
		"  /api/report?pid=N JSON: one process as `report --json` writes it\n"
		"  /api/history      JSON: tasks by state, one sample per refresh (5 min)\n"
		"Read-only: GET and HEAD; nothing over HTTP attaches to or runs anything.\n"
		"Processes are observed as top observes them, in one of its modes.\n\n"
		"Options:\n"
		"      --listen ADDR:PORT  where to listen (default " SERVE_DEFAULT_LISTEN ");\n"
		"                          an address other than loopback needs a token\n"
		"  -p, --pid PID           observe this process (repeatable, up to %d);\n"
		"                          default: every supported process, as top does\n"
		"      --token T           require \"Authorization: Bearer T\" on /metrics and\n"
		"                          /api/* (the dashboard: open /#token=T)\n"
		"      --token-file F      the token from the first line of F (not in ps)\n"
		"  -m, --mode MODE         sampled (default): nothing on the hot path; tasks\n"
		"                          and states from memory, busy time from CPU samples,\n"
		"                          polls and wakes estimated from probe bursts (10-80 ms/s);\n"
		"                          default: a trap per poll and per wake, exact counts\n"
		"      --sample-hz N       sampled mode: samples per second per CPU (199)\n"
		"      --burst MS          sampled mode: probes attached MS per second\n"
		"                          (default: 10-80, sized to 0.3%% of a CPU in traps)\n"
		"  -i, --interval SECS     refresh period (default 1, 0.2 to 60)\n"
		"  -d, --duration SECS     stop after SECS (default: until SIGINT/SIGTERM)\n"
		"  -s, --stall-ms N        how long a wait must last to be a stall (default 1000)\n"
		"  -l, --long-poll-ms N    how long one poll may hold a worker (default 100)\n"
		"  -v, --verbose           libbpf debug messages\n"
		"  -h, --help              this text\n\n"
		"At most %d processes are exported in /metrics (lowest PIDs; the rest are\n"
		"counted in taskscope_processes_omitted); no label names a task.\n\n"
		"Exit status: 0 when stopped, 2 on error.\n\n"
		"Examples:\n"
		"  sudo taskscope serve\n"
		"  sudo taskscope serve -p 4242 --listen 127.0.0.1:9464\n"
		"  sudo taskscope serve --listen 0.0.0.0:9464 --token-file /etc/taskscope/token\n",
		SERVE_MAX_PIDS, SERVE_MAX_PROCS);
}

static int read_token_file(const char *path, struct serve_env *env)
{
	FILE *f = fopen(path, "r");
	char line[SERVE_TOKEN_MAX + 2];

	if (!f) {
		ts_err("can't read --token-file %s: %s", path, strerror(errno));
		return -1;
	}
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	if (strlen(line) > SERVE_TOKEN_MAX) {
		ts_err("--token-file %s: token longer than %d bytes", path, SERVE_TOKEN_MAX);
		return -1;
	}
	snprintf(env->token, sizeof(env->token), "%s", line);
	return 0;
}

/* A token goes into a header: printable ASCII, no spaces, long enough to guess badly. */
static int check_token(const struct serve_env *env)
{
	const char *c;

	if (strlen(env->token) < 8) {
		ts_err("token too short (at least 8 characters)");
		return -1;
	}
	for (c = env->token; *c; c++) {
		if (*c <= ' ' || *c > '~') {
			ts_err("token has a space or a non-printable character");
			return -1;
		}
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct serve_env *env)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "pid", required_argument, NULL, 'p' },
		{ "token", required_argument, NULL, OPT_TOKEN },
		{ "token-file", required_argument, NULL, OPT_TOKEN_FILE },
		{ "mode", required_argument, NULL, 'm' },
		{ "sample-hz", required_argument, NULL, OPT_SAMPLE_HZ },
		{ "burst", required_argument, NULL, OPT_BURST },
		{ "interval", required_argument, NULL, 'i' },
		{ "duration", required_argument, NULL, 'd' },
		{ "stall-ms", required_argument, NULL, 's' },
		{ "long-poll-ms", required_argument, NULL, 'l' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c, pid;

	env->listen = SERVE_DEFAULT_LISTEN;
	env->interval_s = 1.0;
	env->mode = TS_MODE_SAMPLED;
	env->burst_ms = -1;
	env->stall_ms = 1000;
	env->long_poll_ms = 100;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":p:m:i:d:s:l:vh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_LISTEN:
			env->listen = optarg;
			break;
		case 'p':
			pid = ts_parse_pid(optarg);
			if (pid < 0)
				return -1;
			if (env->npids == SERVE_MAX_PIDS) {
				ts_err("too many -p (at most %d)", SERVE_MAX_PIDS);
				return -1;
			}
			env->pids[env->npids++] = pid;
			break;
		case OPT_TOKEN:
			if (strlen(optarg) > SERVE_TOKEN_MAX) {
				ts_err("--token longer than %d bytes", SERVE_TOKEN_MAX);
				return -1;
			}
			snprintf(env->token, sizeof(env->token), "%s", optarg);
			env->has_token = true;
			break;
		case OPT_TOKEN_FILE:
			if (read_token_file(optarg, env))
				return -1;
			env->has_token = true;
			break;
		case 'm':
			if (ts_parse_mode(optarg, 1u << TS_MODE_SAMPLED | 1u << TS_MODE_DEFAULT,
					  &env->mode))
				return -1;
			break;
		case OPT_SAMPLE_HZ:
			if (ts_parse_sample_hz(optarg, &env->sample_hz))
				return -1;
			break;
		case OPT_BURST:
			if (ts_parse_burst_ms(optarg, &env->burst_ms))
				return -1;
			break;
		case 'i':
			if (ts_parse_seconds(optarg, &env->interval_s) || env->interval_s < 0.2 ||
			    env->interval_s > 60) {
				ts_err("invalid interval '%s' (seconds, 0.2 to 60)", optarg);
				return -1;
			}
			break;
		case 'd':
			if (ts_parse_seconds(optarg, &env->duration_s) || env->duration_s <= 0 ||
			    env->duration_s > 86400 * 365) {
				ts_err("invalid duration '%s' (seconds, > 0)", optarg);
				return -1;
			}
			break;
		case 's':
			if (ts_parse_ms("--stall-ms", optarg, &env->stall_ms))
				return -1;
			break;
		case 'l':
			if (ts_parse_ms("--long-poll-ms", optarg, &env->long_poll_ms))
				return -1;
			break;
		case 'v':
			env->verbose = true;
			break;
		case 'h':
			usage(stdout);
			exit(TS_EXIT_OK);
		default:
			ts_err_bad_option("serve", argv, c);
			return -1;
		}
	}
	if (optind < argc) {
		ts_err("unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (env->mode != TS_MODE_SAMPLED && (env->sample_hz || env->burst_ms >= 0)) {
		ts_err("--sample-hz and --burst go with --mode sampled");
		return -1;
	}
	if (env->has_token && check_token(env))
		return -1;
	return 0;
}

static uint64_t self_rss_bytes(void)
{
	unsigned long long size, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return 0;
	if (fscanf(f, "%llu %llu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static void self_figures(struct serve_state *st, struct serve_self *self)
{
	struct rusage ru;

	memset(self, 0, sizeof(*self));
	self->version = TASKSCOPE_VERSION;
	self->mode = serve_source__mode_name(&st->src);
	if (st->src.s.sampled) {
		/*
		 * One BPF object per process, attached in bursts: the hits are
		 * theirs; the CPU estimate per hit leaves the samples out, so
		 * none is made (bench/README.md measured the mode as a whole).
		 */
		self->probe_hits = st->ledger.own_hits;
		self->probe_cpu_ratio = -1;
	} else {
		self->probe_hits = serve_source__probe_hits(&st->src);
		self->probe_cpu_ratio = serve_source__probe_cpu_pct(&st->src);
		if (self->probe_cpu_ratio >= 0)
			self->probe_cpu_ratio /= 100.0;
	}
	if (!getrusage(RUSAGE_SELF, &ru))
		self->cpu_s = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
			      (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	self->rss_bytes = self_rss_bytes();
	self->refresh_s = (double)st->src.refresh_ns / 1e9;
	self->attach_failures = st->src.attach_failures;
	if (st->http)
		serve_http__stats(st->http, &self->requests, &self->rejected);
}

/* The processes as the endpoints see them, after each refresh. */
static int collect_views(struct serve_state *st)
{
	size_t n = serve_source__count(&st->src), i;
	struct serve_proc *v = realloc(st->views, (n ? n : 1) * sizeof(*v));
	struct timespec wall;
	int err;

	if (!v)
		return -ENOMEM;
	st->views = v;
	for (i = 0; i < n; i++)
		serve_source__get(&st->src, i, &v[i]);
	st->nviews = n;
	clock_gettime(CLOCK_REALTIME, &wall);
	err = serve_history__add(&st->history, v, n,
				 (uint64_t)wall.tv_sec * 1000 + (uint64_t)wall.tv_nsec / 1000000);
	if (err)
		return err;
	return serve_ledger__update(&st->ledger, v, n);
}

static int endpoint(void *ctx, const char *path, const char *pid_arg, FILE *out,
		    const char **content_type)
{
	struct serve_state *st = ctx;
	struct serve_self self;
	char *end;
	long pid;

	self_figures(st, &self);
	if (!strcmp(path, "/metrics")) {
		*content_type = "text/plain; version=0.0.4; charset=utf-8";
		serve_metrics__write(out, st->views, st->nviews, &st->ledger, &self);
		return 200;
	}
	if (!strcmp(path, "/api/processes")) {
		*content_type = "application/json";
		serve_api__processes(out, st->views, st->nviews, &self, st->src.s.rules.stall_ns);
		return 200;
	}
	errno = 0;
	pid = pid_arg ? strtol(pid_arg, &end, 10) : 0;
	if (pid_arg && (errno || *end || end == pid_arg || pid < 0 || pid > 4194304)) {
		fputs("pid: a process id\n", out);
		return 400;
	}
	if (!strcmp(path, "/api/history")) {
		*content_type = "application/json";
		serve_history__write(out, &st->history, pid_arg ? pid : -1);
		return 200;
	}
	/* /api/report */
	if (pid <= 0) {
		fputs("pid: a process id\n", out);
		return 400;
	}
	*content_type = "application/json";
	if (serve_api__report(out, &st->src, (pid_t)pid)) {
		fprintf(out, "PID %ld is not observed\n", pid);
		return 404;
	}
	return 200;
}

int cmd_serve(int argc, char **argv)
{
	struct serve_env env = {};
	struct serve_state st = {};
	struct serve_http_config hc = {};
	struct sampled_opts so;
	uint64_t interval, next, end = UINT64_MAX;
	char why[512];
	int err, ret = TS_EXIT_ERROR;

	if (parse_args(argc, argv, &env))
		return TS_EXIT_ERROR;
	if (serve_parse_listen(env.listen, &hc.addr, &hc.addrlen)) {
		ts_err("invalid --listen '%s' (ADDR:PORT, [ADDR6]:PORT)", env.listen);
		return TS_EXIT_ERROR;
	}
	if (!serve_addr_is_loopback(&hc.addr) && !env.has_token) {
		ts_err("--listen %s reaches beyond this host: give --token or --token-file",
		       env.listen);
		return TS_EXIT_ERROR;
	}
	if (!ts_require_root())
		return TS_EXIT_ERROR;
	ts_catch_stop_signals(true);
	signal(SIGPIPE, SIG_IGN);
	/* a long-running service: libbpf's and the session's messages go out as they come */
	top_log__set_file("/dev/stderr");

	if (env.mode == TS_MODE_SAMPLED) {
		sampled_opts__default(&so);
		if (env.sample_hz)
			so.sample_hz = env.sample_hz;
		if (env.burst_ms >= 0) {
			so.burst_ns = (uint64_t)env.burst_ms * 1000 * 1000;
			so.burst_sized = false;
		}
		/* a memory snapshot per refresh */
		so.snapshot_every_ns = (uint64_t)(env.interval_s * 1e9);
		so.verbose = env.verbose;
	}
	err = serve_source__open(&st.src, env.pids, env.npids,
				 env.mode == TS_MODE_SAMPLED ? &so : NULL, env.verbose, why,
				 sizeof(why));
	if (err) {
		ts_err("%s", why);
		goto cleanup;
	}
	top_log__capture_libbpf(env.verbose);
	st.src.s.rules.stall_ns = env.stall_ms * 1000 * 1000;
	st.src.s.rules.long_poll_ns = env.long_poll_ms * 1000 * 1000;
	err = serve_source__refresh(&st.src);
	if (!err)
		err = collect_views(&st);
	if (err) {
		ts_err("first refresh failed: %s", strerror(-err));
		goto cleanup;
	}
	hc.token = env.has_token ? env.token : NULL;
	hc.endpoint = endpoint;
	hc.ctx = &st;
	err = serve_http__start(&st.http, &hc, why, sizeof(why));
	if (err) {
		ts_err("%s", why);
		goto cleanup;
	}
	printf("taskscope serve: listening on http://%s/ (%zu process%s, mode %s)\n", env.listen,
	       st.nviews, st.nviews == 1 ? "" : "es", serve_source__mode_name(&st.src));
	fflush(stdout);

	interval = (uint64_t)(env.interval_s * 1e9);
	next = ts_now_ns() + interval;
	if (env.duration_s > 0)
		end = ts_now_ns() + (uint64_t)(env.duration_s * 1e9);
	while (!ts_stop_requested && ts_now_ns() < end) {
		serve_http__run_until(st.http, next < end ? next : end, &ts_stop_requested);
		if (ts_stop_requested || ts_now_ns() >= end)
			break;
		err = serve_source__refresh(&st.src);
		if (err)
			top_log("refresh failed: %s", strerror(-err));
		err = collect_views(&st);
		if (err) {
			ts_err("out of memory");
			goto cleanup;
		}
		next += interval;
		if (next < ts_now_ns())
			next = ts_now_ns() + interval;	/* a refresh longer than the period */
	}
	ret = TS_EXIT_OK;
cleanup:
	serve_http__stop(st.http);
	serve_source__close(&st.src);
	serve_ledger__free(&st.ledger);
	serve_history__free(&st.history);
	free(st.views);
	top_log__free();
	return ret;
}
