// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * taskscope watch: stays on, and leaves evidence the moment a stall
 * begins. Every watched process is observed in sampled mode by default
 * (memory snapshots, CPU samples, short probe bursts: nothing on the hot
 * path, see user/observe/sampled.h), its findings are folded into a
 * tracker (user/watch/stall_tracker.h) so that each stall is reported once
 * when it begins and once when it ends, and each new one gets a report
 * (text and JSON) in --out, bounded in count and bytes.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "observe.h"
#include "parse.h"
#include "proc_scan.h"
#include "report.h"
#include "sampled.h"
#include "stall_rules.h"
#include "stall_tracker.h"
#include "watch_out.h"

extern char **environ;

#define MAX_WATCHED		64
#define RESCAN_NS		(2000ULL * 1000 * 1000)
#define TICK_NS			(50ULL * 1000 * 1000)

enum { OPT_MAX_REPORTS = 1000, OPT_MAX_MB, OPT_END_AFTER, OPT_SAMPLE_HZ, OPT_BURST, OPT_CORE_DIR };

struct watch_env {
	pid_t pids[MAX_WATCHED];
	size_t npids;
	bool all;
	uint64_t stall_ms, long_poll_ms;
	const char *out;
	const char *exec;
	const char *core_dir;	/* a core of the process per new incident (gcore) */
	double interval_s;
	double duration_s;	/* 0: until stopped */
	size_t max_reports;
	uint64_t max_mb;
	double end_after_s;
	enum ts_probe_mode mode;
	unsigned int sample_hz;
	long burst_ms;
	const char *debuginfo;
	bool verbose;
};

struct watched {
	pid_t pid;
	struct observed_proc op;
	struct sampled_session ss;
	uint64_t next_tick_ns, next_snapshot_ns;
};

/* A process that could not be watched, not tried again until it changes. */
struct skipped {
	pid_t pid;
	uint64_t start_ticks;
};

struct watch_state {
	struct watch_env env;
	struct watched *w[MAX_WATCHED];
	size_t nw;
	struct skipped skipped[256];
	size_t nskipped;
	struct proc_scan scan;
	struct stall_tracker tracker;
	struct watch_out out;
	struct ts_rules_config cfg;
	uint64_t stalls_begun;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: taskscope watch (-p PID [-p PID]... | --all) [--out DIR] [--exec CMD]\n"
		"                       [--stall-ms N] [--long-poll-ms N] [-i SECONDS] [-d SECONDS]\n"
		"                       [--max-reports N] [--max-mb N] [--end-after SECONDS] [--core-dir DIR]\n"
		"                       [--mode sampled|default|light] [--debuginfo FILE]\n\n"
		"Stays on and writes a report (text and JSON) into --out the moment a stall\n"
		"begins; the same ongoing stall is reported once, and its end once. Watches\n"
		"in sampled mode by default: nothing traps on the target's hot path.\n\n"
		"Options:\n"
		"  -p, --pid PID         a process to watch (repeatable); watch ends when\n"
		"                        every one has exited\n"
		"  -a, --all             every process with a supported runtime, picked up\n"
		"                        as it starts (a restarted service is watched again)\n"
		"  -o, --out DIR         where reports go (default ./taskscope-stalls): one\n"
		"                        report per incident (the stalls one look found\n"
		"                        begun), stall-<time>-<pid>-<comm>-<kind>.{txt,json},\n"
		"                        and events.jsonl, one line per stall begun or ended\n"
		"  -e, --exec CMD        run CMD (through /bin/sh) for each new report, with\n"
		"                        the text report's path as $1 (JSON: same name, .json)\n"
		"  -s, --stall-ms N      waits flagged from N ms (default 1000)\n"
		"  -l, --long-poll-ms N  polls flagged from N ms (default 100)\n"
		"  -i, --interval SECS   snapshot period (default 1)\n"
		"  -d, --duration SECS   stop after SECS (default: until Ctrl-C / SIGTERM)\n"
		"      --max-reports N   keep the newest N reports (default 100)\n"
		"      --max-mb N        and at most N MiB of them (default 64)\n"
		"      --end-after SECS  a stall not seen for SECS has ended (default 3)\n"
		"      --core-dir DIR    also save a core of the process per incident (gdb's\n"
		"                        gcore: it STOPS the process while the dump is\n"
		"                        written); taskscope report --core reads it\n"
		"  -m, --mode MODE       sampled (default), default or light (traps per poll)\n"
		"      --sample-hz N     sampled mode: samples per second per CPU (default 199)\n"
		"      --burst MS        sampled mode: precise probes MS per second (default:\n"
		"                        10-80, sized to 0.3%% of a CPU in traps)\n"
		"  -g, --debuginfo FILE  DWARF for the binary (with one -p)\n"
		"  -v, --verbose         libbpf debug output\n"
		"  -h, --help            this text\n\n"
		"Exit status: 0 no stall began, 1 at least one did, 2 error.\n\n"
		"Examples:\n"
		"  sudo taskscope watch --all --out /var/log/taskscope\n"
		"  sudo taskscope watch -p 4242 --exec 'mail -s stall oncall < \"$1\"'\n");
}

