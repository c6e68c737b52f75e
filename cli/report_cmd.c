/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* taskscope report -p PID: observe, detach, print tasks and stalls. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "observe.h"
#include "parse.h"
#include "recording.h"
#include "report.h"
#include "sampled.h"
#include "stall_rules.h"

/* long options without a short one */
enum { OPT_SAMPLE_HZ = 1000, OPT_BURST, OPT_CORE, OPT_EXE, OPT_GRAPH, OPT_FROM, OPT_AT };

struct report_env {
	int pid;
	double duration_s;
	bool json;
	bool verbose;
	enum ts_probe_mode mode;	/* --mode */
	bool all;
	uint64_t task_id;	/* --task ID */
	const char *debuginfo;	/* --debuginfo FILE */
	uint64_t stall_ms;
	uint64_t long_poll_ms;
	unsigned int sample_hz;	/* --sample-hz, sampled mode */
	long burst_ms;		/* --burst MS, sampled mode; -1: default */
	const char *core;	/* --core FILE: post-mortem */
	const char *exe;	/* --exe FILE: the core's binary */
	const char *graph;	/* --graph dot|svg: the wait-for graph instead of the report */
	const char *graph_file;	/* svg: where */
	const char *from;	/* --from FILE: a recording (taskscope record) */
	double at_s;		/* --at SECONDS into it; < 0: its last snapshot */
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: taskscope report -p PID [-d SECONDS] [--json] [--stall-ms N] [--long-poll-ms N]\n"
		"                        [--mode M] [--all] [--task ID] [--debuginfo FILE]\n"
		"                        [--sample-hz N] [--burst MS] [--graph dot | --graph svg FILE]\n"
		"       taskscope report --core FILE [--exe BINARY] [--json] [--all] [--task ID]\n"
		"                        [--debuginfo FILE]\n"
		"       taskscope report --from FILE [--at SECONDS] [--json] [--all] [--task ID]\n"
		"                        [--graph ...]\n\n"
		"Attaches to a running tokio, async-std or smol process, observes it,\n"
		"detaches, and prints its tasks (state, polls, busy/scheduled/idle time,\n"
		"wakes) and the stalls found:\n"
		"blocked workers, starved tasks, spinning tasks, lost wakes, long-idle tasks.\n"
		"Tasks idle since before the attach are found in memory (read-only).\n\n"
		"Options:\n"
		"  -p, --pid PID        process to observe (required)\n"
		"  -d, --duration SECS  how long to observe (default 2)\n"
		"  -j, --json           JSON output (schema in README)\n"
		"  -s, --stall-ms N     how long a wait (idle, woken but not polled) must\n"
		"                       last to be flagged (default 1000)\n"
		"  -l, --long-poll-ms N how long one poll may hold a worker before it is\n"
		"                       flagged blocked_worker (default 100)\n"
		"  -m, --mode MODE      default: a trap per poll and per wake, poll ends\n"
		"                       inferred; full: adds a uretprobe per poll for exact\n"
		"                       durations; light: no wake probes, one trap per poll\n"
		"                       (no wake counts, no scheduled time, no starvation);\n"
		"                       sampled: no trap on the hot path: tasks and states\n"
		"                       from memory, busy time and long polls from CPU\n"
		"                       samples, polls and wakes estimated from short bursts\n"
		"      --sample-hz N    sampled mode: samples per second per CPU (default 199)\n"
		"      --burst MS       sampled mode: precise probes attached MS per second\n"
		"                       (default: 10 to 80, sized so their traps take at most\n"
		"                       0.3%% of a CPU; 0: none, no polls or wakes then)\n"
		"  -a, --all            list finished tasks too (JSON always has them)\n"
		"  -t, --task ID        that task in full: await chain with captured variables\n"
		"  -g, --debuginfo FILE DWARF for the binary, when it is not in the binary,\n"
		"                       next to it (.gnu_debuglink) or under /usr/lib/debug\n"
		"      --core FILE      post-mortem: read the tasks of the process a core\n"
		"                       file holds (gcore, a crash); states, await chains,\n"
		"                       holds and deadlocks, no counts and no times\n"
		"      --exe BINARY     the core's executable, when it is not at the path\n"
		"                       the core names (another machine, a container)\n"
		"      --from FILE      a recording of taskscope record: the report of its last\n"
		"                       snapshot (or the one --at picks), same rules and output\n"
		"                       as live; no root needed\n"
		"      --at SECONDS     with --from: the snapshot taken at or before SECONDS\n"
		"                       after the recording began\n"
		"      --graph dot      print the wait-for graph as Graphviz DOT instead of the\n"
		"                       report: tasks -> what they await -> who can free it,\n"
		"                       deadlock cycles in red, stuck tasks coloured by wait\n"
		"      --graph svg FILE render it to FILE with Graphviz's dot\n"
		"  -v, --verbose        libbpf debug output\n"
		"  -h, --help           this text\n\n"
		"Exit status: 0 nothing flagged, 1 a stall was flagged, 2 error.\n\n"
		"Examples:\n"
		"  sudo taskscope report -p 4242\n"
		"  sudo taskscope report -p 4242 -d 5 --json | jq '.stalls'\n"
		"  gcore -o /tmp/core 4242 && taskscope report --core /tmp/core.4242\n"
		"  taskscope report --from trace.json --at 3\n");
}

