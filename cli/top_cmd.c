/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* taskscope top [-p PID]: an htop for async tasks, or --batch frames like top -b. */
#include <errno.h>
#include <getopt.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <ncurses.h>

#include "cli.h"
#include "parse.h"
#include "top_log.h"
#include "top_screen.h"
#include "top_replay.h"
#include "top_session.h"
#include "sampled.h"
#include "top_ui.h"

struct top_env {
	int pid;			/* 0: system-wide */
	double interval_s;
	long iterations;		/* 0: until told to stop */
	bool batch;
	bool ascii;
	bool no_colour;
	int width;			/* batch; 0: the terminal's or 160 */
	uint64_t stall_ms;
	uint64_t long_poll_ms;
	const char *log_path;
	const char *debuginfo;
	bool verbose;
	bool sampled;			/* --mode sampled */
	unsigned int sample_hz;		/* --sample-hz, 0: default */
	long burst_ms;			/* --burst, -1: default */
	const char *replay;		/* --replay FILE: a recording (taskscope record) */
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: taskscope top [-p PID] [-i SECONDS] [-n N] [--batch] [--ascii] [OPTIONS]\n"
		"       taskscope top --replay FILE [-i SECONDS] [-n N] [--batch] [OPTIONS]\n\n"
		"An htop for async tasks: every tokio task of one process (-p) or of every tokio\n"
		"process on the host (found in /proc and attached as they start), refreshed\n"
		"every second: state, busy/scheduled/idle time, polls, wakes, longest poll, and\n"
		"the stalls flagged (highlighted rows, WARN column). Press ? inside for keys.\n\n"
		"Options:\n"
		"  -p, --pid PID          watch one process (default: system-wide)\n"
		"  -i, --interval SECS    refresh period (default 1, at least 0.1)\n"
		"  -n, --iterations N     stop after N refreshes, in --batch and in the TUI\n"
		"  -b, --batch            plain text, one frame per refresh, no terminal (top -b)\n"
		"  -w, --width COLS       --batch line width (default: the terminal's, else 160)\n"
		"  -a, --ascii            ASCII only: no Unicode glyphs (also when the locale\n"
		"                         is not UTF-8)\n"
		"      --no-color         no colours: bold and reverse video only\n"
		"  -s, --stall-ms N       how long a wait must last to be flagged (default 1000)\n"
		"  -l, --long-poll-ms N   how long one poll may hold a worker (default 100)\n"
		"  -m, --mode MODE        sampled (top's default): nothing on the hot path:\n"
		"                         memory snapshots, CPU samples and short probe\n"
		"                         bursts (estimates shown with ~; ~0.4%% CPU at 199 Hz\n"
		"                         + ~0.8%% in bursts, bench/README.md); default: probes\n"
		"                         on every poll and wake (exact counts, a trap per\n"
		"                         poll: costs a busy service 40%% of its throughput)\n"
		"      --sample-hz N      sampled mode: samples per second per CPU (199)\n"
		"      --burst MS         sampled mode: probes attached MS per second\n"
		"                         (default: 10-80, sized to 0.3%% of a CPU in traps)\n"
		"  -g, --debuginfo FILE   DWARF for the -p process's binary when it is not in\n"
		"                         the binary (names, await chains in the detail)\n"
		"      --replay FILE      show a recording of taskscope record instead of a live\n"
		"                         process: one snapshot per refresh from its start, with\n"
		"                         a time cursor (keys below); --batch prints every\n"
		"                         snapshot (or -n N of them); no root needed\n"
		"      --log FILE         append libbpf's and top's messages to FILE (they are\n"
		"                         printed to stderr after the screen is given back)\n"
		"  -v, --verbose          libbpf debug messages too\n"
		"  -h, --help             this text\n\n"
		"Keys: arrows/j k move, PgUp PgDn Home End, < > (or Left Right) sort column,\n"
		"i invert, / filter by name, Enter task detail, w workers, p processes,\n"
		"t task tree (who spawned whom), r resources (locks, channels: who holds,\n"
		"who waits), P problems (each finding's .await lines, who can free them),\n"
		"D wait-for graph as DOT, d done tasks, Space pause, ? help, q or Esc\n"
		"back/quit.\n"
		"Replay keys: Space pause/resume, . , one snapshot forward/back, ] [ (or\n"
		"Shift-Right Shift-Left) 10 s forward/back, g G start/end (Home End still\n"
		"move the selection, < > still sort).\n\n"
		"Exit status: 0 after q, N refreshes, Ctrl-C or SIGTERM, and when the process\n"
		"watched with -p exits (\"PID N exited\" is printed); 2 on error. Every probe is\n"
		"detached on the way out.\n\n"
		"Examples:\n"
		"  sudo taskscope top -p 4242\n"
		"  sudo taskscope top\n"
		"  sudo taskscope top -p 4242 --batch -n 3 > frames.txt\n"
		"  taskscope top --replay trace.json\n");
}