static int parse_args(int argc, char **argv, struct watch_env *env)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "all", no_argument, NULL, 'a' },
		{ "out", required_argument, NULL, 'o' },
		{ "exec", required_argument, NULL, 'e' },
		{ "stall-ms", required_argument, NULL, 's' },
		{ "long-poll-ms", required_argument, NULL, 'l' },
		{ "interval", required_argument, NULL, 'i' },
		{ "duration", required_argument, NULL, 'd' },
		{ "max-reports", required_argument, NULL, OPT_MAX_REPORTS },
		{ "max-mb", required_argument, NULL, OPT_MAX_MB },
		{ "end-after", required_argument, NULL, OPT_END_AFTER },
		{ "core-dir", required_argument, NULL, OPT_CORE_DIR },
		{ "mode", required_argument, NULL, 'm' },
		{ "sample-hz", required_argument, NULL, OPT_SAMPLE_HZ },
		{ "burst", required_argument, NULL, OPT_BURST },
		{ "debuginfo", required_argument, NULL, 'g' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	char *end;
	int c, pid;

	env->stall_ms = 1000;
	env->long_poll_ms = 100;
	env->out = "taskscope-stalls";
	env->interval_s = 1.0;
	env->max_reports = 100;
	env->max_mb = 64;
	env->end_after_s = 3.0;
	env->mode = TS_MODE_SAMPLED;
	env->burst_ms = -1;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":p:ao:e:s:l:i:d:m:g:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			pid = ts_parse_pid(optarg);
			if (pid < 0)
				return -1;
			if (env->npids == MAX_WATCHED) {
				ts_err("at most %d -p options", MAX_WATCHED);
				return -1;
			}
			env->pids[env->npids++] = pid;
			break;
		case 'a':
			env->all = true;
			break;
		case 'o':
			env->out = optarg;
			break;
		case 'e':
			env->exec = optarg;
			break;
		case 's':
			if (ts_parse_ms("--stall-ms", optarg, &env->stall_ms))
				return -1;
			break;
		case 'l':
			if (ts_parse_ms("--long-poll-ms", optarg, &env->long_poll_ms))
				return -1;
			break;
		case 'i':
			if (ts_parse_seconds(optarg, &env->interval_s) || env->interval_s < 0.1 ||
			    env->interval_s > 3600) {
				ts_err("invalid --interval '%s' (seconds, 0.1 to 3600)", optarg);
				return -1;
			}
			break;
		case 'd':
			if (ts_parse_seconds(optarg, &env->duration_s) || env->duration_s <= 0 ||
			    env->duration_s > 366 * 86400.0) {
				ts_err("invalid --duration '%s' (seconds, > 0)", optarg);
				return -1;
			}
			break;
		case OPT_MAX_REPORTS:
			env->max_reports = strtoul(optarg, &end, 10);
			if (*end || *optarg == '-' || !env->max_reports || env->max_reports > 100000) {
				ts_err("invalid --max-reports '%s' (1 to 100000)", optarg);
				return -1;
			}
			break;
		case OPT_MAX_MB:
			env->max_mb = strtoull(optarg, &end, 10);
			if (*end || *optarg == '-' || !env->max_mb || env->max_mb > 1024 * 1024) {
				ts_err("invalid --max-mb '%s' (1 to 1048576)", optarg);
				return -1;
			}
			break;
		case OPT_CORE_DIR: {
			struct stat sb;

			if (stat(optarg, &sb) || !S_ISDIR(sb.st_mode) || strchr(optarg, '\'')) {
				ts_err("--core-dir: '%s' is not a directory", optarg);
				return -1;
			}
			env->core_dir = optarg;
			break;
		}
		case OPT_END_AFTER:
			if (ts_parse_seconds(optarg, &env->end_after_s) || env->end_after_s <= 0 ||
			    env->end_after_s > 86400) {
				ts_err("invalid --end-after '%s' (seconds, > 0)", optarg);
				return -1;
			}
			break;
		case 'm':
			if (ts_parse_mode(optarg, 1u << TS_MODE_SAMPLED | 1u << TS_MODE_DEFAULT |
					  1u << TS_MODE_LIGHT, &env->mode))
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
			ts_err_bad_option("watch", argv, c);
			return -1;
		}
	}
	if (optind < argc) {
		ts_err("unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (!env->npids == !env->all) {
		ts_err("watch needs -p PID or --all, one of them (see taskscope watch --help)");
		return -1;
	}
	if (env->debuginfo && env->npids != 1) {
		ts_err("--debuginfo goes with one -p PID (a file is the DWARF of one binary)");
		return -1;
	}
	return 0;
}