static int parse_args(int argc, char **argv, struct report_env *env)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "stall-ms", required_argument, NULL, 's' },
		{ "long-poll-ms", required_argument, NULL, 'l' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "mode", required_argument, NULL, 'm' },
		{ "all", no_argument, NULL, 'a' },
		{ "task", required_argument, NULL, 't' },
		{ "debuginfo", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ "sample-hz", required_argument, NULL, OPT_SAMPLE_HZ },
		{ "burst", required_argument, NULL, OPT_BURST },
		{ "core", required_argument, NULL, OPT_CORE },
		{ "exe", required_argument, NULL, OPT_EXE },
		{ "graph", required_argument, NULL, OPT_GRAPH },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "at", required_argument, NULL, OPT_AT },
		{},
	};
	char *end;
	int c;

	env->duration_s = 2.0;
	env->stall_ms = 1000;
	env->long_poll_ms = 100;
	env->burst_ms = -1;
	env->at_s = -1;
	ts_err_as_json_if_asked(argc, argv);
	optind = 1;
	while ((c = getopt_long(argc, argv, ":p:d:js:l:vm:at:g:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (ts_parse_mode(optarg, 1u << TS_MODE_DEFAULT | 1u << TS_MODE_FULL |
					  1u << TS_MODE_LIGHT | 1u << TS_MODE_SAMPLED, &env->mode))
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
		case OPT_CORE:
			if (ts_check_readable("--core", optarg))
				return -1;
			env->core = optarg;
			break;
		case OPT_FROM:
			env->from = optarg;
			break;
		case OPT_AT:
			if (ts_parse_seconds(optarg, &env->at_s) || env->at_s < 0 ||
			    env->at_s > 1e9) {
				ts_err("invalid --at '%s' (seconds into the recording, >= 0)", optarg);
				return -1;
			}
			break;
		case OPT_EXE:
			if (ts_check_readable("--exe", optarg))
				return -1;
			env->exe = optarg;
			break;
		case OPT_GRAPH:
			if (strcmp(optarg, "dot") && strcmp(optarg, "svg")) {
				ts_err("invalid --graph '%s' (dot, or svg FILE)", optarg);
				return -1;
			}
			env->graph = optarg;
			if (!strcmp(optarg, "svg")) {
				if (optind >= argc || argv[optind][0] == '-') {
					ts_err("--graph svg needs the FILE to write");
					return -1;
				}
				env->graph_file = argv[optind++];
			}
			break;
		case 'p':
			env->pid = ts_parse_pid(optarg);
			if (env->pid < 0)
				return -1;
			break;
		case 'd':
			if (ts_parse_seconds(optarg, &env->duration_s) ||
			    env->duration_s <= 0 || env->duration_s > 86400) {
				ts_err("invalid duration '%s' (seconds, > 0)", optarg);
				return -1;
			}
			break;
		case 'j':
			env->json = true;
			ts_err_as_json(true);
			break;
		case 'a':
			env->all = true;
			break;
		case 't':
			env->task_id = strtoull(optarg, &end, 10);
			if (*end || !env->task_id) {
				ts_err("invalid --task '%s' (a tokio task Id)", optarg);
				return -1;
			}
			break;
		case 'g':
			if (ts_check_readable("--debuginfo", optarg))
				return -1;
			env->debuginfo = optarg;
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
			ts_err_bad_option("report", argv, c);
			return -1;
		}
	}
	if (optind < argc) {
		ts_err("unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (env->from && (env->pid || env->core || env->exe || env->debuginfo || env->mode ||
			  env->sample_hz || env->burst_ms >= 0)) {
		ts_err("--from reads a recording: -p, --core, --exe, --debuginfo, --mode, "
		       "--sample-hz and --burst don't apply");
		return -1;
	}
	if (env->at_s >= 0 && !env->from) {
		ts_err("--at goes with --from FILE (a time in a recording)");
		return -1;
	}
	if (env->from)
		return 0;
	if (env->core && env->pid) {
		ts_err("report takes -p PID or --core FILE, not both");
		return -1;
	}
	if (env->graph && env->json) {
		ts_err("--graph and --json are two outputs: pick one");
		return -1;
	}
	if (env->exe && !env->core) {
		ts_err("--exe goes with --core (a live process names its own binary)");
		return -1;
	}
	if (!env->pid && !env->core) {
		ts_err("report needs -p PID or --core FILE (see taskscope report --help)");
		return -1;
	}
	return 0;
}