static int parse_args(int argc, char **argv, struct top_env *env)
{
	enum { OPT_LOG = 0x100, OPT_NO_COLOUR, OPT_SAMPLE_HZ, OPT_BURST, OPT_REPLAY };
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "interval", required_argument, NULL, 'i' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "batch", no_argument, NULL, 'b' },
		{ "width", required_argument, NULL, 'w' },
		{ "ascii", no_argument, NULL, 'a' },
		{ "no-color", no_argument, NULL, OPT_NO_COLOUR },
		{ "no-colour", no_argument, NULL, OPT_NO_COLOUR },
		{ "stall-ms", required_argument, NULL, 's' },
		{ "long-poll-ms", required_argument, NULL, 'l' },
		{ "log", required_argument, NULL, OPT_LOG },
		{ "debuginfo", required_argument, NULL, 'g' },
		{ "mode", required_argument, NULL, 'm' },
		{ "sample-hz", required_argument, NULL, OPT_SAMPLE_HZ },
		{ "burst", required_argument, NULL, OPT_BURST },
		{ "replay", required_argument, NULL, OPT_REPLAY },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	enum ts_probe_mode mode;
	char *end;
	long v;
	int c;

	env->interval_s = 1.0;
	/* left on a production host: nothing may trap on the hot path (issue 10) */
	env->sampled = true;
	env->stall_ms = 1000;
	env->long_poll_ms = 100;
	env->burst_ms = -1;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":p:i:n:bw:as:l:g:m:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (ts_parse_mode(optarg, 1u << TS_MODE_DEFAULT | 1u << TS_MODE_SAMPLED, &mode))
				return -1;
			env->sampled = mode == TS_MODE_SAMPLED;
			break;
		case OPT_SAMPLE_HZ:
			if (ts_parse_sample_hz(optarg, &env->sample_hz))
				return -1;
			break;
		case OPT_BURST:
			if (ts_parse_burst_ms(optarg, &env->burst_ms))
				return -1;
			break;
		case 'p':
			env->pid = ts_parse_pid(optarg);
			if (env->pid < 0)
				return -1;
			break;
		case 'i':
			if (ts_parse_seconds(optarg, &env->interval_s) ||
			    env->interval_s < 0.1 || env->interval_s > 3600) {
				ts_err("invalid interval '%s' (seconds, 0.1 to 3600)", optarg);
				return -1;
			}
			break;
		case 'n':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || v <= 0) {
				ts_err("invalid iteration count '%s' (a number > 0)", optarg);
				return -1;
			}
			env->iterations = v;
			break;
		case 'b':
			env->batch = true;
			break;
		case 'w':
			v = strtol(optarg, &end, 10);
			if (*end || v < 40 || v > 1000) {
				ts_err("invalid width '%s' (40 to 1000 columns)", optarg);
				return -1;
			}
			env->width = (int)v;
			break;
		case 'a':
			env->ascii = true;
			break;
		case OPT_NO_COLOUR:
			env->no_colour = true;
			break;
		case 's':
			if (ts_parse_ms("--stall-ms", optarg, &env->stall_ms))
				return -1;
			break;
		case 'l':
			if (ts_parse_ms("--long-poll-ms", optarg, &env->long_poll_ms))
				return -1;
			break;
		case OPT_LOG:
			env->log_path = optarg;
			break;
		case OPT_REPLAY:
			env->replay = optarg;
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
			ts_err_bad_option("top", argv, c);
			return -1;
		}
	}
	if (optind < argc) {
		ts_err("unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (env->replay && (env->pid || env->debuginfo || env->sample_hz || env->burst_ms >= 0)) {
		ts_err("--replay shows a recording: -p, --debuginfo, --sample-hz and --burst "
		       "don't apply");
		return -1;
	}
	if (env->debuginfo && !env->pid) {
		ts_err("--debuginfo goes with -p PID (one binary)");
		return -1;
	}
	return 0;
}