static void now_wall(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

static void stamp(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;

	now_wall(&ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void watched__free(struct watched *w)
{
	sampled_session__stop(&w->ss);
	observed_proc__close(&w->op);
	free(w);
}

/* Opens, attaches and takes the first look at pid; NULL with why on failure. */
static struct watched *watched__start(struct watch_state *st, pid_t pid, char *why,
				      size_t whylen)
{
	const struct watch_env *env = &st->env;
	struct watched *w = calloc(1, sizeof(*w));
	struct sampled_opts so;
	int err;

	if (!w) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	w->pid = pid;
	err = observed_proc__open(&w->op, pid, why, whylen);
	if (err) {
		free(w);
		return NULL;
	}
	observed_proc__load_dwarf(&w->op, env->debuginfo);
	w->op.find_roots = true;	/* a stall in main or a block_on is one too */
	err = observed_proc__load_bpf(&w->op, env->verbose);
	if (err) {
		snprintf(why, whylen, "PID %d: loading BPF programs failed: %s", pid,
			 strerror(-err));
		goto fail;
	}
	if (env->mode == TS_MODE_SAMPLED) {
		sampled_opts__default(&so);
		if (env->sample_hz)
			so.sample_hz = env->sample_hz;
		if (env->burst_ms >= 0) {
			so.burst_ns = (uint64_t)env->burst_ms * 1000 * 1000;
			so.burst_sized = false;
		}
		so.snapshot_every_ns = (uint64_t)(env->interval_s * 1e9);
		so.verbose = env->verbose;
		err = sampled_session__start(&w->ss, &w->op, &w->op.own_bpf, &so, why, whylen);
	} else {
		err = observed_proc__attach(&w->op, NULL, env->mode, why, whylen);
	}
	if (err)
		goto fail;
	w->next_tick_ns = ts_now_ns();
	w->next_snapshot_ns = w->next_tick_ns + (uint64_t)(env->interval_s * 1e9);
	return w;
fail:
	watched__free(w);
	return NULL;
}

static bool is_watched(const struct watch_state *st, pid_t pid)
{
	size_t i;

	for (i = 0; i < st->nw; i++)
		if (st->w[i]->pid == pid)
			return true;
	return false;
}

static bool is_skipped(struct watch_state *st, pid_t pid)
{
	uint64_t ticks = 0;
	size_t i;

	proc_start_ticks(pid, &ticks);
	for (i = 0; i < st->nskipped; i++)
		if (st->skipped[i].pid == pid)
			return st->skipped[i].start_ticks == ticks;
	return false;
}

static void skip(struct watch_state *st, pid_t pid)
{
	struct skipped *s;
	size_t i;

	for (i = 0; i < st->nskipped && st->skipped[i].pid != pid; i++)
		;
	if (i == st->nskipped) {
		if (st->nskipped == sizeof(st->skipped) / sizeof(st->skipped[0]))
			i = 0;	/* full: forget the oldest */
		else
			st->nskipped++;
	}
	s = &st->skipped[i];
	s->pid = pid;
	s->start_ticks = 0;
	proc_start_ticks(pid, &s->start_ticks);
}

static int add_watched(struct watch_state *st, pid_t pid, bool quiet_failure)
{
	char why[512], ts[32];
	struct watched *w;

	if (st->nw == MAX_WATCHED) {
		if (!quiet_failure)
			ts_err("watching %d processes already: PID %d left out", MAX_WATCHED, pid);
		skip(st, pid);
		return -E2BIG;
	}
	w = watched__start(st, pid, why, sizeof(why));
	if (!w) {
		if (!quiet_failure)
			ts_err("%s", why);
		else if (st->env.verbose)
			fprintf(stderr, "taskscope: not watched: %s\n", why);
		skip(st, pid);
		return -EINVAL;
	}
	st->w[st->nw++] = w;
	stamp(ts, sizeof(ts));
	printf("%s watching PID %d (%s) %s %s, mode %s\n", ts, pid, w->op.comm,
	       w->op.tb.runtime_name, w->op.tb.version[0] ? w->op.tb.version : "",
	       st->env.mode == TS_MODE_SAMPLED ? "sampled" :
	       st->env.mode == TS_MODE_LIGHT ? "light" : "default");
	fflush(stdout);
	return 0;
}

static void run_exec(const char *cmd, const char *path)
{
	char *argv[] = { "sh", "-c", (char *)cmd, "sh", (char *)path, NULL };
	pid_t child;
	int err;

	/* CMD sees the report as $1: no quoting of the path into the command */
	err = posix_spawn(&child, "/bin/sh", NULL, NULL, argv, environ);
	if (err)
		ts_err("--exec: starting /bin/sh failed: %s", strerror(err));
}

static void reap_children(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/*
 * The events of one snapshot of w (or of its exit: p NULL). The stalls
 * that began together share one report: a deadlock and the idle findings
 * of its tasks are one incident, one file, one --exec.
 */
static void handle_events(struct watch_state *st, struct watched *w, struct ts_process *p,
			  struct ts_finding *f, size_t nf, struct stall_event *ev, size_t nev)
{
	struct ts_report_opts ro = {
		.stall_ns = st->cfg.stall_ns,
		.long_poll_ns = st->cfg.long_poll_ns,
	};
	char path[4200] = "", ts[32];
	struct timespec when;
	size_t i;
	int err;

	now_wall(&when);
	stamp(ts, sizeof(ts));
	for (i = 0; i < nev && p; i++) {
		if (ev[i].what != STALL_BEGAN)
			continue;
		/* findings come ordered by kind, worst first: the first names the file */
		err = watch_out__report(&st->out, p, f, nf, &ro, &ev[i].stall, &when, path,
					sizeof(path));
		if (err) {
			ts_err("writing the report into %s failed: %s", st->out.dir,
			       strerror(-err));
			path[0] = '\0';
		}
		break;
	}
	for (i = 0; i < nev; i++) {
		const struct stall_event *e = &ev[i];

		if (e->what == STALL_ENDED) {
			printf("%s stall ended: PID %d (%s) [%s] %s, after %.1f s\n", ts,
			       e->stall.pid, w->op.comm, ts_finding_kind_name(e->stall.kind),
			       e->stall.name,
			       (double)(e->stall.last_ns - e->stall.first_ns) / 1e9);
			watch_out__event(&st->out, e, w->op.comm, &when, NULL);
			continue;
		}
		st->stalls_begun++;
		printf("%s stall began: PID %d (%s) [%s] %s%s%s\n", ts, e->stall.pid,
		       w->op.comm, ts_finding_kind_name(e->stall.kind), f[e->finding].message,
		       path[0] ? " -> " : "", path);
		watch_out__event(&st->out, e, w->op.comm, &when, path[0] ? path : NULL);
	}
	if (st->env.core_dir && path[0]) {
		char core[4300];

		if (ts_save_core(st->env.core_dir, w->pid, ts, core, sizeof(core)))
			printf("%s saving a core of PID %d failed\n", ts, w->pid);
		else
			printf("%s core of PID %d saved: %s\n", ts, w->pid, core);
	}
	if (st->env.exec && path[0])
		run_exec(st->env.exec, path);
	fflush(stdout);
}

/* One snapshot of w: findings into the tracker, reports for new stalls. */
static int look(struct watch_state *st, struct watched *w, uint64_t now)
{
	struct ts_process p = {};
	struct ts_finding *f = NULL;
	struct stall_event *ev = NULL;
	size_t nev = 0;
	int nf, err;

	if (st->env.mode == TS_MODE_SAMPLED)
		err = sampled_session__snapshot(&w->ss, &p);
	else
		err = observed_proc__snapshot(&w->op, true, &p);
	if (err)
		goto cleanup;
	/* where the stall candidates wait: chains of tasks waiting past half the threshold */
	observed_proc__await_chains(&w->op, &p, 0, st->cfg.stall_ns / 2);
	nf = ts_rules__evaluate(&p, &st->cfg, &f);
	if (nf < 0) {
		err = nf;
		goto cleanup;
	}
	err = stall_tracker__update(&st->tracker, w->pid, &p, f, (size_t)nf, now, &ev, &nev);
	if (!err)
		err = stall_tracker__expire(&st->tracker, w->pid, now, false, &ev, &nev);
	if (!err)
		handle_events(st, w, &p, f, (size_t)nf, ev, nev);
cleanup:
	free(ev);
	free(f);
	ts_process__free(&p);
	return err;
}

static void drop_watched(struct watch_state *st, size_t i, const char *why)
{
	struct watched *w = st->w[i];
	struct stall_event *ev = NULL;
	size_t nev = 0;
	char ts[32];

	stall_tracker__expire(&st->tracker, w->pid, ts_now_ns(), true, &ev, &nev);
	handle_events(st, w, NULL, NULL, 0, ev, nev);
	free(ev);
	stamp(ts, sizeof(ts));
	printf("%s PID %d (%s) %s: no longer watched\n", ts, w->pid, w->op.comm, why);
	fflush(stdout);
	watched__free(w);
	st->w[i] = st->w[--st->nw];
}

static void rescan(struct watch_state *st)
{
	pid_t pids[4096];
	int n, i;

	n = proc_scan__tokio_pids(&st->scan, pids, sizeof(pids) / sizeof(pids[0]));
	for (i = 0; i < n; i++)
		if (!is_watched(st, pids[i]) && !is_skipped(st, pids[i]))
			add_watched(st, pids[i], true);
}

int cmd_watch(int argc, char **argv)
{
	struct watch_state *st = calloc(1, sizeof(*st));
	uint64_t start, end = UINT64_MAX, next_rescan = 0, now;
	char why[512];
	int ret = TS_EXIT_ERROR;
	size_t i;

	if (!st) {
		ts_err("out of memory");
		return TS_EXIT_ERROR;
	}
	if (parse_args(argc, argv, &st->env))
		goto cleanup;
	if (!ts_require_root())
		goto cleanup;
	if (watch_out__open(&st->out, st->env.out, st->env.max_reports,
			    st->env.max_mb * 1024 * 1024, why, sizeof(why))) {
		ts_err("%s", why);
		goto cleanup;
	}
	ts_catch_stop_signals(true);
	ts_rules_config__default(&st->cfg);
	st->cfg.stall_ns = st->env.stall_ms * 1000 * 1000;
	st->cfg.long_poll_ns = st->env.long_poll_ms * 1000 * 1000;
	st->tracker.end_after_ns = (uint64_t)(st->env.end_after_s * 1e9);
	for (i = 0; i < st->env.npids; i++)
		if (add_watched(st, st->env.pids[i], false))
			goto cleanup;
	start = ts_now_ns();
	if (st->env.duration_s > 0)
		end = start + (uint64_t)(st->env.duration_s * 1e9);

	while (!ts_stop_requested && (now = ts_now_ns()) < end) {
		uint64_t wake = now + TICK_NS;
		struct timespec nap;

		if (st->env.all && now >= next_rescan) {
			rescan(st);
			next_rescan = now + RESCAN_NS;
		}
		for (i = 0; i < st->nw; i++) {
			struct watched *w = st->w[i];
			enum observed_change ch = observed_proc__check(&w->op);

			if (ch != OBSERVED_SAME) {
				drop_watched(st, i--, observed_change__text(ch));
				continue;
			}
			now = ts_now_ns();
			if (st->env.mode == TS_MODE_SAMPLED && now >= w->next_tick_ns)
				w->next_tick_ns = sampled_session__tick(&w->ss, now);
			if (now >= w->next_snapshot_ns) {
				look(st, w, now);
				w->next_snapshot_ns += (uint64_t)(st->env.interval_s * 1e9);
				if (w->next_snapshot_ns < now)
					w->next_snapshot_ns = now;
			}
			if (st->env.mode == TS_MODE_SAMPLED && w->next_tick_ns < wake)
				wake = w->next_tick_ns;
		}
		reap_children();
		if (!st->env.all && !st->nw)
			break;	/* every -p process has exited */
		now = ts_now_ns();
		if (wake > now + TICK_NS)
			wake = now + TICK_NS;
		if (wake > now) {
			nap.tv_sec = 0;
			nap.tv_nsec = (long)(wake - now);
			nanosleep(&nap, NULL);
		}
	}
	ret = st->stalls_begun ? TS_EXIT_STALL : TS_EXIT_OK;
cleanup:
	while (st->nw)
		watched__free(st->w[--st->nw]);
	proc_scan__free(&st->scan);
	stall_tracker__free(&st->tracker);
	reap_children();
	free(st);
	return ret;
}