static bool has_task(const struct ts_process *p, uint64_t id)
{
	size_t i;

	for (i = 0; i < p->ntasks; i++)
		if (p->tasks[i].task_id == id)
			return true;
	return false;
}

/*
 * --graph: DOT on stdout, or piped to Graphviz's dot for an SVG. dot is
 * run with execvp (no shell), the DOT written to its stdin.
 */
static int write_graph(const struct ts_process *p, const struct report_env *env,
		       uint64_t stall_ns)
{
	struct ts_wait_graph g;
	int fds[2], status = 0, err = -1;
	pid_t child;
	FILE *to;

	if (ts_wait_graph__build(&g, p)) {
		ts_err("out of memory");
		return -1;
	}
	if (!strcmp(env->graph, "dot")) {
		ts_wait_graph__write_dot(&g, stdout, stall_ns);
		fflush(stdout);
		ts_wait_graph__free(&g);
		return 0;
	}
	if (pipe(fds)) {
		ts_err("pipe: %s", strerror(errno));
		goto out;
	}
	child = fork();
	if (child < 0) {
		ts_err("fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		goto out;
	}
	if (!child) {
		char *args[] = { "dot", "-Tsvg", "-o", (char *)env->graph_file, NULL };

		dup2(fds[0], STDIN_FILENO);
		close(fds[0]);
		close(fds[1]);
		execvp("dot", args);
		_exit(127);
	}
	close(fds[0]);
	to = fdopen(fds[1], "w");
	if (to) {
		ts_wait_graph__write_dot(&g, to, stall_ns);
		fclose(to);
	} else {
		close(fds[1]);
	}
	waitpid(child, &status, 0);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		ts_err("Graphviz's dot not found: install graphviz, or use --graph dot");
	else if (!WIFEXITED(status) || WEXITSTATUS(status))
		ts_err("dot failed to write %s", env->graph_file);
	else {
		fprintf(stderr, "wrote %s\n", env->graph_file);
		err = 0;
	}
out:
	ts_wait_graph__free(&g);
	return err;
}

/* Sleeps for the window, watching for Ctrl-C and for the target's exit. */
static int observe_window(const struct observed_proc *op, double seconds)
{
	uint64_t end = ts_now_ns() + (uint64_t)(seconds * 1e9);
	struct timespec tick = { .tv_nsec = 50 * 1000 * 1000 };

	while (!ts_stop_requested && ts_now_ns() < end) {
		nanosleep(&tick, NULL);
		if (!observed_proc__alive(op))
			return -ESRCH;
	}
	return 0;
}

/* --core: the process a core file holds, from memory alone. */
static int observe_core(struct core_file *cf, struct observed_proc *op,
			const struct report_env *env, struct ts_process *proc)
{
	char why[512];
	int err;

	err = core_file__open(cf, env->core, why, sizeof(why));
	if (!err)
		err = observed_proc__open_core(op, cf, env->exe, why, sizeof(why));
	if (err) {
		ts_err("%s", why);
		return err;
	}
	observed_proc__load_dwarf(op, env->debuginfo);
	op->find_roots = true;
	err = observed_proc__snapshot_memory(op, proc);
	if (err) {
		ts_err("reading the tasks of PID %d from %s failed: %s", op->pid, env->core,
		       err == -ENOENT ? "no task found in its memory" : strerror(-err));
		observed_proc__close(op);
		return err;
	}
	return 0;
}

/* --mode sampled: memory, samples and bursts over the window (user/observe/sampled.h). */
static int observe_sampled(struct sampled_session *ss, struct observed_proc *op,
			   struct ts_bpf *bpf, const struct report_env *env, struct ts_process *proc)
{
	struct sampled_opts o;
	uint64_t end, now, due;
	char why[512];
	int err;

	sampled_opts__default(&o);
	if (env->sample_hz)
		o.sample_hz = env->sample_hz;
	if (env->burst_ms >= 0) {
		o.burst_ns = (uint64_t)env->burst_ms * 1000 * 1000;
		o.burst_sized = false;
	}
	o.verbose = env->verbose;
	o.full_scan_each_snapshot = true;	/* one snapshot, at the end */
	err = sampled_session__start(ss, op, bpf, &o, why, sizeof(why));
	if (err) {
		ts_err("%s", why);
		return err;
	}
	end = op->attach_ns + (uint64_t)(env->duration_s * 1e9);
	while (!ts_stop_requested && (now = ts_now_ns()) < end) {
		struct timespec tick = { 0 };

		due = sampled_session__tick(ss, now);
		now = ts_now_ns();
		if (due > end)
			due = end;
		if (due > now + 50 * 1000 * 1000)
			due = now + 50 * 1000 * 1000;
		if (due > now) {
			tick.tv_nsec = (long)(due - now);
			nanosleep(&tick, NULL);
		}
		if (!observed_proc__alive(op)) {
			ts_err("PID %d %s during observation", env->pid,
			       observed_change__text(observed_proc__check(op)));
			return -ESRCH;
		}
	}
	err = sampled_session__snapshot(ss, proc);
	if (err) {
		if (!observed_proc__alive(op))
			ts_err("PID %d %s during observation", env->pid,
			       observed_change__text(observed_proc__check(op)));
		else
			ts_err("reading PID %d's tasks failed: %s", env->pid, strerror(-err));
	}
	return err;
}

int cmd_report(int argc, char **argv)
{
	struct report_env env = {};
	struct observed_proc op = {};
	struct ts_process proc = {}, *snap = NULL;
	struct ts_rules_config cfg;
	struct ts_finding *findings = NULL;
	struct ts_report_opts ropts = {};
	struct sampled_session ss = {};
	struct core_file cf = { .fd = -1 };
	struct recording rec = {};
	char why[512];
	int err, nf, ret = TS_EXIT_ERROR;
	bool op_open = false;

	if (parse_args(argc, argv, &env))
		return TS_EXIT_ERROR;
	if (env.from) {
		/* a file: the snapshot the recorder took, chains and all */
		if (recording__load(&rec, env.from, why, sizeof(why))) {
			ts_err("%s", why);
			goto cleanup;
		}
		snap = &rec.snaps[env.at_s < 0 ? rec.nsnaps - 1 :
				  recording__index_at(&rec, env.at_s)];
		goto replayed;
	}
	if (env.core) {
		/* a file: no root needed, nothing attached */
		if (observe_core(&cf, &op, &env, &proc))
			goto cleanup;
		op_open = true;
		goto observed;
	}
	if (!ts_require_root())
		return TS_EXIT_ERROR;
	ts_catch_stop_signals(false);

	err = observed_proc__open(&op, env.pid, why, sizeof(why));
	if (err) {
		ts_err("%s", why);
		goto cleanup;
	}
	op_open = true;
	observed_proc__load_dwarf(&op, env.debuginfo);
	op.find_roots = true;	/* each thread's block_on future: main, a test */
	err = observed_proc__load_bpf(&op, env.verbose);
	if (err) {
		ts_err("loading BPF programs failed: %s (run with -v for libbpf's log)",
		       strerror(-err));
		goto cleanup;
	}
	if (env.mode == TS_MODE_SAMPLED) {
		if (observe_sampled(&ss, &op, &op.own_bpf, &env, &proc))
			goto cleanup;
		goto observed;
	}
	err = observed_proc__attach(&op, NULL, env.mode, why, sizeof(why));
	if (err) {
		ts_err("%s", why);
		goto cleanup;
	}
	err = observe_window(&op, env.duration_s);
	if (err) {
		ts_err("PID %d %s during observation", env.pid,
		       observed_change__text(observed_proc__check(&op)));
		goto cleanup;
	}
	err = observed_proc__snapshot(&op, true, &proc);
	if (err || !observed_proc__alive(&op)) {
		/* an exec after the last window check must not pass as this program's report */
		if (!observed_proc__alive(&op))
			ts_err("PID %d %s during observation", env.pid,
			       observed_change__text(observed_proc__check(&op)));
		else
			ts_err("reading PID %d's tasks failed: %s", env.pid, strerror(-err));
		goto cleanup;
	}
observed:
	/* detach first: the target pays nothing past the window */
	sampled_session__stop(&ss);
	observed_proc__detach(&op);
	observed_proc__await_chains(&op, &proc, env.task_id, 0);
	snap = &proc;
replayed:
	if (env.task_id && !has_task(snap, env.task_id)) {
		ts_err("PID %d has no task with Id %llu", snap->pid,
		       (unsigned long long)env.task_id);
		goto cleanup;
	}

	ts_rules_config__default(&cfg);
	cfg.stall_ns = env.stall_ms * 1000 * 1000;
	cfg.long_poll_ns = env.long_poll_ms * 1000 * 1000;
	nf = ts_rules__evaluate(snap, &cfg, &findings);
	if (nf < 0) {
		ts_err("out of memory");
		goto cleanup;
	}
	if (env.graph) {
		if (write_graph(snap, &env, cfg.stall_ns))
			goto cleanup;
		ret = nf ? TS_EXIT_STALL : TS_EXIT_OK;
		goto cleanup;
	}
	ropts.json = env.json;
	ropts.all_tasks = env.all;
	ropts.only_task = env.task_id;
	ropts.stall_ns = cfg.stall_ns;
	ropts.long_poll_ns = cfg.long_poll_ns;
	ts_report_write(stdout, snap, findings, (size_t)nf, &ropts);
	fflush(stdout);
	ret = nf ? TS_EXIT_STALL : TS_EXIT_OK;
cleanup:
	sampled_session__stop(&ss);
	free(findings);
	ts_process__free(&proc);
	if (op_open)
		observed_proc__close(&op);
	proc_use_core(NULL);
	core_file__close(&cf);
	recording__free(&rec);
	return ret;
}