static int batch_width(const struct top_env *env)
{
	struct winsize ws;
	const char *cols = getenv("COLUMNS");

	if (env->width)
		return env->width;
	if (isatty(STDOUT_FILENO) && !ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_col >= 40)
		return ws.ws_col;
	if (cols && atoi(cols) >= 40)
		return atoi(cols) > 1000 ? 1000 : atoi(cols);
	return 160;
}

/* Sleeps until deadline (CLOCK_MONOTONIC ns), waking for a signal. */
static void sleep_until(uint64_t deadline)
{
	struct timespec tick = { .tv_nsec = 50 * 1000 * 1000 };

	while (!ts_stop_requested && ts_now_ns() < deadline) {
		uint64_t left = deadline - ts_now_ns();

		if (left < (uint64_t)tick.tv_nsec)
			tick.tv_nsec = (long)left;
		nanosleep(&tick, NULL);
	}
}

static int run_batch(struct top_session *s, struct top_ui *ui, const struct top_env *env,
		     pid_t *gone)
{
	uint64_t interval = (uint64_t)(env->interval_s * 1e9), next = ts_now_ns();
	int width = batch_width(env), err;
	long n;

	for (n = 0; !ts_stop_requested && (!env->iterations || n < env->iterations); n++) {
		struct top_text frame = {};

		if (n)
			sleep_until(next);
		if (ts_stop_requested)
			break;
		next += interval;
		err = top_session__refresh(s, false, gone);
		if (!err)
			err = top_ui__update(ui, s);
		if (!err)
			err = top_ui__compose_batch(ui, s, width, &frame);
		if (!err) {
			if (n)
				fputc('\n', stdout);
			top_text__write(&frame, stdout);
			if (fflush(stdout) == EOF)
				err = -EPIPE;
		}
		top_text__free(&frame);
		if (err)
			return err;
	}
	return 0;
}

/* One frame of the views, composed for the screen's size and drawn. */
static int draw_frame(struct top_ui *ui, struct top_session *s, struct top_screen *sc)
{
	struct top_text frame = {};
	int err;

	err = top_ui__compose(ui, s, sc->cols, sc->rows, &frame);
	if (!err)
		top_screen__draw(sc, &frame);
	top_text__free(&frame);
	return err;
}

static int run_tui(struct top_session *s, struct top_ui *ui, const struct top_env *env,
		   struct top_screen *sc, pid_t *gone)
{
	uint64_t interval = (uint64_t)(env->interval_s * 1e9), next = ts_now_ns();
	long n = 0;
	bool draw = true;
	int err;

	while (!ts_stop_requested) {
		uint64_t now = ts_now_ns();
		int key, r, wait_ms;

		if (!ui->paused && now >= next) {
			err = top_session__refresh(s, false, gone);
			if (!err)
				err = top_ui__update(ui, s);
			if (err)
				return err;
			next = now + interval;
			n++;
			draw = true;
		}
		if (draw) {
			err = draw_frame(ui, s, sc);
			if (err)
				return err;
			draw = false;
		}
		/* -n bounds the TUI too, so CI can run it headless */
		if (env->iterations && n >= env->iterations)
			break;
		now = ts_now_ns();
		wait_ms = ui->paused ? 1000 : next > now ? (int)((next - now) / 1000000) + 1 : 0;
		key = top_screen__key(sc, wait_ms);
		if (key < 0)
			continue;
		r = top_ui__key(ui, s, key);
		if (r & TOP_R_QUIT)
			break;
		if (r & TOP_R_REFRESH)
			next = 0;
		if (r & TOP_R_REDRAW)
			draw = true;
	}
	return 0;
}

/* ---- --replay FILE ------------------------------------------------------- */

/* Every snapshot from the start (or -n N of them), one frame each, no waiting. */
static int replay_batch(struct top_replay *r, struct top_session *s, struct top_ui *ui,
			const struct top_env *env)
{
	int width = batch_width(env), err = 0;
	long n;

	for (n = 0; !ts_stop_requested && (!env->iterations || n < env->iterations) &&
		    (size_t)n < r->rec.nsnaps; n++) {
		struct top_text frame = {};

		err = top_replay__show(r, s, (size_t)n);
		if (!err)
			err = top_ui__update(ui, s);
		if (!err)
			err = top_ui__compose_batch(ui, s, width, &frame);
		if (!err) {
			if (n)
				fputc('\n', stdout);
			top_text__write(&frame, stdout);
			if (fflush(stdout) == EOF)
				err = -EPIPE;
		}
		top_text__free(&frame);
		if (err)
			break;
	}
	return err;
}

/*
 * The time cursor's keys, before top's own: in a replay '.' ',' 'g' 'G'
 * move in time (the sort and the selection keep < > and Home End); the
 * arrows stay top's, so seeking is ] [ or Shift-arrows. -1: not one.
 */
static long replay_key_target(const struct top_replay *r, int key)
{
	switch (key) {
	case '.':
		return (long)(r->at + 1 < r->rec.nsnaps ? r->at + 1 : r->at);
	case ',':
		return (long)(r->at ? r->at - 1 : 0);
	case ']':
	case KEY_SRIGHT:
		return (long)top_replay__seek_index(r, 10);
	case '[':
	case KEY_SLEFT:
		return (long)top_replay__seek_index(r, -10);
	case 'g':
		return 0;
	case 'G':
		return (long)r->rec.nsnaps - 1;
	}
	return -1;
}

static int replay_tui(struct top_replay *r, struct top_session *s, struct top_ui *ui,
		      const struct top_env *env, struct top_screen *sc)
{
	uint64_t interval = (uint64_t)(env->interval_s * 1e9), next = 0;
	long n = 0, target;
	bool draw = true;
	int err;

	err = top_replay__show(r, s, 0);
	if (!err)
		err = top_ui__update(ui, s);
	if (err)
		return err;
	next = ts_now_ns() + interval;
	while (!ts_stop_requested) {
		uint64_t now = ts_now_ns();
		int key, res, wait_ms;

		if (!ui->paused && now >= next) {
			/* plays to the end, then holds the last snapshot, paused */
			if (top_replay__at_end(r)) {
				ui->paused = true;
			} else {
				err = top_replay__show(r, s, r->at + 1);
				if (!err)
					err = top_ui__update(ui, s);
				if (err)
					return err;
				n++;
			}
			next = now + interval;
			draw = true;
		}
		if (draw) {
			err = draw_frame(ui, s, sc);
			if (err)
				return err;
			draw = false;
		}
		if (env->iterations && n >= env->iterations)
			break;
		now = ts_now_ns();
		wait_ms = ui->paused ? 1000 : next > now ? (int)((next - now) / 1000000) + 1 : 0;
		key = top_screen__key(sc, wait_ms);
		if (key < 0)
			continue;
		target = ui->editing || ui->help ? -1 : replay_key_target(r, key);
		if (target >= 0) {
			err = top_replay__show(r, s, (size_t)target);
			if (!err)
				err = top_ui__update(ui, s);
			if (err)
				return err;
			next = ts_now_ns() + interval;
			draw = true;
			continue;
		}
		res = top_ui__key(ui, s, key);
		if (res & TOP_R_QUIT)
			break;
		if (res & TOP_R_REFRESH)
			next = 0;
		if (res & TOP_R_REDRAW)
			draw = true;
	}
	return 0;
}

static int cmd_top_replay(const struct top_env *env, bool utf8)
{
	struct top_replay r;
	struct top_session s;
	struct top_screen sc = {};
	struct top_ui ui;
	char why[512];
	int err, ret = TS_EXIT_ERROR;

	err = top_replay__open(&r, &s, env->replay, why, sizeof(why));
	if (err) {
		ts_err("%s", why);
		return TS_EXIT_ERROR;
	}
	s.rules.stall_ns = env->stall_ms * 1000 * 1000;
	s.rules.long_poll_ns = env->long_poll_ms * 1000 * 1000;
	top_ui__init(&ui, false, env->ascii || !utf8);
	if (env->batch) {
		err = replay_batch(&r, &s, &ui, env);
	} else {
		err = top_screen__open(&sc, env->no_colour);
		if (err) {
			ts_err("can't set up the terminal (TERM=%s); try --batch",
			       getenv("TERM") ? getenv("TERM") : "");
			goto cleanup;
		}
		err = replay_tui(&r, &s, &ui, env, &sc);
	}
	top_screen__close(&sc);
	if (err == -EPIPE || !err)
		ret = TS_EXIT_OK;
	else
		ts_err("replaying %s failed: %s", env->replay, strerror(-err));
cleanup:
	top_screen__close(&sc);
	top_ui__free(&ui);
	top_replay__close(&r, &s);
	return ret;
}

int cmd_top(int argc, char **argv)
{
	struct top_env env = {};
	struct top_session s = {};
	struct top_screen sc = {};
	struct top_ui ui;
	char why[512];
	pid_t gone = 0;
	bool opened = false, utf8;
	int err, ret = TS_EXIT_ERROR;

	if (parse_args(argc, argv, &env))
		return TS_EXIT_ERROR;
	if (!env.replay && !ts_require_root())
		return TS_EXIT_ERROR;
	setlocale(LC_ALL, "");
	utf8 = !strcmp(nl_langinfo(CODESET), "UTF-8");
	if (!env.batch && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
		ts_err("top needs a terminal (use --batch for plain text)");
		return TS_EXIT_ERROR;
	}
	if (env.replay) {
		ts_catch_stop_signals(true);
		signal(SIGPIPE, SIG_IGN);
		return cmd_top_replay(&env, utf8);
	}
	if (env.log_path && top_log__set_file(env.log_path)) {
		ts_err("can't open log file %s: %s", env.log_path, strerror(errno));
		return TS_EXIT_ERROR;
	}
	ts_catch_stop_signals(true);
	signal(SIGPIPE, SIG_IGN);

	err = top_session__open(&s, env.pid == 0, env.verbose);
	if (err) {
		ts_err("loading BPF programs failed: %s (run with -v for libbpf's log)",
		       strerror(-err));
		goto cleanup;
	}
	opened = true;
	s.rules.stall_ns = env.stall_ms * 1000 * 1000;
	s.rules.long_poll_ns = env.long_poll_ms * 1000 * 1000;
	s.debuginfo = env.debuginfo;
	if (env.sampled) {
		s.sampled = true;
		sampled_opts__default(&s.sampled_opts);
		if (env.sample_hz)
			s.sampled_opts.sample_hz = env.sample_hz;
		if (env.burst_ms >= 0) {
			s.sampled_opts.burst_ns = (uint64_t)env.burst_ms * 1000 * 1000;
			s.sampled_opts.burst_sized = false;
		}
		/* a memory snapshot per refresh */
		s.sampled_opts.snapshot_every_ns = (uint64_t)(env.interval_s * 1e9);
		/*
		 * Each process gets its own object (top_proc__open); the shared
		 * one's sched_switch program would run on every context switch
		 * of the host for nobody (7.6 k/s under the HTTP benchmark).
		 */
		ts_bpf__detach_sched(&s.bpf);
	}
	if (env.pid) {
		err = top_session__add(&s, env.pid, why, sizeof(why));
		if (err) {
			ts_err("%s", why);
			goto cleanup;
		}
	}
	/* from here on libbpf speaks to the log, never over the screen */
	top_log__capture_libbpf(env.verbose);
	if (!env.pid)
		top_session__rescan(&s);

	top_ui__init(&ui, env.pid == 0, env.ascii || !utf8);
	if (env.batch) {
		err = run_batch(&s, &ui, &env, &gone);
	} else {
		err = top_screen__open(&sc, env.no_colour);
		if (err) {
			ts_err("can't set up the terminal (TERM=%s); try --batch",
			       getenv("TERM") ? getenv("TERM") : "");
			goto cleanup_ui;
		}
		err = run_tui(&s, &ui, &env, &sc, &gone);
	}
	/* the terminal first, so that what follows is readable */
	top_screen__close(&sc);
	if (err == -ESRCH) {
		ts_err("PID %d exited", gone);
		ret = TS_EXIT_OK;
	} else if (err == -EPIPE) {
		ret = TS_EXIT_OK;	/* the reader went away: | head */
	} else if (err) {
		ts_err("refreshing failed: %s", strerror(-err));
	} else {
		ret = TS_EXIT_OK;
	}
cleanup_ui:
	top_ui__free(&ui);
cleanup:
	top_screen__close(&sc);
	if (opened)
		top_session__close(&s);
	top_log__dump(stderr);
	top_log__free();
	return ret;
}
